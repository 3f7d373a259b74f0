"""Transcoded datasets and Kedro's dependencies in the plan (snapshots taken from real Kedro
pipelines through the project module, planned without Kedro)."""

from __future__ import annotations

from typing import Any

import pytest
from kedro.pipeline import Pipeline, node

from kedro_airflow_k8s.errors import PlanError
from kedro_airflow_k8s.plan import GroupBy, MemoryCrossingError, PlanOptions, TaskKind, build_plan
from kedro_airflow_k8s.project import describe_datasets, pipeline_spec
from kedro_airflow_k8s.snapshot import DatasetSource, DatasetSpec, NodeSpec, PipelineSpec
from tests.plan.plan_helpers import task_of


def step(*values: Any) -> Any:
    return values


def _plan(built: Pipeline, catalog: dict[str, Any], **options: Any) -> Any:
    spec = pipeline_spec("p", built)
    datasets = describe_datasets(sorted(built.datasets()), catalog)
    return build_plan(spec, datasets, PlanOptions(**options))


def _entry(kind: str = "pandas.ParquetDataset") -> dict[str, str]:
    return {"type": kind, "filepath": "data/x"}


SPARK_TO_PANDAS = Pipeline(
    [
        node(step, "raw@spark", "table@spark", name="build_table"),
        node(step, "table@pandas", "model", name="train"),
        node(step, ["table@spark", "model"], "scores", name="score"),
    ]
)


def test_spark_writer_and_pandas_reader_of_one_dataset_are_linked() -> None:
    catalog = {
        "raw@spark": _entry("spark.SparkDatasetV2"),
        "table@spark": _entry("spark.SparkDatasetV2"),
        "table@pandas": _entry(),
        "model": _entry("pickle.PickleDataset"),
        "scores": _entry(),
    }
    plan = _plan(SPARK_TO_PANDAS, catalog, group_by=GroupBy.NONE, group_spark_nodes=False)
    tasks = {t.nodes[0]: t for t in plan.tasks}
    assert tasks["build_table"].kind is TaskKind.SPARK  # by the form it writes
    assert tasks["train"].kind is TaskKind.POD  # reads the pandas form
    assert tasks["train"].upstream == ("build_table",)
    assert set(tasks["score"].upstream) == {"build_table", "train"}


def test_spark_nodes_linked_through_a_transcoded_dataset_share_a_spark_task() -> None:
    built = Pipeline(
        [
            node(step, "raw", "table@spark", name="a", tags=["kedro-airflow-k8s.group.pyspark"]),
            node(step, "table@delta", "out", name="b", tags=["kedro-airflow-k8s.group.pyspark"]),
        ]
    )
    catalog = {name: _entry() for name in ("raw", "table@spark", "table@delta", "out")}
    plan = _plan(built, catalog, group_by=GroupBy.NONE)
    assert [t.nodes for t in plan.tasks] == [("a", "b")]


def test_a_form_without_catalog_entry_is_in_memory_by_its_own_name() -> None:
    """Kedro resolves ``table@pandas`` by its full name: an entry for ``table`` or for
    ``table@spark`` does not cover it."""
    catalog = {
        "raw@spark": _entry("spark.SparkDatasetV2"),
        "table": _entry(),
        "table@spark": _entry("spark.SparkDatasetV2"),
        "model": _entry(),
        "scores": _entry(),
    }
    with pytest.raises(MemoryCrossingError) as error:
        _plan(SPARK_TO_PANDAS, catalog, group_by=GroupBy.NONE, group_spark_nodes=False)
    crossing = error.value.crossings[0]
    assert (crossing.dataset, crossing.why) == ("table@pandas", "no catalog entry")
    assert (crossing.producer_node, crossing.consumer_node) == ("build_table", "train")
    assert "dataset 'table@pandas' (no catalog entry) is written by task" in error.value.message


def test_a_form_in_memory_is_fused_and_warned_about() -> None:
    catalog = {
        "raw@spark": _entry("spark.SparkDatasetV2"),
        "table@spark": _entry("spark.SparkDatasetV2"),
        "model": _entry(),
        "scores": _entry(),
    }
    plan = _plan(SPARK_TO_PANDAS, catalog, group_by=GroupBy.MEMORY, group_spark_nodes=False)
    where = task_of(plan)
    assert where["build_table"] == where["train"]
    assert plan.warnings == (
        "transcoded dataset written as 'table@spark' and read as 'table@pandas': 'table@pandas' "
        "lives in memory (no catalog entry) and Kedro keeps each form in its own catalog entry, "
        "so 'table@pandas' cannot load what 'table@spark' saved; give both forms catalog "
        "entries on the same storage",
    )


def test_factory_patterns_match_the_full_transcoded_name() -> None:
    built = Pipeline(
        [
            node(step, "raw", "frame@pandas1", name="write"),
            node(step, "frame@pandas2", "out", name="read"),
        ]
    )
    catalog = {
        "{name}@pandas1": {"type": "pandas.CSVDataset", "filepath": "data/{name}.csv"},
        "{name}@pandas2": {"type": "pandas.CSVDataset", "filepath": "data/{name}.csv"},
        "raw": _entry(),
        "out": _entry(),
    }
    plan = _plan(built, catalog, group_by=GroupBy.NONE)
    assert [(t.nodes, t.upstream) for t in plan.tasks] == [
        (("write",), ()),
        (("read",), ("write",)),
    ]
    assert plan.warnings == ()


def _all_entries(*names: str) -> dict[str, DatasetSpec]:
    return {n: DatasetSpec(n, DatasetSource.ENTRY, "pandas.CSVDataset") for n in names}


def test_every_dependency_kedro_reports_is_kept_even_without_a_dataset_name() -> None:
    """A dependency in the snapshot that no dataset name explains still orders the tasks."""
    spec = PipelineSpec(
        "p",
        (NodeSpec("first", (), ("a",)), NodeSpec("second", (), ("b",))),
        dependencies={"first": (), "second": ("first",)},
    )
    plan = build_plan(spec, _all_entries("a", "b"), PlanOptions())
    assert [(t.nodes, t.upstream) for t in plan.tasks] == [
        (("first",), ()),
        (("second",), ("first",)),
    ]


def test_a_dependency_given_before_its_parent_reorders_the_nodes() -> None:
    spec = PipelineSpec(
        "p",
        (NodeSpec("second", (), ("b",)), NodeSpec("first", (), ("a",))),
        dependencies={"second": ("first",), "first": ()},
    )
    plan = build_plan(spec, _all_entries("a", "b"), PlanOptions())
    assert [t.nodes[0] for t in plan.tasks] == ["first", "second"]


def test_a_dependency_on_an_unknown_node_is_an_error() -> None:
    spec = PipelineSpec("p", (NodeSpec("only", (), ("a",)),), dependencies={"only": ("ghost",)})
    with pytest.raises(PlanError, match="node 'only' of pipeline 'p' depends on node 'ghost'"):
        build_plan(spec, _all_entries("a"), PlanOptions())


def test_hand_made_transcoded_names_follow_the_mapping() -> None:
    spec = PipelineSpec(
        "p",
        (NodeSpec("w", (), ("t@spark",)), NodeSpec("r", ("t@pandas",), ("o",))),
        transcoded={"t@spark": "t", "t@pandas": "t"},
    )
    plan = build_plan(spec, _all_entries("t@spark", "t@pandas", "o"), PlanOptions())
    assert plan.tasks[1].upstream == ("w",)
