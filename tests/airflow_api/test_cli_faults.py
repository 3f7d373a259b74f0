"""Fault injection through the commands a user runs: list-pipelines and run-once against the
FaultyAirflowStandIn (a stand-in, not Airflow: see its module) on loopback.

Each case runs the real command (in this process, through click) within a hard bound, and
checks its exit code, its one-line message, that no secret shows in anything it printed or
logged, and that it left nothing behind: no file in the DAG folder but whole DAG files, no
connection still open, no thread still running.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from kedro_airflow_k8s.errors import EXIT_REMOTE, EXIT_TIMEOUT
from tests.helpers import REPO, copy_example, dag_spec

from .fake_server import FaultyAirflowStandIn

PASSWORD = "cli-Secret-Password-5f1e9a"
LIMIT = "the command's time limit (--timeout or KEDRO_AIRFLOW_K8S_TIMEOUT)"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_example(tmp_path_factory.mktemp("faults"), git=False)


@pytest.fixture
def stand_in() -> Iterator[FaultyAirflowStandIn]:
    server = FaultyAirflowStandIn(password=PASSWORD).start()
    server.add_dag("seed", fileloc="seed.py")
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str
    logs: str

    @property
    def error(self) -> str:
        lines = [line for line in self.stderr.splitlines() if line.startswith("Error: ")]
        assert len(lines) == 1, self.stderr[-2000:]
        assert "Traceback" not in self.stdout + self.stderr
        return lines[0].removeprefix("Error: ")


def _connections_to(port: int) -> set[str]:
    """The TCP connections of this process whose far end is ``port`` on loopback (the client
    side of a connection to Airflow; the stand-in's own sides have it as their near end)."""
    mine = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            mine.add(target[len("socket:[") : -1])
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote, state, inode = fields[2], fields[3], fields[9]
        if int(remote.split(":")[1], 16) == port and state == "01" and inode in mine:
            found.add(inode)
    return found


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.getMessage()} {record.args!r} {record.exc_text}")


@contextlib.contextmanager
def _debug_logs(*names: str) -> Iterator[_Records]:
    """Every record of these loggers at DEBUG (Kedro sets up the root logger for itself)."""
    records = _Records()
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.addHandler(records)
    try:
        yield records
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(records)
            logger.setLevel(level)


@pytest.fixture
def run(project: Path, tmp_path: Path) -> Callable[..., Outcome]:
    """``run(host, *args, bound=...)``: the command with kedro-airflow-k8s.yaml pointing at ``host``
    and the DAG folder in tmp_path/dags; fails if it does not end within ``bound`` seconds, or
    leaves a connection or a thread behind."""
    from kedro_airflow_k8s.cli import airflow_k8s

    dags = tmp_path / "dags"
    dags.mkdir()

    def invoke(host: str, *args: str, bound: float = 30) -> Outcome:
        conf = project / "conf" / "faults"
        conf.mkdir(exist_ok=True)
        (conf / "kedro-airflow-k8s.yaml").write_text(f"host: {host}\noutput: {dags}\n")
        env = {
            "AIRFLOW_USERNAME": "admin",
            "AIRFLOW_PASSWORD": PASSWORD,
            "KEDRO_LOGGING_CONFIG": str(REPO / "scripts" / "quiet-logging.yml"),
        }
        port = int(host.rsplit(":", 1)[1])
        threads, connections = set(threading.enumerate()), _connections_to(port)
        result: list[Any] = []

        def command() -> None:
            result.append(
                CliRunner().invoke(
                    airflow_k8s,
                    ["-e", "faults", *args],
                    obj=SimpleNamespace(project_path=project),
                    env=env,
                )
            )

        with _debug_logs("kedro_airflow_k8s", "urllib3") as records:
            worker = threading.Thread(target=command, daemon=True)
            worker.start()
            worker.join(bound)
            assert not worker.is_alive(), f"the command did not end within {bound} s"
        (done,) = result
        outcome = Outcome(done.exit_code, done.stdout, done.stderr, "\n".join(records.lines))
        assert records.lines  # the logs were seen
        everything = outcome.stdout + outcome.stderr + outcome.logs
        assert PASSWORD not in everything
        assert "Bearer ey" not in everything and "Basic " not in everything
        started = [t for t in threading.enumerate() if t not in threads and not t.daemon]
        assert started == [], "the command left a thread running"
        assert _connections_to(port) <= connections, "the command left a connection open"
        return outcome

    return invoke


def _dag_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- list-pipelines ---


def test_refused(run: Callable[..., Outcome], closed_port_url: str) -> None:
    outcome = run(closed_port_url, "--timeout", "2", "list-pipelines", bound=15)
    assert outcome.exit_code == EXIT_TIMEOUT
    assert outcome.error == (
        f"cannot reach Airflow at {closed_port_url} to read the Airflow version: connection "
        f"refused (3 attempts); gave up after 2 s, {LIMIT}"
    )


