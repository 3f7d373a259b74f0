"""Give every planned task its TaskGroup path, task id and pod name, all valid and unique.

* TaskGroup ids come from Kedro namespace levels (no dots, at most 50 chars each, at most 150
  chars for the whole path); the same namespace always gives the same TaskGroup.
* The id of a nested TaskGroup differs from every top-level TaskGroup id. Airflow 2.10 checks a
  new TaskGroup's own id (not its full id) against the full ids of the TaskGroups made before
  it, so namespace ``a.a``, or ``g0.g1`` beside a top-level ``g1``, would not import there
  (Airflow 3 checks the full id). Such a level gets a ``_2``, ``_3``... suffix.
* A task's full id (path + id, joined by ".") is at most 250 chars and unique, and differs from
  every TaskGroup's full id and from the join ids Airflow registers for each TaskGroup.
* Pod names are DNS-1123 labels of at most 53 chars, unique in the plan.

Collisions are settled in task order by ``_2``, ``_3``... suffixes, so names are deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from kedro_airflow_k8s import names
from kedro_airflow_k8s.names import FULL_TASK_ID_MAX, GROUP_ID_MAX, POD_NAME_MAX, TASK_ID_MAX, Names

# Ids Airflow registers under every TaskGroup besides the group itself.
_GROUP_JOIN_IDS = ("upstream_join_id", "downstream_join_id")


class NameRequest(NamedTuple):
    """What a task would like to be called: a name, inside the TaskGroups of ``namespace``."""

    name: str
    namespace: tuple[str, ...] = ()


class TaskName(NamedTuple):
    task_group: tuple[str, ...]
    task_id: str
    pod_name: str

    @property
    def full_task_id(self) -> str:
        return ".".join((*self.task_group, self.task_id))


def allocate_names(requests: Sequence[NameRequest]) -> list[TaskName]:
    paths = _apart_from_top_level([names.group_path(request.namespace) for request in requests])
    taken = Names(_group_ids(paths))
    named: list[tuple[tuple[str, ...], str]] = []
    for request, path in zip(requests, paths, strict=True):
        named.append((path, _free_task_id(request.name, path, taken)))
    pod_names = names.unique(
        (names.dns_label(_joined(path, task_id)) for path, task_id in named), POD_NAME_MAX
    )
    return [
        TaskName(task_group=path, task_id=task_id, pod_name=pod)
        for (path, task_id), pod in zip(named, pod_names, strict=True)
    ]


def kept_namespace_levels(namespace: tuple[str, ...]) -> int:
    """How many namespace levels become TaskGroups (very long paths are cut)."""
    return len(names.group_path(namespace))


def _apart_from_top_level(paths: Sequence[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """The paths with every nested TaskGroup id that is also a top-level TaskGroup id suffixed,
    the same way wherever the namespace appears."""
    top = {path[0] for path in paths if path}
    if not any(group in top for path in paths for group in path[1:]):
        return list(paths)
    # the ids in use under each parent: the top-level ids and the parent's own children
    children: dict[tuple[str, ...], Names] = {}
    for path in paths:
        for depth in range(1, len(path)):
            children.setdefault(path[:depth], Names(top)).take(path[depth])
    renamed: dict[tuple[str, ...], tuple[str, ...]] = {}

    def rename(path: tuple[str, ...]) -> tuple[str, ...]:
        if len(path) < 2:
            return path
        known = renamed.get(path)
        if known is not None:
            return known
        parent = rename(path[:-1])
        group = path[-1]
        if group in top:
            group = children[path[:-1]].claim(group, GROUP_ID_MAX)
        renamed[path] = (*parent, group)
        return renamed[path]

    return [rename(path) for path in paths]


def _joined(path: tuple[str, ...], task_id: str) -> str:
    return ".".join((*path, task_id))


def _group_ids(paths: Sequence[tuple[str, ...]]) -> set[str]:
    """The full ids of every TaskGroup and of the join ids Airflow adds to each."""
    taken: set[str] = set()
    for path in set(paths):
        for depth in range(1, len(path) + 1):
            group = ".".join(path[:depth])
            taken.add(group)
            taken.update(f"{group}.{join_id}" for join_id in _GROUP_JOIN_IDS)
    return taken


def _free_task_id(name: str, path: tuple[str, ...], taken: Names) -> str:
    """A task id for ``name`` in ``path`` whose full id is not ``taken`` yet (and takes it)."""
    prefix = ".".join(path) + "." if path else ""
    room = min(TASK_ID_MAX, FULL_TASK_ID_MAX - len(prefix))
    return taken.claim(names.task_id(name, room), room, prefix=prefix)
