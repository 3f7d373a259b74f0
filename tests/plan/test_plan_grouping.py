"""Tag groups, resource profiles and pod templates, in-memory data and namespaces."""

from __future__ import annotations

import pytest

from kedro_airflow_k8s.errors import PlanError
from kedro_airflow_k8s.plan import GroupBy, GroupingCycleError, MemoryCrossingError
from kedro_airflow_k8s.snapshot import DatasetSource, DatasetSpec, PipelineSpec
from tests.plan.plan_helpers import assert_valid_plan, catalog, node, pipeline, plan_of, task_of

PROFILES = frozenset({"__default__", "small", "big"})

# -- tag groups ---------------------------------------------------------------------------------


def test_nodes_sharing_a_group_tag_run_as_one_task_named_after_the_group() -> None:
    pipe = pipeline(
        node("load", ["raw"], ["a"]),
        node("clean", ["a"], ["b"], tags=["airflow.prep"]),
        node("features", ["b"], ["c"], tags=["airflow.prep", "other"]),
        node("train", ["c"], ["model"]),
    )
    plan = plan_of(pipe)
    assert_valid_plan(pipe, plan)
    assert [(t.task_id, t.nodes, t.group, t.upstream) for t in plan.tasks] == [
        ("load", ("load",), None, ()),
        ("prep", ("clean", "features"), "prep", ("load",)),
        ("train", ("train",), None, ("prep",)),
    ]
    assert plan.tasks[1].fused_by == ("tag",)


def test_group_tag_prefix_is_configurable() -> None:
    pipe = pipeline(
        node("a", ["x"], ["y"], tags=["grp:one"]),
        node("b", ["y"], ["z"], tags=["grp:one"]),
    )
    assert [t.nodes for t in plan_of(pipe, group_tag_prefix="grp:").tasks] == [("a", "b")]
    assert len(plan_of(pipe).tasks) == 2


def test_unconnected_nodes_of_one_group_still_share_a_task() -> None:
    pipe = pipeline(
        node("a", ["x"], ["y"], tags=["airflow.g"]),
        node("b", ["w"], ["z"], tags=["airflow.g"]),
    )
    assert [t.nodes for t in plan_of(pipe).tasks] == [("a", "b")]


def test_a_node_with_two_group_tags_is_an_error() -> None:
    pipe = pipeline(node("split", ["x"], ["y"], tags=["airflow.one", "airflow.two"]))
    with pytest.raises(PlanError) as error:
        plan_of(pipe)
    assert error.value.message == (
        "node 'split' has two group tags, airflow.one and airflow.two: a node runs in one "
        "task, so keep one of them"
    )


def test_the_spark_tag_is_not_a_group_tag_even_under_the_group_prefix() -> None:
    spark_tag = "kedro-airflow-k8s.group.pyspark"
    pipe = pipeline(node("a", ["x"], ["y"], tags=[spark_tag, "kedro-airflow-k8s.group.etl"]))
    plan = plan_of(pipe, group_tag_prefix="kedro-airflow-k8s.group.")
    assert plan.tasks[0].group == "etl"


def test_a_grouping_that_makes_a_cycle_is_an_error_naming_the_nodes() -> None:
    pipe = pipeline(
        node("extract", ["raw"], ["a"], tags=["airflow.etl"]),
        node("enrich", ["a"], ["b"]),
        node("load", ["b"], ["c"], tags=["airflow.etl"]),
    )
    with pytest.raises(GroupingCycleError) as error:
        plan_of(pipe)
    assert error.value.message == (
        "grouping by tags makes a cycle of tasks: 'extract' [airflow.etl] -> 'enrich' -> "
        "'load' [airflow.etl] ~ 'extract' [airflow.etl] (-> feeds data to, ~ runs in the same "
        "task as); nodes on the cycle: 'extract', 'enrich', 'load'. A task cannot run both "
        "before and after another one: give the nodes in between the same airflow.<group> "
        "tag, or remove a group tag"
    )
    assert error.value.cycle == (("extract", "enrich"), ("enrich", "load"))


