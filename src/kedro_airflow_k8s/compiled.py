"""A compiled DAG (the plan, the SPEC, the file text, the features' artifacts) and the check that
the DAGs of one compile do not collide."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from kedro_airflow_k8s.errors import PluginError
from kedro_airflow_k8s.features.api import Artifacts
from kedro_airflow_k8s.plan.model import TaskPlan
from kedro_airflow_k8s.snapshot import NO_ENTRIES

if TYPE_CHECKING:  # the SPEC's types, for mypy: compile writes the SPEC without importing them
    from kedro_airflow_k8s.runtime.spec import DagSpec


class CompiledDag(NamedTuple):
    """One pipeline's DAG: the plan, the SPEC, the file text and the features' artifacts."""

    dag_id: str
    file_name: str
    plan: TaskPlan
    spec: DagSpec
    source: str
    warnings: tuple[str, ...] = ()
    artifacts: Mapping[str, Artifacts] = NO_ENTRIES  # spec key -> artifacts


def check_distinct_dags(compiled: Sequence[CompiledDag]) -> None:
    """Refuse two pipelines whose DAGs get one id or one file (names the sanitiser maps to the
    same text, or file names differing only in case, one file on case-insensitive systems)."""
    ids: dict[str, CompiledDag] = {}
    files: dict[str, CompiledDag] = {}
    for one in compiled:
        other = ids.setdefault(one.dag_id, one)
        if other.plan.pipeline != one.plan.pipeline:
            raise PluginError(
                f"pipelines {other.plan.pipeline!r} and {one.plan.pipeline!r} would both get DAG "
                f"id {one.dag_id!r}: rename one of them in the pipeline registry"
            )
        other = files.setdefault(one.file_name.casefold(), one)
        if other.plan.pipeline != one.plan.pipeline:
            where = (
                f"DAG file {one.file_name!r}"
                if other.file_name == one.file_name
                else f"DAG files {other.file_name!r} and {one.file_name!r}, one file where "
                "names ignore case"
            )
            raise PluginError(
                f"pipelines {other.plan.pipeline!r} and {one.plan.pipeline!r} would both be "
                f"written to {where}: rename one of them in the pipeline registry"
            )
