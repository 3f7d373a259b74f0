"""Reading the pipeline: node order, producers, malformed input."""

from __future__ import annotations

import gc

import pytest

from kedro_airflow_k8s.errors import PlanError
from tests.plan.plan_helpers import node, pipeline, plan_of


def test_an_empty_pipeline_has_no_tasks() -> None:
    plan = plan_of(pipeline(name="empty"))
    assert plan.pipeline == "empty" and plan.tasks == ()


def test_nodes_given_out_of_order_are_planned_in_topological_order() -> None:
    pipe = pipeline(
        node("last", ["b"], ["c"], tags=["airflow.g"]),
        node("first", ["raw"], ["a"], tags=["airflow.g"]),
        node("middle", ["a"], ["b"], tags=["airflow.g"]),
    )
    assert plan_of(pipe).tasks[0].nodes == ("first", "middle", "last")


def test_duplicate_node_names_are_an_error() -> None:
    with pytest.raises(PlanError) as error:
        plan_of(pipeline(node("a", [], ["x"]), node("a", [], ["y"]), name="p"))
    assert error.value.message == "pipeline 'p' has two nodes named 'a': node names must be unique"


def test_a_dataset_with_two_producers_is_an_error() -> None:
    with pytest.raises(PlanError) as error:
        plan_of(pipeline(node("a", [], ["x"]), node("b", [], ["x"]), name="p"))
    assert error.value.message == (
        "dataset 'x' is an output of both node 'a' and node 'b' in pipeline 'p': a dataset "
        "can have only one producer"
    )


def test_a_node_reading_its_own_output_is_an_error() -> None:
    with pytest.raises(PlanError, match="has a cycle between its nodes' datasets"):
        plan_of(pipeline(node("a", ["x"], ["x"])))


def test_repeated_inputs_make_one_upstream_link() -> None:
    pipe = pipeline(node("a", [], ["x", "y"]), node("b", ["x", "y", "x"], ["z"]))
    assert plan_of(pipe).tasks[1].upstream == ("a",)


@pytest.mark.parametrize("enabled", [True, False])
def test_planning_leaves_the_garbage_collector_as_it_was(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        plan_of(pipeline(node("a", [], ["x"])))
        assert gc.isenabled() is enabled
        with pytest.raises(PlanError):
            plan_of(pipeline(node("a", [], ["x"]), node("a", [], ["y"])))
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