def test_a_cycle_between_two_groups_names_the_nodes_of_both() -> None:
    pipe = pipeline(
        node("a1", ["raw"], ["x"], tags=["airflow.a"]),
        node("b1", ["x"], ["y"], tags=["airflow.b"]),
        node("a2", ["y"], ["z"], tags=["airflow.a"]),
        node("b2", ["z"], ["w"], tags=["airflow.b"]),
    )
    with pytest.raises(GroupingCycleError) as error:
        plan_of(pipe)
    assert error.value.cycle == (("a1", "b1"), ("b1", "a2"))
    assert "nodes on the cycle: 'a1', 'b1', 'a2'" in error.value.message


# -- resource profiles and pod templates --------------------------------------------------------


def test_machine_and_resources_tags_select_a_profile_shared_by_the_group() -> None:
    pipe = pipeline(
        node("a", ["x"], ["y"], tags=["airflow.g", "machine.big"]),
        node("b", ["y"], ["z"], tags=["airflow.g"]),
        node("c", ["z"], ["w"], tags=["resources.small"]),
        node("d", ["w"], ["v"]),
    )
    plan = plan_of(pipe, resource_profiles=PROFILES)
    assert [(t.task_id, t.resource_profile) for t in plan.tasks] == [
        ("g", "big"),
        ("c", "small"),
        ("d", "__default__"),
    ]
    assert plan_of(pipeline(*pipe.nodes[3:])).tasks[0].resource_profile is None


def test_conflicting_profiles_in_a_group_are_an_error_naming_the_nodes() -> None:
    pipe = pipeline(
        node("a", ["x"], ["y"], tags=["airflow.train", "machine.big"]),
        node("b", ["y"], ["z"], tags=["airflow.train", "resources.big"]),
        node("c", ["z"], ["w"], tags=["airflow.train", "machine.small"]),
    )
    with pytest.raises(PlanError) as error:
        plan_of(pipe, resource_profiles=PROFILES)
    assert error.value.message == (
        "tag group airflow.train asks for different resource profiles: 'big' (nodes 'a', 'b') "
        "and 'small' (node 'c'); a task has only one, so give its nodes the same "
        "resources./machine. tag"
    )


def test_conflicting_pod_templates_in_a_group_are_an_error() -> None:
    pipe = pipeline(
        node("a", ["x"], ["y"], tags=["airflow.g", "k8s_template.gpu"]),
        node("b", ["y"], ["z"], tags=["airflow.g", "k8s_template.cpu"]),
    )
    with pytest.raises(PlanError, match=r"tag group airflow.g asks for different pod templates"):
        plan_of(pipe, pod_templates=frozenset({"gpu", "cpu"}))


def test_two_profiles_on_one_node_are_an_error() -> None:
    pipe = pipeline(node("a", ["x"], ["y"], tags=["machine.big", "resources.small"]))
    with pytest.raises(PlanError) as error:
        plan_of(pipe, resource_profiles=PROFILES)
    assert error.value.message == (
        "node 'a' asks for resource profiles big, small: tag it with only one"
    )


def test_unknown_resource_profile_is_an_error() -> None:
    pipe = pipeline(node("train", ["x"], ["y"], tags=["machine.huge"]))
    with pytest.raises(PlanError) as error:
        plan_of(pipe, resource_profiles=PROFILES)
    assert error.value.message == (
        "node 'train' asks for resource profile 'huge', which is not under run_config.resources "
        "(known: __default__, big, small)"
    )


def test_unknown_pod_template_is_an_error() -> None:
    pipe = pipeline(node("train", ["x"], ["y"], tags=["k8s_template.gpu"]))
    with pytest.raises(PlanError) as error:
        plan_of(pipe)
    assert error.value.message == (
        "node 'train' asks for pod template 'gpu', which is not under "
        "run_config.kubernetes_pod_templates (known: none configured)"
    )


def test_pod_template_by_tag_and_default() -> None:
    pipe = pipeline(
        node("a", ["x"], ["y"], tags=["k8s_template.gpu"]),
        node("b", ["y"], ["z"]),
    )
    plan = plan_of(pipe, pod_templates=frozenset({"gpu", "__default__"}))
    assert [t.pod_template for t in plan.tasks] == ["gpu", "__default__"]


