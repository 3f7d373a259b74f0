"""Views of a task plan for people and tools: a text table, JSON and a Mermaid flowchart.

Pure functions from a :class:`TaskPlan` to a string; the CLI prints them
(``kedro airflow-k8s compile --explain [table|json|mermaid]``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence

from kedro_airflow_k8s.plan.model import PlannedTask, TaskKind, TaskPlan

JSON_FORMAT = "kedro-airflow-k8s/task-plan"
JSON_VERSION = 1
_NONE = "-"
_TABLE_HEADER = ("TASK", "NODES", "KIND", "PROFILE", "TEMPLATE", "UPSTREAM")
_MERMAID_SAFE = re.compile(r"[A-Za-z0-9 _.,:/+-]")


# -- JSON -------------------------------------------------------------------------------------


def task_to_dict(task: PlannedTask) -> dict[str, object]:
    """One task as JSON-ready data; every key is always present."""
    return {
        "full_task_id": task.full_task_id,
        "task_id": task.task_id,
        "task_group": list(task.task_group),
        "pod_name": task.pod_name,
        "kind": task.kind.value,
        "nodes": list(task.nodes),
        "upstream": list(task.upstream),
        "resource_profile": task.resource_profile,
        "pod_template": task.pod_template,
        "group": task.group,
        "fused_by": list(task.fused_by),
        "memory_datasets": list(task.memory_datasets),
    }


def plan_to_dict(plan: TaskPlan) -> dict[str, object]:
    return {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "pipeline": plan.pipeline,
        "tasks": [task_to_dict(task) for task in plan.tasks],
        "warnings": list(plan.warnings),
    }


def format_json(plan: TaskPlan) -> str:
    """The plan as JSON with sorted keys, tasks in plan (topological) order."""
    return json.dumps(plan_to_dict(plan), indent=2, sort_keys=True)


# -- text table -------------------------------------------------------------------------------


def _printable(text: str) -> str:
    """``text`` on one line: control characters (newlines, tabs...) shown as escapes."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _cells(task: PlannedTask) -> tuple[list[str], ...]:
    """The table cells of one task; list cells hold one line per item."""
    return (
        [task.full_task_id],
        [_printable(name) for name in task.nodes] or [_NONE],
        [task.kind.value],
        [task.resource_profile or _NONE],
        [task.pod_template or _NONE],
        list(task.upstream) or [_NONE],
    )


def _table_lines(rows: Sequence[tuple[list[str], ...]]) -> list[str]:
    widths = [max(len(line) for row in rows for line in row[c]) for c in range(len(rows[0]))]
    lines: list[str] = []
    for number, row in enumerate(rows):
        height = max(len(cell) for cell in row)
        for i in range(height):
            parts = [
                (cell[i] if i < len(cell) else "").ljust(width)
                for cell, width in zip(row, widths, strict=True)
            ]
            lines.append("  ".join(parts).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return lines


def format_table(plan: TaskPlan) -> str:
    """A fixed-width table: task, nodes, kind, profile, template, upstream; then warnings."""
    header = tuple([title] for title in _TABLE_HEADER)
    lines = _table_lines([header, *(_cells(task) for task in plan.tasks)])
    return "\n".join(lines) + "\n\n" + format_totals(plan)


def format_totals(plan: TaskPlan) -> str:
    """The table's last lines: how many tasks from how many nodes, then the warnings."""
    node_count = sum(len(task.nodes) for task in plan.tasks)
    spark_count = sum(task.kind is TaskKind.SPARK for task in plan.tasks)
    lines = [
        f"pipeline {plan.pipeline!r}: {_count(len(plan.tasks), 'task')} ({spark_count} spark) "
        f"from {_count(node_count, 'node')}"
    ]
    lines.extend(f"warning: {warning}" for warning in plan.warnings)
    return "\n".join(lines) + "\n"


# -- Mermaid ----------------------------------------------------------------------------------


def mermaid_text(text: str) -> str:
    """``text`` safe inside a quoted Mermaid label: other characters become entity codes."""
    return "".join(ch if _MERMAID_SAFE.fullmatch(ch) else f"#{ord(ch)};" for ch in text)


class _Subgraph:
    """A TaskGroup as a Mermaid subgraph: its tasks and nested groups, in plan order.

    A plain class, not a dataclass: explain is imported by every compile (for the summary) and
    a dataclass costs its generated methods at import, none of which this class needs."""

    __slots__ = ("children", "label", "tasks")

    def __init__(self, label: str) -> None:
        self.label = label
        self.tasks: list[int] = []
        self.children: dict[str, _Subgraph] = {}


def _task_label(task: PlannedTask) -> str:
    lines = [task.task_id]
    if len(task.nodes) == 1 and task.nodes[0] != task.task_id:
        lines.append(task.nodes[0])
    elif len(task.nodes) > 1:
        lines.append(f"{len(task.nodes)} nodes")
    details = [part for part in (task.kind.value, task.resource_profile) if part]
    lines.append(", ".join(details))
    return "<br/>".join(mermaid_text(line) for line in lines)


def _subgraph_tree(plan: TaskPlan) -> _Subgraph:
    root = _Subgraph(label="")
    for number, task in enumerate(plan.tasks):
        here = root
        for group in task.task_group:
            here = here.children.setdefault(group, _Subgraph(label=group))
        here.tasks.append(number)
    return root


def _subgraph_lines(graph: _Subgraph, plan: TaskPlan, depth: int, counter: list[int]) -> list[str]:
    indent = "    " * depth
    lines = [f'{indent}t{n}["{_task_label(plan.tasks[n])}"]' for n in graph.tasks]
    for child in graph.children.values():
        group_id = f"g{counter[0]}"
        counter[0] += 1
        lines.append(f'{indent}subgraph {group_id} ["{mermaid_text(child.label)}"]')
        lines.extend(_subgraph_lines(child, plan, depth + 1, counter))
        lines.append(f"{indent}end")
    return lines


def format_mermaid(plan: TaskPlan) -> str:
    """A Mermaid flowchart: tasks as nodes, TaskGroups as subgraphs, upstream as edges."""
    number = {task.full_task_id: n for n, task in enumerate(plan.tasks)}
    lines = ["flowchart TD"]
    lines.extend(_subgraph_lines(_subgraph_tree(plan), plan, 1, [0]))
    for n, task in enumerate(plan.tasks):
        lines.extend(f"    t{number[up]} --> t{n}" for up in task.upstream)
    spark = [f"t{n}" for n, task in enumerate(plan.tasks) if task.kind is TaskKind.SPARK]
    if spark:
        lines.append("    classDef spark fill:#fff1e0,stroke:#e25a1c")
        lines.append(f"    class {','.join(spark)} spark")
    return "\n".join(lines) + "\n"


EXPLAIN_FORMATS: Mapping[str, Callable[[TaskPlan], str]] = {
    "table": format_table,
    "json": format_json,
    "mermaid": format_mermaid,
}


def explain(plan: TaskPlan, view: str = "table") -> str:
    """The plan in one of :data:`EXPLAIN_FORMATS` (``table``, ``json``, ``mermaid``)."""
    formatter = EXPLAIN_FORMATS.get(view)
    if formatter is None:
        known = ", ".join(EXPLAIN_FORMATS)
        raise ValueError(f"unknown plan view {view!r} (known: {known})")
    return formatter(plan)
