"""run-once's follow loop, list-pipelines' table and ui's URLs, against an in-memory stand-in of
the Airflow API (the real Airflow 3 and 2.10 run them in tests/e2e).

``ScriptedApi`` implements the same :class:`~kedro_airflow_k8s.airflow_api.AirflowApi` protocol
as the real client: mypy checks it (this file is in mypy's list) and a test compares the
signatures, so the stand-in cannot drift from the real API."""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from kedro_airflow_k8s import dag_tags, operate
from kedro_airflow_k8s.airflow_api import (
    AirflowApi,
    DagInfo,
    ImportErrorInfo,
    RestApi,
    RunInfo,
    ServerInfo,
    TaskInfo,
    Unavailable,
)
from kedro_airflow_k8s.deadline import Deadline
from kedro_airflow_k8s.errors import PluginError, RunFailed, TimedOut

Poll = tuple[str, dict[str, str | None]]


class Clock:
    """Time that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)


@dataclass
class ScriptedApi:
    """Scripted answers: each poll of a run takes the next (run state, task states) pair; a
    poll scripted as ``"down"`` fails as an unreachable Airflow does, after ``down_seconds``."""

    polls: list[Poll | str] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)
    log_error: bool = False
    dags: list[DagInfo] = field(default_factory=list)
    runs: dict[str, RunInfo] = field(default_factory=dict)
    clock: Clock = field(default_factory=Clock)
    down_seconds: float = 5.0
    host: str = "http://af"
    server: ServerInfo = field(default_factory=lambda: ServerInfo("3.3.2", "v2"))
    _current: Poll = ("queued", {})

    def bounded(
        self, deadline: Deadline | None, *, retries: int | None = None
    ) -> AbstractContextManager[None]:
        return nullcontext()

    def get_dag(self, dag_id: str) -> DagInfo | None:
        return next((dag for dag in self.dags if dag.dag_id == dag_id), None)

    def get_dag_details(self, dag_id: str) -> DagInfo | None:
        return self.get_dag(dag_id)

    def iter_dags(self, *, bundle_name: str | None = None) -> Iterator[DagInfo]:
        return iter(self.dags)

    def request_parse(self, file_token: str) -> bool:
        return True

    def latest_import_error(self) -> datetime | None:
        return None

    def import_errors(
        self, filename_contains: str | None = None, *, newer_than: datetime | None = None
    ) -> list[ImportErrorInfo]:
        return []

    def unpause(self, dag_id: str) -> None:
        pass

    def trigger(
        self, dag_id: str, conf: Mapping[str, Any] | None = None, *, run_id: str | None = None
    ) -> str:
        return run_id or "manual__1"

    def dag_run(self, dag_id: str, run_id: str) -> RunInfo:
        if self.polls:
            step = self.polls.pop(0)
            if step == "down":
                self.clock.sleep(self.down_seconds)
                error = Unavailable("cannot reach Airflow at http://af: connection refused")
                error.problem = "connection refused"
                raise error
            assert isinstance(step, tuple)
            self._current = step
        return RunInfo(dag_id, run_id, self._current[0], "manual", None, None)

    def last_run(self, dag_id: str) -> RunInfo | None:
        return self.runs.get(dag_id)

    def task_instances(self, dag_id: str, run_id: str) -> list[TaskInfo]:
        return [
            TaskInfo(task, state, 1, -1, None, None) for task, state in self._current[1].items()
        ]

    def task_log_tail(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        try_number: int,
        lines: int = 40,
        *,
        map_index: int = -1,
    ) -> str:
        if self.log_error:
            raise PluginError("Airflow refused to read logs (403 Forbidden)")
        return self.logs.get(task_id, "")


def test_the_stand_in_has_the_protocol_of_the_real_client() -> None:
    """Same methods, same parameters, as the protocol and the real client."""
    wanted = {
        name: inspect.signature(member)
        for name, member in vars(AirflowApi).items()
        if callable(member) and not name.startswith("_")
    }
    assert set(wanted) >= {"get_dag", "trigger", "dag_run", "task_log_tail", "bounded"}
    for name, signature in wanted.items():
        for implementation in (ScriptedApi, RestApi):
            found = inspect.signature(getattr(implementation, name))
            assert list(found.parameters) == list(signature.parameters), (implementation, name)
    for attribute in ("host", "server"):
        assert isinstance(getattr(AirflowApi, attribute), property)
    api: AirflowApi = ScriptedApi()  # and mypy checks the whole of it
    assert api.host == "http://af"


TRIGGER = operate.Trigger("d", "manual__1", "http://af/dags/d/runs/manual__1")


def _follow(
    api: ScriptedApi, minutes: float = 1.0, allowance: float = 300
) -> tuple[list[str], Any]:
    lines: list[str] = []
    try:
        result: Any = operate.follow_run(
            api,
            TRIGGER,
            minutes=minutes,
            echo=lines.append,
            allowance=allowance,
            clock=api.clock,
            sleep=api.clock.sleep,
        )
    except PluginError as exc:
        result = exc
    return lines, result


def test_success_prints_state_changes_once() -> None:
    api = ScriptedApi(
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
    api = ScriptedApi(
        [("failed", {"a": "failed", "b": "upstream_failed", "c": "success"})],
        logs={"a": "line 1\nValueError: boom\n"},
    )
    lines, result = _follow(api)
    assert isinstance(result, RunFailed) and result.exit_code == 1
    assert result.message == "run manual__1 of d failed; failed tasks: a"
    assert lines[-2:] == ["--- last log lines of a (try 1):", "line 1\nValueError: boom"]


def test_unreadable_log_does_not_hide_the_verdict() -> None:
    api = ScriptedApi([("failed", {"a": "failed"})], log_error=True)
    lines, result = _follow(api)
    assert isinstance(result, RunFailed)
    assert lines[-1] == "(log not available: Airflow refused to read logs (403 Forbidden))"


@pytest.mark.parametrize("state", ["queued", "running", "up_for_retry", "deferred"])
def test_non_final_states_time_out_with_their_own_exit_code(state: str) -> None:
    api = ScriptedApi([(state if state in ("queued", "running") else "running", {"a": state})])
    _, result = _follow(api, minutes=2)
    assert isinstance(result, TimedOut) and result.exit_code == 3
    assert result.message.startswith("run manual__1 of d is still ")
    assert result.message.endswith(
        "after 2 minutes; it goes on in Airflow: http://af/dags/d/runs/manual__1"
    )


def test_an_airflow_that_goes_away_and_comes_back_gives_the_same_run_s_verdict() -> None:
    api = ScriptedApi(
        [("running", {"a": "running"}), "down", "down", "down", ("success", {"a": "success"})]
    )
    lines, result = _follow(api, minutes=10, allowance=60)
    assert result == "success"
    assert lines == [
        "  a: running",
        "Airflow at http://af does not answer (connection refused) while following run "
        "manual__1 of d; trying again for up to 60 s.",
        "Airflow at http://af answers again after 21 s; following run manual__1 of d goes on.",
        "  a: success",
        "Run manual__1 of d succeeded.",
    ]


def test_an_airflow_gone_longer_than_the_time_limit_ends_the_wait() -> None:
    api = ScriptedApi([("running", {"a": "running"}), *["down"] * 20])
    lines, result = _follow(api, minutes=10, allowance=20)
    assert isinstance(result, TimedOut) and result.exit_code == 3
    assert result.message == (
        "lost Airflow at http://af while following run manual__1 of d: no answer for 21 s "
        "(last: connection refused); gave up after 20 s, the command's time limit (--timeout "
        "or KEDRO_AIRFLOW_K8S_TIMEOUT); the run goes on in Airflow: "
        "http://af/dags/d/runs/manual__1"
    )
    assert lines[-1].startswith("Airflow at http://af does not answer (connection refused)")


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
    assert operate.run_url("http://af", "d", "manual__2026+00:00", "v1") == (
        "http://af/dags/d/grid?dag_run_id=manual__2026%2B00%3A00"
    )


def test_build_tags_are_unique_and_valid() -> None:
    tags = {operate.new_build_tag() for _ in range(50)}
    assert len(tags) == 50
    assert all(t.startswith("kedro_airflow_k8s_build:") and len(t) <= 100 for t in tags)


def _dag(dag_id: str, tags: list[str], paused: bool = True) -> DagInfo:
    return DagInfo(dag_id, paused, tuple(tags), "t", "dags-folder", "f", "f", False, False)


def test_pipeline_rows_read_the_tags_render_writes() -> None:
    written = dag_tags.generated_tags(
        version="0.9.0", commit="0123456789abcdef", experiment="e", pipeline="p", env="prod"
    )
    api = ScriptedApi(
        dags=[
            _dag("b", [*written, "other"], paused=False),
            _dag("a", ["generated_with_kedro_airflow_k8s:0.1"]),
            _dag("not-ours", ["kedro_pipeline:x"]),
        ],
        runs={"b": RunInfo("b", "r", "success", "manual", None, None)},
    )
    assert operate.pipeline_rows(api) == [
        operate.PipelineRow("a", "-", "-", True, "-", "-"),
        operate.PipelineRow("b", "p", "prod", False, "success", "0123456789ab"),
    ]


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
