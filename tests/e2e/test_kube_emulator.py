"""The loopback Kubernetes emulator and its test kubelet, driven with the plain kubernetes client
(no Airflow)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .infra.kube_emulator import field_selector_matches, label_selector_matches

NAMESPACE = "emulator-tests"


@pytest.fixture(scope="module")
def core_v1(kube_emulator: Any) -> Any:
    from kubernetes import client, config

    return client.CoreV1Api(config.new_client_from_config(str(kube_emulator.kubeconfig_path)))


def _pod(
    name: str, command: list[str], env: dict[str, str] | None = None, **labels: str
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "labels": {"suite": "emulator", **labels},
        },
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "base",
                    "image": "example/image:1",
                    "command": command,
                    "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
                }
            ],
        },
    }


def _wait_phase(core_v1: Any, name: str, phases: set[str], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        pod = core_v1.read_namespaced_pod(name, NAMESPACE)
        if pod.status.phase in phases:
            return pod
        assert time.monotonic() < deadline, f"{name} still {pod.status.phase}"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("a=1,b!=2,!c", {"a": "1", "b": "3"}, True),
        ("a=1,b!=2,!c", {"a": "1", "b": "2"}, False),
        ("a=1,b!=2,!c", {"a": "1", "c": "x"}, False),
        ("a==1", {"a": "1"}, True),
        ("a", {"b": "1"}, False),
        ("a in (x, y),b notin (z)", {"a": "y", "b": "q"}, True),
        ("a in (x, y)", {"a": "q"}, False),
        ("", {}, True),
    ],
)
def test_label_selectors(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert label_selector_matches(selector, labels) is expected


def test_field_selectors() -> None:
    event = {"involvedObject": {"name": "p1"}, "type": "Normal"}
    assert field_selector_matches("involvedObject.name=p1", event)
    assert not field_selector_matches("involvedObject.name=p2", event)
    assert field_selector_matches("involvedObject.name=p1,type!=Warning", event)


def test_pod_lifecycle_and_followed_log(kube_emulator: Any, core_v1: Any) -> None:
    script = "import time; print('first', flush=True); time.sleep(0.6); print('second')"
    created = core_v1.create_namespaced_pod(NAMESPACE, _pod("follow", ["python", "-c", script]))
    assert created.status.phase == "Pending"  # what the creator sees; it is Running right after
    assert (
        _wait_phase(core_v1, "follow", {"Running", "Succeeded"}).status.container_statuses[0].name
        == "base"
    )

    response = core_v1.read_namespaced_pod_log(
        "follow", NAMESPACE, container="base", follow=True, timestamps=True, _preload_content=False
    )
    received = []
    for chunk in response.stream(amt=None, decode_content=True):
        received.append((time.monotonic(), chunk))
    text = b"".join(chunk for _, chunk in received).decode()
    lines = text.splitlines()
    first_seen = next(moment for moment, chunk in received if b"first" in chunk)
    assert received[-1][0] - first_seen > 0.3, "the log was not streamed while the container ran"
    assert [line.split(" ", 1)[1] for line in lines] == ["first", "second"]
    assert lines[0].split(" ", 1)[0].endswith("Z")  # RFC 3339 timestamps, as kubelet sends them

    pod = _wait_phase(core_v1, "follow", {"Succeeded"})
    terminated = pod.status.container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason) == (0, "Completed")
    assert terminated.finished_at is not None
    # (_preload_content=False: with True, kubernetes client 36 returns str(bytes) for any plain-text
    # log)
    tail = core_v1.read_namespaced_pod_log(
        "follow", NAMESPACE, container="base", tail_lines=1, _preload_content=False
    )
    assert tail.data == b"second\n"
    reasons = [
        e.reason
        for e in core_v1.list_namespaced_event(
            NAMESPACE, field_selector="involvedObject.name=follow"
        ).items
    ]
    assert reasons == ["Scheduled", "Started"]


def test_listing_honours_label_selectors(kube_emulator: Any, core_v1: Any) -> None:
    core_v1.create_namespaced_pod(NAMESPACE, _pod("sel-a", ["python", "-c", "pass"], task="a"))
    core_v1.create_namespaced_pod(NAMESPACE, _pod("sel-b", ["python", "-c", "pass"], task="b"))
    names = [
        p.metadata.name
        for p in core_v1.list_namespaced_pod(NAMESPACE, label_selector="task=a,!x").items
    ]
    assert names == ["sel-a"]
    core_v1.patch_namespaced_pod(
        "sel-a", NAMESPACE, {"metadata": {"labels": {"already_checked": "True"}}}
    )
    assert not core_v1.list_namespaced_pod(
        NAMESPACE, label_selector="task=a,already_checked!=True"
    ).items


def test_failure_exit_code_and_message(kube_emulator: Any, core_v1: Any) -> None:
    script = "import sys; print('bad things', file=sys.stderr); sys.exit(7)"
    core_v1.create_namespaced_pod(NAMESPACE, _pod("fails", ["python", "-c", script]))
    pod = _wait_phase(core_v1, "fails", {"Failed"})
    terminated = pod.status.container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason, terminated.message) == (
        7,
        "Error",
        "bad things",
    )
    assert kube_emulator.run_for("fails", NAMESPACE).wait().output == "bad things\n"


def test_workdir_executables_and_env_layers(
    kube_emulator: Any, core_v1: Any, tmp_path: Path
) -> None:
    script = (
        "import os; print(os.getcwd()); print(os.environ['A'], os.environ['B'], os.environ['C'])"
    )
    with kube_emulator.configured(
        workdir=tmp_path,
        executables={"/usr/local/bin/mytool": sys.executable},
        env={"A": "base", "B": "base"},
        env_overrides={"C": "override"},
    ):
        core_v1.create_namespaced_pod(
            NAMESPACE,
            _pod("layers", ["/usr/local/bin/mytool", "-c", script], env={"B": "pod", "C": "pod"}),
        )
        run = kube_emulator.run_for("layers", NAMESPACE).wait()
    assert run.exit_code == 0, run.output
    assert run.output.splitlines() == [str(tmp_path), "base pod override"]
    assert run.resolved_argv[0] == sys.executable
    assert run.pod_env == {"B": "pod", "C": "pod"}


def test_unknown_executable_fails_like_a_start_error(kube_emulator: Any, core_v1: Any) -> None:
    core_v1.create_namespaced_pod(NAMESPACE, _pod("nostart", ["no-such-binary-e2e", "x"]))
    pod = _wait_phase(core_v1, "nostart", {"Failed"})
    assert pod.status.container_statuses[0].state.terminated.exit_code == 128
    assert "failed to start container process" in kube_emulator.run_for("nostart", NAMESPACE).output


def test_deleting_a_running_pod_kills_its_process(kube_emulator: Any, core_v1: Any) -> None:
    from kubernetes.client.exceptions import ApiException

    core_v1.create_namespaced_pod(
        NAMESPACE, _pod("killme", ["python", "-c", "import time; time.sleep(60)"])
    )
    _wait_phase(core_v1, "killme", {"Running"})
    started = time.monotonic()
    core_v1.delete_namespaced_pod("killme", NAMESPACE)
    run = kube_emulator.run_for("killme", NAMESPACE).wait(timeout=10)
    assert time.monotonic() - started < 5
    assert (run.exit_code, run.reason) == (137, "Killed")
    with pytest.raises(ApiException) as error:
        core_v1.read_namespaced_pod("killme", NAMESPACE)
    assert error.value.status == 404


def test_run_timeout(kube_emulator: Any, core_v1: Any) -> None:
    with kube_emulator.configured(run_timeout=0.5):
        core_v1.create_namespaced_pod(
            NAMESPACE, _pod("slow", ["python", "-c", "import time; time.sleep(60)"])
        )
        run = kube_emulator.run_for("slow", NAMESPACE).wait(timeout=10)
    assert (run.exit_code, run.reason) == (137, "DeadlineExceeded")