def test_5xx(run: Callable[..., Outcome], stand_in: FaultyAirflowStandIn) -> None:
    stand_in.fail("^/api/v2/dags$", 503, times=99, headers={"Retry-After": "0"})
    outcome = run(stand_in.url, "list-pipelines", bound=20)
    assert outcome.exit_code == EXIT_REMOTE
    assert outcome.error == (
        f"Airflow at {stand_in.url} failed to list DAGs: 503 Service Unavailable: scripted "
        "(6 attempts)"
    )


def test_401(run: Callable[..., Outcome], stand_in: FaultyAirflowStandIn) -> None:
    stand_in.password = "another-password"
    outcome = run(stand_in.url, "list-pipelines", bound=20)
    assert outcome.exit_code == EXIT_REMOTE
    assert outcome.error == (
        f"Airflow at {stand_in.url} rejected user 'admin' (401 Unauthorized): wrong user name "
        "or password; check AIRFLOW_USERNAME and AIRFLOW_PASSWORD"
    )


def test_hang(run: Callable[..., Outcome], stand_in: FaultyAirflowStandIn) -> None:
    stand_in.hang("^/api/v2/dags$", seconds=60, times=99)
    outcome = run(stand_in.url, "--timeout", "2", "list-pipelines", bound=15)
    assert outcome.exit_code == EXIT_TIMEOUT
    assert outcome.error.startswith(
        f"cannot reach Airflow at {stand_in.url} to list DAGs: no answer within "
    )
    assert outcome.error.endswith(f"(1 attempt); gave up after 2 s, {LIMIT}")
    assert re.search(r"no answer within \d+(\.\d)? s ", outcome.error), outcome.error


def test_blackhole(run: Callable[..., Outcome]) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname(), timeout=2)  # the queue is full
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        outcome = run(url, "--timeout", "2", "list-pipelines", bound=15)
    finally:
        filler.close()
        listener.close()
    assert outcome.exit_code == EXIT_TIMEOUT
    assert outcome.error.startswith(
        f"cannot reach Airflow at {url} to read the Airflow version: no connection within "
    )
    assert outcome.error.endswith(f"; gave up after 2 s, {LIMIT}")


def test_non_json_200(run: Callable[..., Outcome], stand_in: FaultyAirflowStandIn) -> None:
    stand_in.fail("^/api/v2/dags$", 200, times=99, body=b"<html>Please sign in</html>")
    outcome = run(stand_in.url, "list-pipelines", bound=20)
    assert outcome.exit_code == EXIT_REMOTE
    assert outcome.error == (
        f"Airflow at {stand_in.url} answered GET /api/v2/dags with something that is not JSON "
        f"(text/html, 27 bytes): is {stand_in.url} the Airflow URL, with no login page or proxy "
        "in between?"
    )
    assert outcome.stdout == ""  # no empty table


def test_wrong_shape_json(run: Callable[..., Outcome], stand_in: FaultyAirflowStandIn) -> None:
    stand_in.fail("^/api/v2/dags$", 200, times=99, body={"items": [], "total": 0})
    outcome = run(stand_in.url, "list-pipelines", bound=20)
    assert outcome.exit_code == EXIT_REMOTE
    assert outcome.error == (
        f"Airflow at {stand_in.url} answered GET /api/v2/dags with JSON of an unexpected shape "
        "(dags: field required): is it the REST API of Airflow 2.10 or 3.x?"
    )


def test_endless_paging(run: Callable[..., Outcome], stand_in: FaultyAirflowStandIn) -> None:
    page = {
        "dags": [stand_in.add_dag(f"d{i:03d}").v2() for i in range(100)],
        "total_entries": 10**9,
    }
    stand_in.fail("^/api/v2/dags$", 200, times=10**6, body=page)
    outcome = run(stand_in.url, "list-pipelines", bound=20)
    assert outcome.exit_code == EXIT_REMOTE
    assert outcome.error == (
        f"Airflow at {stand_in.url} answered GET /api/v2/dags at offset 100 with items it had "
        "already sent: its paging repeats itself, so listing stopped (try again; if it "
        "persists, check the API server or the proxy in front of it)"
    )


def test_huge_retry_after(run: Callable[..., Outcome], stand_in: FaultyAirflowStandIn) -> None:
    stand_in.fail("^/api/v2/dags$", 429, times=99, headers={"Retry-After": "86400"})
    outcome = run(stand_in.url, "--timeout", "60", "list-pipelines", bound=15)
    assert outcome.exit_code == EXIT_TIMEOUT
    assert outcome.error.startswith(
        f"Airflow at {stand_in.url} answered 429 Too Many Requests to list DAGs and asks to "
        "wait before trying again (Retry-After: 86400): longer than the "
    )
    assert outcome.error.endswith(f"s left of {LIMIT}")


def test_list_pipelines_of_a_healthy_airflow(
    run: Callable[..., Outcome], stand_in: FaultyAirflowStandIn
) -> None:
    """The same set-up, nothing injected: the table (so the cases above fail for their fault)."""
    stand_in.add_dag("ours", ["generated_with_kedro_airflow_k8s:1.0", "kedro_env:faults"])
    outcome = run(stand_in.url, "list-pipelines", bound=20)
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.stdout.splitlines()[2].split() == ["ours", "-", "faults", "yes", "-", "-"]


