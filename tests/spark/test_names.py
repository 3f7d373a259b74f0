"""features/spark/spec.py: create_after, cluster base names and spark_memory; the runtime's per-run
cluster name."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kedro_airflow_k8s.features.spark.config import SparkConfig
from kedro_airflow_k8s.features.spark.spec import cluster_base_name, create_after, spark_memory
from kedro_airflow_k8s.plan.model import PlannedTask, TaskKind, TaskPlan
from tests.helpers import load_runtime
from tests.spark.common import DATAPROC, plan, task

DATAPROC_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


@cache
def _runtime() -> Any:
    return load_runtime("spark")


def cluster_name(base: str, dag_id: str, run_id: str) -> str:
    """The runtime's name of the cluster of one DAG run."""
    return str(_runtime().spark_cluster_name(base, dag_id, run_id))


# --- create_after -------------------------------------------------------------------------------


def test_create_after_pod_spark_pod_spark_chain() -> None:
    the_plan = plan(
        task("a"),
        task("s1", spark=True, upstream=("a",)),
        task("b", upstream=("s1",)),
        task("s2", spark=True, upstream=("b",)),
    )
    assert create_after(the_plan) == ["a"]


def test_create_after_skips_upstreams_of_later_spark_tasks() -> None:
    # s2 waits for d (no spark ancestor) and for b, which runs after s1: the cluster must not wait
    # for b (it runs after a spark job, so after the cluster) nor for d.
    the_plan = plan(
        task("a"),
        task("d"),
        task("s1", spark=True, upstream=("a",)),
        task("b", upstream=("s1",)),
        task("s2", spark=True, upstream=("b", "d")),
    )
    assert create_after(the_plan) == ["a"]


def test_create_after_several_first_spark_tasks() -> None:
    the_plan = plan(
        task("c"),
        task("a"),
        task("b"),
        task("s1", spark=True, upstream=("c", "a")),
        task("s2", spark=True, upstream=("a", "b")),
        task("s3", spark=True, upstream=("s1",)),
    )
    assert create_after(the_plan) == ["a", "b", "c"]


def test_create_after_spark_root_and_spark_after_spark() -> None:
    the_plan = plan(
        task("s1", spark=True),
        task("s2", spark=True, upstream=("s1",)),
        task("p", upstream=("s2",)),
    )
    assert create_after(the_plan) == []


def test_create_after_in_task_groups() -> None:
    the_plan = plan(
        task("a", group=("ns",)),
        task("s", spark=True, upstream=("ns.a",), group=("ns", "inner")),
    )
    assert create_after(the_plan) == ["ns.a"]


@st.composite
def _plans(draw: st.DrawFn) -> TaskPlan:
    size = draw(st.integers(1, 12))
    tasks = []
    for index in range(size):
        ups = draw(st.sets(st.integers(0, index - 1), max_size=3)) if index else set()
        tasks.append(
            PlannedTask(
                task_id=f"t{index}",
                pod_name=f"t{index}",
                kind=TaskKind.SPARK if draw(st.booleans()) else TaskKind.POD,
                nodes=(f"n{index}",),
                upstream=tuple(f"t{up}" for up in sorted(ups)),
            )
        )
    return TaskPlan("__default__", tuple(tasks))


@settings(max_examples=150, deadline=None)
@given(_plans())
def test_create_after_property(the_plan: TaskPlan) -> None:
    by_id = {t.task_id: t for t in the_plan.tasks}

    def ancestors(task_id: str) -> set[str]:
        out: set[str] = set()
        todo = list(by_id[task_id].upstream)
        while todo:
            up = todo.pop()
            if up not in out:
                out.add(up)
                todo.extend(by_id[up].upstream)
        return out

    spark = {t.task_id for t in the_plan.tasks if t.kind is TaskKind.SPARK}
    first = [s for s in spark if not ancestors(s) & spark]
    expected = sorted({up for s in first for up in by_id[s].upstream})
    after = create_after(the_plan)
    assert after == expected
    for task_id in after:
        assert task_id not in spark
        assert not ancestors(task_id) & spark  # never downstream of a spark task


# --- cluster names ------------------------------------------------------------------------------


def _spark(**values: Any) -> SparkConfig:
    return SparkConfig.model_validate({**DATAPROC, **values})


