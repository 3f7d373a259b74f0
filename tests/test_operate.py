"""run-once's follow loop, list-pipelines' table and ui's URL, against an in-memory stand-in of
the Airflow API (the real Airflow 3 runs them in tests/e2e)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from kedro_airflow_k8s import operate
from kedro_airflow_k8s.errors import PluginError, RunFailed, TimedOut


@dataclass
class Task:
    task_id: str
    state: str | None
    try_number: int = 1


@dataclass
class Run:
    state: str


@dataclass
class StandInApi:
    """Scripted answers: each poll pops the next (run state, task states) pair."""

    polls: list[tuple[str, dict[str, str | None]]]
    logs: dict[str, str] = field(default_factory=dict)
    log_error: bool = False

    def dag_run(self, dag_id: str, run_id: str) -> Run:
        return Run(self.polls[0][0])

    def task_instances(self, dag_id: str, run_id: str) -> list[Task]:
        _, tasks = self.polls.pop(0) if len(self.polls) > 1 else self.polls[0]
        return [Task(t, s) for t, s in tasks.items()]

    def task_log_tail(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        if self.log_error:
            raise PluginError("Airflow refused to read logs (403 Forbidden)")
        return self.logs.get(task_id, "")


TRIGGER = operate.Trigger("d", "manual__1", "http://af/dags/d/runs/manual__1")


def _follow(api: StandInApi, minutes: float = 1.0) -> tuple[list[str], Any]:
    lines: list[str] = []
    clock = iter(range(0, 100000, 30))
    try:
        result: Any = operate.follow_run(
            api,
            TRIGGER,
            minutes=minutes,
            echo=lines.append,
            clock=lambda: next(clock),
            sleep=lambda s: None,
        )
    except PluginError as exc:
        result = exc
    return lines, result


def test_success_prints_state_changes_once() -> None:
    api = StandInApi(
        [
            ("queued", {"a": None, "b": None}),
            ("running", {"a": "running", "b": None}),
            ("running", {"a": "running", "b": None}),
            ("running", {"a": "success", "b": "up_for_retry"}),
            ("success", {"a": "success", "b": "success"}),
        ]
    )
    lines, result = _follow(api, minutes=10)
    assert result == "success"
    assert lines == [
        "  a: running",
        "  a: success",
        "  b: up_for_retry",
        "  b: success",
        "Run manual__1 of d succeeded.",
    ]


def test_failure_names_failed_tasks_with_log_tails_and_exits_1() -> None:
    api = StandInApi(
        [("failed", {"a": "failed", "b": "upstream_failed", "c": "success"})],
        logs={"a": "line 1\nValueError: boom\n"},
    )
    lines, result = _follow(api)
    assert isinstance(result, RunFailed) and result.exit_code == 1
    assert result.message == "run manual__1 of d failed; failed tasks: a"
    assert lines[-2:] == ["--- last log lines of a (try 1):", "line 1\nValueError: boom"]


def test_unreadable_log_does_not_hide_the_verdict() -> None:
    api = StandInApi([("failed", {"a": "failed"})], log_error=True)
    lines, result = _follow(api)
    assert isinstance(result, RunFailed)
    assert lines[-1] == "(log not available: Airflow refused to read logs (403 Forbidden))"


@pytest.mark.parametrize("state", ["queued", "running", "up_for_retry", "deferred"])
def test_non_final_states_time_out_with_their_own_exit_code(state: str) -> None:
    api = StandInApi([(state if state in ("queued", "running") else "running", {"a": state})])
    _, result = _follow(api, minutes=2)
    assert isinstance(result, TimedOut) and result.exit_code == 3
    assert result.message.startswith("run manual__1 of d is still ")
    assert result.message.endswith(
        "after 2 minutes; it goes on in Airflow: http://af/dags/d/runs/manual__1"
    )


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ((), {}),
        (("a=1",), {"a": "1"}),
        (("q=x,y:z 'w'=v",), {"q": "x,y:z 'w'=v"}),
        (("a=1", "a=2"), {"a": "2"}),
        (("empty=",), {"empty": ""}),
    ],
)
def test_params(pairs: tuple[str, ...], expected: dict[str, str]) -> None:
    assert operate.parse_params(pairs) == expected


@pytest.mark.parametrize("bad", ["novalue", "=1", " =x"])
def test_bad_params(bad: str) -> None:
    with pytest.raises(PluginError) as error:
        operate.parse_params((bad,))
    assert error.value.message == f"--param {bad!r}: expected KEY=VALUE"


def test_urls() -> None:
    assert operate.dag_url("http://af") == "http://af/"
    assert operate.dag_url("http://af", "a.b c") == "http://af/dags/a.b%20c"
    assert operate.run_url("http://af", "d", "manual__2026+00:00") == (
        "http://af/dags/d/runs/manual__2026%2B00%3A00"
    )


def test_build_tags_are_unique_and_valid() -> None:
    tags = {operate.new_build_tag() for _ in range(50)}
    assert len(tags) == 50
    assert all(t.startswith("kedro_airflow_k8s_build:") and len(t) <= 100 for t in tags)


def test_pipeline_table() -> None:
    rows = [
        operate.PipelineRow("a.__default__.local", "__default__", "local", True, "-", "abc"),
        operate.PipelineRow("b", "p", "prod", False, "success", "0123456789ab"),
    ]
    assert operate.format_rows(rows).splitlines() == [
        "DAG ID               PIPELINE     ENV    PAUSED  LAST RUN  COMMIT",
        "-------------------  -----------  -----  ------  --------  ------------",
        "a.__default__.local  __default__  local  yes     -         abc",
        "b                    p            prod   no      success   0123456789ab",
    ]
