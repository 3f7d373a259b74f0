"""The task plan: what Airflow tasks a pipeline becomes. Plain immutable data, no behaviour."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import NamedTuple


class TaskKind(str, Enum):
    """How a task runs."""

    POD = "pod"  # a KubernetesPodOperator running `kedro run --nodes ...`
    SPARK = "spark"  # a spark job (see the spark settings of run_config)


class GroupBy(str, Enum):
    """Extra fusion of nodes into tasks, on top of spark and tag grouping (several combine)."""

    NONE = "none"
    MEMORY = "memory"  # fuse the nodes that an in-memory dataset connects
    NAMESPACE = "namespace"  # one task per top-level Kedro namespace
    CHAIN = "chain"  # fuse linear chains of tasks that ask for the same pod


def group_by_strategies(names: Iterable[str] | str) -> frozenset[GroupBy]:
    """The strategies of ``group_by`` (a name or several); ``none`` alone means none.

    Raises ValueError naming what is wrong: an unknown name, ``none`` beside others, or no name.
    """
    listed = [names] if isinstance(names, str) else list(names)
    known = ", ".join(g.value for g in GroupBy)
    if not listed:
        raise ValueError(f"give one strategy or several ({known})")
    chosen = []
    for name in listed:
        try:
            chosen.append(GroupBy(name))
        except ValueError as error:
            raise ValueError(f"unknown strategy {name!r} (known: {known})") from error
    if GroupBy.NONE in chosen and len(set(chosen)) > 1:
        raise ValueError("none cannot be combined with other strategies")
    return frozenset(chosen) - {GroupBy.NONE}


class PlanOptions(NamedTuple):
    """Settings that shape the plan (taken from run_config and the command line).

    ``group_by`` is kept as given (one strategy or several, ``none`` among them or not);
    :meth:`fuses` is how the plan reads it."""

    resources_tag_prefix: str = "resources."
    machine_tag_prefix: str = "machine."
    k8s_template_tag_prefix: str = "k8s_template."
    group_tag_prefix: str = "airflow."
    spark_tag: str = "kedro-airflow-k8s.group.pyspark"
    group_by: GroupBy | frozenset[GroupBy] = GroupBy.NONE  # one strategy or several
    group_spark_nodes: bool = True  # False: one spark task per spark node
    detect_spark: bool = True  # False: only the spark tag makes a spark node (no type hints,
    # no catalog types)
    namespace_task_groups: bool = True  # Kedro namespaces as TaskGroups (not with group_by
    # namespace, whose tasks already stand for namespaces)
    persist_memory: bool = False  # True: in-memory data crossing pods goes through per-run
    # storage (run_config.in_memory) instead of being refused
    resource_profiles: frozenset[str] = frozenset()  # names configured under run_config.resources
    pod_templates: frozenset[str] = frozenset()  # names under run_config.kubernetes_pod_templates

    def fuses(self, strategy: GroupBy) -> bool:
        """Is ``strategy`` among the chosen ``group_by`` strategies? (``none`` never is.)"""
        if strategy is GroupBy.NONE:
            return False
        chosen = self.group_by
        return strategy == chosen if isinstance(chosen, GroupBy) else strategy in chosen


class PlannedTask(NamedTuple):
    """One Airflow task.

    ``nodes`` are Kedro node names in the pipeline's topological order; ``upstream`` holds the
    ``full_task_id`` of each task this one waits for.
    ``task_group`` is the path of display TaskGroups (from Kedro namespaces), outermost first;
    ``task_id`` is the id inside that group (Airflow prefixes it with the group path).
    """

    task_id: str
    pod_name: str
    kind: TaskKind
    nodes: tuple[str, ...]
    upstream: tuple[str, ...] = ()
    resource_profile: str | None = None
    pod_template: str | None = None
    task_group: tuple[str, ...] = ()
    group: str | None = None  # the tag group or fused namespace the task stands for, if any
    # Why the nodes share this task: any of "tag", "spark", "memory", "namespace", "path"
    # ("path": nodes on a path between members of a group joined it to avoid a cycle).
    fused_by: tuple[str, ...] = ()
    # In-memory datasets this task writes for, or reads from, another task: kept in the run's
    # storage (only with PlanOptions.persist_memory).
    memory_datasets: tuple[str, ...] = ()

    @property
    def full_task_id(self) -> str:
        """The task id as Airflow shows it: group path and id joined by dots."""
        return ".".join((*self.task_group, self.task_id))


class TaskPlan(NamedTuple):
    """The tasks of one pipeline, in a topological order of the task graph."""

    pipeline: str
    tasks: tuple[PlannedTask, ...]
    warnings: tuple[str, ...] = ()

    def task(self, full_task_id: str) -> PlannedTask:
        """The task with this full id (KeyError if none); a scan of the tasks, for checks and
        tests (a caller asking for many builds its own index)."""
        for task in self.tasks:
            if task.full_task_id == full_task_id:
                return task
        raise KeyError(full_task_id)
