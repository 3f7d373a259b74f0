"""Pure planning: a pipeline snapshot becomes a :class:`TaskPlan` (no Kedro session, no I/O)."""

from kedro_airflow_k8s.plan.build import build_plan
from kedro_airflow_k8s.plan.errors import Crossing, GroupingCycleError, MemoryCrossingError
from kedro_airflow_k8s.plan.explain import (
    EXPLAIN_FORMATS,
    explain,
    format_json,
    format_mermaid,
    format_table,
    format_totals,
    plan_to_dict,
)
from kedro_airflow_k8s.plan.model import (
    GroupBy,
    PlannedTask,
    PlanOptions,
    TaskKind,
    TaskPlan,
    group_by_strategies,
)

__all__ = [
    "EXPLAIN_FORMATS",
    "Crossing",
    "GroupBy",
    "GroupingCycleError",
    "MemoryCrossingError",
    "PlanOptions",
    "PlannedTask",
    "TaskKind",
    "TaskPlan",
    "build_plan",
    "explain",
    "format_json",
    "format_mermaid",
    "format_table",
    "format_totals",
    "group_by_strategies",
    "plan_to_dict",
]