@pytest.mark.parametrize(
    ("run_name", "expected"),
    [
        ("Spark Demo", "spark-demo"),
        ("spark_demo.v2", "spark-demo-v2"),
        ("123 go", "kedro-123-go"),
        ("___", "kedro"),
        ("", "kedro"),
        ("Ünïcode ñame", "n-code-ame"),
        ("a" * 39 + "-b", "a" * 39),
        ("x" * 60, "x" * 40),
    ],
)
def test_cluster_base_name_from_run_name(run_name: str, expected: str) -> None:
    assert cluster_base_name(_spark(), run_name) == expected


def test_cluster_base_name_configured_wins() -> None:
    assert cluster_base_name(_spark(cluster_name="my-cluster"), "Spark Demo") == "my-cluster"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_cluster_base_name_is_always_valid_for_dataproc(run_name: str) -> None:
    base = cluster_base_name(_spark(), run_name)
    assert DATAPROC_NAME.match(base), base
    assert len(base) <= 40
    # and the configured form accepts it (what a user would copy into cluster_name)
    assert _spark(cluster_name=base).cluster_name == base


@settings(max_examples=100, deadline=None)
@given(base_run=st.text(), dag_id=st.text(), run_id=st.text(), other=st.text())
def test_cluster_name_valid_unique_per_run_and_from_dag_and_run_ids(
    base_run: str, dag_id: str, run_id: str, other: str
) -> None:
    base = cluster_base_name(_spark(), base_run)
    name = cluster_name(base, dag_id, run_id)
    assert len(name) <= 51
    assert DATAPROC_NAME.match(name), name
    assert name.startswith(f"{base}-")
    assert name == f"{base}-" + _digest(f"{dag_id}\n{run_id}")
    if other != run_id:
        assert cluster_name(base, dag_id, other) != name


def test_cluster_name_differs_per_run_and_dag() -> None:
    names = {
        cluster_name("demo", dag, run)
        for dag in ("dag_a", "dag_b")
        for run in ("manual__2024-01-01T00:00:00+00:00", "scheduled__2024-01-01T00:00:00+00:00")
    }
    assert len(names) == 4
    assert cluster_name("demo", "d", "r") == "demo-" + _digest("d\nr")


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:10]


def test_runtime_macro_renders_the_same_name() -> None:
    runtime = _runtime()
    spec = {"spark": {"cluster": {"name_base": "demo"}}, "dag": {"dag_id": "the_dag"}}
    kwargs: dict[str, Any] = {"user_defined_macros": {"other": 1}}
    runtime.SparkExtension.dag_arguments(spec, kwargs)
    macros = kwargs["user_defined_macros"]
    assert macros["other"] == 1
    assert macros["kak8s_spark_cluster_name"]("run-1") == cluster_name("demo", "the_dag", "run-1")


# --- spark_memory -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        ("1Gi", "1024m"),
        ("512Mi", "512m"),
        ("1G", "954m"),  # 10**9 bytes, rounded up to whole MiB
        ("1.5Gi", "1536m"),
        ("100M", "96m"),
        ("2Ti", "2097152m"),
        ("1e9", "954m"),
        ("1073741824", "1024m"),
        (".5Gi", "512m"),
        ("1Ki", "1m"),  # never below 1 MiB
        ("500m", "1m"),  # millibytes
        ("0", "1m"),
    ],
)
def test_spark_memory(quantity: str, expected: str) -> None:
    assert spark_memory(quantity) == expected


@pytest.mark.parametrize("bad", ["", "Gi", "1Gb", "1 Gi", "-1Gi", "abc", "1.2.3", "1gi", "0x10"])
def test_spark_memory_rejects_bad_input(bad: str) -> None:
    with pytest.raises(ValueError, match="is not a memory quantity"):
        spark_memory(bad)


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [("2Ei", "2199023255552m"), ("1E", "953674316407m"), ("+1Gi", "1024m")],
)
def test_spark_memory_takes_every_quantity_the_config_accepts(quantity: str, expected: str) -> None:
    from kedro_airflow_k8s.config.base import check_quantity

    assert check_quantity(quantity) == quantity
    assert spark_memory(quantity) == expected
