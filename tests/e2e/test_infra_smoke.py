"""Smoke test of the e2e infrastructure: hand-written KubernetesPodOperator DAGs on the real Airflow
3.

Two DAG files are dropped into the dags folder of a running server (refresh_interval left at 300 s),
one parse request is made through the REST API, and both DAGs are run:

* ``e2e_smoke_ok``: two chained pods that print ``hello from pod`` -> run ``success``;
* ``e2e_smoke_fail``: one pod that exits 1 -> run ``failed``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from .infra.metrics import PeakRssSampler, process_rss_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

OK_DAG_ID = "e2e_smoke_ok"
FAIL_DAG_ID = "e2e_smoke_fail"

# Arguments of every pod task (no image is pulled: the test kubelet runs the command locally).
_POD_DEFAULTS = """
        namespace="default",
        image="python:3.11-slim",
        get_logs=True,
        on_finish_action="delete_pod",
    """

HELLO_SCRIPT = "import os; print('hello from pod'); print('GREETING=' + os.environ['GREETING'])"

OK_DAG = f'''
from airflow.sdk import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

with DAG(dag_id="{OK_DAG_ID}", schedule=None, catchup=False, tags=["e2e-smoke"]):
    first = KubernetesPodOperator(
        task_id="hello",
        name="hello",
        cmds=["python", "-c"],
        arguments=[{HELLO_SCRIPT!r}],
        env_vars={{"GREETING": "hi"}},{_POD_DEFAULTS})
    second = KubernetesPodOperator(
        task_id="hello_again",
        name="hello-again",
        cmds=["python", "-c", "print('hello from pod, again')"],{_POD_DEFAULTS})
    first >> second
'''

FAIL_DAG = f'''
from airflow.sdk import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

with DAG(dag_id="{FAIL_DAG_ID}", schedule=None, catchup=False, tags=["e2e-smoke"]):
    KubernetesPodOperator(
        task_id="boom",
        name="boom",
        cmds=["python", "-c", "import sys; print('about to fail'); sys.exit(1)"],
        retries=0,{_POD_DEFAULTS})
'''


@pytest.fixture(scope="module")
def sampler(airflow_server: Any, e2e_timings: dict[str, Any]) -> Any:
    with PeakRssSampler(lambda: airflow_server.rss_bytes() + process_rss_bytes()) as rss:
        yield rss
    e2e_timings["smoke_peak_rss_mb (airflow processes + pytest/kmock)"] = rss.peak_mb


@pytest.fixture(scope="module")
def parsed_dags(
    airflow_server: Any, sampler: Any, e2e_timings: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Drop both files, ask for a parse by borrowing the seed DAG's file token, wait for both
    DAGs."""
    api = airflow_server.api
    started = time.monotonic()
    airflow_server.write_dag("e2e_smoke_ok.py", OK_DAG)
    airflow_server.write_dag("e2e_smoke_fail.py", FAIL_DAG)
    api.request_parse(api.any_file_token())
    dags = {
        dag_id: api.wait_for_dag(dag_id, timeout=60, interval=0.25)
        for dag_id in (OK_DAG_ID, FAIL_DAG_ID)
    }
    e2e_timings["smoke_file_drop_to_dags_visible_s"] = time.monotonic() - started
    assert [e for e in api.import_errors() if "e2e_smoke" in e.get("filename", "")] == []
    return dags


@pytest.fixture(scope="module")
def triggered(airflow_server: Any, parsed_dags: dict[str, Any]) -> dict[str, tuple[str, float]]:
    """Unpause and trigger both DAGs at once (they run concurrently); dag_id -> (run_id, trigger
    time)."""
    api = airflow_server.api
    runs = {}
    for dag_id in parsed_dags:
        api.set_paused(dag_id, False)
        run = api.trigger(dag_id, conf={"source": "e2e-smoke"})
        runs[dag_id] = (run["dag_run_id"], time.monotonic())
    return runs


