"""Spark detection: one test per rule, grouping of spark nodes, and the seed's cycle case."""

from __future__ import annotations

import pytest

from kedro_airflow_k8s.plan import TaskKind, TaskPlan
from kedro_airflow_k8s.plan.spark import is_spark_annotation, is_spark_dataset_type
from kedro_airflow_k8s.snapshot import DatasetSource, DatasetSpec, PipelineSpec
from tests.plan.plan_helpers import (
    SPARK_TAG,
    assert_valid_plan,
    catalog,
    node,
    pipeline,
    plan_of,
    task_of,
)


def kinds(plan: TaskPlan) -> dict[str, TaskKind]:
    return {n: t.kind for t in plan.tasks for n in t.nodes}


# -- rule 1: the spark tag ----------------------------------------------------------------------


def test_node_tagged_with_the_spark_tag_is_a_spark_node() -> None:
    pipe = pipeline(node("a", ["x"], ["y"], tags=[SPARK_TAG]), node("b", ["y"], ["z"]))
    assert kinds(plan_of(pipe)) == {"a": TaskKind.SPARK, "b": TaskKind.POD}


def test_spark_tag_is_configurable() -> None:
    pipe = pipeline(node("a", ["x"], ["y"], tags=["my.spark"]), node("b", ["y"], ["z"]))
    assert kinds(plan_of(pipe, spark_tag="my.spark"))["a"] is TaskKind.SPARK
    assert kinds(plan_of(pipe))["a"] is TaskKind.POD


# -- rule 2: type hints -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "annotation",
    [
        "pyspark.sql.dataframe.DataFrame",
        "pyspark.sql.DataFrame",
        "pyspark.sql.connect.dataframe.DataFrame",
        "pyspark.sql.classic.dataframe.DataFrame",
        "Optional[pyspark.sql.DataFrame]",
        "typing.Optional[pyspark.sql.dataframe.DataFrame]",
        "typing.Union[pandas.core.frame.DataFrame, pyspark.sql.dataframe.DataFrame]",
        "pyspark.sql.DataFrame | None",
        "'pyspark.sql.DataFrame'",
        "Optional['pyspark.sql.dataframe.DataFrame']",
        "dict[str, pyspark.sql.DataFrame]",
    ],
)
def test_pyspark_dataframe_annotations_are_spark(annotation: str) -> None:
    assert is_spark_annotation(annotation)


@pytest.mark.parametrize(
    "annotation",
    [
        "pandas.core.frame.DataFrame",
        "pandas.DataFrame",
        "Optional[pandas.core.frame.DataFrame]",
        "DataFrame",
        "Optional[DataFrame]",
        "'DataFrame'",
        "polars.dataframe.frame.DataFrame",
        "mypackage.pyspark_helpers.DataFrame",
        "pyspark.sql.Row",
        "pyspark.sql.dataframe",
        "str",
        "",
    ],
)
def test_other_annotations_are_not_spark(annotation: str) -> None:
    assert not is_spark_annotation(annotation)


def test_node_with_a_pyspark_input_type_hint_is_a_spark_node() -> None:
    pipe = pipeline(
        node("a", ["x"], ["y"], annotations={"df": "pyspark.sql.dataframe.DataFrame"}),
        node("b", ["y"], ["z"], annotations={"df": "pandas.core.frame.DataFrame"}),
    )
    assert kinds(plan_of(pipe)) == {"a": TaskKind.SPARK, "b": TaskKind.POD}


def test_node_with_a_postponed_optional_pyspark_return_hint_is_a_spark_node() -> None:
    pipe = pipeline(
        node("a", ["x"], ["y"], annotations={"return": "Optional['pyspark.sql.DataFrame']"})
    )
    assert kinds(plan_of(pipe))["a"] is TaskKind.SPARK


def test_bare_dataframe_hint_is_not_enough() -> None:
    pipe = pipeline(node("a", ["x"], ["y"], annotations={"df": "DataFrame", "return": "DataFrame"}))
    assert kinds(plan_of(pipe))["a"] is TaskKind.POD


# -- rule 3: catalog types ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "dataset_type",
    [
        "spark.SparkDataset",
        "spark.SparkDataSet",
        "spark.SparkHiveDataset",
        "spark.SparkHiveDataSet",
        "spark.SparkJDBCDataset",
        "spark.SparkJDBCDataSet",
        "kedro_datasets.spark.SparkDataset",
        "kedro_datasets.spark.SparkHiveDataset",
        "kedro_datasets.spark.SparkJDBCDataset",
        "kedro.extras.datasets.spark.SparkDataSet",
        "kedro.extras.datasets.spark.SparkJDBCDataSet",
        "SparkDataset",
        "spark.SparkStreamingDataset",
        "spark.DeltaTableDataset",
    ],
)
def test_spark_dataset_types(dataset_type: str) -> None:
    assert is_spark_dataset_type(dataset_type)


