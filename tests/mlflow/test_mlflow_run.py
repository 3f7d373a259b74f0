"""The runtime MLflow step (runtime/mlflow_run.py) against a real MLflow tracking server."""

from __future__ import annotations

import datetime
from types import SimpleNamespace
from typing import Any

import pytest

from kedro_airflow_k8s.runtime import mlflow_run
from kedro_airflow_k8s.runtime.mlflow_run import (
    MLFLOW_TAG_DAG_ID,
    MLFLOW_TAG_IMAGE,
    MLFLOW_TAG_LOGICAL_DATE,
    MLFLOW_TAG_RUN_AFTER,
    MLFLOW_TAG_RUN_ID,
    MLFLOW_TAG_RUN_KEY,
    MlflowRunError,
    mlflow_authenticate,
    mlflow_end_run,
    mlflow_experiment_id,
    mlflow_failed_tasks,
    mlflow_start_run,
)

DAG_ID = "demo.__default__.prod"
LOGICAL = datetime.datetime(2026, 3, 4, 5, 6, 7, tzinfo=datetime.timezone.utc)


def _runs(client: Any, experiment_name: str) -> list[Any]:
    from mlflow.entities import ViewType

    experiment = client.get_experiment_by_name(experiment_name)
    return list(client.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL))


# --- experiment ----------------------------------------------------------------------------------


def test_experiment_is_created_with_its_options_then_reused(mlflow_client: Any) -> None:
    name = "created-then-reused"
    first = mlflow_experiment_id(
        mlflow_client, name, artifact_location="mlflow-artifacts:/elsewhere", tags={"team": "a"}
    )
    experiment = mlflow_client.get_experiment(first)
    assert experiment.name == name
    assert experiment.tags["team"] == "a"
    assert experiment.artifact_location == "mlflow-artifacts:/elsewhere"
    assert mlflow_experiment_id(mlflow_client, name) == first


def test_deleted_experiment_fails_at_once_and_says_how_to_restore_or_rename(
    mlflow_client: Any, mlflow_spec: dict[str, Any], mlflow_server: Any
) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    experiment_id = mlflow_client.create_experiment(mlflow_spec["experiment_name"])
    mlflow_client.delete_experiment(experiment_id)
    with pytest.raises(MlflowRunError) as raised:
        mlflow_start_run(mlflow_spec, DAG_ID, "manual__1")
    assert isinstance(raised.value, AirflowFailException)  # no retries: it cannot fix itself
    message = str(raised.value)
    assert f"MLflow experiment {mlflow_spec['experiment_name']!r} (id {experiment_id})" in message
    assert "is deleted" in message
    assert f"mlflow experiments restore --experiment-id {experiment_id}" in message
    assert f"MLFLOW_TRACKING_URI={mlflow_server.url}" in message
    assert "tracking.experiment.name in the project's mlflow.yml" in message
    assert mlflow_client.get_experiment(experiment_id).lifecycle_stage == "deleted"


def test_credentials_in_the_tracking_uri_stay_out_of_messages() -> None:
    safe = mlflow_run._mlflow_safe_uri("https://user:s3cret@mlflow.example.com:8443/path")
    assert safe == "https://mlflow.example.com:8443/path"
    assert mlflow_run._mlflow_safe_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"


# --- one run per DAG run -------------------------------------------------------------------------


def test_one_run_per_dag_run_tagged_with_the_dag_run(
    mlflow_client: Any, mlflow_spec: dict[str, Any]
) -> None:
    run_after = LOGICAL + datetime.timedelta(minutes=1)
    run_id = mlflow_start_run(
        mlflow_spec, DAG_ID, "scheduled__2026-03-04T05:06:07+00:00", LOGICAL, run_after
    )
    [run] = _runs(mlflow_client, mlflow_spec["experiment_name"])
    assert run.info.run_id == run_id
    assert run.info.run_name == mlflow_spec["run_name"]
    assert run.info.status == "RUNNING"
    tags = run.data.tags
    assert tags[MLFLOW_TAG_DAG_ID] == DAG_ID
    assert tags[MLFLOW_TAG_RUN_ID] == "scheduled__2026-03-04T05:06:07+00:00"
    assert tags[MLFLOW_TAG_LOGICAL_DATE] == "2026-03-04T05:06:07+00:00"
    assert tags[MLFLOW_TAG_RUN_AFTER] == "2026-03-04T05:07:07+00:00"
    assert tags[MLFLOW_TAG_IMAGE] == "registry.example.com/demo:abc123"
    assert len(tags[MLFLOW_TAG_RUN_KEY]) == 40


