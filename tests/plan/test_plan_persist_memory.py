"""Property test of ``persist_memory`` (run_config.in_memory) over random pipelines: planning never
refuses in-memory data, and each task lists exactly the in-memory datasets it writes for, or reads
from, another task: the ones its pod must save to or load from the run's storage."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kedro_airflow_k8s.errors import PlanError
from kedro_airflow_k8s.plan import GroupBy, PlanOptions, build_plan
from kedro_airflow_k8s.plan.errors import GroupingCycleError
from kedro_airflow_k8s.snapshot import DatasetSource, DatasetSpec, NodeSpec, PipelineSpec
from tests.plan.plan_helpers import assert_valid_plan, task_of


@st.composite
def cases(draw: st.DrawFn) -> tuple[PipelineSpec, dict[str, DatasetSpec], PlanOptions]:
    size = draw(st.integers(min_value=1, max_value=12))
    outputs: list[str] = []
    nodes: list[NodeSpec] = []
    for i in range(size):
        inputs = (
            draw(st.lists(st.sampled_from(outputs), max_size=3, unique=True)) if outputs else []
        )
        if draw(st.integers(0, 3)) == 0:
            inputs.append("params:alpha")
        produced = [f"d{i}_{k}" for k in range(draw(st.integers(1, 2)))]
        group = draw(st.sampled_from((None, None, None, "airflow.g0", "airflow.g1")))
        nodes.append(NodeSpec(f"n{i}", tuple(inputs), tuple(produced), (group,) if group else ()))
        outputs.extend(produced)
    datasets = {
        name: DatasetSpec(name, DatasetSource.ENTRY, "pandas.CSVDataset")
        for name in outputs
        if draw(st.booleans())
    }
    group_by = draw(st.sampled_from((GroupBy.NONE, GroupBy.MEMORY)))
    options = PlanOptions(group_by=group_by, persist_memory=True)
    return PipelineSpec("random", tuple(nodes)), datasets, options


@settings(max_examples=300, deadline=None)
@given(cases())
def test_every_crossing_in_memory_dataset_is_listed_on_both_tasks(
    case: tuple[PipelineSpec, dict[str, DatasetSpec], PlanOptions],
) -> None:
    pipe, datasets, options = case
    try:
        plan = build_plan(pipe, datasets, options)
    except GroupingCycleError:
        return  # tag groups that make a cycle: refused whatever the memory setting
    except PlanError as error:  # pragma: no cover - any other refusal is a failure
        raise AssertionError(f"refused with persist_memory: {error}") from None
    assert_valid_plan(pipe, plan)
    where = task_of(plan)
    producer = {d: n.name for n in pipe.nodes for d in n.outputs}
    expected: dict[str, set[str]] = {t.full_task_id: set() for t in plan.tasks}
    for n in pipe.nodes:
        for dataset in n.inputs:
            crosses = dataset in producer and where[producer[dataset]] != where[n.name]
            if crosses and dataset not in datasets:
                expected[where[producer[dataset]]].add(dataset)
                expected[where[n.name]].add(dataset)
    assert {t.full_task_id: set(t.memory_datasets) for t in plan.tasks} == expected
    for task in plan.tasks:
        assert len(set(task.memory_datasets)) == len(task.memory_datasets)
