"""Property tests over random DAGs, tag groupings and options.

Whatever the pipeline, a plan either satisfies every promise (each node in exactly one task,
each Kedro edge inside a task or a direct upstream link, tasks in topological order, valid
unique names, tag groups respected, no in-memory data between tasks), or planning fails with an
error whose findings are real (a cycle that exists, crossings that exist).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hypothesis import event, given, settings
from hypothesis import strategies as st

from kedro_airflow_k8s.plan import (
    GroupBy,
    GroupingCycleError,
    MemoryCrossingError,
    PlanOptions,
    TaskKind,
    TaskPlan,
    build_plan,
    format_json,
)
from kedro_airflow_k8s.snapshot import DatasetSource, DatasetSpec, NodeSpec, PipelineSpec
from tests.plan.plan_helpers import SPARK_TAG, assert_valid_plan, is_acyclic, kedro_edges, task_of

GROUPS = ("airflow.g0", "airflow.g1", "airflow.g2")
NAMESPACES = (None, "a", "a.b", "c")


@dataclass(frozen=True)
class Case:
    pipeline: PipelineSpec
    datasets: Mapping[str, DatasetSpec]
    options: PlanOptions


@st.composite
def pipelines(draw: st.DrawFn, spark: bool = True, tags: bool = True) -> PipelineSpec:
    """A random DAG: node i reads any earlier outputs, free inputs and parameters."""
    size = draw(st.integers(min_value=1, max_value=14))
    outputs: list[str] = []
    nodes: list[NodeSpec] = []
    for i in range(size):
        inputs = (
            draw(st.lists(st.sampled_from(outputs), max_size=3, unique=True)) if outputs else []
        )
        if draw(st.booleans()):
            inputs.append(f"free{i}")
        if draw(st.integers(0, 4)) == 0:
            inputs.append("params:alpha")
        produced = [f"d{i}_{k}" for k in range(draw(st.integers(1, 2)))]
        node_tags: list[str] = []
        group = draw(st.sampled_from((None, None, *GROUPS))) if tags else None
        if group:
            node_tags.append(group)
        if spark and draw(st.integers(0, 2)) == 0:
            node_tags.append(SPARK_TAG)
        namespace = draw(st.sampled_from(NAMESPACES))
        name = f"{namespace}.n{i}" if namespace else f"n{i}"
        nodes.append(NodeSpec(name, tuple(inputs), tuple(produced), tuple(node_tags), namespace))
        outputs.extend(produced)
    return PipelineSpec("random", tuple(nodes))


@st.composite
def cases(draw: st.DrawFn) -> Case:
    pipe = draw(pipelines())
    datasets: dict[str, DatasetSpec] = {}
    for dataset in sorted({d for n in pipe.nodes for d in (*n.inputs, *n.outputs)}):
        kind = draw(st.sampled_from(("entry", "entry", "entry", "memory_type", "absent")))
        if kind == "entry":
            datasets[dataset] = DatasetSpec(dataset, DatasetSource.ENTRY, "pandas.CSVDataset")
        elif kind == "memory_type":
            datasets[dataset] = DatasetSpec(dataset, DatasetSource.ENTRY, "MemoryDataset")
    options = PlanOptions(
        group_by=draw(st.sampled_from(list(GroupBy))),
        group_spark_nodes=draw(st.booleans()),
        namespace_task_groups=draw(st.booleans()),
    )
    return Case(pipe, datasets, options)


def tag_group_of(pipe: PipelineSpec) -> dict[str, str]:
    """Node -> its unit under tag grouping alone (the tag, or the node itself)."""
    units = {}
    for n in pipe.nodes:
        groups = [t for t in n.tags if t.startswith("airflow.")]
        units[n.name] = groups[0] if groups else f"node:{n.name}"
    return units


def tag_grouping_is_acyclic(pipe: PipelineSpec) -> bool:
    unit = tag_group_of(pipe)
    successors: dict[str, list[str]] = {u: [] for u in unit.values()}
    for source, target in kedro_edges(pipe):
        if unit[source] != unit[target]:
            successors[unit[source]].append(unit[target])
    return is_acyclic(successors)


def is_in_memory(dataset: str, datasets: Mapping[str, DatasetSpec]) -> bool:
    if dataset.startswith("params:") or dataset == "parameters":
        return False
    spec = datasets.get(dataset)
    return spec is None or spec.is_memory


def assert_promises(case: Case, plan: TaskPlan) -> None:
    pipe = case.pipeline
    assert_valid_plan(pipe, plan)
    where = task_of(plan)
    unit = tag_group_of(pipe)
    for a in pipe.nodes:
        for b in pipe.nodes:
            if unit[a.name] == unit[b.name]:
                assert where[a.name] == where[b.name], "a tag group is one task"
            elif unit[a.name].startswith("airflow.") and unit[b.name].startswith("airflow."):
                assert where[a.name] != where[b.name], "two tag groups never share a task"
    producer = {d: n.name for n in pipe.nodes for d in n.outputs}
    for n in pipe.nodes:
        for dataset in n.inputs:
            if dataset in producer and is_in_memory(dataset, case.datasets):
                assert where[producer[dataset]] == where[n.name], "in-memory data stays inside"
        if SPARK_TAG in n.tags:
            assert plan.task(where[n.name]).kind is TaskKind.SPARK


def assert_real_cycle(pipe: PipelineSpec, error: GroupingCycleError) -> None:
    """The named edges exist and, joined through tag groups, close a cycle of tasks."""
    unit = tag_group_of(pipe)
    edges = set(kedro_edges(pipe))
    cycle = error.cycle
    assert cycle
    for (_, entry), (exit_, _) in zip(cycle, (*cycle[1:], cycle[0]), strict=True):
        assert unit[entry] == unit[exit_], "consecutive hops meet in one task"
    for source, target in cycle:
        assert (source, target) in edges, "every hop is a Kedro edge"
        assert unit[source] != unit[target], "every hop goes from one task to another"
        assert repr(source) in error.message and repr(target) in error.message
    assert len({unit[source] for source, _ in cycle}) == len(cycle), "a simple cycle of tasks"


def assert_real_crossings(case: Case, error: MemoryCrossingError) -> None:
    by_name = {n.name: n for n in case.pipeline.nodes}
    assert error.crossings
    for crossing in error.crossings:
        assert is_in_memory(crossing.dataset, case.datasets)
        assert crossing.dataset in by_name[crossing.producer_node].outputs
        assert crossing.dataset in by_name[crossing.consumer_node].inputs
        assert crossing.producer_task != crossing.consumer_task
        assert repr(crossing.dataset) in error.message or len(error.crossings) > 10


@settings(max_examples=400, deadline=None)
@given(cases())
def test_a_plan_keeps_every_promise_or_the_error_is_real(case: Case) -> None:
    try:
        plan = build_plan(case.pipeline, case.datasets, case.options)
    except GroupingCycleError as error:
        event("tag cycle")
        assert not tag_grouping_is_acyclic(case.pipeline)
        assert_real_cycle(case.pipeline, error)
        return
    except MemoryCrossingError as error:
        event("in-memory crossing")
        assert_real_crossings(case, error)
        return
    event(f"plan, fused by {sorted({r for t in plan.tasks for r in t.fused_by})}")
    assert tag_grouping_is_acyclic(case.pipeline)
    assert_promises(case, plan)


@settings(max_examples=300, deadline=None)
@given(pipelines(spark=False))
def test_random_tag_groupings_plan_or_name_a_real_cycle(pipe: PipelineSpec) -> None:
    datasets = {
        d: DatasetSpec(d, DatasetSource.ENTRY, "pandas.CSVDataset")
        for n in pipe.nodes
        for d in n.outputs
    }
    acyclic = tag_grouping_is_acyclic(pipe)
    try:
        plan = build_plan(pipe, datasets, PlanOptions())
    except GroupingCycleError as error:
        event("tag cycle")
        assert not acyclic
        assert_real_cycle(pipe, error)
        return
    event("plan")
    assert acyclic
    assert_valid_plan(pipe, plan)
    assert len(plan.tasks) == len(set(tag_group_of(pipe).values()))


@settings(max_examples=200, deadline=None)
@given(cases())
def test_memory_grouping_plans_whenever_no_tag_group_is_in_the_way(case: Case) -> None:
    untagged = PipelineSpec(
        case.pipeline.name,
        tuple(NodeSpec(n.name, n.inputs, n.outputs, (), n.namespace) for n in case.pipeline.nodes),
    )
    options = PlanOptions(group_by=GroupBy.MEMORY, group_spark_nodes=case.options.group_spark_nodes)
    plan = build_plan(untagged, case.datasets, options)
    assert_promises(Case(untagged, case.datasets, options), plan)


@settings(max_examples=200, deadline=None)
@given(pipelines(tags=False), st.booleans())
def test_spark_grouping_alone_always_plans_acyclic(pipe: PipelineSpec, by_namespace: bool) -> None:
    datasets = {
        d: DatasetSpec(d, DatasetSource.ENTRY, "pandas.CSVDataset")
        for n in pipe.nodes
        for d in n.outputs
    }
    options = PlanOptions(group_by=GroupBy.NAMESPACE if by_namespace else GroupBy.NONE)
    plan = build_plan(pipe, datasets, options)
    event(f"fused by {sorted({r for t in plan.tasks for r in t.fused_by})}")
    assert_promises(Case(pipe, datasets, options), plan)
    spark_nodes = {n.name for n in pipe.nodes if SPARK_TAG in n.tags}
    where = task_of(plan)
    for source, target in kedro_edges(pipe):
        if source in spark_nodes and target in spark_nodes:
            assert where[source] == where[target], "linked spark nodes share a task"


@settings(max_examples=100, deadline=None)
@given(cases())
def test_same_input_gives_the_same_plan(case: Case) -> None:
    def outcome() -> str:
        try:
            return format_json(build_plan(case.pipeline, case.datasets, case.options))
        except (GroupingCycleError, MemoryCrossingError) as error:
            return error.message

    first = outcome()
    assert outcome() == first
