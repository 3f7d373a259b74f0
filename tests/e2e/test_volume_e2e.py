"""The per-run data volume in a real Airflow 3 with the Kubernetes API emulator.

Two DAG files rendered by the plugin's renderer from hand-made SPECs with a volume section (nodes
a -> b, a -> c, and d alone), run at the same time:

* ``kak8s_volume_ok``: the init task creates the claim and runs the copy pod (the test kubelet
  maps its ``cp`` to ``true``: nothing is copied on this machine), every node succeeds;
* ``kak8s_volume_fail`` (``skip_init``: the claim is created by a Python task): node b exits 3.

Checked: the claim of each run is created with the expected spec before the first node starts,
mounted by every pod of the run, deleted after the last node ended, in both runs; the failing
run is failed although the delete task succeeded. The kubelet does not emulate volumes, so what
is checked are pod manifests and the claim's life in the API.
"""

from __future__ import annotations

import copy
import datetime as dt
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest

from kedro_airflow_k8s.render.dag import render_dag
from kedro_airflow_k8s.runtime.volume import volume_claim_name
from tests.helpers import handmade_spec, pod_task

from .infra.pvc_support import claim, claims

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NAMESPACE = "volume-e2e"
MOUNT_PATH = "/home/kedro/data"
OK_DAG_ID = "kak8s_volume_ok"
FAIL_DAG_ID = "kak8s_volume_fail"
NODES = ("a", "b", "c", "d")
INIT, DELETE, FINAL = "data_volume_init", "data_volume_delete", "pipeline_complete"


def _spec(dag_id: str, failing_node: str | None, skip_init: bool) -> dict[str, Any]:
    def arguments(name: str) -> list[str]:
        code = f"import sys; print('node {name} ran'); sys.exit({3 if name == failing_node else 0})"
        return ["python", "-c", code]

    return handmade_spec(
        dag_id,
        [
            {
                **pod_task(name, upstream=upstream, arguments=arguments(name)),
                "pod_name": f"node-{name}",
            }
            for name, upstream in (("a", []), ("b", ["a"]), ("c", ["a"]), ("d", []))
        ],
        dag={
            "description": "volume e2e",
            "doc_md": "volume e2e",
            "start_date": [2024, 1, 1],
            "tags": ["e2e-volume"],
        },
        default_args={"owner": "e2e", "retry_delay_seconds": 5},
        pod={"image": "spaceflights:e2e", "namespace": NAMESPACE, "startup_timeout_seconds": 120},
        volume={
            "storage_class": None if skip_init else "fast-ssd",
            "size": "2Gi",
            "access_modes": ["ReadWriteMany"],
            "skip_init": skip_init,
            "owner": 1000,
            "mount_path": MOUNT_PATH,
            "create_task_id": INIT,
            "delete_task_id": DELETE,
        },
    )


SPECS = {
    OK_DAG_ID: _spec(OK_DAG_ID, failing_node=None, skip_init=False),
    FAIL_DAG_ID: _spec(FAIL_DAG_ID, failing_node="b", skip_init=True),
}


@pytest.fixture(scope="module")
def finished_runs(
    airflow_server: Any, kube_emulator: Any, e2e_timings: dict[str, Any]
) -> Iterator[dict[str, dict[str, Any]]]:
    """Both DAGs written, parsed, triggered and finished: dag_id -> the dag run."""
    api = airflow_server.api
    started = time.monotonic()
    for dag_id, spec in SPECS.items():
        airflow_server.write_dag(f"{dag_id}.py", render_dag(copy.deepcopy(spec)))
    api.request_parse(api.any_file_token())
    for dag_id in SPECS:
        api.wait_for_dag(dag_id, timeout=60, interval=0.25)
    assert [e for e in api.import_errors() if "kak8s_volume" in e.get("filename", "")] == []
    e2e_timings["volume_files_to_dags_visible_s"] = time.monotonic() - started

    true = shutil.which("true")
    assert true is not None
    runs: dict[str, dict[str, Any]] = {}
    with kube_emulator.configured(executables={"cp": true}):
        triggered = time.monotonic()
        for dag_id in SPECS:
            api.set_paused(dag_id, False)
            runs[dag_id] = api.trigger(dag_id, conf={})
        for dag_id, run in runs.items():
            runs[dag_id] = api.wait_for_run(dag_id, run["dag_run_id"], timeout=240)
        e2e_timings["volume_trigger_to_both_runs_done_s"] = time.monotonic() - triggered
    yield runs


def _states(api: Any, dag_id: str, run_id: str) -> dict[str, str]:
    return {ti["task_id"]: ti["state"] for ti in api.task_instances(dag_id, run_id)}


