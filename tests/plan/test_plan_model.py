"""The plan's records: what ``PlanOptions.fuses`` reads from ``group_by``, ``TaskPlan.task``."""

from __future__ import annotations

import pytest

from kedro_airflow_k8s.plan.model import GroupBy, PlannedTask, PlanOptions, TaskKind, TaskPlan

FUSING = [GroupBy.MEMORY, GroupBy.NAMESPACE, GroupBy.CHAIN]


@pytest.mark.parametrize(
    ("group_by", "fused"),
    [
        (GroupBy.NONE, set()),
        (frozenset(), set()),
        (frozenset({GroupBy.NONE}), set()),
        (GroupBy.MEMORY, {GroupBy.MEMORY}),
        (frozenset({GroupBy.NONE, GroupBy.CHAIN}), {GroupBy.CHAIN}),
        (frozenset({GroupBy.MEMORY, GroupBy.NAMESPACE}), {GroupBy.MEMORY, GroupBy.NAMESPACE}),
    ],
)
def test_fuses_reads_one_strategy_or_several_and_none_is_never_fused(
    group_by: GroupBy | frozenset[GroupBy], fused: set[GroupBy]
) -> None:
    options = PlanOptions(group_by=group_by)
    assert {strategy for strategy in FUSING if options.fuses(strategy)} == fused
    assert not options.fuses(GroupBy.NONE)


def test_the_default_options_fuse_nothing() -> None:
    assert not any(PlanOptions().fuses(strategy) for strategy in GroupBy)


def test_task_finds_a_task_by_its_full_id_or_raises_key_error() -> None:
    inner = PlannedTask("b", "pod-b", TaskKind.POD, ("n2",), task_group=("ns",))
    plan = TaskPlan("p", (PlannedTask("a", "pod-a", TaskKind.POD, ("n1",)), inner))
    assert plan.task("ns.b") is inner
    with pytest.raises(KeyError):
        plan.task("b")
