"""``group_by: chain``: linear chains of tasks share a pod, and nothing else changes.

The property test plans generated real Kedro pipelines (the strategies of
``test_plan_kedro_graph``, with resource profile and pod template tags added) with each
grouping strategy, with and without ``chain``, and checks that chain fusion only joins tasks of
the plan without it that follow each other alone (a task whose only downstream task is the next,
which has no other upstream task), never across profiles, templates, tag groups, namespace tasks
or spark tasks; that it joins every such pair; that the task graph stays acyclic; that the
longest chain of pods a run waits for never grows; and that every Kedro dependency is kept.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from kedro.pipeline import Pipeline
from kedro.pipeline import node as kedro_node

from kedro_airflow_k8s.errors import PlanError
from kedro_airflow_k8s.plan import GroupBy, PlanOptions, TaskKind, TaskPlan, build_plan, explain
from kedro_airflow_k8s.project import describe_datasets, pipeline_spec
from tests.plan.plan_helpers import assert_valid_plan, catalog, node, pipeline, plan_of
from tests.plan.test_plan_kedro_graph import (
    assert_keeps_kedro_graph,
    catalogs,
    kedro_pipelines,
    step,
)

PROFILES = frozenset({"__default__", "big", "small"})
TEMPLATES = frozenset({"__default__", "gpu"})
BASES = [
    frozenset(),
    frozenset({GroupBy.MEMORY}),
    frozenset({GroupBy.NAMESPACE}),
    frozenset({GroupBy.MEMORY, GroupBy.NAMESPACE}),
]


def critical_path(plan: TaskPlan) -> int:
    """The longest chain of tasks (pods) a run waits for."""
    depth: dict[str, int] = {}
    for task in plan.tasks:  # topological order
        depth[task.full_task_id] = 1 + max((depth[up] for up in task.upstream), default=0)
    return max(depth.values(), default=0)


def downstream(plan: TaskPlan) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {task.full_task_id: [] for task in plan.tasks}
    for task in plan.tasks:
        for up in task.upstream:
            out[up].append(task.full_task_id)
    return out


def pod_of(task: object) -> tuple[object, ...]:
    return (
        getattr(task, "resource_profile", None),
        getattr(task, "pod_template", None),
        getattr(task, "kind", None),
        getattr(task, "group", None),
    )


def chainable(task: object) -> bool:
    """A task chain fusion may join: a pod task standing for no tag group or namespace."""
    return getattr(task, "kind", None) is TaskKind.POD and getattr(task, "group", None) is None


def assert_chains_of(base: TaskPlan, chained: TaskPlan) -> None:
    """``chained`` is ``base`` with the sole-successor/sole-predecessor pairs of alike tasks
    joined, and only those."""
    where = {n: task.full_task_id for task in chained.tasks for n in task.nodes}
    parts: dict[str, list[str]] = {}  # chained task -> the base tasks it is made of
    for task in base.tasks:
        owners = {where[n] for n in task.nodes}
        assert len(owners) == 1, "chain fusion joins whole tasks"
        parts.setdefault(owners.pop(), []).append(task.full_task_id)
    below = downstream(base)
    for task in chained.tasks:
        members = parts[task.full_task_id]
        if len(members) == 1:
            assert "chain" not in task.fused_by
            continue
        assert "chain" in task.fused_by
        pods = {pod_of(base.task(m)) for m in members}
        assert len(pods) == 1, f"one profile, template and kind: {pods}"
        assert all(chainable(base.task(m)) for m in members)
        # the members are a path of sole successors: each one's only downstream task is the next
        chosen = set(members)
        inside = [m for m in members if any(d in chosen for d in below[m])]
        assert len(inside) == len(members) - 1, "a path through the members"
        for member in inside:
            (head,) = below[member]
            assert head in chosen and base.task(head).upstream == (member,)
    # every pair that could be joined was joined
    for task in base.tasks:
        heads = below[task.full_task_id]
        if len(heads) != 1:
            continue
        head = base.task(heads[0])
        alike = pod_of(task) == pod_of(head) and chainable(task) and chainable(head)
        if alike and head.upstream == (task.full_task_id,):
            assert where[task.nodes[0]] == where[head.nodes[0]], (task.full_task_id, head)


@st.composite
def profiled_pipelines(draw: st.DrawFn) -> Pipeline:
    """A generated Kedro pipeline whose untagged nodes may ask for a profile and a template
    (the nodes of a tag group ask alike, as a valid project does)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Kedro warns about dots in namespaced dataset names
        built = draw(kedro_pipelines())
        # chains of 1-4 nodes hung from datasets of the pipeline
        outputs = sorted(built.all_outputs())
        extra = []
        for k in range(draw(st.integers(0, 3)) if outputs else 0):
            previous = draw(st.sampled_from(outputs))
            for j in range(draw(st.integers(1, 4))):
                extra.append(kedro_node(step, previous, f"chain{k}_{j}", name=f"chain{k}_{j}"))
                previous = f"chain{k}_{j}"
        built = Pipeline([built, *extra])
    tagged = []
    asks: dict[str, set[str]] = {}
    for one in built.nodes:
        group = next((t for t in one.tags if t.startswith("airflow.")), one.name)
        if group not in asks:
            asks[group] = set()
            if draw(st.integers(0, 2)) == 0:
                asks[group].add(f"resources.{draw(st.sampled_from(sorted(PROFILES)))}")
            if draw(st.integers(0, 3)) == 0:
                asks[group].add(f"k8s_template.{draw(st.sampled_from(sorted(TEMPLATES)))}")
        tagged.append(one.tag(asks[group]) if asks[group] else one)
    return Pipeline(tagged)


