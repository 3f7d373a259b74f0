"""The operate commands on a real Airflow 2.10 (REST API v1), found out by asking the server:
run-once --wait with basic auth on the bundled example (each task a pod of the Kubernetes API
emulator, run by its test kubelet), list-pipelines with a bearer token, task logs and a wrong
password. (A failed run and its log tail are followed the same way on Airflow 3 in
test_run_once.py; the v1 calls under faults in tests/airflow_api.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kedro_airflow_k8s.airflow_api import AirflowV1, ClientSettings, connect
from kedro_airflow_k8s.errors import RemoteError
from tests.helpers import REPO, copy_example, kedro
from tests.venvs import AIRFLOW2

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.airflow2,
    pytest.mark.venv(AIRFLOW2),
    pytest.mark.slow,
]

QUIET = str(REPO / "scripts" / "quiet-logging.yml")
DAG_ID = "spaceflights.data_processing.e2e2"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, airflow2_server: Any) -> Path:
    project = copy_example(tmp_path_factory.mktemp("airflow2"))
    conf = project / "conf" / "e2e2"
    conf.mkdir()
    (conf / "kedro-airflow-k8s.yaml").write_text(
        f"host: {airflow2_server.base_url}\n"
        f"output: {airflow2_server.dags_folder}\n"
        "run_config:\n"
        "  image: spaceflights:e2e\n"
        "  retries: 0\n"
        "  startup_time: 120\n"
    )
    done = airflow2_server.cli("variables", "set", "AWS_DEFAULT_REGION", "eu-central-1")
    assert done.returncode == 0, done.stderr[-2000:]
    return project


def _cli(project: Path, *args: str, **env: str) -> Any:
    return kedro(
        project,
        "airflow-k8s",
        "-e",
        "e2e2",
        "-p",
        "data_processing",
        *args,
        env={"KEDRO_LOGGING_CONFIG": QUIET, **env},
    )


def _basic(server: Any, password: str | None = None) -> dict[str, str]:
    return {"AIRFLOW_USERNAME": server.username, "AIRFLOW_PASSWORD": password or server.password}


def _run_id(stdout: str, dag_id: str) -> str:
    found = re.search(rf"Triggered {re.escape(dag_id)} run (\S+):", stdout)
    assert found, stdout
    return found.group(1)


def test_run_once_waits_for_success(
    project: Path, airflow2_server: Any, kube_emulator: Any, e2e_timings: dict[str, Any]
) -> None:
    with kube_emulator.configured(workdir=project):
        done = _cli(project, "run-once", "-w", "10", **_basic(airflow2_server))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (
        "Airflow 2.10.5 finds new files only in its periodic scan: waiting for it to find "
        "spaceflights_data_processing_e2e2.py" in done.stdout
    )
    run_id = _run_id(done.stdout, DAG_ID)
    assert f"{airflow2_server.base_url}/dags/{DAG_ID}/grid?dag_run_id=" in done.stdout
    assert f"Run {run_id} of {DAG_ID} succeeded." in done.stdout
    assert airflow2_server.get(f"/dags/{DAG_ID}/dagRuns/{run_id}")["state"] == "success"
    queued = re.search(r"Run queued ([0-9.]+) s after the command started", done.stdout)
    assert queued, done.stdout
    e2e_timings["airflow2_run_once_command_to_run_queued_s"] = float(queued.group(1))
    runs = kube_emulator.runs_with_labels(dag_id=DAG_ID)
    assert len(runs) == 2 and all(run.exit_code == 0 for run in runs)
    assert (project / "data" / "03_primary" / "model_input_table.parquet").is_file()


def test_list_pipelines_with_a_bearer_token(project: Path, airflow2_server: Any) -> None:
    done = _cli(project, "list-pipelines", AIRFLOW_API_TOKEN=airflow2_server.bearer_token)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {line.split()[0]: line.split() for line in done.stdout.strip().splitlines()[2:]}
    assert rows[DAG_ID][1:5] == ["data_processing", "e2e2", "no", "success"]


def test_the_client_reads_task_logs_and_refuses_a_wrong_password(airflow2_server: Any) -> None:
    """The product's client straight (no project to load): Airflow 2.10's plain-text task log of
    the run above, and the message for a password it refuses."""
    settings = ClientSettings(
        airflow2_server.base_url,
        username=airflow2_server.username,
        password=airflow2_server.password,
    )
    with connect(settings) as api:
        assert isinstance(api, AirflowV1)
        last = api.last_run(DAG_ID)
        assert last is not None and last.state == "success"
        tasks = {task.task_id: task for task in api.task_instances(DAG_ID, last.run_id)}
        assert {task.state for task in tasks.values()} == {"success"}
        first = tasks["preprocessing"]
        log = api.task_log_tail(DAG_ID, last.run_id, first.task_id, first.try_number, 400)
        assert "Marking task as SUCCESS" in log, log[-3000:]
    wrong = ClientSettings(airflow2_server.base_url, username="admin", password="not-the-password")
    with pytest.raises(RemoteError) as info, connect(wrong) as api:
        api.check_access()
    assert info.value.message == (
        f"Airflow at {airflow2_server.base_url} rejected user 'admin' (401 Unauthorized) to list "
        "DAGs: wrong user name or password (AIRFLOW_USERNAME, AIRFLOW_PASSWORD), or its REST "
        "API does not accept basic auth ([api] auth_backends needs "
        "airflow.api.auth.backend.basic_auth)"
    )