def test_two_chained_pods_succeed(
    airflow_server: Any,
    kube_emulator: Any,
    triggered: dict[str, tuple[str, float]],
    e2e_timings: dict[str, Any],
) -> None:
    api = airflow_server.api
    run_id, triggered_at = triggered[OK_DAG_ID]
    run = api.wait_for_run(OK_DAG_ID, run_id, timeout=120)
    e2e_timings["smoke_trigger_to_success_s (2 chained pods)"] = time.monotonic() - triggered_at
    assert run["state"] == "success", api.task_instances(OK_DAG_ID, run_id)
    assert {ti["task_id"]: ti["state"] for ti in api.task_instances(OK_DAG_ID, run_id)} == {
        "hello": "success",
        "hello_again": "success",
    }

    log = api.task_log(OK_DAG_ID, run_id, "hello", try_number=1)
    assert "hello from pod" in log
    assert "GREETING=hi" in log

    pod_runs = kube_emulator.runs_with_labels(dag_id=OK_DAG_ID)
    assert sorted(r.labels["task_id"] for r in pod_runs) == ["hello", "hello_again"]
    assert all(r.exit_code == 0 and r.reason == "Completed" for r in pod_runs)
    first = next(r for r in pod_runs if r.labels["task_id"] == "hello")
    assert first.argv[:2] == ["python", "-c"]
    assert first.pod_env["GREETING"] == "hi"
    # Pods are deleted by the operator (on_finish_action="delete_pod") once done.
    assert not [
        p
        for p in kube_emulator.pods()
        if p["metadata"].get("labels", {}).get("dag_id") == OK_DAG_ID
    ]


def test_failing_pod_fails_the_run(
    airflow_server: Any,
    kube_emulator: Any,
    triggered: dict[str, tuple[str, float]],
    e2e_timings: dict[str, Any],
) -> None:
    api = airflow_server.api
    run_id, triggered_at = triggered[FAIL_DAG_ID]
    run = api.wait_for_run(FAIL_DAG_ID, run_id, timeout=120)
    e2e_timings["smoke_trigger_to_failed_s (1 pod, exit 1)"] = time.monotonic() - triggered_at
    assert run["state"] == "failed"
    assert {ti["task_id"]: ti["state"] for ti in api.task_instances(FAIL_DAG_ID, run_id)} == {
        "boom": "failed"
    }
    log = api.task_log(FAIL_DAG_ID, run_id, "boom", try_number=1)
    assert "about to fail" in log
    assert "returned a failure" in log
    (pod_run,) = kube_emulator.runs_with_labels(dag_id=FAIL_DAG_ID)
    assert (pod_run.exit_code, pod_run.reason) == (1, "Error")


def test_parse_request_picks_up_a_changed_file(
    airflow_server: Any, parsed_dags: dict[str, Any], e2e_timings: dict[str, Any]
) -> None:
    """The product's flow for an existing DAG: rewrite the file, PUT parseDagFile with that DAG's
    own token."""
    api = airflow_server.api
    token = parsed_dags[FAIL_DAG_ID]["file_token"]
    started = time.monotonic()
    airflow_server.write_dag(
        "e2e_smoke_fail.py", FAIL_DAG.replace('tags=["e2e-smoke"]', 'tags=["e2e-smoke", "v2"]')
    )
    api.request_parse(token)
    deadline = time.monotonic() + 60
    while "v2" not in {tag["name"] for tag in api.dag(FAIL_DAG_ID)["tags"]}:
        assert time.monotonic() < deadline, "re-parse not visible after 60 s"
        time.sleep(0.25)
    e2e_timings["smoke_reparse_changed_file_s"] = time.monotonic() - started


def test_servers_listen_on_loopback_only(airflow_server: Any, kube_emulator: Any) -> None:
    listeners = airflow_server.listening_sockets()
    assert listeners, "expected to see at least the api-server listening"
    for line in listeners:
        local_address = line.split()[3]
        assert local_address.startswith("127.0.0.1:"), line
    assert kube_emulator.url.startswith("http://127.0.0.1:")


def test_jwt_auth(airflow_server: Any) -> None:
    import requests

    token = airflow_server.get_token()
    assert token.count(".") == 2  # a JWT
    session = requests.Session()
    session.trust_env = False
    wrong = session.post(
        f"{airflow_server.base_url}/auth/token",
        json={"username": airflow_server.username, "password": "wrong"},
        timeout=30,
    )
    assert wrong.status_code == 401
    anonymous = session.get(f"{airflow_server.api_url}/dags", timeout=30)
    assert anonymous.status_code == 401
    authorised = session.get(
        f"{airflow_server.api_url}/dags", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert authorised.status_code == 200