@pytest.mark.parametrize(
    "dataset_type",
    [None, "", "pandas.CSVDataset", "pandas.ParquetDataset", "MemoryDataset", "my.sparkly.Dataset"],
)
def test_other_dataset_types_are_not_spark(dataset_type: str | None) -> None:
    assert not is_spark_dataset_type(dataset_type)


def test_node_reading_a_spark_dataset_is_a_spark_node() -> None:
    pipe = pipeline(node("a", ["x"], ["y"]), node("b", ["y"], ["z"]))
    datasets = {**catalog("y", "z"), **catalog("x", type_="spark.SparkHiveDataSet")}
    assert kinds(plan_of(pipe, datasets)) == {"a": TaskKind.SPARK, "b": TaskKind.POD}


def test_node_writing_a_spark_dataset_is_a_spark_node() -> None:
    pipe = pipeline(node("a", ["x"], ["y"]), node("b", ["y"], ["z"]))
    datasets = {**catalog("x", "y"), **catalog("z", type_="kedro_datasets.spark.SparkJDBCDataset")}
    assert kinds(plan_of(pipe, datasets)) == {"a": TaskKind.POD, "b": TaskKind.SPARK}


def test_dataset_from_a_spark_factory_makes_a_spark_node() -> None:
    pipe = pipeline(node("a", ["x"], ["y"]))
    datasets = {
        "x": DatasetSpec("x", DatasetSource.FACTORY, "spark.SparkDataset", "{name}"),
        **catalog("y"),
    }
    assert kinds(plan_of(pipe, datasets))["a"] is TaskKind.SPARK


def test_detect_spark_off_keeps_only_the_tag_rule() -> None:
    pipe = pipeline(
        node("hinted", ["x"], ["y"], annotations={"df": "pyspark.sql.DataFrame"}),
        node("reads_spark", ["s"], ["t"]),
        node("tagged", ["t"], ["u"], tags=[SPARK_TAG]),
    )
    datasets = {**catalog("x", "y", "t", "u"), **catalog("s", type_="spark.SparkDataset")}
    assert kinds(plan_of(pipe, datasets, detect_spark=False)) == {
        "hinted": TaskKind.POD,
        "reads_spark": TaskKind.POD,
        "tagged": TaskKind.SPARK,
    }


# -- rule 4: default nodes between spark nodes ---------------------------------------------------


def test_default_node_that_reads_from_and_feeds_a_spark_group_joins_it() -> None:
    pipe = pipeline(
        node("s1", ["x"], ["a", "b"], tags=[SPARK_TAG]),
        node("pandas_step", ["a"], ["c"]),
        node("s2", ["b", "c"], ["d"], tags=[SPARK_TAG]),
        node("after", ["d"], ["e"]),
    )
    plan = plan_of(pipe)
    assert_valid_plan(pipe, plan)
    spark_task, after = plan.tasks
    assert spark_task.nodes == ("s1", "pandas_step", "s2")
    assert spark_task.kind is TaskKind.SPARK
    assert spark_task.fused_by == ("spark", "path")
    assert after.upstream == (spark_task.full_task_id,)


def test_default_node_between_unconnected_spark_nodes_stays_a_pod() -> None:
    pipe = pipeline(
        node("s1", ["x"], ["a"], tags=[SPARK_TAG]),
        node("pandas_step", ["a"], ["b"]),
        node("s2", ["b"], ["c"], tags=[SPARK_TAG]),
    )
    plan = plan_of(pipe)
    assert [t.nodes for t in plan.tasks] == [("s1",), ("pandas_step",), ("s2",)]
    assert [t.kind for t in plan.tasks] == [TaskKind.SPARK, TaskKind.POD, TaskKind.SPARK]


def test_otherwise_a_node_is_a_default_pod_node() -> None:
    pipe = pipeline(node("a", ["x"], ["y"], tags=["other"], annotations={"x": "pandas.DataFrame"}))
    assert kinds(plan_of(pipe)) == {"a": TaskKind.POD}


# -- grouping -------------------------------------------------------------------------------------


