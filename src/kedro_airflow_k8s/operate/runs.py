"""run-once's Airflow side: have this build parsed, start one run, follow it to its verdict."""

from __future__ import annotations

import time
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from kedro_airflow_k8s.airflow_api import AirflowApi, TaskInfo
from kedro_airflow_k8s.deadline import DEFAULT_TIMEOUT, Deadline
from kedro_airflow_k8s.errors import PluginError, RunFailed, TimedOut, UsageProblem
from kedro_airflow_k8s.operate.parse_wait import wait_for_dag
from kedro_airflow_k8s.operate.patience import Patience, WaitOver

FINAL_STATES = frozenset({"success", "failed"})


def parse_params(pairs: tuple[str, ...]) -> dict[str, str]:
    """``k=v`` pairs of ``--param`` as a dict (the value may hold ``=``, commas, spaces...)."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageProblem(f"--param {pair!r}: expected KEY=VALUE")
        params[key.strip()] = value
    return params


def dag_url(host: str, dag_id: str | None = None) -> str:
    """The Airflow UI page of a DAG (or the UI's home); the same path on Airflow 2 and 3."""
    return f"{host}/dags/{quote(dag_id, safe='')}" if dag_id else f"{host}/"


def run_url(host: str, dag_id: str, run_id: str, api: str = "v2") -> str:
    """The UI page of a run: Airflow 3's run page, or Airflow 2's grid showing the run."""
    if api == "v1":
        return f"{dag_url(host, dag_id)}/grid?{urlencode({'dag_run_id': run_id})}"
    return f"{dag_url(host, dag_id)}/runs/{quote(run_id, safe='')}"


def open_ui(host: str, dag_id: str | None, echo: Callable[[str], None]) -> str:
    url = dag_url(host, dag_id)
    try:
        opened = webbrowser.open(url)
    except webbrowser.Error:
        opened = False
    echo(f"Opened {url}" if opened else f"No browser could be opened; the Airflow UI is at {url}")
    return url


@dataclass(frozen=True)
class Trigger:
    """A DAG run started by run-once."""

    dag_id: str
    run_id: str
    url: str


def start_run(
    api: AirflowApi,
    *,
    dag_id: str,
    build_tag: str,
    file_name: str,
    conf: Mapping[str, Any],
    parse_timeout: float,
    echo: Callable[[str], None],
    deadline: Deadline | None = None,
) -> Trigger:
    """Make sure Airflow serves this build of the DAG, unpause it and trigger one run.

    The parse wait has its own limit (``parse_timeout``); ``deadline`` (the command's) bounds
    the calls before and after it, and is how long Airflow may stay unreachable during it."""
    echo(f"Waiting for Airflow to parse {file_name} ({build_tag})...")
    started = time.monotonic()
    allowance = deadline.seconds if deadline is not None else DEFAULT_TIMEOUT
    wait_for_dag(api, dag_id, build_tag, file_name, parse_timeout, echo, allowance=allowance)
    after = _excluding(deadline, time.monotonic() - started)
    with api.bounded(after):
        api.unpause(dag_id)
        run_id = api.trigger(dag_id, dict(conf))
    url = run_url(api.host, dag_id, run_id, api.server.api)
    echo(f"Triggered {dag_id} run {run_id}: {url}")
    return Trigger(dag_id, run_id, url)


def _excluding(deadline: Deadline | None, waited: float) -> Deadline | None:
    """The command's deadline with a wait of ``waited`` s not counted."""
    if deadline is None:
        return None
    return Deadline(deadline.seconds, clock=deadline.clock, start=deadline.start + waited)


def follow_run(
    api: AirflowApi,
    trigger: Trigger,
    *,
    minutes: float,
    echo: Callable[[str], None],
    allowance: float = DEFAULT_TIMEOUT,
    poll_seconds: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Show task states as they change until the run ends; raise unless it succeeded.

    Airflow may go away meanwhile for up to ``allowance`` s (the command's time limit): the
    wait goes on, and the verdict is that of the same run once Airflow answers again."""
    limit = Deadline(minutes * 60, clock=clock)
    doing = f"following run {trigger.run_id} of {trigger.dag_id}"
    patience = Patience(api, allowance=allowance, limit=limit, doing=doing, echo=echo, clock=clock)
    consequence = f"; the run goes on in Airflow: {trigger.url}"
    seen: dict[str, str] = {}
    state, tasks = "queued", list[TaskInfo]()
    try:
        while True:
            answer = patience.poll(lambda: _poll(api, trigger), consequence)
            if answer is not None:
                state, tasks = answer
                _tell(tasks, seen, echo)
                if state in FINAL_STATES:
                    break
                if limit.expired():
                    raise WaitOver
            sleep(min(poll_seconds, limit.remaining()))
    except WaitOver as over:
        raise TimedOut(
            f"run {trigger.run_id} of {trigger.dag_id} is still {state} after {minutes:g} "
            f"minutes; it goes on in Airflow: {trigger.url}"
        ) from over
    if state == "success":
        echo(f"Run {trigger.run_id} of {trigger.dag_id} succeeded.")
        return state
    with api.bounded(Deadline(allowance, clock=clock)):  # the logs get a time limit of their own
        raise _failure(api, trigger, tasks, echo)


def _poll(api: AirflowApi, trigger: Trigger) -> tuple[str, list[TaskInfo]]:
    state = api.dag_run(trigger.dag_id, trigger.run_id).state or "queued"
    return state, api.task_instances(trigger.dag_id, trigger.run_id)


def _tell(tasks: list[TaskInfo], seen: dict[str, str], echo: Callable[[str], None]) -> None:
    for task in tasks:
        now = task.state
        if now and now != "none" and seen.get(task.task_id) != now:  # not yet scheduled: quiet
            seen[task.task_id] = now
            echo(f"  {task.task_id}: {now}")


def _failure(
    api: AirflowApi, trigger: Trigger, tasks: list[TaskInfo], echo: Callable[[str], None]
) -> RunFailed:
    """Show the log tails of the failed tasks; the error naming them."""
    failed = [t for t in tasks if t.state == "failed"]
    for task in failed:
        try:
            tail = api.task_log_tail(trigger.dag_id, trigger.run_id, task.task_id, task.try_number)
        except PluginError as exc:  # the verdict matters more than the log
            tail = f"(log not available: {exc.message})"
        echo(f"--- last log lines of {task.task_id} (try {task.try_number}):")
        echo(tail.rstrip("\n") or "(no log)")
    names = ", ".join(t.task_id for t in failed) or "(no task failed; the run was marked failed)"
    return RunFailed(f"run {trigger.run_id} of {trigger.dag_id} failed; failed tasks: {names}")
