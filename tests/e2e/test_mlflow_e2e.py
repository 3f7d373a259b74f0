"""`kedro airflow-k8s run-once --wait` of the example with kedro-mlflow turned on, for real: a
loopback MLflow tracking server, a real Airflow 3 whose start task creates ONE MLflow run for the
DAG run, and pods (run by the Kubernetes API emulator's kubelet) whose `kedro run` log into that
run through MLFLOW_RUN_ID; the end task marks it FINISHED.

The project is a copy of examples/spaceflights with tests/data/mlflow_overlay applied (mlflow.yml
in base, the tracking URI of this module's server in conf/e2e, metrics logged as artifacts).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kedro_airflow_k8s.names import dag_file_name
from tests.helpers import REPO, copy_example, kedro
from tests.mlflow.overlay import EXPERIMENT, apply_mlflow_overlay
from tests.mlflow.server import MlflowServer, require_mlflow

pytestmark = pytest.mark.usefixtures("region_variable")

QUIET = str(REPO / "scripts" / "quiet-logging.yml")
DAG_NAME = "spaceflights-mlflow"
NAMESPACES = ("active_modelling_pipeline", "candidate_modelling_pipeline")
START, END = "start_mlflow_run", "end_mlflow_run"


@pytest.fixture(scope="module")
def mlflow_server(
    tmp_path_factory: pytest.TempPathFactory, e2e_timings: dict[str, Any]
) -> Iterator[MlflowServer]:
    """A tracking server of this module's own: its store holds only what this test makes."""
    require_mlflow("kedro_mlflow")
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-e2e")).start()
    e2e_timings["mlflow_server_start_s"] = server.startup_seconds
    try:
        yield server
    finally:
        server.stop()


def _project(base: Path, airflow_server: Any, tracking_uri: str) -> Path:
    project = copy_example(base)
    apply_mlflow_overlay(project, "e2e", tracking_uri)
    (project / "conf" / "e2e" / "kedro-airflow-k8s.yaml").write_text(
        f"host: {airflow_server.base_url}\n"
        f"output: {airflow_server.dags_folder}\n"
        "run_config:\n"
        "  image: spaceflights:e2e\n"
        "  retries: 0\n"
        "  startup_time: 120\n"
    )
    return project


def _run_once(project: Path, airflow_server: Any, kube_emulator: Any, dag_name: str) -> Any:
    env = {
        "AIRFLOW_USERNAME": airflow_server.username,
        "AIRFLOW_PASSWORD": airflow_server.password,
        "KEDRO_LOGGING_CONFIG": QUIET,
    }
    with kube_emulator.configured(workdir=project):
        done = kedro(
            project, "airflow-k8s", "-e", "e2e", "run-once", "-d", dag_name, "-w", "10", env=env
        )
    output = done.stdout[-4000:] + done.stderr[-4000:]
    dag_file = airflow_server.dags_folder / dag_file_name(dag_name)
    assert dag_file.is_file(), output
    assert "MlflowExtension" in dag_file.read_text(), "no MlflowExtension in the DAG: not wired?"
    return done


def _triggered(done: Any) -> tuple[str, str]:
    found = re.search(r"Triggered (\S+) run (\S+):", done.stdout)
    assert found, done.stdout[-4000:] + done.stderr[-4000:]
    return found.group(1), found.group(2)


def _mlflow_runs(server: MlflowServer, dag_id: str) -> list[Any]:
    """The runs of the store that belong to this DAG, or to no DAG (a pod's own run would)."""
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=server.url)
    runs = [
        client.get_run(run.info.run_id)
        for experiment in client.search_experiments(view_type=ViewType.ALL)
        for run in client.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL)
    ]
    return [r for r in runs if r.data.tags.get("airflow.dag_id") in (None, dag_id)]


def test_run_once_logs_every_pod_into_one_mlflow_run(
    tmp_path: Path,
    airflow_server: Any,
    kube_emulator: Any,
    mlflow_server: MlflowServer,
    e2e_timings: dict[str, Any],
) -> None:
    from mlflow.tracking import MlflowClient

    project = _project(tmp_path, airflow_server, mlflow_server.url)
    started = time.monotonic()
    done = _run_once(project, airflow_server, kube_emulator, DAG_NAME)
    e2e_timings["mlflow_run_once_s"] = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    dag_id, run_id = _triggered(done)

    states = {
        ti["task_id"]: ti["state"] for ti in airflow_server.api.task_instances(dag_id, run_id)
    }
    assert states[START] == states[END] == "success", states

    runs = _mlflow_runs(mlflow_server, dag_id)
    assert len(runs) == 1, [(r.info.run_name, r.data.tags) for r in runs]
    [run] = runs
    mlflow_run_id = run.info.run_id
    client = MlflowClient(tracking_uri=mlflow_server.url)
    assert client.get_experiment(run.info.experiment_id).name == EXPERIMENT
    assert run.data.tags["airflow.dag_id"] == dag_id
    assert run.data.tags["airflow.run_id"] == run_id
    assert run.data.tags["kedro_airflow_k8s.image"] == "spaceflights:e2e"
    assert (run.info.status, run.info.run_name) == ("FINISHED", dag_id)

    pods = kube_emulator.runs_with_labels(dag_id=dag_id)
    assert len(pods) == 8  # 9 nodes, the two preprocessing nodes share a pod
    assert {pod.pod_env.get("MLFLOW_RUN_ID") for pod in pods} == {mlflow_run_id}
    assert {pod.exit_code for pod in pods} == {0}
    # Logged by different pods: each namespace's split_data_node (its parameters, by
    # kedro-mlflow's hook) and evaluate_model_node (its metrics, as an artifact) run in pods of
    # their own.
    for namespace in NAMESPACES:
        assert "test_size" in run.data.params[f"{namespace}.model_options"]
        artifacts = [a.path for a in client.list_artifacts(mlflow_run_id, namespace)]
        assert artifacts == [f"{namespace}/metrics.json"]


def test_a_failed_node_marks_the_mlflow_run_failed(
    tmp_path: Path, airflow_server: Any, kube_emulator: Any, mlflow_server: MlflowServer
) -> None:
    project = _project(tmp_path, airflow_server, mlflow_server.url)
    (project / "data" / "01_raw" / "shuttles.csv").write_text("not,a\nvalid")
    done = _run_once(project, airflow_server, kube_emulator, f"{DAG_NAME}-broken")
    assert done.returncode == 1, done.stdout[-4000:] + done.stderr[-4000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "failed tasks: preprocessing" in errors[0], done.stderr[-2000:]
    dag_id, run_id = _triggered(done)
    states = {
        ti["task_id"]: ti["state"] for ti in airflow_server.api.task_instances(dag_id, run_id)
    }
    assert (states[START], states["preprocessing"], states[END]) == ("success", "failed", "success")
    [run] = _mlflow_runs(mlflow_server, dag_id)
    assert (run.info.status, run.info.run_name) == ("FAILED", dag_id)
    assert run.data.tags["airflow.run_id"] == run_id
