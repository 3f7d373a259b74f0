"""Turn a pipeline into Airflow tasks: the pure task-plan stage (no Kedro session, no I/O).

Steps, each linear in nodes + edges (the task ordering adds a log factor):

0. refuse names a pod's ``kedro run`` command line cannot carry
   (:mod:`~kedro_airflow_k8s.plan.command_line`);
1. index the pipeline: Kedro's dependencies, each with the dataset it passes (the forms of a
   transcoded dataset are one dataset), and a topological node order;
2. read each node's traits (group tag, resource profile, pod template, spark);
3. partition the nodes into tasks (:mod:`~kedro_airflow_k8s.plan.fusion`);
4. order the tasks topologically, name them, wire their upstream tasks;
5. refuse in-memory datasets that would cross from one task (pod) to another, or, with
   ``persist_memory``, list them on the tasks that write and read them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from kedro_airflow_k8s.collector import collector_paused
from kedro_airflow_k8s.plan.command_line import check_command_line_names
from kedro_airflow_k8s.plan.errors import Crossing, MemoryCrossingError, catalog_entry_hint
from kedro_airflow_k8s.plan.fusion import (
    NAMESPACE,
    Partition,
    partition_nodes,
    reason_names,
    unit_successors,
)
from kedro_airflow_k8s.plan.graph import topological_order
from kedro_airflow_k8s.plan.index import Edge, PipelineIndex, dataset_spec, index_pipeline
from kedro_airflow_k8s.plan.model import GroupBy, PlannedTask, PlanOptions, TaskKind, TaskPlan
from kedro_airflow_k8s.plan.task_names import (
    NameRequest,
    TaskName,
    allocate_names,
    kept_namespace_levels,
)
from kedro_airflow_k8s.plan.traits import NodeTraits, TraitReader, asked_or_default
from kedro_airflow_k8s.snapshot import DatasetSource, DatasetSpec, PipelineSpec

_CROSSINGS_SHOWN = 10
_CONFLICTS_SHOWN = 3


def build_plan(
    pipeline: PipelineSpec,
    datasets: Mapping[str, DatasetSpec],
    options: PlanOptions,
) -> TaskPlan:
    """The tasks ``pipeline`` becomes, in a topological order of the task graph.

    Raises :class:`~kedro_airflow_k8s.errors.PlanError` (one line, naming the nodes, tags or
    datasets involved) when the tags cannot work or in-memory data would cross pods.
    """
    with collector_paused():  # many small objects, no cycles: see kedro_airflow_k8s.collector
        return _build(pipeline, datasets, options)


def _build(
    pipeline: PipelineSpec, datasets: Mapping[str, DatasetSpec], options: PlanOptions
) -> TaskPlan:
    check_command_line_names(pipeline)
    index = index_pipeline(pipeline)
    reader = TraitReader(datasets, options)
    traits = [reader.read(node) for node in index.nodes]
    memory = _MemoryView(datasets)
    memory_edges = [memory.edge(edge) for edge in index.edges]
    partition = partition_nodes(index, traits, memory_edges, options)
    successors = unit_successors(index, partition.unit_of, len(partition.members))
    order = topological_order(successors, range(len(successors)))
    if len(order) != len(successors):  # fusion guarantees an acyclic task graph
        raise RuntimeError("internal error: the fused task graph has a cycle")
    fuses_namespace = options.fuses(GroupBy.NAMESPACE)
    facts = [_facts_of(traits, partition, unit, fuses_namespace) for unit in order]
    task_groups = options.namespace_task_groups and not fuses_namespace
    names = allocate_names([_name_request(index, fact, task_groups) for fact in facts])
    full_ids = {unit: name.full_task_id for unit, name in zip(order, names, strict=True)}
    crossings = _memory_crossings(index, datasets, memory, memory_edges, partition, full_ids)
    if crossings and not options.persist_memory:
        message = _crossing_message(crossings, partition.memory_conflicts, options)
        raise MemoryCrossingError(message, tuple(crossings))
    persisted = _persisted_by_task(crossings)
    upstream: list[list[str]] = [[] for _ in order]  # per unit, in task order
    for unit in order:
        for head in successors[unit]:
            upstream[head].append(full_ids[unit])
    tasks = tuple(
        _planned_task(index, fact, name, upstream[unit], options, persisted.get(full_ids[unit], ()))
        for unit, fact, name in zip(order, facts, names, strict=True)
    )
    notes = (*partition.warnings, *_transcoding_warnings(index, datasets, memory, memory_edges))
    return TaskPlan(pipeline=pipeline.name, tasks=tasks, warnings=tuple(dict.fromkeys(notes)))


def _planned_task(
    index: PipelineIndex,
    fact: _UnitFacts,
    name: TaskName,
    upstream: Sequence[str],
    options: PlanOptions,
    memory_datasets: Sequence[str] = (),
) -> PlannedTask:
    return PlannedTask(
        task_id=name.task_id,
        pod_name=name.pod_name,
        kind=TaskKind.SPARK if fact.spark else TaskKind.POD,
        nodes=tuple(index.nodes[v].name for v in fact.nodes),
        upstream=tuple(upstream),
        resource_profile=asked_or_default(fact.profile, options.resource_profiles),
        pod_template=asked_or_default(fact.template, options.pod_templates),
        task_group=name.task_group,
        group=fact.tag_group or fact.fused_namespace,
        fused_by=reason_names(fact.reasons) if len(fact.nodes) > 1 else (),
        memory_datasets=tuple(memory_datasets),
    )


class _MemoryView:
    """Which dataset names live only in the memory of the process that writes them.

    Kedro's catalog resolves every name on its own, the forms of a transcoded dataset too
    (``table@spark`` and ``table@pandas`` are two entries), so each form is looked up by its
    full name.
    """

    def __init__(self, datasets: Mapping[str, DatasetSpec]) -> None:
        self.datasets = datasets
        self._known: dict[str, bool] = {}

    def __call__(self, name: str) -> bool:
        known = self._known.get(name)
        if known is None:
            spec = dataset_spec(name, self.datasets)
            known = self._known[name] = spec.source is not DatasetSource.PARAMS and spec.is_memory
        return known

    def edge(self, edge: Edge) -> bool:
        """Does the edge carry data that stays in the producing process? For a transcoded
        dataset, when either the form written or the form read lives in memory."""
        if not edge.dataset:
            return False
        return self(edge.written) or (edge.dataset != edge.written and self(edge.dataset))

    def form(self, edge: Edge) -> str:
        """The in-memory name an in-memory edge stands for: the form written, else the one read."""
        return edge.written if self(edge.written) else edge.dataset


def _transcoding_warnings(
    index: PipelineIndex,
    datasets: Mapping[str, DatasetSpec],
    memory: _MemoryView,
    memory_edges: Sequence[bool],
) -> list[str]:
    """Transcoded datasets with a form in memory: Kedro keeps every form in its own catalog
    entry, so the form read never holds what the other form wrote (in one process or not)."""
    found: dict[tuple[str, str], None] = {}
    for edge, in_memory in zip(index.edges, memory_edges, strict=True):
        if in_memory and edge.dataset != edge.written:
            found[(edge.written, edge.dataset)] = None
    out = []
    for written, read in found:
        form = written if memory(written) else read
        why = _memory_why(dataset_spec(form, datasets))
        out.append(
            f"transcoded dataset written as {written!r} and read as {read!r}: {form!r} lives in "
            f"memory ({why}) and Kedro keeps each form in its own catalog entry, so {read!r} "
            f"cannot load what {written!r} saved; give both forms catalog entries on the same "
            "storage"
        )
    return out


class _UnitFacts(NamedTuple):
    """What one unit (a future task) is made of and asks for."""

    nodes: tuple[int, ...]
    spark: bool
    profile: str | None  # asked for by a node; fusion made sure the nodes agree
    template: str | None
    tag_group: str | None
    fused_namespace: str | None  # the top-level namespace a group_by: namespace task is for
    namespace: tuple[str, ...]  # the namespace all its nodes share
    reasons: int


def _facts_of(
    traits: Sequence[NodeTraits], partition: Partition, unit: int, fuses_namespace: bool
) -> _UnitFacts:
    """``fuses_namespace``: ``group_by: namespace`` is chosen."""
    members = partition.members[unit]
    reasons = partition.reasons[unit]
    by_namespace = fuses_namespace and bool(reasons & NAMESPACE)
    if len(members) == 1:  # most units: a single node, whose traits are the unit's
        one = traits[members[0]]
        return _UnitFacts(
            nodes=members,
            spark=one.spark,
            profile=one.profile,
            template=one.template,
            tag_group=one.group,
            fused_namespace=one.namespace[0] if by_namespace and one.namespace else None,
            namespace=one.namespace,
            reasons=reasons,
        )
    mine = [traits[v] for v in members]
    return _UnitFacts(
        nodes=members,
        spark=any(t.spark for t in mine),
        profile=next((t.profile for t in mine if t.profile is not None), None),
        template=next((t.template for t in mine if t.template is not None), None),
        tag_group=next((t.group for t in mine if t.group is not None), None),
        fused_namespace=next((t.namespace[0] for t in mine if t.namespace), None)
        if by_namespace
        else None,
        namespace=_common_namespace([t.namespace for t in mine]),
        reasons=reasons,
    )


def _common_namespace(namespaces: Sequence[tuple[str, ...]]) -> tuple[str, ...]:
    common = namespaces[0]
    for namespace in namespaces[1:]:
        if namespace[: len(common)] == common:
            continue
        depth = 0
        while depth < min(len(common), len(namespace)) and common[depth] == namespace[depth]:
            depth += 1
        common = common[:depth]
    return common


def _name_request(index: PipelineIndex, fact: _UnitFacts, task_groups: bool) -> NameRequest:
    """The name a task asks for: its tag group, fused namespace, node, or first node
    (``task_groups``: namespaces become TaskGroups)."""
    if fact.fused_namespace is not None and fact.tag_group is None:
        return NameRequest(fact.fused_namespace)
    namespace = fact.namespace if task_groups else ()
    namespace = namespace[: kept_namespace_levels(namespace)]
    if fact.tag_group is not None:
        return NameRequest(fact.tag_group, namespace)
    first = _local_name(index.nodes[fact.nodes[0]].name, namespace)
    if len(fact.nodes) == 1:
        return NameRequest(first, namespace)
    return NameRequest(f"{'spark' if fact.spark else 'group'}_{first}", namespace)


def _local_name(node_name: str, namespace: tuple[str, ...]) -> str:
    """A node name without the namespace its TaskGroups already show."""
    prefix = ".".join(namespace) + "."
    if namespace and node_name.startswith(prefix) and len(node_name) > len(prefix):
        return node_name[len(prefix) :]
    return node_name


def _memory_crossings(
    index: PipelineIndex,
    datasets: Mapping[str, DatasetSpec],
    memory: _MemoryView,
    memory_edges: Sequence[bool],
    partition: Partition,
    full_ids: Mapping[int, str],
) -> list[Crossing]:
    """The in-memory datasets that one task writes and another reads, per data edge."""
    crossings: list[Crossing] = []
    for edge, in_memory in zip(index.edges, memory_edges, strict=True):
        source, target = partition.unit_of[edge.source], partition.unit_of[edge.target]
        if in_memory and source != target:
            form = memory.form(edge)
            spec = dataset_spec(form, datasets)
            crossings.append(
                Crossing(
                    dataset=form,
                    why=_memory_why(spec),
                    producer_task=full_ids[source],
                    producer_node=index.nodes[edge.source].name,
                    consumer_task=full_ids[target],
                    consumer_node=index.nodes[edge.target].name,
                )
            )
    return crossings


def _persisted_by_task(crossings: Sequence[Crossing]) -> dict[str, tuple[str, ...]]:
    """The crossing datasets each task writes or reads (full task id -> names, first seen
    first)."""
    found: dict[str, dict[str, None]] = {}
    for crossing in crossings:
        for task in (crossing.producer_task, crossing.consumer_task):
            found.setdefault(task, {})[crossing.dataset] = None
    return {task: tuple(names) for task, names in found.items()}


def _memory_why(spec: DatasetSpec) -> str:
    if spec.source is DatasetSource.NONE:
        return "no catalog entry"
    return (spec.type or "").rsplit(".", 1)[-1]


def _task_and_node(task: str, node: str) -> str:
    return repr(task) if task == node else f"{task!r} (node {node!r})"


def _crossing_message(
    crossings: Sequence[Crossing], conflicts: Sequence[str], options: PlanOptions
) -> str:
    shown = [
        f"dataset {c.dataset!r} ({c.why}) is written by task "
        f"{_task_and_node(c.producer_task, c.producer_node)} and read by task "
        f"{_task_and_node(c.consumer_task, c.consumer_node)}"
        for c in crossings[:_CROSSINGS_SHOWN]
    ]
    more = len(crossings) - _CROSSINGS_SHOWN
    listed = "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
    problem = f"in-memory data cannot move between tasks, each runs in its own pod: {listed}"
    fixes = []
    if options.fuses(GroupBy.MEMORY):
        reasons = "; ".join(conflicts[:_CONFLICTS_SHOWN])
        problem += f". run_config.group_by: memory cannot fuse these tasks, because {reasons}"
    else:
        fixes.append(
            "set run_config.group_by: memory (or add memory to its list) to run them in one task"
        )
    fixes += [
        "set run_config.in_memory.storage (a bucket URL, or volume) to keep it in per-run storage",
        f"tag its producer and consumers with one {options.group_tag_prefix}<group> tag",
    ]
    names = list(dict.fromkeys(c.dataset for c in crossings))
    fixes.append(
        "persist it in the catalog on storage every pod reads (a bucket URL, or the data folder "
        "with run_config.volume), e.g. with this line in conf/base/catalog.yml: "
        + catalog_entry_hint(names[0] if len(names) == 1 else None)
    )
    return f"{problem}. To fix: {'; or '.join(fixes)}"