# --- run-once ---


def _parse_on_request(stand_in: FaultyAirflowStandIn, dags: Path) -> None:
    """A parse request makes the stand-in serve the DAG files of the folder, with their tags."""

    def parse(token: str) -> None:
        for path in dags.glob("*.py"):
            spec = dag_spec(path)["dag"]
            stand_in.add_dag(spec["dag_id"], spec["tags"], fileloc=path.name)

    stand_in.on_parse = parse


def _finish_runs(stand_in: FaultyAirflowStandIn, state: str, after: Callable[[], bool]) -> None:
    """In the background: once ``after()`` holds, every run ends in ``state``."""

    def finish() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not after():
            time.sleep(0.05)
        for runs in stand_in.runs.values():
            for one in runs:
                one.state = state
                stand_in.add_task(one.dag_id, one.run_id, "node", state)

    threading.Thread(target=finish, daemon=True).start()


def test_run_once_ships_nothing_when_airflow_cannot_be_reached(
    run: Callable[..., Outcome], closed_port_url: str, tmp_path: Path
) -> None:
    outcome = run(closed_port_url, "--timeout", "2", "run-once", bound=30)
    assert outcome.exit_code == EXIT_TIMEOUT
    assert outcome.error.startswith(f"cannot reach Airflow at {closed_port_url}")
    assert _dag_files(tmp_path / "dags") == []


def test_run_once_survives_an_api_restart_during_the_wait(
    run: Callable[..., Outcome], stand_in: FaultyAirflowStandIn, tmp_path: Path
) -> None:
    """The stand-in goes away after the trigger and comes back having forgotten its tokens:
    the command logs in again and reports the verdict of the same run."""
    _parse_on_request(stand_in, tmp_path / "dags")

    def restart_after_trigger() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not stand_in.runs.get(
            "spaceflights.__default__.faults"
        ):
            time.sleep(0.05)
        time.sleep(1)  # a poll or two first
        stand_in.stop()
        time.sleep(3)
        stand_in.restart()

    restarter = threading.Thread(target=restart_after_trigger, daemon=True)
    restarter.start()
    _finish_runs(stand_in, "success", lambda: not restarter.is_alive())
    outcome = run(stand_in.url, "--timeout", "30", "run-once", "-w", "2", bound=60)
    assert outcome.exit_code == 0, outcome.stdout[-2000:] + outcome.stderr[-2000:]
    (run_,) = stand_in.runs["spaceflights.__default__.faults"]
    assert f"Run {run_.run_id} of spaceflights.__default__.faults succeeded." in outcome.stdout
    assert f"Airflow at {stand_in.url} does not answer (" in outcome.stdout
    assert f"Airflow at {stand_in.url} answers again after " in outcome.stdout
    assert len(stand_in.calls("POST", "^/auth/token$")) == 2  # logged in again
    assert _dag_files(tmp_path / "dags") == ["spaceflights___default___faults.py"]


def test_run_once_says_when_airflow_is_gone_longer_than_the_time_limit(
    run: Callable[..., Outcome], stand_in: FaultyAirflowStandIn, tmp_path: Path
) -> None:
    _parse_on_request(stand_in, tmp_path / "dags")

    def stop_after_trigger() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not stand_in.runs.get(
            "spaceflights.__default__.faults"
        ):
            time.sleep(0.05)
        stand_in.stop()

    threading.Thread(target=stop_after_trigger, daemon=True).start()
    outcome = run(stand_in.url, "--timeout", "3", "run-once", "-w", "5", bound=60)
    assert outcome.exit_code == EXIT_TIMEOUT
    (run_,) = stand_in.runs["spaceflights.__default__.faults"]
    assert outcome.error.startswith(
        f"lost Airflow at {stand_in.url} while following run {run_.run_id} of "
        "spaceflights.__default__.faults: no answer for "
    )
    assert outcome.error.endswith(
        f"gave up after 3 s, {LIMIT}; the run goes on in Airflow: "
        f"{stand_in.url}/dags/spaceflights.__default__.faults/runs/"
        + run_.run_id.replace("+", "%2B").replace(":", "%3A")
    )
    assert _dag_files(tmp_path / "dags") == ["spaceflights___default___faults.py"]


def test_run_once_reports_an_import_error_of_its_dag(
    run: Callable[..., Outcome], stand_in: FaultyAirflowStandIn, tmp_path: Path
) -> None:
    trace = f"Traceback...\nValueError: broken (env AIRFLOW_PASSWORD={PASSWORD})"
    stand_in.add_import_error("spaceflights___default___faults.py", trace, pending=True)
    outcome = run(stand_in.url, "run-once", bound=60)
    assert outcome.exit_code == EXIT_REMOTE
    assert outcome.error == (
        f"Airflow at {stand_in.url} cannot import spaceflights___default___faults.py: "
        "ValueError: broken (env AIRFLOW_PASSWORD=***) (full trace: import errors in the "
        "Airflow UI)"
    )
