"""Spark groups with ``run_config.execution: local``: compiled by the real CLI from the spark demo
project (Dataproc in its environment), the spark group becomes one local ``kedro run`` of its
nodes, no spark artifact is built or uploaded, and ``run_config.spark`` is reported once."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from tests.helpers import REPO, copy_project, dag_spec, kedro

QUIET = str(REPO / "scripts" / "quiet-logging.yml")


@pytest.mark.airflow
def test_a_spark_group_runs_as_one_local_kedro_run_without_artifacts(tmp_path: Path) -> None:
    project = copy_project(REPO / "tests" / "data" / "spark_project", tmp_path, "spark_project")
    dataproc = (project / "conf" / "local" / "kedro-airflow-k8s.yaml").read_text()
    (project / "conf" / "onhost").mkdir()
    (project / "conf" / "onhost" / "kedro-airflow-k8s.yaml").write_text(
        dataproc + "  execution: local\n"
    )
    out = tmp_path / "out"
    done = kedro(
        project,
        "airflow-k8s",
        "-e",
        "onhost",
        "compile",
        "-o",
        str(out),
        env={"KEDRO_LOGGING_CONFIG": QUIET},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Spark artifact" not in done.stderr  # nothing uploaded to gs://
    warnings = [line for line in done.stderr.splitlines() if line.startswith("Warning: ")]
    assert sum(w.startswith("Warning: run_config.spark: ") for w in warnings) == 1, warnings
    dag_file = out / "spark_demo___default___onhost.py"
    spec = dag_spec(dag_file)
    assert spec["spark"] is None
    [spark_task] = [task for task in spec["tasks"] if task["kind"] == "spark"]
    assert spark_task["nodes"] == ["to_spark", "sum_by_region"]
    assert spark_task["arguments"][:8] == [
        "kedro",
        "run",
        "--env",
        "onhost",
        "--pipelines",
        "__default__",
        "--nodes",
        "to_spark,sum_by_region",
    ]
    dag = runpy.run_path(str(dag_file))["dag"]
    operators = {task.task_id: type(task).__name__ for task in dag.tasks}
    assert operators == {
        "clean": "LocalKedroRunOperator",
        "spark_to_spark": "LocalKedroRunOperator",
        "report": "LocalKedroRunOperator",
        "pipeline_complete": "EmptyOperator",
    }
