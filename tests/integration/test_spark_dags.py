"""Spark groups compiled by the real CLI and loaded in a real Airflow 3 with providers-google
(Dataproc), providers-apache-spark (spark-submit) and a custom operator factory.

The project (tests/data/spark_project) has one spark group (``to_spark``, ``sum_by_region``)
between two pandas nodes; its ``local`` environment uses Dataproc, ``k8s`` Spark on Kubernetes
and ``custom`` the project's own factory. Artifacts go to a local folder
(``${kedro_config:spark_artifacts}``). Nothing is contacted: templates are rendered with a
hand-made context, as Airflow would render them for a run.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.helpers import REPO, copy_project, dag_spec, kedro, load_runtime

pytestmark = pytest.mark.airflow

SPARK_PROJECT = REPO / "tests" / "data" / "spark_project"
SPARK_TASK = "spark_to_spark"
DATAPROC_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,49}[a-z0-9])?$")


@dataclass(frozen=True)
class SparkBuild:
    project: Path
    artifacts: Path
    dags: dict[str, Any]  # env -> DAG
    files: dict[str, Path]  # env -> DAG file
    stderr: dict[str, str]


def copy_spark_project(target: Path) -> Path:
    return copy_project(SPARK_PROJECT, target, "spark_demo")


@pytest.fixture(scope="module")
def spark_build(tmp_path_factory: pytest.TempPathFactory) -> SparkBuild:
    from airflow.dag_processing.dagbag import DagBag

    base = tmp_path_factory.mktemp("spark")
    project = copy_spark_project(base)
    artifacts = base / "artifacts"
    dags, files, stderr = {}, {}, {}
    for env in ("local", "k8s", "custom"):
        folder = base / f"dags-{env}"
        done = kedro(
            project,
            "airflow-k8s",
            "-e",
            env,
            "compile",
            "-o",
            str(folder),
            env={"KEDRO_CONFIG_SPARK_ARTIFACTS": str(artifacts)},
        )
        assert done.returncode == 0, done.stderr[-3000:]
        bag = DagBag(dag_folder=str(folder))
        assert bag.import_errors == {}, bag.import_errors
        (dag,) = bag.dags.values()
        dags[env], files[env], stderr[env] = dag, next(folder.glob("*.py")), done.stderr
    return SparkBuild(project, artifacts, dags, files, stderr)


def group_arguments(env: str) -> list[str]:
    """The spark group's run-script arguments in environment ``env`` (before --params)."""
    return [
        "run",
        "--env",
        env,
        "--pipeline",
        "__default__",
        "--node",
        "to_spark,sum_by_region",
        "--runner",
        "ThreadRunner",
    ]


def _context(dag: Any, run_id: str, **extra: Any) -> dict[str, Any]:
    ti = SimpleNamespace(
        dag_id=dag.dag_id,
        task_id="t",
        run_id=run_id,
        try_number=1,
        map_index=-1,
        xcom_pull=lambda task_ids=None, **_: f"mlflow-run-of-{task_ids}",
    )
    return {
        "ti": ti,
        "task_instance": ti,
        "run_id": run_id,
        "dag": dag,
        "dag_run": SimpleNamespace(conf={"alpha": "x,y"}),
        "var": {"value": SimpleNamespace()},
        **extra,
    }


def _rendered(dag: Any, task_id: str, run_id: str = "manual__2026-01-01") -> Any:
    task = dag.get_task(task_id)
    copy = task.prepare_for_execution() if hasattr(task, "prepare_for_execution") else task
    copy.render_template_fields(_context(dag, run_id))
    return copy


# --- Dataproc -------------------------------------------------------------------------------


def test_dataproc_operators_and_wiring(spark_build: SparkBuild) -> None:
    from airflow.providers.google.cloud.operators.dataproc import (
        DataprocCreateClusterOperator,
        DataprocDeleteClusterOperator,
        DataprocSubmitJobOperator,
    )

    dag = spark_build.dags["local"]
    create = dag.get_task("create_spark_cluster")
    job = dag.get_task(SPARK_TASK)
    delete = dag.get_task("delete_spark_cluster")
    assert isinstance(create, DataprocCreateClusterOperator)
    assert isinstance(job, DataprocSubmitJobOperator)
    assert isinstance(delete, DataprocDeleteClusterOperator)
    # The cluster waits for the pod before the group, not for the whole DAG start.
    assert create.upstream_task_ids == {"clean"}
    assert job.upstream_task_ids == {"clean", "create_spark_cluster"}
    assert delete.upstream_task_ids == {"create_spark_cluster", SPARK_TASK}
    assert delete.trigger_rule == "all_done"  # deleted whatever the jobs did
    # A failed job fails the run: the final task needs every node task to succeed.
    assert dag.get_task("report").upstream_task_ids == {SPARK_TASK}
    assert dag.get_task("pipeline_complete").upstream_task_ids == {"report"}
    assert dag.get_task("pipeline_complete").trigger_rule == "all_success"
    for task_id in ("create_spark_cluster", SPARK_TASK, "delete_spark_cluster"):
        task = _rendered(dag, task_id)
        assert (task.project_id, task.region) == ("demo-project", "europe-west1")
        assert task.gcp_conn_id == "google_cloud_default"