def test_a_retry_of_the_same_dag_run_reuses_its_run(
    mlflow_client: Any, mlflow_spec: dict[str, Any]
) -> None:
    first = mlflow_start_run(mlflow_spec, DAG_ID, "manual__a", LOGICAL)
    mlflow_client.set_terminated(first, "FAILED")  # say the pods ran and failed, then a retry
    second = mlflow_start_run(mlflow_spec, DAG_ID, "manual__a", LOGICAL)
    assert second == first
    [run] = _runs(mlflow_client, mlflow_spec["experiment_name"])
    assert run.info.status == "RUNNING"


def test_other_dag_runs_and_other_dags_get_runs_of_their_own(
    mlflow_client: Any, mlflow_spec: dict[str, Any]
) -> None:
    a = mlflow_start_run(mlflow_spec, DAG_ID, "manual__a")
    b = mlflow_start_run(mlflow_spec, DAG_ID, "manual__b")
    c = mlflow_start_run(mlflow_spec, "other.__default__.prod", "manual__a")
    assert len({a, b, c}) == 3
    assert len(_runs(mlflow_client, mlflow_spec["experiment_name"])) == 3


def test_a_deleted_run_is_not_reused(mlflow_client: Any, mlflow_spec: dict[str, Any]) -> None:
    first = mlflow_start_run(mlflow_spec, DAG_ID, "manual__a")
    mlflow_client.delete_run(first)
    assert mlflow_start_run(mlflow_spec, DAG_ID, "manual__a") != first


def test_a_manual_run_without_logical_date_is_tagged_with_what_exists(
    mlflow_client: Any, mlflow_spec: dict[str, Any]
) -> None:
    run_after = datetime.datetime(2026, 5, 1, tzinfo=datetime.timezone.utc)
    mlflow_start_run(mlflow_spec, DAG_ID, "manual__2026-05-01T00:00:00+00:00", None, run_after)
    [run] = _runs(mlflow_client, mlflow_spec["experiment_name"])
    assert MLFLOW_TAG_LOGICAL_DATE not in run.data.tags
    assert run.data.tags[MLFLOW_TAG_RUN_AFTER] == "2026-05-01T00:00:00+00:00"


def test_the_run_name_defaults_to_the_dag_id(
    mlflow_client: Any, mlflow_spec: dict[str, Any]
) -> None:
    del mlflow_spec["run_name"]
    mlflow_start_run(mlflow_spec, DAG_ID, "manual__a")
    [run] = _runs(mlflow_client, mlflow_spec["experiment_name"])
    assert run.info.run_name == DAG_ID


def test_a_run_id_with_quotes_is_found_again(
    mlflow_client: Any, mlflow_spec: dict[str, Any]
) -> None:
    """Only a digest goes into MLflow's search syntax, so any run id works."""
    odd = 'manual__it\'s "quoted" `and` back\\slashed'
    assert mlflow_start_run(mlflow_spec, DAG_ID, odd) == mlflow_start_run(mlflow_spec, DAG_ID, odd)
    assert len(_runs(mlflow_client, mlflow_spec["experiment_name"])) == 1


# --- end of the run ------------------------------------------------------------------------------


@pytest.mark.parametrize(("failed", "status"), [(False, "FINISHED"), (True, "FAILED")])
def test_end_run_sets_the_status_and_gives_the_run_its_name_back(
    mlflow_client: Any, mlflow_spec: dict[str, Any], failed: bool, status: str
) -> None:
    run_id = mlflow_start_run(mlflow_spec, DAG_ID, "manual__a")
    mlflow_client.update_run(run_id, name="__default__")  # what kedro-mlflow does in each pod
    assert mlflow_end_run(mlflow_spec, run_id, failed, DAG_ID) == status
    run = mlflow_client.get_run(run_id)
    assert (run.info.status, run.info.run_name) == (status, DAG_ID)
    assert run.info.end_time is not None


def test_end_run_leaves_the_status_when_the_task_states_are_unknown(
    mlflow_client: Any, mlflow_spec: dict[str, Any]
) -> None:
    run_id = mlflow_start_run(mlflow_spec, DAG_ID, "manual__a")
    assert mlflow_end_run(mlflow_spec, run_id, None, DAG_ID) is None
    assert mlflow_client.get_run(run_id).info.status == "RUNNING"


