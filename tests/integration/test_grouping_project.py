"""A project with tag groups, nested namespaces and spark nodes, compiled with the real CLI and
loaded in a real Airflow 3: tasks, TaskGroups, dependencies and each pod's --nodes."""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest

from tests.helpers import REPO, kedro

pytestmark = pytest.mark.airflow

PROJECT = REPO / "tests" / "data" / "grouping_project"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Any]:
    base = tmp_path_factory.mktemp("grouping")
    project = base / "project"
    shutil.copytree(PROJECT, project)
    quiet = {"KEDRO_LOGGING_CONFIG": str(REPO / "scripts" / "quiet-logging.yml")}
    explained = kedro(project, "airflow-k8s", "compile", "--explain", "json", env=quiet)
    assert explained.returncode == 0, explained.stderr[-2000:]
    plan = json.loads(explained.stdout)
    done = kedro(project, "airflow-k8s", "compile", "-o", str(base / "dags"), env=quiet)
    assert done.returncode == 0, done.stderr[-2000:]

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(base / "dags"))
    assert bag.import_errors == {}
    return plan, next(iter(bag.dags.values()))


def _nodes(task: Any) -> list[str]:
    args = [getattr(a, "value", a) for a in task.arguments]
    return str(args[args.index("--nodes") + 1]).split(",")


def test_tasks_and_their_nodes(compiled: tuple[dict[str, Any], Any]) -> None:
    _, dag = compiled
    pods = {t.task_id: _nodes(t) for t in dag.tasks if hasattr(t, "arguments")}
    assert pods == {
        "ingest": ["extract", "clean"],
        "spark_spark_aggregate": ["spark_aggregate", "bridge", "spark_join"],
        "features.inner.make_inner": ["features.inner.make_inner"],
        "features.make_outer": ["features.make_outer"],
        "train": ["train"],
        "report": ["report"],
    }


def test_each_pod_runs_exactly_its_planned_nodes(compiled: tuple[dict[str, Any], Any]) -> None:
    plan, dag = compiled
    planned = {t["full_task_id"]: t["nodes"] for t in plan["tasks"]}
    actual = {t.task_id: _nodes(t) for t in dag.tasks if hasattr(t, "arguments")}
    assert actual == planned


def test_namespaces_are_nested_task_groups(compiled: tuple[dict[str, Any], Any]) -> None:
    _, dag = compiled
    features = dag.task_group.get_child_by_label("features")
    inner = features.get_child_by_label("inner")
    assert inner.group_id == "features.inner"
    assert set(inner.children) == {"features.inner.make_inner"}
    assert "features.make_outer" in features.children


def test_dependencies_keep_every_kedro_edge(compiled: tuple[dict[str, Any], Any]) -> None:
    _, dag = compiled
    upstream = {t.task_id: set(t.upstream_task_ids) for t in dag.tasks}
    assert upstream == {
        "ingest": set(),
        "spark_spark_aggregate": {"ingest"},
        "features.inner.make_inner": {"spark_spark_aggregate"},
        "features.make_outer": {"features.inner.make_inner"},
        "train": {"features.make_outer"},
        "report": {"ingest", "train"},
        "pipeline_complete": {"report"},
    }


def test_profiles_and_kinds_in_the_plan(compiled: tuple[dict[str, Any], Any]) -> None:
    plan, _ = compiled
    by_id = {t["full_task_id"]: t for t in plan["tasks"]}
    assert by_id["train"]["resource_profile"] == "big"
    assert by_id["spark_spark_aggregate"]["kind"] == "spark"
    assert {t["kind"] for i, t in by_id.items() if i != "spark_spark_aggregate"} == {"pod"}
