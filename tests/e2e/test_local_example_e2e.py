"""The bundled example, compiled with ``run_config.execution: local`` by the real CLI, run by the
real ``kedro airflow-k8s run-once --wait-for-completion`` through a real Airflow 3 whose worker
runs every task as ``kedro run`` (no Kubernetes API involved: the pods' settings of the example's
base config are ignored, with a warning each).

The project is a fresh copy of examples/spaceflights run in its own Kedro environment
``airflow_local`` (conf/airflow_local sets ``execution: local``); ``host`` comes from
``KEDRO_CONFIG_AIRFLOW_HOST`` as in scripts/demo.sh and the DAG goes to the test Airflow's DAG
folder with ``-o``.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kedro_airflow_k8s.features.local.feature import KUBERNETES_ONLY
from kedro_airflow_k8s.names import dag_file_name
from tests.helpers import REPO, copy_example, dag_spec, kedro
from tests.mlflow.overlay import EXPERIMENT, apply_mlflow_overlay
from tests.mlflow.server import MlflowServer, require_mlflow

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.usefixtures("region_variable")]

QUIET = str(REPO / "scripts" / "quiet-logging.yml")
ENV = "airflow_local"
NAMESPACES = ("active_modelling_pipeline", "candidate_modelling_pipeline")
NODES = (
    "preprocess_companies_node",
    "preprocess_shuttles_node",
    "create_model_input_table_node",
    *(
        f"{ns}.{name}"
        for ns in NAMESPACES
        for name in ("split_data_node", "train_model_node", "evaluate_model_node")
    ),
)
# What each node writes (the example's catalog).
OUTPUTS = (
    "data/02_intermediate/preprocessed_companies.parquet",
    "data/02_intermediate/preprocessed_shuttles.parquet",
    "data/03_primary/model_input_table.parquet",
    *(
        f"data/{folder}/{ns}/{name}"
        for ns in NAMESPACES
        for folder, name in (
            ("05_model_input", "X_train.pickle"),
            ("05_model_input", "X_test.pickle"),
            ("05_model_input", "y_train.pickle"),
            ("05_model_input", "y_test.pickle"),
            ("06_models", "regressor.pickle"),
            ("08_reporting", "metrics.json"),
        )
    ),
)
# The example's Kubernetes-only settings in conf/base (each must be reported once).
EXAMPLE_IGNORED = (
    "image",
    "namespace",
    "image_pull_secrets",
    "service_account_name",
    "secrets",
    "resources",
)


def _project(base: Path, *, retries: int | None = None) -> Path:
    project = copy_example(base)
    assert not any((project / output).exists() for output in OUTPUTS)
    if retries is not None:  # the bundled environment, with the retries of this test
        conf = project / "conf" / ENV / "kedro-airflow-k8s.yaml"
        conf.write_text(conf.read_text() + f"  retries: {retries}\n")
    return project


def _run_once(project: Path, airflow_server: Any, *args: str) -> Any:
    env = {
        "KEDRO_CONFIG_AIRFLOW_HOST": airflow_server.base_url,
        "AIRFLOW_USERNAME": airflow_server.username,
        "AIRFLOW_PASSWORD": airflow_server.password,
        "KEDRO_LOGGING_CONFIG": QUIET,
    }
    folder = str(airflow_server.dags_folder)
    return kedro(project, "airflow-k8s", "-e", ENV, "run-once", "-o", folder, *args, env=env)


def _triggered(done: Any) -> tuple[str, str]:
    found = re.search(r"Triggered (\S+) run (\S+):", done.stdout)
    assert found, done.stdout[-4000:] + done.stderr[-4000:]
    return found.group(1), found.group(2)


def _rows(project: Path) -> int:
    import pandas as pd

    return len(pd.read_parquet(project / "data" / "03_primary" / "model_input_table.parquet"))


def test_the_example_runs_locally_through_run_once_and_a_run_conf_param_changes_its_output(
    tmp_path: Path, airflow_server: Any
) -> None:
    project = _project(tmp_path)
    param = "active_modelling_pipeline.model_options.test_size=0.5"
    done = _run_once(project, airflow_server, "-w", "10", "--param", param)
    output = done.stdout[-6000:] + done.stderr[-6000:]
    assert done.returncode == 0, output
    dag_id, run_id = _triggered(done)
    assert dag_id == "spaceflights.__default__.airflow_local"
    assert f"Run {run_id} of {dag_id} succeeded." in done.stdout

    # Compiled for local execution: the local extension, the project and this interpreter.
    dag_file = airflow_server.dags_folder / "spaceflights___default___airflow_local.py"
    spec = dag_spec(dag_file)
    assert spec["local"]["project_path"] == str(project)
    python = spec["local"]["python"]  # the interpreter that ran compile: this virtualenv's
    assert Path(python).resolve() == Path(sys.executable).resolve()
    assert "extensions=[LocalExtension(untemplated)]" in dag_file.read_text()
    # Each Kubernetes-only setting of base reported once, as a warning, and nothing else ignored.
    warnings = [line for line in done.stderr.splitlines() if line.startswith("Warning: ")]
    for name in EXAMPLE_IGNORED:
        assert sum(w.startswith(f"Warning: run_config.{name}: ") for w in warnings) == 1, warnings
    others = {name for name, _ in KUBERNETES_ONLY} - set(EXAMPLE_IGNORED)
    assert not [w for w in warnings for name in others if f"run_config.{name}:" in w]

    # Every task succeeded at its first try; every node's outputs exist.
    api = airflow_server.api
    instances = api.task_instances(dag_id, run_id)
    states = {ti["task_id"]: (ti["state"], ti["try_number"]) for ti in instances}
    assert len(states) == 9, states  # 8 node tasks (the preprocessing pair is one) and the last
    assert set(states.values()) == {("success", 1)}, states
    missing = [output for output in OUTPUTS if not (project / output).is_file()]
    assert not missing, missing

    # Every node ran once: one `kedro run` per task, naming its nodes, in that task's log.
    logs = {task_id: api.task_log(dag_id, run_id, task_id) for task_id in states}
    ran: list[str] = []
    for task_id, log in logs.items():
        lines = re.findall(r"Running in \S+: (.*)", log)
        if task_id == "pipeline_complete":
            assert not lines
            continue
        assert len(lines) == 1, (task_id, lines)
        assert lines[0].startswith(f"{python} -m kedro run --env {ENV} ")
        ran += re.search(r"--nodes (\S+)", lines[0]).group(1).split(",")  # type: ignore[union-attr]
    assert sorted(ran) == sorted(NODES)

    # The fused group: both preprocessing nodes in ONE kedro run process.
    preprocessing = logs["preprocessing"]
    assert "--nodes preprocess_companies_node,preprocess_shuttles_node" in preprocessing
    assert "Completed 2 out of 2 tasks" in preprocessing, preprocessing[-3000:]

    # The run's conf reached kedro run: the active model was tested on half of the rows, the
    # candidate (not named in the conf) on its own parameters.yml share.
    rows = _rows(project)
    reports = project / "data" / "08_reporting"
    active = json.loads((reports / NAMESPACES[0] / "metrics.json").read_text())
    candidate = json.loads((reports / NAMESPACES[1] / "metrics.json").read_text())
    assert active["n_test"] == max(1, round(rows * 0.5)) != max(1, round(rows * 0.2))
    assert candidate["n_test"] == max(1, round(rows * 0.25))
    key = param.partition("=")[0]
    assert f"--params={key}=" in logs[f"{NAMESPACES[0]}.split_data_node"]


def test_a_failing_node_fails_the_run_and_run_once_exits_1_naming_its_task(
    tmp_path: Path, airflow_server: Any
) -> None:
    project = _project(tmp_path, retries=0)
    (project / "data" / "01_raw" / "reviews.csv").unlink()  # create_model_input_table reads it
    # The first test's DAG id again, uploaded soon after it: Airflow stores a DAG's new version
    # at most every 30 s ([core] min_serialized_dag_update_interval), and run-once must still run
    # this build (retries 0), not the first test's (retries 1, 300 s between tries).
    done = _run_once(project, airflow_server, "-w", "10")
    output = done.stdout[-6000:] + done.stderr[-6000:]
    assert done.returncode == 1, output
    dag_id, run_id = _triggered(done)
    assert "create_model_input_table_node: failed" in done.stdout, output
    assert "--- last log lines of create_model_input_table_node" in done.stdout, output
    failed = f"Error: run {run_id} of {dag_id} failed; failed tasks: create_model_input_table_node"
    assert failed in done.stderr, output
    instances = airflow_server.api.task_instances(dag_id, run_id)
    states = {ti["task_id"]: ti["state"] for ti in instances}
    assert states["preprocessing"] == "success", states
    assert states["create_model_input_table_node"] == "failed", states
    tries = {ti["task_id"]: ti["try_number"] for ti in instances}
    assert tries["create_model_input_table_node"] == 1, tries  # this build's retries: 0
    assert states[f"{NAMESPACES[0]}.split_data_node"] == "upstream_failed", states
    log = airflow_server.api.task_log(dag_id, run_id, "create_model_input_table_node")
    assert "reviews.csv" in log and "kedro run exited with code 1" in log


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """A tracking server of this module's own: its store holds only what this module makes."""
    require_mlflow("kedro_mlflow")
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-local")).start()
    try:
        yield server
    finally:
        server.stop()