def test_failed_tasks_from_airflow3_task_states_with_stand_in_task_instance() -> None:
    calls = []

    def get_task_states(**kwargs: Any) -> dict[str, Any]:
        calls.append(kwargs)
        return {"r1": {"a": "success", "g.b": "upstream_failed", "c": "failed", "x": "failed"}}

    ti = SimpleNamespace(dag_id="d", run_id="r1", get_task_states=get_task_states)
    assert mlflow_failed_tasks({"ti": ti}, ["a", "g.b", "c"]) == ["c", "g.b"]
    assert calls == [{"dag_id": "d", "run_ids": ["r1"]}]


def test_failed_tasks_from_airflow2_dag_run_with_stand_in_dag_run() -> None:
    from airflow.utils.state import TaskInstanceState

    tis = [
        SimpleNamespace(task_id="a", state=TaskInstanceState.SUCCESS),
        SimpleNamespace(task_id="b", state=TaskInstanceState.FAILED),
    ]
    dag_run = SimpleNamespace(get_task_instances=lambda: tis)
    context = {"ti": SimpleNamespace(dag_id="d", run_id="r"), "dag_run": dag_run}
    assert mlflow_failed_tasks(context, ["a", "b"]) == ["b"]
    assert mlflow_failed_tasks({"ti": SimpleNamespace()}, ["a"]) is None


# --- authentication ------------------------------------------------------------------------------


def test_null_auth_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    mlflow_authenticate({"type": "Null", "params": []})
    mlflow_authenticate(None)
    assert "MLFLOW_TRACKING_TOKEN" not in __import__("os").environ


def test_unknown_auth_type_is_refused() -> None:
    with pytest.raises(MlflowRunError, match="unknown MLflow authentication type 'Basic'"):
        mlflow_authenticate({"type": "Basic", "params": []})


def test_vars_auth_exports_airflow_variables_read_from_the_environment_secrets_backend(
    monkeypatch: pytest.MonkeyPatch, mlflow_spec: dict[str, Any], mlflow_client: Any
) -> None:
    """The real ``Variable.get``; outside a task Airflow finds Variables in AIRFLOW_VAR_*."""
    import os

    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIRFLOW_VAR_MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("AIRFLOW_VAR_MLFLOW_TRACKING_PASSWORD", "s3cret")
    mlflow_spec["auth"] = {
        "type": "Vars",
        "params": ["MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"],
    }
    run_id = mlflow_start_run(mlflow_spec, DAG_ID, "manual__vars")
    assert os.environ["MLFLOW_TRACKING_USERNAME"] == "alice"
    assert os.environ["MLFLOW_TRACKING_PASSWORD"] == "s3cret"
    creds = mlflow_client._tracking_client.store.get_host_creds()  # what MLflow will send
    assert (creds.username, creds.password) == ("alice", "s3cret")
    assert mlflow_client.get_run(run_id).info.status == "RUNNING"


def test_vars_auth_names_the_missing_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_VAR_KAK8S_NOT_SET_1", raising=False)
    monkeypatch.setenv("AIRFLOW_VAR_KAK8S_SET", "x")
    monkeypatch.delenv("KAK8S_SET", raising=False)
    with pytest.raises(MlflowRunError, match=r"Variable\(s\) KAK8S_NOT_SET_1 are not set"):
        mlflow_authenticate({"type": "Vars", "params": ["KAK8S_SET", "KAK8S_NOT_SET_1"]})


def test_google_auth_sets_the_tracking_token_with_stubbed_google_token(
    monkeypatch: pytest.MonkeyPatch, mlflow_server: Any
) -> None:
    """Google cannot be reached here: the call into google-auth is recorded and answered."""
    from google.auth.transport.requests import Request
    from google.oauth2 import id_token
    from mlflow.tracking import MlflowClient

    calls: list[tuple[Any, str]] = []

    def fetch_id_token(request: Any, audience: str) -> str:
        calls.append((request, audience))
        return "id-token-for-" + audience

    monkeypatch.setattr(id_token, "fetch_id_token", fetch_id_token)
    monkeypatch.setenv("GOOGLE_AUDIENCE", "1234.apps.googleusercontent.com")
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    mlflow_authenticate({"type": "GoogleOAuth2", "params": []})
    [(request, audience)] = calls
    assert isinstance(request, Request)
    assert audience == "1234.apps.googleusercontent.com"
    creds = MlflowClient(tracking_uri=mlflow_server.url)._tracking_client.store.get_host_creds()
    assert creds.token == "id-token-for-1234.apps.googleusercontent.com"


def test_google_auth_without_audience_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GOOGLE_AUDIENCE", raising=False)
    with pytest.raises(MlflowRunError, match="needs the environment variable GOOGLE_AUDIENCE"):
        mlflow_authenticate({"type": "GoogleOAuth2", "params": []})