def _options(group_by: frozenset[GroupBy], spark: bool, persist: bool) -> PlanOptions:
    return PlanOptions(
        group_by=group_by,
        group_spark_nodes=spark,
        persist_memory=persist,
        resource_profiles=PROFILES,
        pod_templates=TEMPLATES,
    )


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_chain_fusion_joins_only_lone_links_of_alike_tasks(data: st.DataObject) -> None:
    built = data.draw(profiled_pipelines())
    spec = pipeline_spec("generated", built)
    used = sorted(built.datasets())
    datasets = describe_datasets(used, data.draw(catalogs(used)))
    spark = data.draw(st.booleans())
    for base_strategies in BASES:
        # in-memory data crossing pods is kept in per-run storage, so no plan is refused for it
        base_options = _options(base_strategies, spark, persist=True)
        try:
            base = build_plan(spec, datasets, base_options)
        except PlanError as error:  # a tag group cycle: chain fusion comes after, alike
            with pytest.raises(type(error)):
                build_plan(spec, datasets, _options(base_strategies | {GroupBy.CHAIN}, spark, True))
            event("refused")
            continue
        chained = build_plan(
            spec, datasets, _options(base_strategies | {GroupBy.CHAIN}, spark, True)
        )
        assert_keeps_kedro_graph(built, chained)
        assert_chains_of(base, chained)
        assert critical_path(chained) <= critical_path(base)
        fused = len(base.tasks) - len(chained.tasks)
        event(f"{sorted(g.value for g in base_strategies)}: {'fused' if fused else 'no chain'}")
        # without per-run storage: chain fusion never makes a plan refused
        strict = _options(base_strategies, spark, persist=False)
        try:
            build_plan(spec, datasets, strict)
        except PlanError:
            continue
        build_plan(spec, datasets, _options(base_strategies | {GroupBy.CHAIN}, spark, False))


# -- examples -------------------------------------------------------------------------------------


def _linear(names: Sequence[str], tags: dict[str, tuple[str, ...]] | None = None) -> list:  # type: ignore[type-arg]
    tags = tags or {}
    return [node(n, [f"d{i}"], [f"d{i + 1}"], tags.get(n, ())) for i, n in enumerate(names)]


def test_a_linear_chain_becomes_one_pod() -> None:
    pipe = pipeline(*_linear(["a", "b", "c", "d"]))
    plan = plan_of(pipe, group_by=GroupBy.CHAIN)
    assert_valid_plan(pipe, plan)
    (task,) = plan.tasks
    assert task.nodes == ("a", "b", "c", "d")
    assert task.fused_by == ("chain",)
    assert task.task_id == "group_a"
    assert "chain" in explain(plan, "json")


def test_branches_and_joins_stay_apart() -> None:
    """a feeds b and c, which d joins: only the links alone on both ends fuse (d -> e)."""
    pipe = pipeline(
        node("a", ["r"], ["x"]),
        node("b", ["x"], ["y"]),
        node("c", ["x"], ["z"]),
        node("d", ["y", "z"], ["w"]),
        node("e", ["w"], ["out"]),
    )
    plan = plan_of(pipe, group_by=GroupBy.CHAIN)
    assert_valid_plan(pipe, plan)
    assert [t.nodes for t in plan.tasks] == [("a",), ("b",), ("c",), ("d", "e")]


def test_profiles_templates_tag_groups_and_spark_split_chains() -> None:
    pipe = pipeline(
        *_linear(
            ["a", "b", "c", "d", "e", "f", "g", "h", "i"],
            {
                "c": ("resources.big",),
                "d": ("resources.big",),
                "e": ("resources.__default__",),  # the default by name: alike a and b
                "f": ("airflow.train",),
                "g": ("kedro-airflow-k8s.group.pyspark",),
                "i": ("k8s_template.gpu",),
            },
        )
    )
    plan = plan_of(
        pipe,
        group_by=frozenset({GroupBy.CHAIN}),
        resource_profiles=frozenset({"big", "__default__"}),
        pod_templates=frozenset({"gpu"}),
    )
    assert_valid_plan(pipe, plan)
    assert [t.nodes for t in plan.tasks] == [
        ("a", "b"),
        ("c", "d"),
        ("e",),
        ("f",),
        ("g",),
        ("h",),
        ("i",),
    ]


def test_chain_joins_what_memory_fused() -> None:
    pipe = pipeline(*_linear(["a", "b", "c"]))
    plan = plan_of(
        pipe, catalog("d0", "d2", "d3"), group_by=frozenset({GroupBy.MEMORY, GroupBy.CHAIN})
    )
    (task,) = plan.tasks
    assert task.fused_by == ("memory", "chain")


def test_namespace_tasks_do_not_chain() -> None:
    pipe = pipeline(
        node("a", ["r"], ["x"]),
        node("ns.b", ["x"], ["y"], namespace="ns"),
        node("ns.c", ["y"], ["z"], namespace="ns"),
        node("d", ["z"], ["w"]),
        node("e", ["w"], ["v"]),
    )
    plan = plan_of(pipe, group_by=frozenset({GroupBy.NAMESPACE, GroupBy.CHAIN}))
    assert [(t.nodes, t.fused_by) for t in plan.tasks] == [
        (("a",), ()),
        (("ns.b", "ns.c"), ("namespace",)),
        (("d", "e"), ("chain",)),
    ]
