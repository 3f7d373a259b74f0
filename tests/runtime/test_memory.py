"""The in-memory storage extension as code: per-run paths, and the environment it gives the pods
of a DAG built by the real builder in a real Airflow 3 (nothing contacted)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kedro_airflow_k8s.runtime import memory
from tests.helpers import DUMMY_KUBECONFIG, handmade_spec, load_runtime, pod_task

RUN_ID = "manual__2026-03-01T10:20:30.123456+00:00"
SAFE = re.compile(r"^[A-Za-z0-9_.@-]+$")


def _task(name: str, upstream: list[str], datasets: list[str]) -> dict[str, Any]:
    task = pod_task(name, upstream=upstream)
    if datasets:
        task["memory_datasets"] = datasets
    return task


# a -> b -> c; a and b share 'mem', b and c share '{{ odd }}, name'; d holds no crossing dataset.
SPEC: dict[str, Any] = handmade_spec(
    "demo.__default__.local",
    [
        _task("a", [], ["mem"]),
        _task("b", ["a"], ["mem", "{{ odd }}, name"]),
        _task("c", ["b"], ["{{ odd }}, name"]),
        _task("d", [], []),
    ],
    pod={"env_vars": {"FROM_VAR": {"jinja": "{{ var.value.FROM_VAR }}"}}},
    memory={"storage": "gs://bucket/runs"},
)


@given(st.text(max_size=300))
def test_a_segment_is_safe_and_keeps_names_apart(text: str) -> None:
    segment = memory.memory_path_segment(text)
    assert SAFE.match(segment) and segment.strip(".") and len(segment) <= 131
    if SAFE.match(text) and text.strip(".") and len(text) <= 120:
        assert segment == text  # readable names stay as they are


@given(st.text(max_size=50), st.text(max_size=50))
def test_different_names_give_different_segments(first: str, second: str) -> None:
    if first != second:
        assert memory.memory_path_segment(first) != memory.memory_path_segment(second)


def test_the_run_folder_is_keyed_by_dag_and_run() -> None:
    run = memory.memory_run_storage("gs://bucket/runs/", "demo.__default__.local", RUN_ID)
    assert run.startswith("gs://bucket/runs/demo.__default__.local/manual__2026-03-01T10_20_30")
    other_run = memory.memory_run_storage("gs://bucket/runs", "demo.__default__.local", "r2")
    other_dag = memory.memory_run_storage("gs://bucket/runs", "demo.x.local", RUN_ID)
    assert len({run, other_run, other_dag}) == 3
    assert memory.memory_run_storage("/", "d", "r") == "/d/r"
    assert memory.memory_dataset_path(run, "ns.table") == f"{run}/ns.table.pickle"


def test_dataset_names_go_through_the_environment_as_json() -> None:
    names = ["mem", "{{ odd }}, name", "ünï"]
    value = memory.memory_datasets_value(names)
    assert memory.memory_read_datasets(value) == names
    for bad in ("mem", "[1]", '[""]', "{}"):
        with pytest.raises(ValueError, match="KEDRO_AIRFLOW_K8S_MEMORY_DATASETS must be"):
            memory.memory_read_datasets(bad)


@pytest.fixture(scope="module")
def runtime() -> Any:
    return load_runtime("memory")


def _context(task: Any, dag: Any) -> dict[str, Any]:
    ti = SimpleNamespace(
        dag_id=dag.dag_id, task_id=task.task_id, run_id=RUN_ID, try_number=1, map_index=-1
    )
    context = {
        "ti": ti,
        "task_instance": ti,
        "run_id": RUN_ID,
        "dag": dag,
        "var": {"value": SimpleNamespace(FROM_VAR="v")},
        "dag_run": SimpleNamespace(conf={}),
    }
    task.render_template_fields(context)
    return context


def _rendered_env(task: Any, dag: Any) -> dict[str, str]:
    _context(task, dag)
    return {e.name: e.value for e in task.env_vars or []}


def test_pods_of_tasks_with_crossing_data_get_the_run_folder_and_names(
    runtime: Any, tmp_path: Path
) -> None:
    dag = runtime.build_dag(copy.deepcopy(SPEC), extensions=[runtime.MemoryExtension])
    folder = memory.memory_run_storage("gs://bucket/runs", dag.dag_id, RUN_ID)
    for name, datasets in (("a", ["mem"]), ("b", ["mem", "{{ odd }}, name"])):
        env = _rendered_env(dag.get_task(name), dag)
        assert env == {
            "FROM_VAR": "v",
            "KEDRO_AIRFLOW_K8S_MEMORY_STORAGE": folder,
            "KEDRO_AIRFLOW_K8S_MEMORY_DATASETS": json.dumps(datasets),  # never rendered
        }
    assert _rendered_env(dag.get_task("d"), dag) == {"FROM_VAR": "v"}
    task = dag.get_task("c")
    context = _context(task, dag)
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(DUMMY_KUBECONFIG)
    task.config_file = str(kubeconfig)
    pod = task.build_pod_request_obj(context)
    env = {e.name: e.value for e in pod.spec.containers[0].env}
    assert env["KEDRO_AIRFLOW_K8S_MEMORY_STORAGE"] == folder


def test_names_shared_with_the_hook_are_the_embedded_ones(runtime: Any) -> None:
    """The hook imports this module from the package; the DAG embeds its source: same values."""
    for name in ("MEMORY_STORAGE_ENV", "MEMORY_DATASETS_ENV", "MEMORY_FILE_SUFFIX"):
        assert getattr(runtime, name) == getattr(memory, name)
    assert runtime.memory_run_storage("s3://b", "d", RUN_ID) == memory.memory_run_storage(
        "s3://b", "d", RUN_ID
    )
