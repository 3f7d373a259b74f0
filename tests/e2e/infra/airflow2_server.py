"""A real Airflow 2.10 (SQLite, SequentialExecutor) on loopback, from its own virtualenv.

``Airflow2Server(base_dir, airflow_bin=<2.10 venv>/bin/airflow).start()`` runs ``airflow db
migrate``, creates an admin user (FAB) and starts, each in its own process group:

* ``airflow webserver --hostname 127.0.0.1 --port <free port> --workers 1`` (REST API v1);
* ``airflow scheduler --skip-serve-logs`` (it parses DAG files itself; without the flag it would
  serve logs on 0.0.0.0:8793).

The REST API takes basic auth and, for the bearer-token tests, a token checked by
``kak8s_bearer_auth`` (a test auth backend in this folder: Airflow 2 has no token of its own,
managed services put one in front). New DAG files are found by the periodic scan only (a parse
request parses an already known file), so ``[scheduler] dag_dir_list_interval`` is short here.
"""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import time
from pathlib import Path
from typing import Any

import requests

from .airflow_server import AirflowServer, AirflowServerError, _clean_environ

BEARER_BACKEND = "kak8s_bearer_auth"
BASIC_BACKEND = "airflow.providers.fab.auth_manager.api.auth.backend.basic_auth"


class Airflow2Server(AirflowServer):
    """Airflow 2.10 webserver + scheduler (see the module docstring)."""

    def __init__(self, base_dir: str | Path, *, airflow_bin: str | Path, **options: Any) -> None:
        options.setdefault("seed_dag", False)
        options.setdefault("refresh_interval", 5)
        super().__init__(base_dir, airflow_bin=airflow_bin, **options)
        self.bearer_token = secrets.token_urlsafe(24)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v1"

    def start(self) -> Airflow2Server:
        if self.processes:
            raise AirflowServerError("already started")
        started = time.monotonic()
        self._prepare()
        self._migrate()
        self._create_user()
        self.timings["migrate_s"] = time.monotonic() - started
        launched = time.monotonic()
        try:
            self._spawn(
                "webserver",
                "webserver",
                "--hostname",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
            )
            self._spawn("scheduler", "scheduler", "--skip-serve-logs")
            self._wait_until_healthy()
        except BaseException:
            self.stop()
            raise
        self.timings["processes_ready_s"] = time.monotonic() - launched
        self.timings["start_total_s"] = time.monotonic() - started
        return self

    def _build_env(self) -> dict[str, str]:
        from cryptography.fernet import Fernet

        env = _clean_environ()
        bin_dir = str(Path(self.airflow_bin).parent)
        env["PATH"] = bin_dir + ":" + env.get("PATH", "")  # SequentialExecutor runs `airflow`
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        env["PYTHONPATH"] = str(Path(__file__).parent)  # the bearer-token auth backend
        env["HOME"] = str(self.home)  # gunicorn puts a control socket under ~/.gunicorn
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": "SequentialExecutor",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
                "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db_path}",
                "AIRFLOW__WEBSERVER__WEB_SERVER_HOST": "127.0.0.1",
                "AIRFLOW__WEBSERVER__WEB_SERVER_PORT": str(self.port),
                "AIRFLOW__WEBSERVER__BASE_URL": f"http://127.0.0.1:{self.port}",
                "AIRFLOW__WEBSERVER__WORKERS": "1",
                "AIRFLOW__WEBSERVER__SECRET_KEY": secrets.token_urlsafe(32),
                "AIRFLOW__API__AUTH_BACKENDS": f"{BASIC_BACKEND},{BEARER_BACKEND}",
                "KAK8S_E2E_BEARER_TOKEN": self.bearer_token,
                "KAK8S_E2E_BEARER_USER": self.username,
                "AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL": str(self.refresh_interval),
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",  # its server binds 0.0.0.0
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.task_logs_dir),
            }
        )
        env.update(self.extra_env)
        return env

    def stop(self, timeout: float = 5) -> None:
        """As AirflowServer.stop, with less patience: gunicorn's graceful exit takes ~10 s."""
        super().stop(timeout)

    def _create_user(self) -> None:
        done = self.cli(
            "users",
            "create",
            "--username",
            self.username,
            f"--password={self.password}",  # it may start with "-"
            "--role",
            "Admin",
            "--firstname",
            "e2e",
            "--lastname",
            "admin",
            "--email",
            "admin@example.invalid",
        )
        if done.returncode != 0:
            raise AirflowServerError(f"airflow users create failed:\n{done.stderr[-3000:]}")

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        health: dict[str, Any] = {}
        while time.monotonic() < deadline:
            self._check_alive()
            with contextlib.suppress(requests.RequestException, ValueError):
                health = requests.get(f"{self.base_url}/health", timeout=5).json()
                if all(
                    (health.get(part) or {}).get("status") == "healthy"
                    for part in ("metadatabase", "scheduler")
                ):
                    return
            time.sleep(0.5)
        raise AirflowServerError(
            f"Airflow 2 not ready after {self.startup_timeout} s; last health: {health}\n"
            + "\n".join(f"--- {name} ---\n{self.log_tail(name)}" for name in self.processes)
        )

    # --- a small REST v1 helper of its own (plain requests, not the product's client) ---

    def get(self, path: str) -> Any:
        response = requests.get(
            f"{self.api_url}{path}", auth=(self.username, self.password), timeout=30
        )
        response.raise_for_status()
        return response.json()

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return super().cli(*args, timeout=timeout)
