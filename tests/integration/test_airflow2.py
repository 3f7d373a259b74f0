"""The same generated DAG imports on Airflow 2.10, in a virtualenv of its own.

The virtualenv is made from requirements/airflow2.txt the first time (or taken from
$KAK8S_AIRFLOW2_VENV) and reused afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, helper_venv

pytestmark = [pytest.mark.airflow2, pytest.mark.slow]

REQUIREMENTS = REPO / "requirements" / "airflow2.txt"

PROBE = """
import json, sys
from airflow.models.dagbag import DagBag
bag = DagBag(sys.argv[1], include_examples=False)
print(json.dumps({
    "version": __import__("airflow").__version__,
    "errors": {k: str(v) for k, v in bag.import_errors.items()},
    "dags": {
        d.dag_id: {t.task_id: sorted(t.upstream_task_ids) for t in d.tasks}
        for d in bag.dags.values()
    },
}))
"""


def _airflow2_python() -> Path:
    return helper_venv("airflow2", REQUIREMENTS, "KAK8S_AIRFLOW2_VENV")


@pytest.fixture(scope="session")
def airflow2_python() -> Path:
    return _airflow2_python()


def _probe(airflow2_python: Path, dags: Path, home: Path) -> dict[str, Any]:
    """Load ``dags`` with Airflow 2.10's DagBag: its version, import errors and tasks."""
    env = {
        "PATH": f"{airflow2_python.parent}:{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "HOME": str(home),
    }
    done = subprocess.run(
        [str(airflow2_python), "-c", PROBE, str(dags)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_dag_imports_on_airflow_2_10(
    airflow2_python: Path, compiled_example: Any, example_dag: Any, tmp_path: Path
) -> None:
    result = _probe(airflow2_python, compiled_example.dags_folder, tmp_path)
    assert result["version"].startswith("2.10.")
    assert result["errors"] == {}
    airflow3 = {t.task_id: sorted(t.upstream_task_ids) for t in example_dag.tasks}
    assert result["dags"] == {example_dag.dag_id: airflow3}


ALL_FEATURES = """
run_config:
  macro_params: [ds]
  variables_params: [owner]
  volume: {size: 2Gi}
  failure_handlers: [{type: slack}]
  external_dependencies: [{dag_id: upstream, task_id: done}]
  kubernetes_pod_templates:
    __default__: {template: "spec: {priorityClassName: batch}"}
  group_by: none
  in_memory: {storage: volume}
"""


def test_dag_with_every_runtime_feature_imports_on_airflow_2_10(
    airflow2_python: Path, tmp_path: Path
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    from tests.helpers import copy_example, kedro

    project = copy_example(tmp_path, git=False)
    (project / "conf" / "all").mkdir()
    (project / "conf" / "all" / "kedro-airflow-k8s.yaml").write_text(ALL_FEATURES)
    catalog = project / "conf" / "base" / "catalog.yml"  # in memory between pods: in_memory
    text = catalog.read_text()
    start = text.index("\nmodel_input_table:\n") + 1
    catalog.write_text(text[:start] + text[text.index("\n\n", start) + 2 :])
    dags = tmp_path / "dags"
    done = kedro(project, "airflow-k8s", "-e", "all", "compile", "-o", str(dags))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "MemoryExtension])" in next(dags.glob("*.py")).read_text()
    result = _probe(airflow2_python, dags, tmp_path)
    assert result["errors"] == {}
    airflow3 = next(iter(DagBag(dag_folder=str(dags)).dags.values()))
    expected = {t.task_id: sorted(t.upstream_task_ids) for t in airflow3.tasks}
    assert result["dags"] == {airflow3.dag_id: expected}
    assert {"data_volume_init", "data_volume_delete", "wait_for_upstream.done"} <= set(expected)


CORE_BASH_FACTORY = '''
from kedro_airflow_k8s.spark import SparkOperatorFactoryBase


class CoreBashFactory(SparkOperatorFactoryBase):
    """Operators of Airflow 2.10's core, so the DAG needs no provider there."""

    @property
    def imports_statement(self):
        return "from airflow.operators.bash import BashOperator"

    def create_cluster_operator(self, cluster):
        return self.call("BashOperator", task_id=cluster.create_task_id, bash_command="true")

    def delete_cluster_operator(self, cluster):
        return self.call("BashOperator", task_id=cluster.delete_task_id, bash_command="true")

    def submit_operator(self, job):
        return self.call("BashOperator", task_id=job.task_id, bash_command="true")
'''


def test_spark_dag_of_a_custom_factory_imports_on_airflow_2_10(
    airflow2_python: Path, tmp_path: Path
) -> None:
    """The spark extension and the builder's task_operator hook on Airflow 2.10 (Dataproc and
    spark-submit DAGs need providers that the 2.10 virtualenv does not have)."""
    from tests.helpers import kedro
    from tests.integration.test_spark_dags import copy_spark_project

    project = copy_spark_project(tmp_path)
    (project / "src" / "spark_demo" / "core_bash.py").write_text(CORE_BASH_FACTORY)
    (project / "conf" / "core").mkdir()
    (project / "conf" / "core" / "kedro-airflow-k8s.yaml").write_text(
        "run_config:\n  spark:\n    type: custom\n"
        "    operator_factory: spark_demo.core_bash.CoreBashFactory\n"
    )
    dags = tmp_path / "dags"
    done = kedro(
        project,
        "airflow-k8s",
        "-e",
        "core",
        "compile",
        "-o",
        str(dags),
        env={"KEDRO_CONFIG_SPARK_ARTIFACTS": str(tmp_path / "artifacts")},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = _probe(airflow2_python, dags, tmp_path)
    assert result["errors"] == {}
    (tasks,) = result["dags"].values()
    assert tasks["spark_to_spark"] == ["clean", "create_spark_cluster"]
    assert tasks["delete_spark_cluster"] == ["create_spark_cluster", "spark_to_spark"]


def test_dag_of_local_execution_imports_on_airflow_2_10(
    airflow2_python: Path, tmp_path: Path
) -> None:
    """The local extension (with MLflow's, whose environment it passes on) on Airflow 2.10."""
    from tests.helpers import handmade_spec, local_dag_source, pod_task

    spec = handmade_spec(
        "local.__default__.local",
        [pod_task("a"), pod_task("b", upstream=["a"])],
        local={"project_path": str(tmp_path), "python": "/usr/bin/python3", "warnings": ["w"]},
        mlflow={"tracking_uri": "http://127.0.0.1:1", "experiment_name": "e", "run_name": "r"},
    )
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "local_dag.py").write_text(local_dag_source(spec, ("mlflow_run",)))
    result = _probe(airflow2_python, dags, tmp_path)
    assert result["errors"] == {}
    assert result["dags"] == {
        "local.__default__.local": {
            "a": ["start_mlflow_run"],
            "b": ["a"],
            "end_mlflow_run": ["b", "start_mlflow_run"],
            "pipeline_complete": ["b"],
            "start_mlflow_run": [],
        }
    }