def test_dataproc_cluster_config_and_init_action(spark_build: SparkBuild) -> None:
    create = _rendered(spark_build.dags["local"], "create_spark_cluster")
    config = create.cluster_config
    assert config["master_config"] == {
        "machine_type_uri": "n2-standard-4",
        "disk_config": {"boot_disk_size_gb": 35},
    }
    assert config["worker_config"]["num_instances"] == 2
    (action,) = config["initialization_actions"]
    init = Path(action["executable_file"])
    assert init.parent == spark_build.artifacts
    assert init.exists()
    text = init.read_text()
    assert "spark demo pre-init" in text
    assert text.index("spark demo pre-init") < text.index("tar -xzf")
    assert text.index("tar -xzf") < text.index("spark demo post-init")


def test_dataproc_cluster_name_is_per_run_and_valid(spark_build: SparkBuild) -> None:
    dag = spark_build.dags["local"]
    names = set()
    for run_id in ("manual__2026-01-01T00:00:00+00:00", "scheduled__2026-01-02T00:00:00+00:00"):
        create = _rendered(dag, "create_spark_cluster", run_id)
        job = _rendered(dag, SPARK_TASK, run_id)
        delete = _rendered(dag, "delete_spark_cluster", run_id)
        name = create.cluster_name
        assert job.job["placement"]["cluster_name"] == name == delete.cluster_name
        assert DATAPROC_NAME.match(name) and len(name) <= 51, name
        assert name.startswith("spark-demo-")
        names.add(name)
    assert len(names) == 2


def test_dataproc_job_runs_the_group_with_the_run_script(spark_build: SparkBuild) -> None:
    job = _rendered(spark_build.dags["local"], SPARK_TASK).job
    assert job["reference"] == {"project_id": "demo-project"}
    pyspark = job["pyspark_job"]
    script = Path(pyspark["main_python_file_uri"])
    assert script.parent == spark_build.artifacts and script.exists()
    assert pyspark["args"] == [
        *group_arguments("local"),
        '--params=alpha="x\\x2cy"',  # the run's conf, encoded as for the pods
    ]
    home = dag_spec(spark_build.files["local"])["spark"]
    assert home["jobs"][SPARK_TASK]["properties"]["spark.executorEnv.PYTHONPATH"].endswith("/src")
    assert pyspark["properties"]["spark.executorEnv.PYTHONPATH"].endswith("/src")


def test_artifact_names_carry_project_commit_and_group(spark_build: SparkBuild) -> None:
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=spark_build.project, capture_output=True, text=True
    ).stdout.strip()
    names = sorted(p.name for p in spark_build.artifacts.iterdir())
    prefix = rf"spark_demo-{commit[:12]}-[0-9a-f]{{10}}"
    # local (Dataproc) and custom: one set each (their archives differ: conf/local is only
    # packed for the local environment); k8s runs the script in its image.
    assert sorted(re.sub(prefix, "P", name) for name in names) == sorted(
        ["P.tar.gz", "P-init.sh", f"P-{SPARK_TASK}.py"] * 2
    )
    printed = spark_build.stderr["local"] + spark_build.stderr["custom"]
    for name in names:
        assert f"Spark artifact: {spark_build.artifacts / name}" in printed


def test_mlflow_run_id_reaches_driver_and_executors(spark_build: SparkBuild) -> None:
    """The Dataproc DAG's SPEC with an MLflow section, built by the runtime as the generated
    file does when kedro-mlflow is on (see render.dag.render_dag)."""
    spec = dag_spec(spark_build.files["local"])
    spec["mlflow"] = {
        "tracking_uri": "http://127.0.0.1:9",
        "experiment_name": "spark_demo",
        "task_id": "start_mlflow_run",
        "end_task_id": "end_mlflow_run",
        "auth": {"type": None, "params": []},
    }
    runtime = load_runtime("mlflow_run", "spark")
    dag = runtime.build_dag(
        spec,
        extensions=[runtime.MlflowExtension, runtime.SparkExtension(runtime.untemplated)],
    )
    job = _rendered(dag, SPARK_TASK).job["pyspark_job"]
    assert job["args"][-1] == "--set-env=MLFLOW_RUN_ID=mlflow-run-of-start_mlflow_run"
    assert job["properties"]["spark.executorEnv.MLFLOW_RUN_ID"] == (
        "mlflow-run-of-start_mlflow_run"
    )
    assert "start_mlflow_run" in dag.get_task("create_spark_cluster").upstream_task_ids or (
        "start_mlflow_run" in dag.get_task("clean").upstream_task_ids
    )