def test_connected_spark_nodes_form_one_spark_task() -> None:
    pipe = pipeline(
        node("s1", ["x"], ["a"], tags=[SPARK_TAG]),
        node("s2", ["w"], ["b"], tags=[SPARK_TAG]),
        node("join", ["a", "b"], ["c"], tags=[SPARK_TAG]),
        node("pod", ["c"], ["d"]),
        node("lonely", ["d"], ["e"], tags=[SPARK_TAG]),
    )
    plan = plan_of(pipe)
    assert_valid_plan(pipe, plan)
    assert [(t.task_id, t.nodes, t.kind) for t in plan.tasks] == [
        ("spark_s1", ("s1", "s2", "join"), TaskKind.SPARK),
        ("pod", ("pod",), TaskKind.POD),
        ("lonely", ("lonely",), TaskKind.SPARK),
    ]


def test_group_spark_nodes_off_keeps_one_spark_task_per_node() -> None:
    pipe = pipeline(
        node("s1", ["x"], ["a"], tags=[SPARK_TAG]),
        node("s2", ["a"], ["b"], tags=[SPARK_TAG]),
    )
    plan = plan_of(pipe, group_spark_nodes=False)
    assert [(t.nodes, t.kind, t.upstream) for t in plan.tasks] == [
        (("s1",), TaskKind.SPARK, ()),
        (("s2",), TaskKind.SPARK, ("s1",)),
    ]


def seed_cycle_case() -> PipelineSpec:
    """Spark A -> B -> C -> spark D, plus A -> D (the seed's grouping made a cycle here)."""
    return pipeline(
        node("A", ["raw"], ["a_to_b", "a_to_d"], tags=[SPARK_TAG]),
        node("B", ["a_to_b"], ["b_to_c"]),
        node("C", ["b_to_c"], ["c_to_d"]),
        node("D", ["c_to_d", "a_to_d"], ["out"], tags=[SPARK_TAG]),
        node("E", ["out"], ["final"]),
    )


def test_seed_cycle_case_is_acyclic_and_keeps_every_dependency() -> None:
    pipe = seed_cycle_case()
    plan = plan_of(pipe)
    assert_valid_plan(pipe, plan)
    assert [(t.nodes, t.kind) for t in plan.tasks] == [
        (("A", "B", "C", "D"), TaskKind.SPARK),
        (("E",), TaskKind.POD),
    ]
    assert plan.tasks[1].upstream == (plan.tasks[0].full_task_id,)


def test_seed_cycle_case_without_spark_grouping_wires_every_edge() -> None:
    pipe = seed_cycle_case()
    plan = plan_of(pipe, group_spark_nodes=False)
    assert_valid_plan(pipe, plan)
    where = task_of(plan)
    assert plan.task(where["D"]).upstream == (where["A"], where["C"])


def test_spark_group_around_a_tag_group_takes_it_in() -> None:
    pipe = pipeline(
        node("s1", ["x"], ["a", "b"], tags=[SPARK_TAG]),
        node("tagged", ["a"], ["c"], tags=["airflow.prep"]),
        node("s2", ["b", "c"], ["d"], tags=[SPARK_TAG]),
    )
    plan = plan_of(pipe)
    assert_valid_plan(pipe, plan)
    assert [(t.task_id, t.nodes, t.kind, t.group) for t in plan.tasks] == [
        ("prep", ("s1", "tagged", "s2"), TaskKind.SPARK, "prep"),
    ]


def test_spark_group_around_two_tag_groups_is_split_with_a_warning() -> None:
    pipe = pipeline(
        node("s1", ["x"], ["a", "b"], tags=[SPARK_TAG]),
        node("t1", ["a"], ["c"], tags=["airflow.one"]),
        node("t2", ["c"], ["d"], tags=["airflow.two"]),
        node("s2", ["b", "d"], ["e"], tags=[SPARK_TAG]),
    )
    plan = plan_of(pipe)
    assert_valid_plan(pipe, plan)
    assert [t.nodes for t in plan.tasks] == [("s1",), ("t1",), ("t2",), ("s2",)]
    assert plan.warnings == (
        "nodes 's1', 't1', 't2', 's2' would all have to run in one task (spark grouping and "
        "the nodes on paths between them), which would mix tag groups 'one', 'two': their "
        "spark grouping is undone",
    )


def test_spark_nodes_with_different_profiles_stay_apart() -> None:
    pipe = pipeline(
        node("s1", ["x"], ["a"], tags=[SPARK_TAG, "machine.big"]),
        node("s2", ["a"], ["b"], tags=[SPARK_TAG, "machine.small"]),
    )
    plan = plan_of(pipe, resource_profiles=frozenset({"big", "small"}))
    assert [(t.nodes, t.resource_profile) for t in plan.tasks] == [
        (("s1",), "big"),
        (("s2",), "small"),
    ]
    assert plan.warnings == (
        "spark nodes 's1', 's2' stay in separate tasks: they have different resource "
        "profiles 'big', 'small'",
    )
