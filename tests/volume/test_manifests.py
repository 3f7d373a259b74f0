"""The pods the real provider would send (build_pod_request_obj against a dummy kubeconfig:
nothing is contacted) carry the claim, the mount and fsGroup, and are valid Kubernetes 1.30 pods."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.volume.conftest import MOUNT_PATH, RUN_ID, make_spec, pod_manifest


def _validate(manifest: dict[str, Any]) -> None:
    import kubernetes_validate

    kubernetes_validate.validate(manifest, "1.30.0", strict=True)


def _claim_volumes(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for v in manifest["spec"]["volumes"] if "persistentVolumeClaim" in v]


def _base(manifest: dict[str, Any]) -> dict[str, Any]:
    (container,) = (c for c in manifest["spec"]["containers"] if c["name"] == "base")
    return dict(container)


@pytest.mark.parametrize("task_id", ["a", "b", "c", "d"])
def test_node_pods(build: Any, runtime: Any, dummy_kubeconfig: Path, task_id: str) -> None:
    dag = build()
    manifest = pod_manifest(dag, task_id, dummy_kubeconfig)
    _validate(manifest)
    claim = runtime.volume_claim_name(dag.dag_id, RUN_ID)
    assert _claim_volumes(manifest) == [
        {"name": "kedro-data-volume", "persistentVolumeClaim": {"claimName": claim}}
    ]
    assert _base(manifest)["volumeMounts"] == [
        {"name": "kedro-data-volume", "mountPath": MOUNT_PATH}
    ]
    assert manifest["spec"]["securityContext"] == {"fsGroup": 1000}
    assert _base(manifest)["args"] == ["kedro", "run", "--nodes", task_id]


def test_init_pod(build: Any, runtime: Any, dummy_kubeconfig: Path) -> None:
    dag = build()
    manifest = pod_manifest(dag, "data_volume_init", dummy_kubeconfig)
    _validate(manifest)
    base = _base(manifest)
    assert base["image"] == "registry.example.com/demo:1"
    assert base["command"] == ["cp"]
    assert base["args"] == ["-R", f"{MOUNT_PATH}/.", "/mnt/kedro-data-volume"]
    assert base["volumeMounts"] == [
        {"name": "kedro-data-volume", "mountPath": "/mnt/kedro-data-volume"}
    ]
    assert _claim_volumes(manifest)[0]["persistentVolumeClaim"]["claimName"] == (
        runtime.volume_claim_name(dag.dag_id, RUN_ID)
    )
    assert manifest["spec"]["securityContext"] == {"fsGroup": 1000}
    assert manifest["metadata"]["namespace"] == "kedro"
    assert manifest["spec"]["serviceAccountName"] == "runner"
    assert manifest["spec"]["nodeSelector"] == {"pool": "kedro"}


def test_two_runs_mount_two_claims(build: Any, dummy_kubeconfig: Path) -> None:
    first = pod_manifest(build(), "a", dummy_kubeconfig, run_id="manual__1")
    second = pod_manifest(build(), "a", dummy_kubeconfig, run_id="manual__2")
    names = {_claim_volumes(m)[0]["persistentVolumeClaim"]["claimName"] for m in (first, second)}
    assert len(names) == 2


def test_owner_zero_is_still_set(build: Any, dummy_kubeconfig: Path) -> None:
    manifest = pod_manifest(build(make_spec(owner=0)), "a", dummy_kubeconfig)
    _validate(manifest)
    assert manifest["spec"]["securityContext"] == {"fsGroup": 0}


def test_pod_template_security_settings_are_kept(build: Any, dummy_kubeconfig: Path) -> None:
    spec = make_spec()
    spec["pod_templates"] = {
        "__default__": {
            "template": {
                "apiVersion": "v1",
                "kind": "Pod",
                "spec": {
                    "securityContext": {"runAsUser": 999, "runAsNonRoot": True},
                    "volumes": [{"name": "scratch", "emptyDir": {}}],
                    "containers": [
                        {
                            "name": "base",
                            "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
                        }
                    ],
                },
            },
            "image": None,
        }
    }
    for task in spec["tasks"]:
        task["pod_template"] = "__default__"
    dag = build(spec)
    for task_id in ("a", "data_volume_init"):
        manifest = pod_manifest(dag, task_id, dummy_kubeconfig)
        _validate(manifest)
        assert manifest["spec"]["securityContext"] == {
            "runAsUser": 999,
            "runAsNonRoot": True,
            "fsGroup": 1000,
        }
        assert {v["name"] for v in manifest["spec"]["volumes"]} == {"scratch", "kedro-data-volume"}
        mounts = {m["name"] for m in _base(manifest)["volumeMounts"]}
        assert mounts == {"scratch", "kedro-data-volume"}
