"""Creating and deleting the claim for real: the provider's KubernetesHook against the loopback
Kubernetes API emulator (kmock, tests/e2e/infra), through a connection or the default kubeconfig."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.volume.conftest import RUN_ID, SPEC

NAMESPACE = "volume-tests"
CONN_ID = "kak8s_volume_tests"
DAG_ID = "demo.__default__.local"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    try:
        import kmock  # noqa: F401
    except ImportError:  # a missing extra is a failure, never a silent skip
        pytest.fail("e2e extras missing: pip install -r requirements/e2e.txt")
    from tests.e2e.infra.kube_emulator import KubeEmulator

    with KubeEmulator(tmp_path_factory.mktemp("kube-volume")) as started:
        yield started


@pytest.fixture
def connection(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """An Airflow connection (from the environment) to the emulator, by kubeconfig path."""
    for name, value in emulator.airflow_env(CONN_ID).items():
        monkeypatch.setenv(name, value)
    return CONN_ID


@pytest.fixture
def core_v1(emulator: Any) -> Any:
    from kubernetes import client, config

    return client.CoreV1Api(config.new_client_from_config(str(emulator.kubeconfig_path)))


def _settings(namespace: str | None, conn_id: str | None) -> dict[str, Any]:
    return {
        "volume": {"storage_class": "fast-ssd", "size": "5Gi", "access_modes": ["ReadWriteMany"]},
        "namespace": namespace,
        "kubernetes_conn_id": conn_id,
    }


def _context(run_id: str = RUN_ID, dag_id: str = DAG_ID) -> dict[str, Any]:
    return {"dag": SimpleNamespace(dag_id=dag_id), "run_id": run_id}


def test_create_and_delete_through_a_connection(
    runtime: Any, emulator: Any, connection: str, core_v1: Any
) -> None:
    from tests.e2e.infra.pvc_support import claim

    run_id = RUN_ID + "-connection"
    name = runtime.volume_claim_name(DAG_ID, run_id)
    runtime.volume_claim_task("create", _settings(NAMESPACE, connection), **_context(run_id))

    record = claim(emulator, NAMESPACE, name)
    expected = runtime.volume_claim_body(name, SPEC["volume"], DAG_ID, run_id)
    expected["metadata"]["namespace"] = NAMESPACE
    assert record.created == expected
    read = core_v1.read_namespaced_persistent_volume_claim(name, NAMESPACE)
    assert read.spec.storage_class_name == "fast-ssd"
    assert read.spec.resources.requests == {"storage": "5Gi"}
    assert read.metadata.annotations["kedro-airflow-k8s/run-id"] == run_id

    runtime.volume_claim_task("delete", _settings(NAMESPACE, connection), **_context(run_id))
    record = claim(emulator, NAMESPACE, name)
    assert record.deleted and record.deletions == 1
    # Deleting again (a retried delete task, or a create that never happened) is fine.
    runtime.volume_claim_task("delete", _settings(NAMESPACE, connection), **_context(run_id))
    assert claim(emulator, NAMESPACE, name).deletions == 1


def test_default_connection_reads_the_kubeconfig_and_its_namespace_defaults(
    runtime: Any, emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No connection configured: the hook's ``kubernetes_default`` (missing, so empty) falls back
    to in-cluster config, then to KUBECONFIG; without a namespace the claim goes to default."""
    from kubernetes.config import kube_config

    from tests.e2e.infra.pvc_support import claim

    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    # Also when the suite itself runs in a pod: no service account namespace file.
    globals_ = runtime.volume_namespace.__globals__
    monkeypatch.setitem(globals_, "_VOLUME_INCLUSTER_NAMESPACE", str(tmp_path / "none"))
    monkeypatch.delenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", raising=False)
    # KUBECONFIG is read when the kubernetes package is imported: set what it became.
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(emulator.kubeconfig_path))
    run_id = RUN_ID + "-default"
    name = runtime.volume_claim_name(DAG_ID, run_id)
    runtime.volume_claim_task("create", _settings(None, None), **_context(run_id))
    assert not claim(emulator, "default", name).deleted
    runtime.volume_claim_task("delete", _settings(None, None), **_context(run_id))
    assert claim(emulator, "default", name).deleted


def test_creating_twice_finds_the_claim(runtime: Any, emulator: Any, connection: str) -> None:
    """A retried create task: the claim of the run is there already, which is fine."""
    from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

    from tests.e2e.infra.pvc_support import claim

    core = KubernetesHook(conn_id=connection).core_v1_client
    body = runtime.volume_claim_body("kedro-twice", SPEC["volume"], DAG_ID, RUN_ID)
    assert runtime.volume_create_claim(core, NAMESPACE, body) == "created"
    assert runtime.volume_create_claim(core, NAMESPACE, body) == "exists"
    assert claim(emulator, NAMESPACE, "kedro-twice").versions == 1


