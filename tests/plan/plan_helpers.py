"""Builders for hand-made pipelines and the invariants every task plan must satisfy."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from kedro_airflow_k8s.plan import PlanOptions, TaskPlan, build_plan
from kedro_airflow_k8s.snapshot import DatasetSource, DatasetSpec, NodeSpec, PipelineSpec

SPARK_TAG = "kedro-airflow-k8s.group.pyspark"
TASK_ID = re.compile(r"^[A-Za-z0-9_.-]{1,250}$")
GROUP_ID = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,51}[a-z0-9])?$")


def node(
    name: str,
    inputs: Iterable[str] = (),
    outputs: Iterable[str] = (),
    tags: Iterable[str] = (),
    namespace: str | None = None,
    annotations: Mapping[str, str] | None = None,
) -> NodeSpec:
    return NodeSpec(
        name=name,
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        tags=tuple(tags),
        namespace=namespace,
        annotations=tuple((annotations or {}).items()),
    )


def pipeline(*nodes: NodeSpec, name: str = "__default__") -> PipelineSpec:
    return PipelineSpec(name=name, nodes=tuple(nodes))


def catalog(*names: str, type_: str = "pandas.ParquetDataset") -> dict[str, DatasetSpec]:
    """Catalog entries of one type for ``names``."""
    return {name: DatasetSpec(name, DatasetSource.ENTRY, type_) for name in names}


def all_in_catalog(pipe: PipelineSpec) -> dict[str, DatasetSpec]:
    """A catalog entry for every dataset of the pipeline (nothing lives in memory)."""
    names = {d for n in pipe.nodes for d in (*n.inputs, *n.outputs)}
    return catalog(*sorted(names))


def plan_of(
    pipe: PipelineSpec,
    datasets: Mapping[str, DatasetSpec] | None = None,
    **options: object,
) -> TaskPlan:
    """Plan with every dataset catalogued unless ``datasets`` says otherwise."""
    chosen = all_in_catalog(pipe) if datasets is None else datasets
    return build_plan(pipe, chosen, PlanOptions(**options))  # type: ignore[arg-type]


def task_of(plan: TaskPlan) -> dict[str, str]:
    """Node name -> full id of the task that runs it."""
    return {n: t.full_task_id for t in plan.tasks for n in t.nodes}


def kedro_edges(pipe: PipelineSpec) -> list[tuple[str, str]]:
    producer = {d: n.name for n in pipe.nodes for d in n.outputs}
    return [(producer[d], n.name) for n in pipe.nodes for d in n.inputs if d in producer]


def assert_valid_plan(pipe: PipelineSpec, plan: TaskPlan) -> None:
    """Everything a plan promises, whatever the options."""
    names = [n.name for n in pipe.nodes]
    planned = [n for t in plan.tasks for n in t.nodes]
    assert sorted(planned) == sorted(names), "every node in exactly one task"
    where = task_of(plan)
    by_id = {t.full_task_id: t for t in plan.tasks}
    position = {t.full_task_id: i for i, t in enumerate(plan.tasks)}
    assert len(position) == len(plan.tasks), "full task ids are unique"
    for task in plan.tasks:
        assert task.nodes, "no empty task"
        for up in task.upstream:
            assert position[up] < position[task.full_task_id], "tasks in topological order"
        assert len(set(task.upstream)) == len(task.upstream)
        assert task.full_task_id not in task.upstream
    for source, target in kedro_edges(pipe):
        if where[source] != where[target]:
            upstream = by_id[where[target]].upstream
            assert where[source] in upstream, f"edge {source} -> {target} is a direct upstream"
    order = {n: i for i, n in enumerate(names)}
    for task in plan.tasks:
        assert list(task.nodes) == sorted(task.nodes, key=order.__getitem__), "nodes in order"
    assert_valid_names(plan)


def assert_valid_names(plan: TaskPlan) -> None:
    full_ids = {t.full_task_id for t in plan.tasks}
    pod_names = [t.pod_name for t in plan.tasks]
    assert len(set(pod_names)) == len(pod_names), "pod names are unique"
    group_paths = set()
    for task in plan.tasks:
        assert TASK_ID.match(task.task_id), task.task_id
        assert TASK_ID.match(task.full_task_id) and len(task.full_task_id) <= 250
        assert DNS_LABEL.match(task.pod_name), task.pod_name
        assert len(task.pod_name) <= 53
        for depth, group in enumerate(task.task_group, start=1):
            assert GROUP_ID.match(group), group
            group_paths.add(".".join(task.task_group[:depth]))
    top_level = {path for path in group_paths if "." not in path}
    for path in group_paths:
        assert path not in full_ids, f"TaskGroup {path} collides with a task"
        own_id = path.rsplit(".", 1)[-1]
        # Airflow 2.10 checks a nested TaskGroup's own id against the full ids of the others
        assert "." not in path or own_id not in top_level, f"TaskGroup {path} on Airflow 2.10"
        for join_id in ("upstream_join_id", "downstream_join_id"):
            assert f"{path}.{join_id}" not in full_ids


def is_acyclic(successors: Mapping[str, Sequence[str]]) -> bool:
    state: dict[str, int] = {}

    def visit(vertex: str) -> bool:
        state[vertex] = 1
        for head in successors.get(vertex, ()):
            if state.get(head) == 1 or (head not in state and not visit(head)):
                return False
        state[vertex] = 2
        return True

    return all(state.get(v) == 2 or visit(v) for v in list(successors))
