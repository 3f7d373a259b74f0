"""Generated DAGs in every supported Airflow line, with the oldest and the newest providers.

Each cell of the matrix is a lock file in requirements/airflow-matrix (``<cell>.in`` names the
versions, ``<cell>.txt`` pins everything for Python 3.10 to 3.12) and a virtualenv of its own
(tests/venvs.py: made in the background at the start of the session; with the Python of
$KAK8S_MATRIX_PYTHON when it is set). The newest Airflow with the newest providers is the test
virtualenv itself, the reference.

The DAGs, compiled once by the real CLI: the example with every runtime feature on (resource
profiles, secrets, pod templates, the per-run volume, MLflow, Slack alerts, external sensors,
TaskGroups, params) and the spark project's DAG of each spark type. In each cell
``airflow_probe.py`` loads them with that Airflow's DagBag, renders every task's templates and
builds every pod with the provider's own ``build_pod_request_obj`` (dummy kubeconfig: nothing is
contacted). Every cell must give what the reference gives (up to the random parts of pod names
and the ``airflow_version`` label), and every pod is valid for Kubernetes 1.30.

Dataproc DAGs are loaded where the cell has providers-google, spark-submit DAGs where it has
providers-apache-spark (the newest cells).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, kedro
from tests.integration.test_runtime_features import features_project
from tests.integration.test_spark_dags import copy_spark_project
from tests.mlflow.overlay import apply_mlflow_overlay
from tests.mlflow.server import require_mlflow
from tests.venvs import MATRIX, venv_python

pytestmark = [pytest.mark.airflow, pytest.mark.matrix, pytest.mark.slow]

PROBE = Path(__file__).with_name("airflow_probe.py")
REFERENCE = "reference"
CELLS = sorted(lock.stem for lock in MATRIX.glob("*.txt"))
QUIET = {"KEDRO_LOGGING_CONFIG": str(REPO / "scripts" / "quiet-logging.yml")}

# Spark jobs as pods of a Spark image: a custom factory whose operators exist in every
# supported Airflow (BashOperator moved to the standard provider in Airflow 3).
POD_FACTORY = """
from kedro_airflow_k8s.spark import SparkOperatorFactoryBase

POD = "from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator"


class PodFactory(SparkOperatorFactoryBase):
    @property
    def imports_statement(self):
        return POD

    def create_cluster_operator(self, cluster):
        return self.call(
            "KubernetesPodOperator",
            task_id=cluster.create_task_id,
            name="create-cluster",
            image="spark-tools:1",
            arguments=["create", cluster.name, cluster.init_script_url],
        )

    def delete_cluster_operator(self, cluster):
        return self.call(
            "KubernetesPodOperator",
            task_id=cluster.delete_task_id,
            name="delete-cluster",
            image="spark-tools:1",
            arguments=["delete", cluster.name],
        )

    def submit_operator(self, job):
        return self.call(
            "KubernetesPodOperator",
            task_id=job.task_id,
            name="submit",
            image="spark-tools:1",
            arguments=["submit", job.cluster.name, job.run_script_url, *job.arguments],
        )
