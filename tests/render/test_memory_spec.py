"""``run_config.in_memory`` in the SPEC and the DAG file: the run's storage, the datasets each task
keeps there, the extension embedded only when some data crosses pods."""

from __future__ import annotations

from typing import Any

import pytest

from kedro_airflow_k8s.config import parse_config
from kedro_airflow_k8s.errors import ConfigError
from kedro_airflow_k8s.plan import build_plan
from kedro_airflow_k8s.render import DagContext, build_spec, render_dag
from kedro_airflow_k8s.render.dag import runtime_source
from kedro_airflow_k8s.snapshot import DatasetSource, DatasetSpec, NodeSpec, PipelineSpec
from kedro_airflow_k8s.stages import plan_options

CONTEXT = DagContext("Demo", "demo", "__default__", "local", "abc123")
SPARK_TAG = "kedro-airflow-k8s.group.pyspark"

# raw -> a -> (m1, memory) -> b -> (m2, memory) -> c -> out
PIPELINE = PipelineSpec(
    "__default__",
    (
        NodeSpec("a", ("raw",), ("m1",)),
        NodeSpec("b", ("m1",), ("m2",)),
        NodeSpec("c", ("m2",), ("out",)),
    ),
)
DATASETS = {
    name: DatasetSpec(name, DatasetSource.ENTRY, "pandas.CSVDataset") for name in ("raw", "out")
}


def _spec(run_config: dict[str, Any], pipeline: PipelineSpec = PIPELINE) -> dict[str, Any]:
    config = parse_config({"run_config": {"image": "img:1", **run_config}}).run_config
    plan = build_plan(pipeline, DATASETS, plan_options(config))
    return build_spec(plan, config, CONTEXT)


def test_each_task_lists_the_datasets_it_keeps_in_the_runs_storage() -> None:
    spec = _spec({"group_by": "none", "in_memory": {"storage": "gs://bucket/runs/"}})
    assert spec["memory"] == {"storage": "gs://bucket/runs"}
    assert [(t["task_id"], t["memory_datasets"]) for t in spec["tasks"]] == [
        ("a", ["m1"]),
        ("b", ["m1", "m2"]),
        ("c", ["m2"]),
    ]
    source = render_dag(spec)
    assert runtime_source("memory").rstrip("\n") in source
    assert source.rstrip("\n").endswith("dag = build_dag(SPEC, extensions=[MemoryExtension])")


def test_storage_volume_is_a_folder_of_the_runs_volume() -> None:
    spec = _spec(
        {
            "group_by": "none",
            "volume": {"mount_path": "/home/kedro_docker/data"},
            "in_memory": {"storage": "volume"},
        }
    )
    assert spec["memory"] == {"storage": "/home/kedro_docker/data/kedro-airflow-k8s-in-memory"}
    assert (
        render_dag(spec)
        .rstrip("\n")
        .endswith("extensions=[VolumeExtension(untemplated), MemoryExtension])")
    )


def test_nothing_is_added_when_no_in_memory_data_crosses_pods() -> None:
    spec = _spec({"in_memory": {"storage": "gs://bucket/runs"}})  # group_by memory fuses all
    assert spec["memory"] is None
    assert [t["nodes"] for t in spec["tasks"]] == [["a", "b", "c"]]
    assert all("memory_datasets" not in t for t in spec["tasks"])
    assert "MemoryExtension" not in render_dag(spec)


def test_a_spark_job_cannot_take_part() -> None:
    pipeline = PipelineSpec(
        "__default__",
        (
            NodeSpec("a", ("raw",), ("m1",)),
            NodeSpec("s", ("m1",), ("out",), tags=(SPARK_TAG,)),
        ),
    )
    spark = {"type": "k8s", "run_script": "local:///run.py"}
    run_config = {"group_by": "none", "in_memory": {"storage": "gs://b/r"}, "spark": spark}
    with pytest.raises(ConfigError) as raised:
        _spec(run_config, pipeline)
    assert raised.value.message == (
        "airflow-k8s config: run_config.in_memory: in-memory dataset 'm1' passes between spark "
        "task 's' and another task, and a spark job runs without the plugin's hook: give the "
        "dataset a catalog entry"
    )
    del run_config["spark"]  # spark groups run as pods of the image: the hook is there
    assert _spec(run_config, pipeline)["tasks"][1]["memory_datasets"] == ["m1"]
