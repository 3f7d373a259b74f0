"""A real Airflow 3 (SQLite, LocalExecutor) on loopback for end-to-end tests.

``AirflowServer(base_dir).start()`` prepares ``<base_dir>/airflow_home``, runs ``airflow db
migrate`` and starts three processes, each in its own process group with its output in
``<base_dir>/logs/<name>.log``:

* ``airflow api-server`` on 127.0.0.1:<free port> (REST API, execution API, UI), one worker;
* ``airflow scheduler --skip-serve-logs`` (without the flag it serves logs on 0.0.0.0:8793);
* ``airflow dag-processor``;
* ``airflow triggerer --skip-serve-logs`` only with ``triggerer=True`` (deferrable operators).

It never uses ``airflow standalone`` and never binds anything but 127.0.0.1.

Parsing: ``[dag_processor] refresh_interval`` is left at its default (300 s), as in production, so a
new file in the dags folder is found only by a parse request: ``PUT
/api/v2/parseDagFile/{file_token}``. That endpoint only accepts the token of a file that already
holds a DAG (it answers 404 "File not found" otherwise), but taking the request also refreshes the
whole bundle, which discovers new files. A server therefore starts with a seed DAG (``SEED_DAG_ID``
in ``SEED_DAG_FILE``), so that there is always a token to borrow; ``seed_dag=False`` turns it off.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

from .airflow_api import AirflowApi

SEED_DAG_ID = "e2e_infra_seed"
SEED_DAG_FILE = "_e2e_infra_seed_dag.py"

_SEED_DAG_SOURCE = f'''"""Gives the bundle a file token to borrow for parse requests (e2e infra)."""
from airflow.sdk import DAG

with DAG(dag_id="{SEED_DAG_ID}", schedule=None, catchup=False, tags=["e2e-infra"]):
    pass
'''


SIMPLE_AUTH_MANAGER = (
    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
)


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clean_environ() -> dict[str, str]:
    """This process's environment minus anything that would configure Airflow from outside the
    test."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW", "PYTEST_")) and key not in ("KUBECONFIG",)
    }


class AirflowServerError(RuntimeError):
    pass


