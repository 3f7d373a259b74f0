"""Loopback storage emulators for the SHIP tests, started on first use and stopped at session end.

* ``moto_server`` -> an S3 endpoint URL: moto runs from its own virtualenv (tests/venvs.py),
  made from requirements/moto.txt under .cache/venv-moto (or $KAK8S_MOTO_VENV) and reused while
  the requirements file is unchanged. moto next to s3fs would move botocore past the range
  aiobotocore accepts.
* ``gcs_emulator`` -> a GCS endpoint URL (gcp-storage-emulator from the project venv, in memory,
  with the bucket ``GCS_BUCKET``).
* ``aws_env`` / ``gcs_env`` -> an environment that can only reach those emulators: dummy keys,
  no profile or metadata-server look-ups.

Every server binds 127.0.0.1 on a free port. s3fs, gcsfs and the emulator are test requirements
(requirements/ship.txt): a missing one fails the test, it is never skipped.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.venvs import venv_python

INSTALL_HINT = "SHIP test extras missing: pip install -r requirements/ship.txt"
GCS_BUCKET = "kak8s-dags"
AWS_KEYS = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")


def require(module: str) -> None:
    """Fail (never skip) when a test requirement is not installed."""
    try:
        __import__(module)
    except ImportError:
        pytest.fail(f"{INSTALL_HINT} ({module} is not importable)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def moto_python() -> Path:
    return venv_python("moto")


class Server:
    """A child process serving HTTP on 127.0.0.1:port, with its output in a log file."""

    def __init__(
        self, name: str, argv: list[str], port: int, log: Path, env: dict[str, str] | None = None
    ) -> None:
        self.name, self.port, self.log = name, port, log
        self.url = f"http://127.0.0.1:{port}"
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
            )

    def wait_ready(self, path: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                pytest.fail(f"{self.name} exited {self.process.returncode}: {self.tail()}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=1):
                    return
            except urllib.error.HTTPError:
                return  # it answers
            except OSError:
                time.sleep(0.1)
        self.stop()
        pytest.fail(f"{self.name} not ready on {self.url} after {timeout:.0f} s: {self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_moto(log_dir: Path, name: str, env: dict[str, str] | None = None) -> Server:
    python = moto_python()
    port = free_port()
    argv = [str(python.parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    server = Server(name, argv, port, log_dir / f"{name}.log", env)
    server.wait_ready("/moto-api/data.json")
    return server


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = start_moto(tmp_path_factory.mktemp("moto"), "moto")
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def moto_server_with_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto server that checks access keys: unknown keys are refused (403)."""
    server = start_moto(
        tmp_path_factory.mktemp("moto-auth"), "moto-auth", {"INITIAL_NO_AUTH_ACTION_COUNT": "0"}
    )
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require("gcp_storage_emulator")
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "gcp_storage_emulator",
        "start",
        "--host=127.0.0.1",
        f"--port={port}",
        "--in-memory",
        f"--default-bucket={GCS_BUCKET}",
    ]
    server = Server("gcp-storage-emulator", argv, port, tmp_path_factory.mktemp("gcs") / "gcs.log")
    server.wait_ready(f"/storage/v1/b/{GCS_BUCKET}")
    yield server.url
    server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy credentials only: nothing from ~/.aws, no instance-metadata look-up."""
    require("s3fs")
    for key in AWS_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    # A region in the env, not client_kwargs: with region_name, bucket creation fails on a
    # location constraint.
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture
def gcs_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No Google credentials and no emulator variable unless a test sets it."""
    require("gcsfs")
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "no-gcloud"))
    monkeypatch.setenv("NO_GCE_CHECK", "True")


class _Refusing(http.server.BaseHTTPRequestHandler):
    """Answers every request with ``status`` and a GCS-style JSON error."""

    status = 403
    message = "refused"

    def _refuse(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = json.dumps({"error": {"code": self.status, "message": self.message}}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _refuse

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def refusing_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """An HTTP server on loopback that refuses everything: ``request.param`` = (status, message)."""
    status, message = request.param
    handler = type("Handler", (_Refusing,), {"status": status, "message": message})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(10)
