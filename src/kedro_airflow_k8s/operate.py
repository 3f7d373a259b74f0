"""Operate: drive a shipped DAG through Airflow's REST API (trigger, follow, list, open).

Everything here talks to Airflow through :mod:`kedro_airflow_k8s.airflow_api` and prints through
the ``echo`` callable it is given, so the CLI stays a thin shell and tests can capture output.
"""

from __future__ import annotations

import time
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from kedro_airflow_k8s import dag_tags
from kedro_airflow_k8s.dag_tags import new_build_tag as new_build_tag
from kedro_airflow_k8s.errors import PluginError, RunFailed, TimedOut

FINAL_STATES = frozenset({"success", "failed"})
FAILED_TASK_STATES = frozenset({"failed", "upstream_failed"})


@dataclass(frozen=True)
class PipelineRow:
    dag_id: str
    pipeline: str
    env: str
    paused: bool
    last_run: str
    commit: str


def parse_params(pairs: tuple[str, ...]) -> dict[str, str]:
    """``k=v`` pairs of ``--param`` as a dict (the value may hold ``=``, commas, spaces...)."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise PluginError(f"--param {pair!r}: expected KEY=VALUE")
        params[key.strip()] = value
    return params


def dag_url(host: str, dag_id: str | None = None) -> str:
    """The Airflow 3 UI page of a DAG (or the UI's home)."""
    return f"{host}/dags/{quote(dag_id, safe='')}" if dag_id else f"{host}/"


def run_url(host: str, dag_id: str, run_id: str) -> str:
    return f"{dag_url(host, dag_id)}/runs/{quote(run_id, safe='')}"


def open_ui(host: str, dag_id: str | None, echo: Callable[[str], None]) -> str:
    url = dag_url(host, dag_id)
    try:
        opened = webbrowser.open(url)
    except webbrowser.Error:
        opened = False
    echo(f"Opened {url}" if opened else f"No browser could be opened; the Airflow UI is at {url}")
    return url


def pipeline_rows(api: Any) -> list[PipelineRow]:
    """Every DAG made by the plugin, with the facts its tags and last run give."""
    rows = []
    for dag in api.list_dags(tag_prefix=f"{dag_tags.GENERATED}:"):
        origin = dag_tags.origin(dag.tags)
        if origin is None:
            continue
        last = api.last_run(dag.dag_id)
        rows.append(
            PipelineRow(
                dag_id=dag.dag_id,
                pipeline=origin.pipeline or "-",
                env=origin.env or "-",
                paused=bool(dag.is_paused),
                last_run=(last.state or "-") if last is not None else "-",
                commit=(origin.commit or "-")[:12],
            )
        )
    return sorted(rows, key=lambda r: r.dag_id)


def format_rows(rows: list[PipelineRow]) -> str:
    header = ("DAG ID", "PIPELINE", "ENV", "PAUSED", "LAST RUN", "COMMIT")
    cells = [header] + [
        (r.dag_id, r.pipeline, r.env, "yes" if r.paused else "no", r.last_run, r.commit)
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@dataclass(frozen=True)
class Trigger:
    """A DAG run started by run-once."""

    dag_id: str
    run_id: str
    url: str


def start_run(
    api: Any,
    *,
    dag_id: str,
    build_tag: str,
    file_name: str,
    conf: Mapping[str, Any],
    parse_timeout: float,
    echo: Callable[[str], None],
) -> Trigger:
    """Make sure Airflow serves this build of the DAG, unpause it and trigger one run."""
    echo(f"Waiting for Airflow to parse {file_name} ({build_tag})...")
    api.wait_for_dag(dag_id, build_tag, file_name, parse_timeout, on_wait=echo)
    api.unpause(dag_id)
    run_id = api.trigger(dag_id, dict(conf))
    url = run_url(api.settings.host, dag_id, run_id)
    echo(f"Triggered {dag_id} run {run_id}: {url}")
    return Trigger(dag_id, run_id, url)


def follow_run(
    api: Any,
    trigger: Trigger,
    *,
    minutes: float,
    echo: Callable[[str], None],
    poll_seconds: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Show task states as they change until the run ends; raise unless it succeeded."""
    deadline = clock() + minutes * 60
    seen: dict[str, str] = {}
    state = "queued"
    while True:
        state = api.dag_run(trigger.dag_id, trigger.run_id).state or "queued"
        tasks = api.task_instances(trigger.dag_id, trigger.run_id)
        for task in tasks:
            now = task.state
            if now and now != "none" and seen.get(task.task_id) != now:  # not yet scheduled: quiet
                seen[task.task_id] = now
                echo(f"  {task.task_id}: {now}")
        if state in FINAL_STATES:
            break
        if clock() >= deadline:
            raise TimedOut(
                f"run {trigger.run_id} of {trigger.dag_id} is still {state} after {minutes:g} "
                f"minutes; it goes on in Airflow: {trigger.url}"
            )
        sleep(poll_seconds)
    if state == "success":
        echo(f"Run {trigger.run_id} of {trigger.dag_id} succeeded.")
        return state
    failed = [t for t in tasks if t.state == "failed"]
    for task in failed:
        try:
            tail = api.task_log_tail(trigger.dag_id, trigger.run_id, task.task_id, task.try_number)
        except PluginError as exc:  # the verdict matters more than the log
            tail = f"(log not available: {exc.message})"
        echo(f"--- last log lines of {task.task_id} (try {task.try_number}):")
        echo(tail.rstrip("\n") or "(no log)")
    names = ", ".join(t.task_id for t in failed) or "(no task failed; the run was marked failed)"
    raise RunFailed(f"run {trigger.run_id} of {trigger.dag_id} failed; failed tasks: {names}")
