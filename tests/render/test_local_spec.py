"""``run_config.execution: local`` at compile time (render/local.py): the same plan, the local
section the runtime reads, one warning per Kubernetes-only setting, and nothing changed for the
default (``kubernetes``)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path
from typing import Any

import pytest

from kedro_airflow_k8s.config import parse_config
from kedro_airflow_k8s.errors import ConfigError
from kedro_airflow_k8s.features.local.feature import KUBERNETES_ONLY, LOCAL_IN_MEMORY_FOLDER
from kedro_airflow_k8s.plan import PlanOptions, build_plan
from kedro_airflow_k8s.render import DagContext, build_spec, render_dag
from kedro_airflow_k8s.snapshot import DatasetSource, DatasetSpec, NodeSpec, PipelineSpec
from kedro_airflow_k8s.stages import plan_options

CONTEXT = DagContext("Demo", "demo", "__default__", "local", "abc123", "/srv/demo")

# Every Kubernetes-only setting, each away from its default.
KUBERNETES_SETTINGS: dict[str, Any] = {
    "image": "repo/img:1",
    "image_pull_policy": "Always",
    "startup_time": 30,
    "namespace": "kedro",
    "image_pull_secrets": ["pull"],
    "service_account_name": "runner",
    "kubernetes_conn_id": "k8s",
    "volume": {"size": "2Gi"},
    "secrets": [{"secret": "db"}],
    "resources": {
        "__default__": {"requests": {"cpu": "1"}, "node_selectors": {"pool": "a"}},
        "big": {"limits": {"memory": "16Gi"}, "tolerations": [{"key": "k", "operator": "Exists"}]},
    },
    "kubernetes_pod_templates": {"gpu": {"template": "spec:\n  containers: []\n"}},
    "spark": {"type": "k8s", "run_script": "/opt/run.py", "image": "spark:1"},
}


def _pipeline(tagged: bool) -> tuple[PipelineSpec, dict[str, DatasetSpec]]:
    """a, b: one task by their group tag (``tagged``: profile big); c: namespace ns
    (``tagged``: pod template gpu)."""
    profile = ("resources.big",) if tagged else ()
    nodes = (
        NodeSpec(name="ns.a", inputs=("d0",), outputs=("d1",), tags=("airflow.g", *profile)),
        NodeSpec(name="ns.b", inputs=("d1",), outputs=("d2",), tags=("airflow.g", *profile)),
        NodeSpec(
            name="ns.c",
            inputs=("d2",),
            outputs=("d3",),
            tags=("k8s_template.gpu",) if tagged else (),
            namespace="ns",
        ),
    )
    datasets = {
        f"d{i}": DatasetSpec(f"d{i}", DatasetSource.ENTRY, "pickle.PickleDataset") for i in range(4)
    }
    return PipelineSpec("__default__", nodes), datasets


def _compile(run_config: dict[str, Any], image: str | None = None) -> tuple[dict[str, Any], str]:
    config = parse_config({"run_config": run_config}).run_config
    pipeline, datasets = _pipeline(bool(config.resources))
    options = PlanOptions(
        resource_profiles=frozenset(config.resources),
        pod_templates=frozenset(config.kubernetes_pod_templates),
    )
    plan = build_plan(pipeline, datasets, options)
    spec = build_spec(plan, config, CONTEXT, image=image)
    return spec, render_dag(spec)


def _shape(spec: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (t["full_task_id"], tuple(t["group"]), tuple(t["nodes"]), tuple(t["upstream"]), t["kind"])
        for t in spec["tasks"]
    ]


def test_the_default_is_kubernetes_and_its_file_does_not_change() -> None:
    k8s = {"image": "repo/img:1", "resources": KUBERNETES_SETTINGS["resources"]}
    k8s["kubernetes_pod_templates"] = KUBERNETES_SETTINGS["kubernetes_pod_templates"]
    default_spec, default_file = _compile(k8s)
    explicit = _compile({**k8s, "execution": "kubernetes"})[1]
    with_local_keys = _compile(
        {**k8s, "execution": "kubernetes", "local": {"project_path": "/x", "python": "/y"}}
    )[1]
    assert default_file == explicit == with_local_keys
    assert "local" not in default_spec
    assert "LocalExtension" not in default_file and "LocalKedroRunOperator" not in default_file
    assert "one Kubernetes pod per task" in default_spec["dag"]["doc_md"]


def test_local_keeps_the_plan_and_adds_the_section_the_runtime_reads() -> None:
    k8s_spec, _ = _compile(KUBERNETES_SETTINGS)
    spec, source = _compile({**KUBERNETES_SETTINGS, "execution": "local"})
    assert _shape(spec) == _shape(k8s_spec)
    assert [t["arguments"] for t in spec["tasks"]] == [t["arguments"] for t in k8s_spec["tasks"]]
    assert spec["task_groups"] == k8s_spec["task_groups"] == [["ns"]]
    assert spec["dag"]["dag_id"] == k8s_spec["dag"]["dag_id"]
    assert spec["dag"]["default_args"] == k8s_spec["dag"]["default_args"]
    assert spec["local"] == {
        "project_path": "/srv/demo",
        "python": sys.executable,
        "warnings": spec["local"]["warnings"],
    }
    # Nothing of Kubernetes is left to reach the tasks.
    assert spec["profiles"] == {} and spec["pod_templates"] == {}
    assert {(t["profile"], t["pod_template"]) for t in spec["tasks"]} == {(None, None)}
    assert spec["pod"]["secrets"] == [] and spec["pod"]["image_pull_secrets"] == []
    assert spec["pod"]["image"] == "local" and spec["pod"]["namespace"] == "default"
    assert spec["volume"] is None and spec["spark"] is None
    assert "each task a `kedro run` on the worker" in spec["dag"]["doc_md"]
    assert "Kubernetes pod" not in spec["dag"]["doc_md"]
    assert source.rstrip("\n").endswith(
        "dag = build_dag(SPEC, extensions=[LocalExtension(untemplated)])"
    )


def test_the_project_and_python_come_from_the_config_when_set() -> None:
    spec, _ = _compile(
        {"execution": "local", "local": {"project_path": "/srv/p", "python": "/opt/py/bin/python"}}
    )
    assert spec["local"] == {
        "project_path": "/srv/p",
        "python": "/opt/py/bin/python",
        "warnings": [],
    }


@pytest.mark.parametrize("key", ["project_path", "python"])
def test_a_relative_local_path_is_refused_naming_the_key(key: str) -> None:
    with pytest.raises(ConfigError, match=rf"run_config\.local\.{key}.*relative path"):
        parse_config({"run_config": {"execution": "local", "local": {key: "relative/x"}}})


def test_an_unknown_execution_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"run_config\.execution"):
        parse_config({"run_config": {"execution": "docker"}})


def test_one_warning_per_kubernetes_only_setting_that_is_set() -> None:
    spec, _ = _compile({**KUBERNETES_SETTINGS, "execution": "local"}, image="cli/img:2")
    warnings = spec["local"]["warnings"]
    for name, _why in KUBERNETES_ONLY:
        assert sum(w.startswith(f"run_config.{name}: ") for w in warnings) == 1, (name, warnings)
    assert sum(w.startswith("--image cli/img:2: ") for w in warnings) == 1
    assert len(warnings) == len(KUBERNETES_ONLY) + 1
    assert all("ignored with run_config.execution: local" in w for w in warnings)


def test_no_warning_when_nothing_kubernetes_only_is_set() -> None:
    spec, _ = _compile({"execution": "local", "volume": {"disabled": True}, "retries": 3})
    assert spec["local"]["warnings"] == []
    assert spec["dag"]["default_args"]["retries"] == 3


def test_in_memory_data_on_the_volume_goes_to_a_folder_of_the_project() -> None:
    run_config = {
        "execution": "local",
        "volume": {"size": "1Gi"},
        "in_memory": {"storage": "volume"},
        "group_by": "none",
    }
    config = parse_config({"run_config": run_config}).run_config
    pipeline = PipelineSpec(
        "__default__", (NodeSpec("a", ("raw",), ("mem",)), NodeSpec("b", ("mem",), ("out",)))
    )
    datasets = {
        name: DatasetSpec(name, DatasetSource.ENTRY, "pandas.CSVDataset") for name in ("raw", "out")
    }
    plan = build_plan(pipeline, datasets, plan_options(config))
    spec = build_spec(plan, config, CONTEXT)
    assert spec["memory"] == {"storage": f"/srv/demo/{LOCAL_IN_MEMORY_FOLDER}"}
    assert spec["volume"] is None
    warnings = spec["local"]["warnings"]
    assert sum(w.startswith("run_config.in_memory.storage: volume:") for w in warnings) == 1
    source = render_dag(spec)
    assert source.rstrip("\n").endswith(
        "dag = build_dag(SPEC, extensions=[LocalExtension(untemplated), MemoryExtension])"
    )


@pytest.mark.airflow
def test_the_local_dag_file_builds_in_airflow_with_local_operators(tmp_path: Path) -> None:
    _, source = _compile({**KUBERNETES_SETTINGS, "execution": "local", "retries": 2})
    path = tmp_path / "local_dag.py"
    path.write_text(source)
    dag = runpy.run_path(str(path))["dag"]
    kinds = {task.task_id: type(task).__name__ for task in dag.tasks}
    assert kinds == {
        "g": "LocalKedroRunOperator",
        "ns.c": "LocalKedroRunOperator",
        "pipeline_complete": "EmptyOperator",
    }
    assert dag.get_task("ns.c").upstream_task_ids == {"g"}
    assert dag.get_task("g").retries == 2
    assert dag.get_task("g").project_path == "/srv/demo"
