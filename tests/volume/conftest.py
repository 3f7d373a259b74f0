"""Shared data of the per-run data volume tests: a SPEC with a volume section, the runtime as the
generated file has it (builder + volume module in one namespace), rendering helpers."""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.helpers import DUMMY_KUBECONFIG, handmade_spec, load_runtime, pod_task

MOUNT_PATH = "/home/kedro/data"
RUN_ID = "manual__2026-03-01T10:20:30.123456+00:00"

VOLUME: dict[str, Any] = {
    "storage_class": "fast-ssd",
    "size": "5Gi",
    "access_modes": ["ReadWriteMany"],
    "skip_init": False,
    "owner": 1000,
    "mount_path": MOUNT_PATH,
    "create_task_id": "data_volume_init",
    "delete_task_id": "data_volume_delete",
}

# a -> b, a -> c, d (alone): roots a and d, leaves b, c and d.
SPEC: dict[str, Any] = handmade_spec(
    "demo.__default__.local",
    [
        pod_task(name, upstream=upstream, profile="__default__")
        for name, upstream in (("a", []), ("b", ["a"]), ("c", ["a"]), ("d", []))
    ],
    pod={
        "image": "registry.example.com/demo:1",
        "namespace": "kedro",
        "startup_timeout_seconds": 600,
        "service_account_name": "runner",
        "image_pull_secrets": ["regcred"],
    },
    profiles={
        "__default__": {
            "requests": {"cpu": "250m", "memory": "256Mi"},
            "limits": {},
            "node_selector": {"pool": "kedro"},
            "labels": {"team": "data"},
            "annotations": {"sidecar.istio.io/inject": "false"},
            "tolerations": [{"key": "kedro", "operator": "Exists", "effect": "NoSchedule"}],
            "affinity": {},
        }
    },
    volume=VOLUME,
)


def make_spec(**volume: Any) -> dict[str, Any]:
    """A deep copy of SPEC with volume settings replaced."""
    spec = copy.deepcopy(SPEC)
    spec["volume"].update(volume)
    return spec


@pytest.fixture(scope="session")
def runtime() -> Any:
    """The builder and the volume module in one namespace, as in a generated DAG file."""
    return load_runtime("volume")


@pytest.fixture
def build(runtime: Any) -> Any:
    """``build(spec=None)``: the DAG of a SPEC (default SPEC) with the volume extension."""

    def make(spec: dict[str, Any] | None = None) -> Any:
        spec = copy.deepcopy(SPEC) if spec is None else spec
        return runtime.build_dag(spec, extensions=[runtime.VolumeExtension(runtime.untemplated)])

    return make


@pytest.fixture(scope="session")
def dummy_kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text(DUMMY_KUBECONFIG)
    return path


def task_context(dag: Any, task: Any, run_id: str = RUN_ID) -> dict[str, Any]:
    ti = SimpleNamespace(
        dag_id=dag.dag_id, task_id=task.task_id, run_id=run_id, try_number=1, map_index=-1
    )
    return {
        "ti": ti,
        "task_instance": ti,
        "run_id": run_id,
        "dag": dag,
        "var": {"value": SimpleNamespace()},
        "dag_run": SimpleNamespace(conf={}),
    }


def pod_manifest(dag: Any, task_id: str, kubeconfig: Path, run_id: str = RUN_ID) -> dict[str, Any]:
    """The pod the real provider would send for ``task_id`` (rendered; nothing is contacted)."""
    from kubernetes.client import ApiClient

    task = dag.get_task(task_id)
    context = task_context(dag, task, run_id)
    task.render_template_fields(context)
    task.config_file = str(kubeconfig)
    manifest: dict[str, Any] = ApiClient().sanitize_for_serialization(
        task.build_pod_request_obj(context)
    )
    manifest.setdefault("apiVersion", "v1")
    manifest.setdefault("kind", "Pod")
    return manifest