# --- Spark on Kubernetes --------------------------------------------------------------------


def test_k8s_spark_submit(spark_build: SparkBuild) -> None:
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    dag = spark_build.dags["k8s"]
    assert {t.task_id for t in dag.tasks} == {"clean", SPARK_TASK, "report", "pipeline_complete"}
    task = _rendered(dag, SPARK_TASK)
    assert isinstance(task, SparkSubmitOperator)
    assert task.application == "local:///home/kedro/spark_run.py"
    assert task.upstream_task_ids == {"clean"}
    assert task._conn_id == "spark_default"
    assert task._deploy_mode == "cluster"
    assert task.application_args[:9] == group_arguments("k8s")
    conf = task.conf
    expected = {
        "spark.submit.deployMode": "cluster",
        "spark.kubernetes.namespace": "kedro",
        "spark.kubernetes.container.image": "spark-demo-spark:1",
        "spark.kubernetes.container.image.pullPolicy": "IfNotPresent",
        "spark.kubernetes.authenticate.driver.serviceAccountName": "spark-driver",
        "spark.kubernetes.driver.label.team": "data",
        "spark.kubernetes.executor.label.team": "data",
        "spark.kubernetes.driverEnv.SPARK_DEMO": "on",
        "spark.executorEnv.SPARK_DEMO": "on",
        "spark.driver.port": "7078",
        "spark.blockManager.port": "7079",
        "spark.kubernetes.executor.request.cores": "1",
        "spark.kubernetes.driver.request.cores": "1",
        "spark.driver.memory": "2048m",
        "spark.executor.memory": "2048m",
        "spark.executor.instances": "2",
    }
    assert {key: conf[key] for key in expected} == expected
    claim = "spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-local-dir-1"
    assert conf[f"{claim}.options.claimName"] == "OnDemand"
    assert conf[f"{claim}.options.storageClass"] == "fast-ssd"
    assert conf[f"{claim}.options.sizeLimit"] == "50Gi"
    assert conf[f"{claim}.mount.path"] == "/storage"
    # The run script is in the image: nothing is uploaded.
    assert "Spark artifact" not in spark_build.stderr["k8s"]


# --- custom factory --------------------------------------------------------------------------


def test_custom_factory_operators_and_wiring(spark_build: SparkBuild) -> None:
    from airflow.providers.standard.operators.bash import BashOperator

    dag = spark_build.dags["custom"]
    create = dag.get_task("create_spark_cluster")
    job = dag.get_task(SPARK_TASK)
    delete = dag.get_task("delete_spark_cluster")
    assert all(isinstance(t, BashOperator) for t in (create, job, delete))
    assert job.upstream_task_ids == {"clean", "create_spark_cluster"}
    assert delete.upstream_task_ids == {"create_spark_cluster", SPARK_TASK}
    assert delete.trigger_rule == "all_done"
    assert job.bash_command == (
        "echo submit run --env custom --pipeline __default__ --node to_spark,sum_by_region"
    )
    rendered = _rendered(dag, "create_spark_cluster", "manual__1")
    assert re.match(
        r"^echo create spark-demo-[0-9a-f]{10} with init script /", rendered.bash_command
    )
    source = spark_build.files["custom"].read_text()
    assert "from airflow.providers.standard.operators.bash import BashOperator" in source
    assert "CUSTOM_SPARK_OPERATORS = {" in source


def test_k8s_spark_submit_command_line(
    spark_build: SparkBuild, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command the provider's hook would run, against a Spark connection to a Kubernetes
    master (from the environment; nothing is started or contacted)."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_SPARK_DEFAULT",
        '{"conn_type": "spark", "host": "k8s://https://127.0.0.1", "port": 6443}',
    )
    task = _rendered(spark_build.dags["k8s"], SPARK_TASK)
    command = task._get_hook()._build_spark_submit_command(task.application)
    assert command[0] == "spark-submit"
    assert command[command.index("--master") + 1] == "k8s://https://127.0.0.1:6443"
    assert command[command.index("--deploy-mode") + 1] == "cluster"
    confs = {command[i + 1] for i, part in enumerate(command) if part == "--conf"}
    assert {
        "spark.kubernetes.namespace=kedro",
        "spark.kubernetes.container.image=spark-demo-spark:1",
        "spark.kubernetes.authenticate.driver.serviceAccountName=spark-driver",
    } <= confs
    start = command.index("local:///home/kedro/spark_run.py")
    assert command[start + 1 :] == [
        *group_arguments("k8s"),
        '--params=alpha="x\\x2cy"',
    ]