def test_one_mlflow_run_per_dag_run_shared_by_the_local_processes(
    tmp_path: Path, airflow_server: Any, mlflow_server: MlflowServer
) -> None:
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    project = _project(tmp_path, retries=0)
    apply_mlflow_overlay(project, ENV, mlflow_server.url)
    done = _run_once(project, airflow_server, "-d", "spaceflights-local-mlflow", "-w", "10")
    output = done.stdout[-6000:] + done.stderr[-6000:]
    assert done.returncode == 0, output
    dag_id, run_id = _triggered(done)
    dag_file = airflow_server.dags_folder / dag_file_name("spaceflights-local-mlflow")
    assert "extensions=[LocalExtension(untemplated), MlflowExtension]" in dag_file.read_text()

    client = MlflowClient(tracking_uri=mlflow_server.url)
    runs = [
        client.get_run(run.info.run_id)
        for experiment in client.search_experiments(view_type=ViewType.ALL)
        for run in client.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL)
    ]
    assert len(runs) == 1, [(r.info.run_name, r.data.tags) for r in runs]  # no process's own
    [run] = runs
    assert client.get_experiment(run.info.experiment_id).name == EXPERIMENT
    assert run.data.tags["airflow.dag_id"] == dag_id
    assert run.data.tags["airflow.run_id"] == run_id
    assert run.data.tags["kedro_airflow_k8s.image"] == "local"
    assert run.info.status == "FINISHED"
    # Logged by different processes (their tasks): each namespace's parameters and metrics.
    for namespace in NAMESPACES:
        assert "test_size" in run.data.params[f"{namespace}.model_options"]
        artifacts = [a.path for a in client.list_artifacts(run.info.run_id, namespace)]
        assert artifacts == [f"{namespace}/metrics.json"]