# -- in-memory data -----------------------------------------------------------------------------


def test_in_memory_data_crossing_tasks_is_an_error_naming_dataset_and_tasks() -> None:
    pipe = pipeline(
        node("make", ["raw", "params:size"], ["table"]),
        node("use", ["table", "parameters"], ["out"]),
    )
    with pytest.raises(MemoryCrossingError) as error:
        plan_of(pipe, catalog("raw", "out"))
    assert error.value.message == (
        "in-memory data cannot move between tasks, each runs in its own pod: dataset 'table' "
        "(no catalog entry) is written by task 'make' and read by task 'use'. To fix: set "
        "run_config.group_by: memory (or add memory to its list) to run them in one task; or set "
        "run_config.in_memory.storage (a bucket URL, or volume) to keep it in per-run "
        "storage; or tag its producer and consumers with one airflow.<group> tag; or "
        "persist it in the catalog on storage every pod reads (a bucket URL, or the data "
        "folder with run_config.volume), e.g. with this line in conf/base/catalog.yml: "
        "table: {type: pickle.PickleDataset, filepath: data/02_intermediate/table.pickle}"
    )
    [crossing] = error.value.crossings
    assert (crossing.dataset, crossing.producer_task, crossing.consumer_task) == (
        "table",
        "make",
        "use",
    )


def test_memory_dataset_type_crossing_names_the_type_and_grouped_tasks() -> None:
    pipe = pipeline(
        node("make", ["raw"], ["table"], tags=["airflow.prep"], namespace=None),
        node("use", ["table"], ["out"]),
    )
    datasets = {**catalog("raw", "out"), **catalog("table", type_="kedro.io.MemoryDataset")}
    with pytest.raises(MemoryCrossingError) as error:
        plan_of(pipe, datasets)
    assert error.value.message.startswith(
        "in-memory data cannot move between tasks, each runs in its own pod: dataset 'table' "
        "(MemoryDataset) is written by task 'prep' (node 'make') and read by task 'use'."
    )


def test_every_crossing_is_listed() -> None:
    pipe = pipeline(
        node("a", ["x"], ["m1", "m2"]),
        node("b", ["m1"], ["y"]),
        node("c", ["m2", "m1"], ["z"]),
    )
    with pytest.raises(MemoryCrossingError) as error:
        plan_of(pipe, catalog("x", "y", "z"))
    assert [(c.dataset, c.producer_task, c.consumer_task) for c in error.value.crossings] == [
        ("m1", "a", "b"),
        ("m2", "a", "c"),
        ("m1", "a", "c"),
    ]


def test_parameters_free_inputs_and_catalogued_data_are_no_problem() -> None:
    pipe = pipeline(
        node("a", ["free_input", "params:alpha", "parameters"], ["stored"]),
        node("b", ["stored", "params:alpha"], ["matched"]),
        node("c", ["matched"], ["unused_output"]),
    )
    datasets = {
        "stored": DatasetSpec("stored", DatasetSource.ENTRY, "pandas.CSVDataset"),
        "matched": DatasetSpec("matched", DatasetSource.FACTORY, "pickle.PickleDataset", "{x}"),
    }
    plan = plan_of(pipe, datasets)
    assert len(plan.tasks) == 3


def test_group_tag_keeps_in_memory_data_inside_one_task() -> None:
    pipe = pipeline(
        node("a", ["x"], ["mem"], tags=["airflow.g"]),
        node("b", ["mem"], ["y"], tags=["airflow.g"]),
    )
    assert [t.nodes for t in plan_of(pipe, catalog("x", "y")).tasks] == [("a", "b")]


def test_group_by_memory_fuses_the_nodes_in_memory_data_connects() -> None:
    pipe = pipeline(
        node("a", ["x"], ["mem", "stored"]),
        node("b", ["stored"], ["stored2"]),
        node("c", ["mem", "stored2"], ["y"]),
        node("d", ["y"], ["z"]),
    )
    plan = plan_of(pipe, catalog("x", "stored", "stored2", "y", "z"), group_by=GroupBy.MEMORY)
    assert_valid_plan(pipe, plan)
    assert [(t.task_id, t.nodes, t.fused_by) for t in plan.tasks] == [
        ("group_a", ("a", "b", "c"), ("memory", "path")),
        ("d", ("d",), ()),
    ]