def _terminating_claim(runtime: Any, core_v1: Any, name: str) -> dict[str, Any]:
    """A claim held by the pvc-protection finalizer, deleted: it stays, being deleted."""
    body = runtime.volume_claim_body(name, SPEC["volume"], DAG_ID, RUN_ID)
    held = {
        **body,
        "metadata": {**body["metadata"], "finalizers": ["kubernetes.io/pvc-protection"]},
    }
    core_v1.create_namespaced_persistent_volume_claim(NAMESPACE, held)
    core_v1.delete_namespaced_persistent_volume_claim(name, NAMESPACE)
    left = core_v1.read_namespaced_persistent_volume_claim(name, NAMESPACE)
    assert left.metadata.deletion_timestamp
    return dict(body)


def test_create_waits_for_the_previous_claim_of_a_cleared_run_to_go(
    runtime: Any, emulator: Any, core_v1: Any
) -> None:
    from tests.e2e.infra.pvc_support import claim

    body = _terminating_claim(runtime, core_v1, "kedro-terminating")
    outcome: list[Any] = []

    def create() -> None:
        outcome.append(
            runtime.volume_create_claim(
                core_v1, NAMESPACE, body, wait_seconds=30, poll_seconds=0.05
            )
        )

    worker = threading.Thread(target=create, daemon=True)
    worker.start()
    time.sleep(0.5)
    assert not outcome, "created while the old claim was still being deleted"
    core_v1.patch_namespaced_persistent_volume_claim(
        "kedro-terminating", NAMESPACE, {"metadata": {"finalizers": []}}
    )
    worker.join(10)
    assert outcome == ["created"]
    record = claim(emulator, NAMESPACE, "kedro-terminating")
    assert record.deletions == 1 and record.current is not None
    assert "deletionTimestamp" not in record.current["metadata"]


def test_create_gives_up_when_the_previous_claim_stays(runtime: Any, core_v1: Any) -> None:
    body = _terminating_claim(runtime, core_v1, "kedro-stuck")
    with pytest.raises(RuntimeError, match="still being deleted"):
        runtime.volume_create_claim(core_v1, NAMESPACE, body, wait_seconds=0.2, poll_seconds=0.05)


def test_other_api_errors_are_not_swallowed(runtime: Any) -> None:
    from kubernetes.client.exceptions import ApiException

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise ApiException(status=403, reason="Forbidden")

    core = SimpleNamespace(
        create_namespaced_persistent_volume_claim=forbidden,
        delete_namespaced_persistent_volume_claim=forbidden,
        read_namespaced_persistent_volume_claim=forbidden,
    )
    with pytest.raises(ApiException, match="Forbidden"):
        runtime.volume_create_claim(core, NAMESPACE, {"metadata": {"name": "x"}})
    with pytest.raises(ApiException, match="Forbidden"):
        runtime.volume_delete_claim(core, NAMESPACE, "x")


def test_init_operator_creates_the_claim_through_its_own_hook_then_runs_the_pod(
    build: Any, runtime: Any, emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The init task uses the operator's hook (its connection, kubeconfig...) for the claim, in
    the namespace of its pod, before the copy pod (stubbed here: the e2e test runs it)."""
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    from tests.e2e.infra.pvc_support import claim

    calls: list[str] = []
    monkeypatch.setattr(KubernetesPodOperator, "execute", lambda self, context: calls.append("pod"))
    dag = build()
    task = dag.get_task("data_volume_init")
    task.config_file = str(Path(emulator.kubeconfig_path))
    task.execute(_context("manual__init"))
    assert calls == ["pod"]
    record = claim(emulator, "kedro", runtime.volume_claim_name(dag.dag_id, "manual__init"))
    assert record.created["spec"]["storageClassName"] == "fast-ssd"
    assert not record.deleted


def test_namespace_like_the_pod_operator(
    runtime: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Given namespace, else the connection's, else the in-cluster one, else default."""
    incluster = tmp_path / "namespace"
    monkeypatch.setitem(
        runtime.volume_namespace.__globals__, "_VOLUME_INCLUSTER_NAMESPACE", str(incluster)
    )
    with_namespace = SimpleNamespace(get_namespace=lambda: "from-connection")
    without = SimpleNamespace(get_namespace=lambda: None)
    assert runtime.volume_namespace(with_namespace, "given") == "given"
    assert runtime.volume_namespace(with_namespace, None) == "from-connection"
    assert runtime.volume_namespace(without, None) == "default"
    incluster.write_text("airflow-jobs\n")
    assert runtime.volume_namespace(without, "") == "airflow-jobs"
