"""Generated DAGs of particular shapes loaded by Airflow 2.10's real DagBag (in the matrix's
2.10 virtualenv, tests/venvs.py) as by Airflow 3's: nested TaskGroups named like top-level ones,
and the local execution extension. (tests/integration/test_airflow_matrix.py loads the example
with every runtime feature in each cell.)"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.venvs import AIRFLOW2

pytestmark = [pytest.mark.airflow2, pytest.mark.venv(AIRFLOW2), pytest.mark.slow]

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


def _probe_airflow2(dags: Path, home: Path) -> dict[str, Any]:
    from tests.venvs import venv_python

    python = venv_python(AIRFLOW2)
    env = {
        "PATH": f"{python.parent}:{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "HOME": str(home),
    }
    done = subprocess.run(
        [str(python), "-c", PROBE, str(dags)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_nested_task_groups_named_like_top_level_ones_import_on_airflow_2_10(
    tmp_path: Path,
) -> None:
    """Kedro namespaces ``a.a`` and ``g0.g1`` beside a top-level ``g1``: Airflow 2.10 checks a
    nested TaskGroup's own id against the full ids of the TaskGroups made before it."""
    from airflow.dag_processing.dagbag import DagBag

    from kedro_airflow_k8s.config import parse_config
    from kedro_airflow_k8s.plan import PlanOptions, build_plan
    from kedro_airflow_k8s.render import DagContext, build_spec, render_dag
    from tests.plan.plan_helpers import all_in_catalog, node, pipeline

    pipe = pipeline(
        node("g1.w", ["r"], ["d1"], namespace="g1"),
        node("g0.g1.z", ["d1"], ["d2"], namespace="g0.g1"),
        node("a.y", ["d2"], ["d3"], namespace="a"),
        node("a.a.x", ["d3"], ["d4"], namespace="a.a"),
        node("a.a.a.v", ["d4"], ["d5"], namespace="a.a.a"),
    )
    plan = build_plan(pipe, all_in_catalog(pipe), PlanOptions())
    run_config = parse_config({"run_config": {"image": "repo/img:1"}}).run_config
    spec = build_spec(plan, run_config, DagContext("Demo", "demo", "__default__", "local", "abc"))
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "nested.py").write_text(render_dag(spec))
    result = _probe_airflow2(dags, tmp_path)
    assert result["version"].startswith("2.10."), result["version"]
    assert result["errors"] == {}
    airflow3 = DagBag(dag_folder=str(dags))
    assert airflow3.import_errors == {}
    (dag,) = airflow3.dags.values()
    expected = {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks}
    assert result["dags"] == {dag.dag_id: expected}
    assert {"g0.g1_2.z", "a.a_2.x", "a.a_2.a_2.v"} <= set(expected)


def test_dag_of_local_execution_imports_on_airflow_2_10(tmp_path: Path) -> None:
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
    result = _probe_airflow2(dags, tmp_path)
    assert result["version"].startswith("2.10."), result["version"]
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


def test_a_compiled_dag_of_local_execution_imports_on_airflow_2_10(tmp_path: Path) -> None:
    """``run_config.execution: local`` as compile renders it (the local extension first, Kubernetes
    settings in the config left out) on Airflow 2.10 and Airflow 3: the same graph."""
    from airflow.dag_processing.dagbag import DagBag

    from kedro_airflow_k8s.config import parse_config
    from kedro_airflow_k8s.plan import PlanOptions, build_plan
    from kedro_airflow_k8s.render import DagContext, build_spec, render_dag
    from tests.plan.plan_helpers import all_in_catalog, node, pipeline

    pipe = pipeline(node("g.x", ["r"], ["d1"], namespace="g"), node("y", ["d1"], ["d2"]))
    plan = build_plan(pipe, all_in_catalog(pipe), PlanOptions())
    config = {"image": "repo/img:1", "namespace": "kedro", "execution": "local", "retries": 0}
    run_config = parse_config({"run_config": config}).run_config
    context = DagContext("Demo", "demo", "__default__", "local", "abc", str(tmp_path))
    spec = build_spec(plan, run_config, context)
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "local_compiled.py").write_text(render_dag(spec))
    result = _probe_airflow2(dags, tmp_path)
    assert result["version"].startswith("2.10."), result["version"]
    assert result["errors"] == {}
    airflow3 = DagBag(dag_folder=str(dags))
    assert airflow3.import_errors == {}
    (dag,) = airflow3.dags.values()
    assert {type(t).__name__ for t in dag.tasks if t.task_id != "pipeline_complete"} == {
        "LocalKedroRunOperator"
    }
    expected = {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks}
    assert result["dags"] == {dag.dag_id: expected}
    assert expected == {"g.x": [], "y": ["g.x"], "pipeline_complete": ["y"]}
