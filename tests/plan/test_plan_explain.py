"""The plan views: text table, JSON and Mermaid."""

from __future__ import annotations

import json
import re

import pytest

from kedro_airflow_k8s.plan import (
    EXPLAIN_FORMATS,
    PlannedTask,
    TaskKind,
    TaskPlan,
    explain,
    format_json,
    format_mermaid,
    format_table,
)
from kedro_airflow_k8s.plan.explain import mermaid_text
from tests.plan.plan_helpers import SPARK_TAG, node, pipeline, plan_of


def sample_plan() -> TaskPlan:
    pipe = pipeline(
        node("load", ["raw"], ["a"]),
        node('data.say "hi" [x]', ["a"], ["b"], namespace="data", tags=[SPARK_TAG, "machine.big"]),
        node("data.end", ["b"], ["c"], namespace="data", tags=["airflow.fin"]),
        node("data.more", ["c"], ["e"], namespace="data", tags=["airflow.fin"]),
        node("report", ["a", "e"], ["d"]),
    )
    return plan_of(pipe, resource_profiles=frozenset({"big"}))


def test_table_lists_task_nodes_kind_profile_template_and_upstream() -> None:
    plan = sample_plan()
    spark_id = plan.tasks[1].full_task_id
    widths = (len(spark_id), len('data.say "hi" [x]'), 5, 7, 8)

    def row(*cells: str) -> str:
        padded = [cell.ljust(width) for cell, width in zip(cells, widths, strict=False)]
        return "  ".join([*padded, *cells[len(widths) :]]).rstrip()

    assert format_table(plan) == "\n".join(
        [
            row("TASK", "NODES", "KIND", "PROFILE", "TEMPLATE", "UPSTREAM"),
            row(*("-" * width for width in (*widths, len(spark_id)))),
            row("load", "load", "pod", "-", "-", "-"),
            row(spark_id, 'data.say "hi" [x]', "spark", "big", "-", "load"),
            row("data.fin", "data.end", "pod", "-", "-", spark_id),
            row("", "data.more"),
            row("report", "report", "pod", "-", "-", "load"),
            row("", "", "", "", "", "data.fin"),
            "",
            "pipeline '__default__': 4 tasks (1 spark) from 5 nodes",
            "",
        ]
    )


def test_table_shows_warnings() -> None:
    plan = TaskPlan(pipeline="p", tasks=(), warnings=("careful",))
    assert format_table(plan).endswith("from 0 nodes\nwarning: careful\n")


def test_json_has_stable_keys_and_plan_order() -> None:
    plan = sample_plan()
    data = json.loads(format_json(plan))
    assert list(data) == ["format", "pipeline", "tasks", "version", "warnings"]
    assert data["format"] == "kedro-airflow-k8s/task-plan" and data["version"] == 1
    assert [t["full_task_id"] for t in data["tasks"]] == [t.full_task_id for t in plan.tasks]
    assert list(data["tasks"][2]) == [
        "full_task_id",
        "fused_by",
        "group",
        "kind",
        "memory_datasets",
        "nodes",
        "pod_name",
        "pod_template",
        "resource_profile",
        "task_group",
        "task_id",
        "upstream",
    ]
    assert data["tasks"][2] | {"pod_name": None} == {
        "full_task_id": "data.fin",
        "fused_by": ["tag"],
        "group": "fin",
        "kind": "pod",
        "memory_datasets": [],
        "nodes": ["data.end", "data.more"],
        "pod_name": None,
        "pod_template": None,
        "resource_profile": None,
        "task_group": ["data"],
        "task_id": "fin",
        "upstream": [plan.tasks[1].full_task_id],
    }
    assert format_json(plan) == format_json(sample_plan())


def test_mermaid_escapes_labels_and_nests_task_groups() -> None:
    plan = sample_plan()
    text = format_mermaid(plan)
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    assert '    subgraph g0 ["data"]' in lines
    assert "        t1" in "\n".join(lines) and lines[-1] == "    class t1 spark"
    assert "data.say #34;hi#34; #91;x#93;" in text
    for label in re.findall(r'\["(.*?)"\]', text):
        assert re.fullmatch(r"[A-Za-z0-9 _.,:/+#;<>-]*", label), label
    edges = [line.strip() for line in lines if "-->" in line]
    assert edges == ["t0 --> t1", "t1 --> t2", "t0 --> t3", "t2 --> t3"]


def test_mermaid_text_escapes_everything_that_could_break_a_label() -> None:
    assert mermaid_text('a"b') == "a#34;b"
    assert mermaid_text("x[y]{z}(w)") == "x#91;y#93;#123;z#125;#40;w#41;"
    assert mermaid_text("#;<>`|&") == "#35;#59;#60;#62;#96;#124;#38;"
    assert mermaid_text("é") == "#233;"
    assert mermaid_text("end") == "end"


def test_explain_dispatches_by_view_name() -> None:
    plan = sample_plan()
    assert set(EXPLAIN_FORMATS) == {"table", "json", "mermaid"}
    assert explain(plan, "json") == format_json(plan)
    assert explain(plan) == format_table(plan)
    with pytest.raises(ValueError, match="unknown plan view 'dot'"):
        explain(plan, "dot")


def test_table_keeps_each_node_name_on_one_line() -> None:
    """Planning refuses such names; the table stays one line per task whatever it is given."""
    name = "two\nlines\tand tab"
    plan = TaskPlan("__default__", (PlannedTask("t", "t", TaskKind.POD, (name,)),))
    assert "two\\nlines\\tand tab" in format_table(plan)
    assert (
        format_table(plan).splitlines()[-1]
        == "pipeline '__default__': 1 task (0 spark) from 1 node"
    )
