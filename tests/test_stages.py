"""The compile flow's own checks (no Kedro project needed)."""

from __future__ import annotations

import pytest

from kedro_airflow_k8s.compiled import CompiledDag, check_distinct_dags
from kedro_airflow_k8s.errors import PluginError
from kedro_airflow_k8s.names import dag_file_name
from kedro_airflow_k8s.names import dag_id as dag_id_for
from kedro_airflow_k8s.plan import TaskPlan


def _compiled(pipeline: str, dag_id: str | None = None) -> CompiledDag:
    dag_id = dag_id or dag_id_for("demo", pipeline, "local")
    return CompiledDag(dag_id, dag_file_name(dag_id), TaskPlan(pipeline, ()), {}, "")


def test_pipelines_the_sanitiser_maps_to_one_file_are_refused() -> None:
    first, second = _compiled("data.science"), _compiled("data_science")
    assert first.dag_id != second.dag_id and first.file_name == second.file_name
    with pytest.raises(PluginError) as error:
        check_distinct_dags([first, second])
    assert error.value.message == (
        "pipelines 'data.science' and 'data_science' would both be written to DAG file "
        "'demo_data_science_local.py': rename one of them in the pipeline registry"
    )


def test_file_names_differing_only_in_case_are_refused() -> None:
    with pytest.raises(PluginError) as error:
        check_distinct_dags([_compiled("Train"), _compiled("train")])
    assert error.value.message == (
        "pipelines 'Train' and 'train' would both be written to DAG files 'demo_Train_local.py' "
        "and 'demo_train_local.py', one file where names ignore case: rename one of them in the "
        "pipeline registry"
    )


def test_one_dag_id_for_two_pipelines_is_refused() -> None:
    with pytest.raises(PluginError) as error:
        check_distinct_dags([_compiled("a", "same"), _compiled("b", "same")])
    assert error.value.message == (
        "pipelines 'a' and 'b' would both get DAG id 'same': rename one of them in the "
        "pipeline registry"
    )


def test_distinct_pipelines_and_a_repeated_selection_pass() -> None:
    check_distinct_dags([_compiled("a"), _compiled("b"), _compiled("a")])


def test_the_summary_of_a_large_plan_gives_its_totals_only() -> None:
    from kedro_airflow_k8s.plan import PlannedTask, TaskKind
    from kedro_airflow_k8s.stages import SUMMARY_TABLE_MAX, summary

    def plan_of(count: int) -> TaskPlan:
        tasks = tuple(PlannedTask(f"t{i}", f"t{i}", TaskKind.POD, (f"n{i}",)) for i in range(count))
        return TaskPlan("p", tasks, ("look here",))

    small = summary(CompiledDag("demo.p.local", "f.py", plan_of(SUMMARY_TABLE_MAX), {}, ""))
    assert small.startswith("DAG demo.p.local\nTASK ")
    assert small.endswith(
        f"pipeline 'p': {SUMMARY_TABLE_MAX} tasks (0 spark) from 100 nodes\nwarning: look here\n"
    )
    large = summary(CompiledDag("demo.p.local", "f.py", plan_of(SUMMARY_TABLE_MAX + 1), {}, ""))
    assert large == (
        "DAG demo.p.local (compile --explain prints the table of its tasks)\n"
        "pipeline 'p': 101 tasks (0 spark) from 101 nodes\nwarning: look here\n"
    )