def test_group_by_memory_that_would_mix_tag_groups_still_fails_and_says_why() -> None:
    pipe = pipeline(
        node("a", ["x"], ["mem"], tags=["airflow.one"]),
        node("b", ["mem"], ["y"], tags=["airflow.two"]),
    )
    with pytest.raises(MemoryCrossingError) as error:
        plan_of(pipe, catalog("x", "y"), group_by=GroupBy.MEMORY)
    assert error.value.message == (
        "in-memory data cannot move between tasks, each runs in its own pod: dataset 'mem' "
        "(no catalog entry) is written by task 'one' (node 'a') and read by task 'two' "
        "(node 'b'). run_config.group_by: memory cannot fuse these tasks, because nodes 'a', "
        "'b' have different tag groups 'one', 'two'. To fix: set "
        "run_config.in_memory.storage (a bucket URL, or volume) to keep it in per-run "
        "storage; or tag its producer and consumers with one airflow.<group> tag; or "
        "persist it in the catalog on storage every pod reads (a bucket URL, or the data "
        "folder with run_config.volume), e.g. with this line in conf/base/catalog.yml: "
        "mem: {type: pickle.PickleDataset, filepath: data/02_intermediate/mem.pickle}"
    )


def test_persist_memory_keeps_a_pod_per_node_and_lists_the_crossing_datasets() -> None:
    pipe = pipeline(
        node("a", ["x"], ["m1", "m2"]),
        node("b", ["m1"], ["m3"]),
        node("c", ["m2", "m3", "params:k"], ["y"]),
        node("d", ["y"], ["local"], tags=["airflow.g"]),
        node("e", ["local"], ["z"], tags=["airflow.g"]),
    )
    plan = plan_of(pipe, catalog("x", "y", "z"), persist_memory=True)
    assert_valid_plan(pipe, plan)
    assert [(t.task_id, t.memory_datasets) for t in plan.tasks] == [
        ("a", ("m1", "m2")),
        ("b", ("m1", "m3")),
        ("c", ("m2", "m3")),
        ("g", ()),  # 'local' stays inside the tag group's pod: nothing to persist
    ]


def test_persist_memory_after_group_by_memory_keeps_only_what_could_not_be_fused() -> None:
    pipe = pipeline(
        node("a", ["x"], ["fusable"]),
        node("b", ["fusable"], ["mem"], tags=["airflow.one"]),
        node("c", ["mem"], ["y"], tags=["airflow.two"]),
    )
    plan = plan_of(pipe, catalog("x", "y"), group_by=GroupBy.MEMORY, persist_memory=True)
    assert [(t.task_id, t.nodes, t.memory_datasets) for t in plan.tasks] == [
        ("one", ("a", "b"), ("mem",)),
        ("two", ("c",), ("mem",)),
    ]


# -- namespaces ---------------------------------------------------------------------------------


def namespaced_pipeline() -> PipelineSpec:
    return pipeline(
        node("ingest", ["raw"], ["a"]),
        node("data.clean.dedupe", ["a"], ["b"], namespace="data.clean"),
        node("data.clean.fill", ["b"], ["c"], namespace="data.clean"),
        node("data.check", ["c"], ["d"], namespace="data"),
        node("model.fit", ["d"], ["e"], namespace="model", tags=["airflow.train"]),
        node("model.score", ["e"], ["f"], namespace="model", tags=["airflow.train"]),
        node("report", ["f"], ["g"]),
    )


def test_namespaces_become_nested_task_groups() -> None:
    pipe = namespaced_pipeline()
    plan = plan_of(pipe)
    assert_valid_plan(pipe, plan)
    assert [(t.task_group, t.task_id, t.full_task_id) for t in plan.tasks] == [
        ((), "ingest", "ingest"),
        (("data", "clean"), "dedupe", "data.clean.dedupe"),
        (("data", "clean"), "fill", "data.clean.fill"),
        (("data",), "check", "data.check"),
        (("model",), "train", "model.train"),
        ((), "report", "report"),
    ]
    assert plan.tasks[-1].upstream == ("model.train",)