"""


@dataclass(frozen=True)
class MatrixDags:
    kubeconfig: Path
    folders: dict[str, Path]  # features, spark-custom, spark-dataproc, spark-k8s


@pytest.fixture(scope="session")
def matrix_dags(tmp_path_factory: pytest.TempPathFactory, kubeconfig: Path) -> MatrixDags:
    require_mlflow("kedro_mlflow")
    base = tmp_path_factory.mktemp("matrix")
    folders = {}

    project = features_project(base / "features", env="matrix")
    apply_mlflow_overlay(project, "matrix", "http://127.0.0.1:9")  # nothing is contacted
    folders["features"] = base / "dags-features"
    done = kedro(
        project, "airflow-k8s", "-e", "matrix", "compile", "-o", str(folders["features"]), env=QUIET
    )
    assert done.returncode == 0, done.stderr[-3000:]

    spark = copy_spark_project(base / "spark")
    (spark / "src" / "spark_demo" / "pod_factory.py").write_text(POD_FACTORY)
    (spark / "conf" / "pods").mkdir()
    (spark / "conf" / "pods" / "kedro-airflow-k8s.yaml").write_text(
        "run_config:\n  spark:\n    type: custom\n"
        "    operator_factory: spark_demo.pod_factory.PodFactory\n"
    )
    env = {**QUIET, "KEDRO_CONFIG_SPARK_ARTIFACTS": str(base / "artifacts")}
    for name, kedro_env in (
        ("spark-custom", "pods"),
        ("spark-dataproc", "local"),
        ("spark-k8s", "k8s"),
    ):
        folders[name] = base / f"dags-{name}"
        done = kedro(
            spark, "airflow-k8s", "-e", kedro_env, "compile", "-o", str(folders[name]), env=env
        )
        assert done.returncode == 0, done.stderr[-3000:]
    return MatrixDags(kubeconfig, folders)


def cell_requirements(cell: str) -> str:
    return (MATRIX / f"{cell}.in").read_text()


def cell_folders(cell: str) -> list[str]:
    """The DAG folders a cell loads: the spark types whose provider it installs (the reference
    has them all)."""
    folders = ["features", "spark-custom", "spark-dataproc", "spark-k8s"]
    if cell == REFERENCE:
        return folders
    wanted = cell_requirements(cell)
    needs = {
        "spark-dataproc": "apache-airflow-providers-google",
        "spark-k8s": "apache-airflow-providers-apache-spark",
    }
    return [name for name in folders if needs.get(name, "") in wanted]


def pinned_versions(cell: str, python: str) -> dict[str, str]:
    """name -> version of the cell's lock file, for Python ``python`` (x.y.z)."""
    from packaging.markers import Marker
    from packaging.requirements import Requirement

    environment = {"python_full_version": python, "python_version": python.rsplit(".", 1)[0]}
    found = {}
    for line in (MATRIX / f"{cell}.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        requirement = Requirement(line)
        marker: Marker | None = requirement.marker
        if marker is None or marker.evaluate(environment):
            (spec,) = requirement.specifier
            found[requirement.name.lower()] = spec.version
    return found


def platform_version(python: str) -> str:
    return subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()


_probed: dict[str, dict[str, Any]] = {}


def probe(cell: str, dags: MatrixDags, home: Path) -> dict[str, Any]:
    """What ``airflow_probe.py`` sees of the DAGs in ``cell`` (once per session)."""
    if cell in _probed:
        return _probed[cell]
    python = Path(sys.executable) if cell == REFERENCE else venv_python(cell)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTHON", "KEDRO_"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "HOME": str(home),
            "PATH": f"{python.parent}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    output = home / "probe.json"
    folders = [str(dags.folders[name]) for name in cell_folders(cell)]
    done = subprocess.run(
        [str(python), str(PROBE), str(output), str(dags.kubeconfig), *folders],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(output.read_text())
    # Folder paths -> their names.
    by_path = {str(path): name for name, path in dags.folders.items()}
    result["folders"] = {by_path[path]: found for path, found in result["folders"].items()}
    _probed[cell] = result
    return result


@pytest.fixture(scope="session")
def reference(matrix_dags: MatrixDags, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return probe(REFERENCE, matrix_dags, tmp_path_factory.mktemp("probe-reference"))


_SUFFIX = re.compile(r"-[a-z0-9]{8}$")
_SECRET_VOLUME = re.compile(
    r"secretvol[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)


def normalised_pod(pod: dict[str, Any]) -> dict[str, Any]:
    """A pod without what changes from build to build or names the Airflow version: the random
    suffix of its name and of secret volumes' names, the ``airflow_version`` label."""
    text = json.dumps(pod, sort_keys=True)
    names: dict[str, str] = {}
    for found in _SECRET_VOLUME.findall(text):
        names.setdefault(found, f"secretvol-{len(names)}")
    for found, replacement in names.items():
        text = text.replace(found, replacement)
    out: dict[str, Any] = json.loads(text)
    out["metadata"]["name"] = _SUFFIX.sub("", out["metadata"]["name"])
    out["metadata"].get("labels", {}).pop("airflow_version", None)
    return out


def comparable(task: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    out = {key: task[key] for key in ("type", "group", "upstream", "trigger_rule", "callbacks")}
    out["fields"] = {key: value for key, value in task["fields"].items() if key in fields}
    out["pod"] = normalised_pod(task["pod"]) if task["pod"] else None
    return out


def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key in sorted(set(expected) | set(actual), key=str):
            if key not in actual or key not in expected:
                out.append(f"{path}/{key}: {expected.get(key, '-')!r} != {actual.get(key, '-')!r}")
            else:
                out += differences(expected[key], actual[key], f"{path}/{key}")
        return out
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [
            d
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for d in differences(e, a, f"{path}[{i}]")
        ]
    return [] if expected == actual else [f"{path}: {expected!r} != {actual!r}"]


def pods_of(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{dag_id}/{task_id}": task["pod"]
        for folder in result["folders"].values()
        for dag_id, tasks in folder["dags"].items()
        for task_id, task in tasks.items()
        if task["pod"]
    }


def _cell_param(name: str) -> Any:
    return pytest.param(name, id=name, marks=pytest.mark.venv(name))


CELL_PARAMS = [_cell_param(name) for name in CELLS]


@pytest.mark.parametrize("cell", CELL_PARAMS)
def test_cell_runs_the_pinned_versions(cell: str, matrix_dags: MatrixDags, tmp_path: Path) -> None:
    result = probe(cell, matrix_dags, tmp_path)
    pins = pinned_versions(cell, result["python"])
    wanted = os.environ.get("KAK8S_MATRIX_PYTHON")
    assert result["python"] == (platform_version(wanted) if wanted else sys.version.split()[0])
    assert result["airflow"] == pins["apache-airflow"]
    installed = result["providers"]
    for name in cell_requirements(cell).split():
        name = name.split("==")[0].strip().lower()
        if name.startswith("apache-airflow-providers-") and name in pins:
            assert installed.get(name) == pins[name], name


@pytest.mark.parametrize("cell", CELL_PARAMS)
def test_generated_dags_import_and_build_the_same_tasks_and_pods(
    cell: str, matrix_dags: MatrixDags, reference: dict[str, Any], tmp_path: Path
) -> None:
    result = probe(cell, matrix_dags, tmp_path)
    assert set(result["folders"]) == set(cell_folders(cell))
    for name, found in result["folders"].items():
        assert found["errors"] == {}, f"{name}: {found['errors']}"
        assert found["warnings"] == [], f"{name}: {found['warnings']}"
        expected = reference["folders"][name]["dags"]
        assert set(found["dags"]) == set(expected), name
        for dag_id, tasks in expected.items():
            assert set(found["dags"][dag_id]) == set(tasks), dag_id
            for task_id, task in tasks.items():
                other = found["dags"][dag_id][task_id]
                fields = set(task["fields"]) & set(other["fields"])
                diff = differences(comparable(task, fields), comparable(other, fields))
                assert not diff, f"{dag_id}/{task_id} in {cell}:\n" + "\n".join(diff[:20])


@pytest.mark.parametrize("cell", [*CELL_PARAMS, pytest.param(REFERENCE, id=REFERENCE)])
def test_every_pod_is_a_valid_kubernetes_manifest(
    cell: str, matrix_dags: MatrixDags, reference: dict[str, Any], tmp_path: Path
) -> None:
    import kubernetes_validate

    result = reference if cell == REFERENCE else probe(cell, matrix_dags, tmp_path)
    pods = pods_of(result)
    folders = {name: reference["folders"][name] for name in result["folders"]}
    assert set(pods) == set(pods_of({"folders": folders}))  # the pod tasks of those DAGs
    for where, pod in pods.items():
        try:
            kubernetes_validate.validate(pod, "1.30.0", strict=True)
        except kubernetes_validate.ValidationError as error:
            raise AssertionError(f"{where} in {cell}: {error}") from None


def test_the_reference_has_every_runtime_feature(reference: dict[str, Any]) -> None:
    """What the other cells are compared with: every runtime feature is in it."""
    for name, folder in reference["folders"].items():
        assert folder["errors"] == {} and folder["warnings"] == [], name
    tasks = reference["folders"]["features"]["dags"]["spaceflights.__default__.matrix"]
    types = {task_id: task["type"] for task_id, task in tasks.items()}
    assert types["start_mlflow_run"] == "MlflowStartRunOperator"
    assert types["end_mlflow_run"] == "MlflowEndRunOperator"
    assert types["data_volume_init"] == "VolumeInitPodOperator"
    assert types["data_volume_delete"] == "PythonOperator"
    assert sorted(t for t, kind in types.items() if kind == "ExternalTaskSensor") == [
        "wait_for_other.done",
        "wait_for_upstream",
        "wait_for_upstream_2",
    ]
    assert all(task["callbacks"] == ["notify"] for task in tasks.values())  # Slack alerts
    groups = {task["group"] for task in tasks.values()}
    assert {"active_modelling_pipeline", "candidate_modelling_pipeline"} <= groups
    pod = tasks["preprocessing"]["pod"]
    spec, container = pod["spec"], pod["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["MLFLOW_RUN_ID"]["value"] == "xcom of start_mlflow_run"
    assert env["DB_CONNECTION"]["valueFrom"]["secretKeyRef"]["name"] == "spaceflights-db"
    assert container["envFrom"] == [{"secretRef": {"name": "spaceflights-shared"}}]
    assert container["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}
    assert container["args"][-1].startswith('--params=ds="2026-11-20",run_id=')
    assert spec["priorityClassName"] == "batch"  # the __default__ pod template
    assert spec["securityContext"] == {"fsGroup": 1000}
    claims = [v for v in spec["volumes"] if "persistentVolumeClaim" in v]
    assert len(claims) == 1 and any("secret" in v for v in spec["volumes"])
    gpu = tasks["active_modelling_pipeline.train_model_node"]["pod"]["spec"]
    assert gpu["runtimeClassName"] == "nvidia"  # the training pod template
    assert gpu["tolerations"][0]["key"] == "nvidia.com/gpu" and gpu["affinity"]["nodeAffinity"]
    high_memory = tasks["create_model_input_table_node"]["pod"]["spec"]
    assert high_memory["nodeSelector"] == {"cloud.google.com/gke-nodepool": "high-memory"}
    # model_input_table crosses pods in memory: kept on the run's volume (run_config.in_memory)
    written = {e["name"]: e for e in high_memory["containers"][0]["env"]}
    assert "KEDRO_AIRFLOW_K8S_MEMORY_STORAGE" in written
    assert written["KEDRO_AIRFLOW_K8S_MEMORY_DATASETS"]["value"] == '["model_input_table"]'

    def spark_types(folder: str) -> dict[str, str]:
        (dag,) = reference["folders"][folder]["dags"].values()
        return {task_id: task["type"] for task_id, task in dag.items()}

    assert spark_types("spark-dataproc") == {
        "clean": "KubernetesPodOperator",
        "create_spark_cluster": "DataprocCreateClusterOperator",
        "spark_to_spark": "DataprocSubmitJobOperator",
        "delete_spark_cluster": "DataprocDeleteClusterOperator",
        "report": "KubernetesPodOperator",
        "pipeline_complete": "EmptyOperator",
    }
    assert spark_types("spark-k8s")["spark_to_spark"] == "SparkSubmitOperator"
    custom = spark_types("spark-custom")
    assert custom["create_spark_cluster"] == custom["spark_to_spark"] == "KubernetesPodOperator"
    (dag,) = reference["folders"]["spark-custom"]["dags"].values()
    assert dag["delete_spark_cluster"]["trigger_rule"] == "all_done"
    submit = dag["spark_to_spark"]["pod"]["spec"]["containers"][0]["args"]
    assert submit[:2] == ["submit", submit[1]] and re.fullmatch(
        r"spark-demo-[0-9a-f]{10}", submit[1]
    )


@pytest.mark.parametrize("cell", CELLS)
def test_the_support_matrix_page_lists_each_cell(cell: str) -> None:
    """docs/support-matrix.md has a row with the cell's versions (for Python 3.11)."""
    pins = pinned_versions(cell, "3.11.7")
    columns = [
        pins.get(name, "-")
        for name in (
            "apache-airflow",
            "apache-airflow-providers-cncf-kubernetes",
            "apache-airflow-providers-google",
            "apache-airflow-providers-apache-spark",
        )
    ]
    page = (REPO / "docs" / "support-matrix.md").read_text()
    assert "| " + " | ".join(columns) + " |" in page, columns