class AirflowServer:
    """Airflow 3 api-server + scheduler + dag-processor under one temporary directory."""

    def __init__(
        self,
        base_dir: str | Path,
        *,
        extra_env: Mapping[str, str] | None = None,
        parallelism: int = 4,
        refresh_interval: int | None = None,
        seed_dag: bool = True,
        triggerer: bool = False,
        username: str = "admin",
        startup_timeout: float = 120,
        airflow_bin: str | Path | None = None,
    ) -> None:
        """
        :param base_dir: an empty (or not yet existing) directory owned by this server.
        :param extra_env: added last to the environment of every Airflow process (and so of every
            task process that the scheduler spawns): e.g. KUBECONFIG, AIRFLOW_CONN_*,
            KEDRO_DISABLE_TELEMETRY.
        :param parallelism: ``[core] parallelism`` (the default 32 would be far too many for 2
            cores).
        :param refresh_interval: overrides ``[dag_processor] refresh_interval`` only when given;
            leave it None unless a test explicitly needs periodic folder scans.
        :param seed_dag: write the seed DAG before start (see the module docstring).
        :param triggerer: also run ``airflow triggerer --skip-serve-logs`` (needed by deferrable
            operators only).
        :param airflow_bin: the ``airflow`` executable; default: the one beside this interpreter.
        """
        self.base_dir = Path(base_dir).resolve()
        self.home = self.base_dir / "airflow_home"
        self.dags_folder = self.home / "dags"
        self.logs_dir = self.base_dir / "logs"
        self.task_logs_dir = self.home / "logs"
        self.passwords_file = self.home / "simple_auth_manager_passwords.json"
        self.db_path = self.home / "airflow.db"
        self.username = username
        self.password = secrets.token_urlsafe(18)
        self.parallelism = parallelism
        self.refresh_interval = refresh_interval
        self.seed_dag = seed_dag
        self.triggerer = triggerer
        self.startup_timeout = startup_timeout
        self.extra_env = dict(extra_env or {})
        self.airflow_bin = str(airflow_bin or Path(sys.executable).parent / "airflow")
        self.port: int | None = None
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.env: dict[str, str] = {}
        self.timings: dict[str, float] = {}
        self._api: AirflowApi | None = None
        self._log_handles: list[Any] = []

    # --- properties ---

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise AirflowServerError("the server has not been started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v2"

    @property
    def api(self) -> AirflowApi:
        """A REST helper logged in as the admin user."""
        if self._api is None:
            self._api = AirflowApi(self.base_url, self.username, self.password)
        return self._api

    def get_token(self) -> str:
        """A fresh JWT from ``POST /auth/token`` for the admin user."""
        return self.api.get_token()

    # --- lifecycle ---

    def start(self) -> AirflowServer:
        if self.processes:
            raise AirflowServerError("already started")
        started = time.monotonic()
        self._prepare()
        self._migrate()
        self.timings["migrate_s"] = time.monotonic() - started
        launched = time.monotonic()
        try:
            self._spawn("api-server", "api-server")
            self._spawn("scheduler", "scheduler", "--skip-serve-logs")
            self._spawn("dag-processor", "dag-processor")
            if self.triggerer:
                self._spawn(
                    "triggerer", "triggerer", "--skip-serve-logs"
                )  # else a log server on 0.0.0.0
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        self.timings["processes_ready_s"] = time.monotonic() - launched
        self.timings["start_total_s"] = time.monotonic() - started
        return self

    def __enter__(self) -> AirflowServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM every process group, SIGKILL what is left after ``timeout`` s, then sweep
        stragglers."""
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)  # also reaches children of an exited leader
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)
        self._kill_stragglers()
        self.processes.clear()
        for handle in self._log_handles:
            handle.close()
        self._log_handles.clear()

    def stop_process(self, name: str, timeout: float = 20) -> None:
        """Stop one of the processes (its whole process group), as a crash or a deploy would."""
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)

    def start_process(self, name: str, timeout: float = 120) -> None:
        """Start a process stopped by :meth:`stop_process` again, with the same settings; for
        the api-server, wait until the REST API answers again."""
        args = {"api-server": ("api-server",), "dag-processor": ("dag-processor",)}.get(
            name, (name, "--skip-serve-logs")
        )
        self._spawn(name, *args)
        if name != "api-server":
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            with contextlib.suppress(requests.RequestException, ValueError):
                if (self.api.health().get("metadatabase") or {}).get("status") == "healthy":
                    return
            time.sleep(0.5)
        raise AirflowServerError(f"the api-server did not answer within {timeout} s of a start")

    def _kill_stragglers(self) -> None:
        """Kill processes that left our process groups but still run with this server's
        AIRFLOW_HOME."""
        marker = f"AIRFLOW_HOME={self.home}".encode()
        for pid in self._pids_with_env_marker(marker):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    @staticmethod
    def _pids_with_env_marker(marker: bytes) -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            with contextlib.suppress(OSError):
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    pids.append(int(entry.name))
        return pids

    # --- steps ---

    def _prepare(self) -> None:
        for directory in (self.home, self.dags_folder, self.logs_dir, self.task_logs_dir):
            directory.mkdir(parents=True, exist_ok=True)
        self.passwords_file.write_text(json.dumps({self.username: self.password}))
        self.passwords_file.chmod(0o600)
        if self.seed_dag:
            (self.dags_folder / SEED_DAG_FILE).write_text(_SEED_DAG_SOURCE)
        self.port = free_port()
        self.env = self._build_env()

    def _build_env(self) -> dict[str, str]:
        from cryptography.fernet import Fernet

        env = _clean_environ()
        bin_dir = str(Path(self.airflow_bin).parent)
        env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
        loopback = "127.0.0.1,localhost"
        env["NO_PROXY"] = env["no_proxy"] = ",".join(filter(None, [env.get("NO_PROXY"), loopback]))
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
                "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
                "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{self.username}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db_path}",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{self.port}",
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(48),
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.task_logs_dir),
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",  # its server would bind 0.0.0.0
            }
        )
        if self.refresh_interval is not None:
            env["AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL"] = str(self.refresh_interval)
        env.update(self.extra_env)
        return env

    def _migrate(self) -> None:
        log_path = self.logs_dir / "db-migrate.log"
        with log_path.open("wb") as log:
            result = subprocess.run(
                [self.airflow_bin, "db", "migrate"],
                env=self.env,
                cwd=self.home,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=300,
            )
        if result.returncode != 0:
            raise AirflowServerError(
                f"airflow db migrate failed ({result.returncode}):\n{self.log_tail('db-migrate')}"
            )

    def _spawn(self, name: str, *args: str) -> None:
        log = (self.logs_dir / f"{name}.log").open("ab")
        self._log_handles.append(log)
        # If the test process dies without a teardown (SIGKILL, CI timeout), the kernel sends
        # SIGTERM to
        # the Airflow processes (util-linux setpriv; the signal survives the exec into airflow).
        guard = ["setpriv", "--pdeathsig", "TERM"] if shutil.which("setpriv") else []
        self.processes[name] = subprocess.Popen(
            [*guard, self.airflow_bin, *args],
            env=self.env,
            cwd=self.home,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AirflowServerError(
                    f"airflow {name} exited with {process.returncode} during startup:\n"
                    + self.log_tail(name)
                )

    def _wait_until_ready(self) -> None:
        """API healthy, scheduler and dag processor heartbeating, seed DAG parsed (when there is
        one)."""
        deadline = time.monotonic() + self.startup_timeout
        health: dict[str, Any] = {}
        warm_up = threading.Thread(target=self._warm_up_execution_api, daemon=True)
        while time.monotonic() < deadline:
            self._check_alive()
            with contextlib.suppress(requests.RequestException, ValueError):
                health = self.api.health()
                if "api_healthy_s" not in self.timings:
                    self.timings["api_healthy_s"] = time.monotonic() - (
                        deadline - self.startup_timeout
                    )
                    warm_up.start()  # concurrently with the wait for the scheduler and the seed DAG
                parts = ["metadatabase", "scheduler", "dag_processor"] + (
                    ["triggerer"] if self.triggerer else []
                )
                components_ok = all(
                    (health.get(part) or {}).get("status") == "healthy" for part in parts
                )
                if components_ok and (not self.seed_dag or self.api.dag(SEED_DAG_ID) is not None):
                    warm_up.join(max(1.0, deadline - time.monotonic()))
                    if not warm_up.is_alive():
                        return
            time.sleep(0.5)
        raise AirflowServerError(
            f"Airflow not ready after {self.startup_timeout} s; last health: {health}\n"
            + "\n".join(f"--- {name} ---\n{self.log_tail(name)}" for name in self.processes)
        )

    def _warm_up_execution_api(self) -> None:
        """The api-server builds its execution API app on the first /execution/ request (~4 s here).

        Without this, the first task's supervisor pays for it (and its HTTP client may time out and
        retry).
        """
        started = time.monotonic()
        with contextlib.suppress(requests.RequestException):  # only an optimisation
            requests.get(f"{self.base_url}/execution/health", timeout=60)
        self.timings["execution_api_warm_up_s"] = time.monotonic() - started

    # --- helpers ---

    def log_tail(self, name: str, lines: int = 60) -> str:
        path = self.logs_dir / f"{name}.log"
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def write_dag(self, filename: str, source: str) -> Path:
        """Write a DAG file atomically (the DAG processor never sees half a file)."""
        target = self.dags_folder / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.write_text(source)
        temporary.replace(target)
        return target

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run an ``airflow`` command against this server's home (e.g. ``dags
        list-import-errors``)."""
        return subprocess.run(
            [self.airflow_bin, *args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )

    def rss_bytes(self) -> int:
        """Resident memory of every process in this server's process groups (task processes
        included)."""
        groups = {process.pid for process in self.processes.values() if process.poll() is None}
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, ValueError, IndexError):
                if os.getpgid(int(entry.name)) not in groups:
                    continue
                for line in (entry / "status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        return total

    def listening_sockets(self) -> list[str]:
        """``ss`` lines of TCP listeners owned by this server's processes (for the loopback-only
        check)."""
        if shutil.which("ss") is None:
            return []
        groups = {process.pid for process in self.processes.values() if process.poll() is None}
        pids = set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if os.getpgid(int(entry.name)) in groups:
                        pids.add(int(entry.name))
        output = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
        return [line for line in output.splitlines() if any(f"pid={pid}," in line for pid in pids)]