def test_namespace_task_groups_can_be_turned_off() -> None:
    pipe = namespaced_pipeline()
    plan = plan_of(pipe, namespace_task_groups=False)
    assert [t.full_task_id for t in plan.tasks] == [
        "ingest",
        "data.clean.dedupe",
        "data.clean.fill",
        "data.check",
        "train",
        "report",
    ]
    assert all(t.task_group == () for t in plan.tasks)


def test_group_by_namespace_fuses_each_top_level_namespace() -> None:
    pipe = namespaced_pipeline()
    plan = plan_of(pipe, group_by=GroupBy.NAMESPACE)
    assert_valid_plan(pipe, plan)
    assert [(t.full_task_id, t.nodes, t.group) for t in plan.tasks] == [
        ("ingest", ("ingest",), None),
        ("data", ("data.clean.dedupe", "data.clean.fill", "data.check"), "data"),
        ("train", ("model.fit", "model.score"), "train"),
        ("report", ("report",), None),
    ]


def test_group_by_namespace_absorbs_a_node_on_a_path_inside_the_namespace() -> None:
    pipe = pipeline(
        node("ns.a", ["x"], ["y", "y2"], namespace="ns"),
        node("outside", ["y"], ["z"]),
        node("ns.b", ["z", "y2"], ["w"], namespace="ns"),
    )
    plan = plan_of(pipe, group_by=GroupBy.NAMESPACE)
    assert_valid_plan(pipe, plan)
    assert [(t.task_id, t.nodes, t.fused_by) for t in plan.tasks] == [
        ("ns", ("ns.a", "outside", "ns.b"), ("namespace", "path")),
    ]


def test_a_namespace_that_cannot_be_one_task_runs_as_few_tasks_as_its_order_allows() -> None:
    """A big and a small node sit on paths between the namespace's other nodes: one task would
    mix the two profiles, and leaving either out makes a cycle. Instead of one pod per node,
    the namespace runs as runs of nodes that ask alike, in order."""
    pipe = pipeline(
        node("ns.a", ["x"], ["a1"], namespace="ns"),
        node("ns.b", ["a1"], ["b1"], namespace="ns"),
        node("ns.big", ["b1"], ["c1"], namespace="ns", tags=["resources.big"]),
        node("ns.c", ["c1"], ["d1"], namespace="ns"),
        node("ns.d", ["d1", "a1"], ["e1"], namespace="ns"),
        node("ns.small", ["e1"], ["f1"], namespace="ns", tags=["resources.small"]),
        node("ns.e", ["f1"], ["g1"], namespace="ns"),
        node("other", ["g1"], ["h1"]),
    )
    plan = plan_of(pipe, group_by=GroupBy.NAMESPACE, resource_profiles=frozenset({"big", "small"}))
    assert_valid_plan(pipe, plan)
    assert [(t.task_id, t.nodes, t.resource_profile) for t in plan.tasks] == [
        ("ns", ("ns.a", "ns.b"), None),
        ("ns.big", ("ns.big",), "big"),
        ("ns_2", ("ns.c", "ns.d"), None),
        ("ns.small", ("ns.small",), "small"),
        ("ns.e", ("ns.e",), None),
        ("other", ("other",), None),
    ]
    assert any("their namespace runs as several tasks instead" in w for w in plan.warnings)


def test_tag_group_spanning_namespaces_sits_in_their_common_task_group() -> None:
    pipe = pipeline(
        node("a.x.one", ["i"], ["j"], namespace="a.x", tags=["airflow.g"]),
        node("a.y.two", ["j"], ["k"], namespace="a.y", tags=["airflow.g"]),
        node("b.three", ["k"], ["l"], namespace="b"),
    )
    plan = plan_of(pipe)
    assert [(t.task_group, t.task_id) for t in plan.tasks] == [(("a",), "g"), (("b",), "three")]
    assert task_of(plan) == {"a.x.one": "a.g", "a.y.two": "a.g", "b.three": "b.three"}
