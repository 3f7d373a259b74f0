"""Storage that accepts the connection and never answers: every upload ends at its time limit.

The stalling endpoint is a socket server on loopback that accepts connections, reads nothing
and sends nothing. s3fs is pointed at it as an S3 endpoint, gcsfs as a GCS endpoint. Every
upload runs under a bound of its own (a thread joined with a timeout, a subprocess timeout), so
a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kedro_airflow_k8s.deadline import TIMEOUT_ENV, Deadline
from kedro_airflow_k8s.errors import EXIT_TIMEOUT, RemoteError, TimedOut
from kedro_airflow_k8s.ship import upload_text
from tests.helpers import copy_example, kedro

SECRET = "kak8s-stall-secret-0123456789"


class Stalling:
    """Accepts connections on 127.0.0.1 and holds them open without a byte of answer."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.connections: list[socket.socket] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections.append(connection)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(10)
        for connection in self.connections:
            connection.close()
        self.server.close()


@pytest.fixture
def stalling() -> Iterator[Stalling]:
    server = Stalling()
    yield server
    server.stop()


def bounded(call: Callable[[], Any], seconds: float) -> BaseException | None:
    """Run ``call`` in a thread for at most ``seconds``; what it raised (None if it returned)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
        except BaseException as error:
            outcome.append(error)
        else:
            outcome.append(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"the upload was still waiting after {seconds} s")
    return outcome[0]


def test_s3_endpoint_that_never_answers_ends_at_the_deadline(
    aws_env: None, stalling: Stalling
) -> None:
    started = time.monotonic()
    raised = bounded(
        lambda: upload_text(
            "s3://stalled-bucket/dags",
            "d.py",
            "x = 1\n",
            storage_options={"endpoint_url": stalling.url},
            deadline=Deadline(2),
        ),
        60,
    )
    assert isinstance(raised, TimedOut), raised
    assert raised.message == (
        "writing s3://stalled-bucket/dags/d.py: gave up after 2 s, the command's time limit "
        f"(--timeout or {TIMEOUT_ENV})"
    )
    assert time.monotonic() - started >= 2  # it did wait for its time limit, not less
    assert stalling.connections  # the endpoint took the connection


def test_gcs_endpoint_that_never_answers_ends_at_the_deadline(
    gcs_env: None, stalling: Stalling, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", stalling.url)
    raised = bounded(
        lambda: upload_text("gs://stalled-bucket/dags", "d.py", "x", deadline=Deadline(2)), 60
    )
    assert isinstance(raised, TimedOut), raised
    assert raised.message.startswith("writing gs://stalled-bucket/dags/d.py: gave up after 2 s")
    assert stalling.connections


def test_a_request_timeout_before_the_deadline_is_a_storage_error(
    gcs_env: None, stalling: Stalling, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A read timeout of the request (set through storage_options, which win over the
    # plugin's defaults) is the storage's failure, not the command's time limit.
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", stalling.url)
    raised = bounded(
        lambda: upload_text(
            "gs://stalled-bucket/dags",
            "d.py",
            "x",
            storage_options={"requests_timeout": 0.5},
            deadline=Deadline(120),
        ),
        60,
    )
    assert isinstance(raised, RemoteError) and not isinstance(raised, TimedOut), raised
    assert raised.message == (
        "cannot write gs://stalled-bucket/dags/d.py: the storage did not answer within a "
        "request's time limit"
    )


@pytest.mark.slow
@pytest.mark.parametrize("how", ["option", "environment"])
def test_upload_pipeline_to_a_stalled_s3_is_one_line_exit_3_within_the_limit(
    tmp_path: Path, aws_env: None, stalling: Stalling, how: str
) -> None:
    project = copy_example(tmp_path, git=False)
    env = {"AWS_ENDPOINT_URL": stalling.url, "AWS_SECRET_ACCESS_KEY": SECRET}
    limit = ["--timeout", "3"] if how == "option" else []
    if how == "environment":
        env[TIMEOUT_ENV] = "3"
    done = kedro(
        project, "airflow-k8s", *limit, "upload-pipeline", "-o", "s3://stalled/dags", env=env
    )
    out = done.stdout + done.stderr
    assert done.returncode == EXIT_TIMEOUT, out[-2000:]
    errors = [line for line in out.splitlines() if line.startswith("Error: ")]
    assert errors == [
        "Error: writing s3://stalled/dags/spaceflights___default___local.py: gave up after 3 s, "
        f"the command's time limit (--timeout or {TIMEOUT_ENV})"
    ]
    assert "Traceback" not in out
    assert SECRET not in out
    assert stalling.connections
