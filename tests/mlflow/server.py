"""A real MLflow tracking server on loopback, for the MLflow tests (unit and end-to-end).

``mlflow server`` from this virtualenv with a SQLite backend store and proxied artifacts, both in a
temporary folder, bound to 127.0.0.1 on a free port; its own process group, so stopping it also
stops the uvicorn worker it starts. The job runner (and its workers) is turned off: not needed,
~300 MB less. Starting takes ~10 s on 2 cores.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

MLFLOW_HINT = "MLflow test extras missing: pip install -r requirements/mlflow.txt"


def require_mlflow(*modules: str) -> None:
    """Fail (never skip) when mlflow or kedro-mlflow is not installed."""
    for module in ("mlflow", *modules):
        try:
            __import__(module)
        except ImportError:
            pytest.fail(f"{MLFLOW_HINT} ({module} is not importable)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MlflowServer:
    """``start()`` / ``stop()``; ``url`` is the tracking URI, ``log`` the server's output."""

    def __init__(self, workdir: Path, startup_timeout: float = 90.0) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "mlflow-server.log"
        self.startup_timeout = startup_timeout
        self.startup_seconds: float | None = None
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> MlflowServer:
        argv = [
            str(Path(sys.executable).parent / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{self.workdir / 'mlflow.db'}",
            "--artifacts-destination",
            str(self.workdir / "artifacts"),
        ]
        env = {
            **os.environ,
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            "NO_PROXY": "127.0.0.1,localhost",
        }
        started = time.monotonic()
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                argv,
                cwd=self.workdir,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = started + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.tail()
                self.stop()
                pytest.fail(f"mlflow server exited {self.process.returncode}: {tail}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as answer:
                    if answer.status == 200:
                        self.startup_seconds = time.monotonic() - started
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.25)
        tail = self.tail()
        self.stop()
        pytest.fail(f"mlflow server not healthy on {self.url} in {self.startup_timeout} s: {tail}")

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)  # our own session: the server and its worker
        except ProcessLookupError:
            return
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        with contextlib.suppress(ProcessLookupError):  # a worker outliving its parent
            os.killpg(process.pid, signal.SIGKILL)
