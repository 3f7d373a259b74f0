"""Names Kedro 1.x accepts but a pod's ``kedro run --nodes a,b`` cannot carry are refused.

Each case is first built as a real Kedro pipeline (so Kedro does accept it), then snapshotted
with the project module and planned.
"""

from __future__ import annotations

import sys
import unicodedata
from typing import Any

import pytest
from kedro.pipeline import Pipeline, node, pipeline

from kedro_airflow_k8s.errors import PlanError
from kedro_airflow_k8s.plan import PlanOptions, build_plan
from kedro_airflow_k8s.plan.command_line import _control_character
from kedro_airflow_k8s.project import describe_datasets, pipeline_spec
from kedro_airflow_k8s.snapshot import NodeSpec, PipelineSpec


def _named(name: str) -> Any:
    def function(*values: Any) -> Any:
        return values

    function.__name__ = function.__qualname__ = name
    return function


def step(*values: Any) -> Any:
    return values


def _plan(built: Pipeline, name: str = "p") -> Any:
    catch_all = {"{default}": {"type": "pickle.PickleDataset", "filepath": "data/{default}"}}
    datasets = describe_datasets(sorted(built.datasets()), catch_all)
    return build_plan(pipeline_spec(name, built), datasets, PlanOptions())


def _message(built: Pipeline, name: str = "p") -> str:
    with pytest.raises(PlanError) as error:
        _plan(built, name)
    assert "\n" not in str(error.value)
    return error.value.message


FIX_NODE = "give the node a name= of letters, digits, '_', '-' and '.'"


def test_a_namespace_with_a_comma() -> None:
    built = pipeline(Pipeline([node(step, "a", "b", name="x")]), namespace="p,q")
    assert _message(built) == (
        "namespace 'p,q' (node 'p,q.x') contains a comma, which `kedro run` reads as a "
        "separator between names; rename the namespace"
    )


def test_a_namespace_with_a_control_character() -> None:
    built = Pipeline([node(step, "a", "b", name="x", namespace="p\tq")])
    assert _message(built) == (
        "namespace 'p\\tq' (node 'p\\tq.x') contains the control character '\\t', which a pod "
        "command line cannot carry; rename the namespace"
    )


def test_a_namespace_starting_with_whitespace() -> None:
    built = pipeline(Pipeline([node(step, "a", "b", name="x")]), namespace=" p")
    assert _message(built) == (
        "namespace ' p' (node ' p.x') starts with whitespace, which `kedro run --nodes` strips "
        "from node names; rename the namespace"
    )


def test_a_node_named_after_a_function_with_a_comma() -> None:
    built = Pipeline([node(_named("a,b"), "i", "o")])
    name = built.nodes[0].name
    assert name.startswith("a,b__")
    assert _message(built) == (
        f"node {name!r} in pipeline 'p': its name contains a comma, which `kedro run` reads "
        f"as a separator between names; {FIX_NODE}"
    )


def test_a_node_name_ending_in_a_newline_is_accepted_by_kedro_but_refused_here() -> None:
    built = Pipeline([node(step, "i", "o", name="train\n")])
    assert _message(built) == (
        "node 'train\\n' in pipeline 'p': its name contains the control character '\\n', "
        f"which a pod command line cannot carry; {FIX_NODE}"
    )


def test_a_node_name_starting_with_whitespace() -> None:
    built = Pipeline([node(_named(" padded"), "i", "o")])
    name = built.nodes[0].name
    assert _message(built) == (
        f"node {name!r} in pipeline 'p': its name starts or ends with whitespace, which "
        f"`kedro run` strips; {FIX_NODE}"
    )


def test_whitespace_inside_a_node_name_is_carried() -> None:
    built = Pipeline([node(_named("two words"), "i", "o")])
    assert _plan(built).tasks[0].nodes == (built.nodes[0].name,)


def test_a_node_name_with_an_unmatched_bracket() -> None:
    built = Pipeline([node(_named("f]"), "i", "o")])
    name = built.nodes[0].name
    assert _message(built) == (
        f"node {name!r} in pipeline 'p': its name has an unmatched square bracket, which makes "
        f"`kedro run --nodes` read the names after it as one; {FIX_NODE}"
    )


def test_balanced_brackets_lambdas_and_partials_are_fine() -> None:
    import functools

    built = Pipeline(
        [
            node(_named("f[int]"), "i", "a"),
            node(lambda *values: values, "a", "b"),
            node(functools.partial(step, 1), "b", "c"),
        ]
    )
    assert len(_plan(built).tasks) == 3


def test_a_pipeline_name_with_a_control_character() -> None:
    spec = PipelineSpec("p\x7f", (NodeSpec("x", (), ("o",)),))
    with pytest.raises(PlanError) as error:
        build_plan(spec, {}, PlanOptions())
    assert error.value.message == (
        "pipeline 'p\\x7f': its name contains the control character '\\x7f', which a pod "
        "command line cannot carry; rename the pipeline"
    )


def test_the_control_characters_are_unicodes_category_cc() -> None:
    """The pattern that finds control characters matches exactly Unicode's category Cc."""
    for point in range(sys.maxunicode + 1):
        char = chr(point)
        expected = char if unicodedata.category(char) == "Cc" else None
        assert _control_character(f"a{char}b") == expected, hex(point)