def _times(api: Any, dag_id: str, run_id: str) -> dict[str, tuple[dt.datetime, dt.datetime]]:
    return {
        ti["task_id"]: (
            dt.datetime.fromisoformat(ti["start_date"]),
            dt.datetime.fromisoformat(ti["end_date"]),
        )
        for ti in api.task_instances(dag_id, run_id)
        if ti["start_date"] and ti["end_date"]
    }


def test_successful_run(airflow_server: Any, finished_runs: dict[str, dict[str, Any]]) -> None:
    api = airflow_server.api
    run = finished_runs[OK_DAG_ID]
    states = _states(api, OK_DAG_ID, run["dag_run_id"])
    assert run["state"] == "success", states
    assert states == dict.fromkeys((*NODES, INIT, DELETE, FINAL), "success")


def test_failing_run_is_failed_although_the_volume_was_deleted(
    airflow_server: Any, finished_runs: dict[str, dict[str, Any]]
) -> None:
    api = airflow_server.api
    run = finished_runs[FAIL_DAG_ID]
    states = _states(api, FAIL_DAG_ID, run["dag_run_id"])
    assert run["state"] == "failed", states
    assert states == {
        INIT: "success",
        "a": "success",
        "b": "failed",
        "c": "success",
        "d": "success",
        FINAL: "upstream_failed",
        DELETE: "success",
    }


@pytest.mark.parametrize("dag_id", [OK_DAG_ID, FAIL_DAG_ID])
def test_claim_created_before_the_nodes_and_deleted_after_them(
    airflow_server: Any, kube_emulator: Any, finished_runs: dict[str, dict[str, Any]], dag_id: str
) -> None:
    run_id = finished_runs[dag_id]["dag_run_id"]
    name = volume_claim_name(dag_id, run_id)
    record = claim(kube_emulator, NAMESPACE, name)
    assert record.deleted and record.deletions == 1 and record.versions == 1
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteMany"],
        "resources": {"requests": {"storage": "2Gi"}},
    }
    if dag_id == OK_DAG_ID:
        spec["storageClassName"] = "fast-ssd"
    assert record.created["spec"] == spec  # FAIL: no class, so the cluster's default
    assert record.created["metadata"]["annotations"] == {
        "kedro-airflow-k8s/dag-id": dag_id,
        "kedro-airflow-k8s/run-id": run_id,
    }
    assert [c.name for c in claims(kube_emulator, NAMESPACE) if dag_id in str(c.created)] == [name]

    # What the tasks say in their logs.
    api = airflow_server.api
    created_log = api.task_log(dag_id, run_id, INIT, try_number=1)
    assert f"Created the PersistentVolumeClaim {NAMESPACE}/{name}" in created_log
    deleted_log = api.task_log(dag_id, run_id, DELETE, try_number=1)
    assert f"Deleted the PersistentVolumeClaim {NAMESPACE}/{name}" in deleted_log

    times = _times(api, dag_id, run_id)
    created_at, deleted_at = times[INIT][1], times[DELETE][0]
    for node in NODES:
        assert created_at <= times[node][0] and times[node][1] <= deleted_at, (node, times)


@pytest.mark.parametrize("dag_id", [OK_DAG_ID, FAIL_DAG_ID])
def test_every_pod_of_the_run_mounts_its_claim(
    kube_emulator: Any, finished_runs: dict[str, dict[str, Any]], dag_id: str
) -> None:
    name = volume_claim_name(dag_id, finished_runs[dag_id]["dag_run_id"])
    pod_runs = kube_emulator.runs_with_labels(dag_id=dag_id)
    by_task = {run.labels["task_id"]: run for run in pod_runs}
    expected_pods = {*NODES, INIT} if dag_id == OK_DAG_ID else set(NODES)
    assert set(by_task) == expected_pods and len(pod_runs) == len(expected_pods)
    for task_id, pod_run in by_task.items():
        spec = pod_run.manifest["spec"]
        claim_volumes = [v for v in spec["volumes"] if "persistentVolumeClaim" in v]
        assert claim_volumes == [
            {"name": "kedro-data-volume", "persistentVolumeClaim": {"claimName": name}}
        ], task_id
        assert spec["securityContext"] == {"fsGroup": 1000}
        (base,) = spec["containers"]
        target = "/mnt/kedro-data-volume" if task_id == INIT else MOUNT_PATH
        assert base["volumeMounts"] == [{"name": "kedro-data-volume", "mountPath": target}]
        assert pod_run.exit_code == (3 if (dag_id, task_id) == (FAIL_DAG_ID, "b") else 0)
    if dag_id == OK_DAG_ID:
        assert by_task[INIT].argv == ["cp", "-R", f"{MOUNT_PATH}/.", "/mnt/kedro-data-volume"]
