"""Task ids, TaskGroup ids and pod names: valid, unique and stable under adversarial names."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kedro_airflow_k8s.names import (
    POD_NAME_MAX,
    dns_label,
    short_hash,
    unique,
)
from kedro_airflow_k8s.names import group_id as group_id_for
from kedro_airflow_k8s.names import group_path as group_path_for
from kedro_airflow_k8s.names import task_id as task_id_for
from kedro_airflow_k8s.plan.task_names import NameRequest, allocate_names
from tests.plan.plan_helpers import (
    DNS_LABEL,
    GROUP_ID,
    TASK_ID,
    assert_valid_names,
    assert_valid_plan,
    node,
    pipeline,
    plan_of,
)


def test_valid_task_ids_are_kept_as_they_are() -> None:
    assert task_id_for("train_model.v2-final") == "train_model.v2-final"


def test_changed_task_ids_carry_a_hash_of_the_original() -> None:
    assert (
        task_id_for("split data([a,b]) -> [c]")
        == f"split_data_a_b_-_c_{short_hash('split data([a,b]) -> [c]')}"
    )
    assert task_id_for("") == short_hash("")


def test_unicode_and_long_names_give_valid_ascii_task_ids() -> None:
    for name in ("données→étape", "日本語", "x" * 1000, "😀" * 300, " ", "a\nb\tc"):
        task_id = task_id_for(name)
        assert TASK_ID.match(task_id) and len(task_id) <= 200, name


def test_group_ids_have_no_dots() -> None:
    assert group_id_for("data_science") == "data_science"
    assert GROUP_ID.match(group_id_for("a.b"))
    assert len(group_id_for("n" * 300)) <= 50


def test_deep_long_namespaces_are_cut_to_a_valid_group_path() -> None:
    path = group_path_for(tuple("level" + "x" * 40 + str(i) for i in range(30)))
    assert 0 < len(path) < 30
    assert len(".".join(path)) <= 150
    assert all(GROUP_ID.match(group) for group in path)


def test_dns_labels() -> None:
    assert dns_label("train-model") == "train-model"
    assert dns_label("Train_Model").startswith("train-model-")
    assert dns_label("日本語").startswith("task-")
    for text in ("-x-", "A" * 100, "a.b.c", "😀", "--"):
        label = dns_label(text)
        assert DNS_LABEL.match(label) and len(label) <= POD_NAME_MAX, text


def test_unique_keeps_suffixed_names_within_the_limit() -> None:
    long_name = "a" * POD_NAME_MAX
    names = unique([long_name] * 12, POD_NAME_MAX)
    assert len(set(names)) == 12
    assert all(len(name) <= POD_NAME_MAX and DNS_LABEL.match(name) for name in names)
    assert names[:3] == [long_name, "a" * 51 + "-2", "a" * 51 + "-3"]


def test_unique_does_not_reuse_a_name_taken_later() -> None:
    assert unique(["a", "a", "a-2"]) == ["a", "a-2", "a-2-2"]


def test_names_colliding_after_sanitising_get_distinct_ids() -> None:
    twin = task_id_for("x y")  # a node literally named like the sanitised form of another
    pipe = pipeline(node("x y", ["i"], ["j"]), node(twin, ["j"], ["k"]), node("x_y", ["k"], ["l"]))
    plan = plan_of(pipe)
    assert_valid_plan(pipe, plan)
    assert [t.task_id for t in plan.tasks] == [twin, f"{twin}_2", "x_y"]


def test_a_task_never_takes_the_id_of_a_task_group() -> None:
    pipe = pipeline(
        node("data.load", ["i"], ["j"], namespace="data"),
        node("data", ["j"], ["k"]),
        node("data.upstream_join_id", ["k"], ["l"], namespace="data"),
    )
    plan = plan_of(pipe)
    assert_valid_plan(pipe, plan)
    assert [t.full_task_id for t in plan.tasks] == [
        "data.load",
        "data_2",
        "data.upstream_join_id_2",
    ]


def test_a_nested_task_group_never_takes_the_id_of_a_top_level_one() -> None:
    """Airflow 2.10 refuses a TaskGroup whose own id is the full id of another one."""
    pipe = pipeline(
        node("a.a.x", ["i"], ["j"], namespace="a.a"),
        node("a.y", ["j"], ["k"], namespace="a"),
        node("g0.g1.z", ["k"], ["l"], namespace="g0.g1"),
        node("g0.g1_2.z", ["l"], ["m"], namespace="g0.g1_2"),
        node("g1.w", ["m"], ["n"], namespace="g1"),
        node("g0.g1.v", ["n"], ["o"], namespace="g0.g1"),
    )
    plan = plan_of(pipe)
    assert_valid_plan(pipe, plan)
    assert [t.full_task_id for t in plan.tasks] == [
        "a.a_2.x",
        "a.y",
        "g0.g1_3.z",  # g0.g1_2 is a namespace of its own
        "g0.g1_2.z",
        "g1.w",
        "g0.g1_3.v",  # the same namespace, the same TaskGroup
    ]


def test_full_task_ids_stay_within_250_characters() -> None:
    namespace = ".".join(f"level{i}" + "x" * 40 for i in range(8))
    name = namespace + "." + "n" * 400
    pipe = pipeline(node(name, ["i"], ["j"], namespace=namespace))
    plan = plan_of(pipe)
    assert_valid_plan(pipe, plan)
    assert len(plan.tasks[0].full_task_id) <= 250


def test_pod_names_are_unique_for_names_sharing_a_long_prefix() -> None:
    pipe = pipeline(*(node("p" * 80 + f"_{i}", [f"i{i}"], [f"o{i}"]) for i in range(30)))
    plan = plan_of(pipe)
    assert_valid_plan(pipe, plan)


def test_allocation_is_deterministic_and_order_based() -> None:
    requests = [NameRequest("same"), NameRequest("same"), NameRequest("same", ("ns",))]
    first = allocate_names(requests)
    assert first == allocate_names(requests)
    assert [n.full_task_id for n in first] == ["same", "same_2", "ns.same"]


# Any text a pod command line can carry (see plan.command_line for what planning refuses).
_carried = st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters=",[]")
_names = st.text(_carried, min_size=0, max_size=120).map(str.strip)
_namespaces = st.none() | st.lists(
    st.text(_carried, min_size=1, max_size=60).map(str.lstrip).filter(bool), min_size=1, max_size=6
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_names, _namespaces), min_size=1, max_size=25, unique_by=lambda t: t[0]))
def test_any_node_names_give_valid_unique_names(named: list[tuple[str, list[str] | None]]) -> None:
    nodes = []
    for i, (name, namespace) in enumerate(named):
        ns = ".".join(namespace) if namespace else None
        nodes.append(node(name, [f"in{i}"], [f"out{i}"], namespace=ns))
    plan = plan_of(pipeline(*nodes))
    assert_valid_names(plan)
    assert len(plan.tasks) == len(nodes)


_levels = st.lists(st.sampled_from(("a", "b", "g1", "a_2", "b_2")), min_size=1, max_size=4)


@settings(max_examples=150, deadline=None)
@given(st.lists(_levels, min_size=1, max_size=12))
def test_task_groups_stay_one_per_namespace_and_apart_from_top_level_ids(
    namespaces: list[list[str]],
) -> None:
    """Namespaces built from a few repeated levels (``a.a``, ``b.a_2``, ``a_2.a``...): one
    TaskGroup path per namespace, distinct for distinct namespaces, none nested under the
    id of a top-level one (the rule Airflow 2.10 applies)."""
    requests = [NameRequest(f"n{i}", tuple(levels)) for i, levels in enumerate(namespaces)]
    names = allocate_names(requests)
    path_of: dict[tuple[str, ...], tuple[str, ...]] = {}
    for request, name in zip(requests, names, strict=True):
        assert len(name.task_group) == len(request.namespace)
        assert path_of.setdefault(request.namespace, name.task_group) == name.task_group
        for depth in range(1, len(request.namespace)):  # the same parent, the same path
            parent = request.namespace[:depth]
            if parent in path_of:
                assert path_of[parent] == name.task_group[:depth]
    assert len(set(path_of.values())) == len(path_of), "distinct namespaces, distinct paths"
    top = {name.task_group[0] for name in names}
    assert all(group not in top for name in names for group in name.task_group[1:])
