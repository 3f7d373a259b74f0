"""``kedro airflow-k8s dev`` for real: the command starts a real Airflow 3 (the one installed in
this environment) for a small Kedro project, serves its API on 127.0.0.1 only, with a login
that the plugin's own commands use as printed, and stops on Ctrl-C leaving no process behind.

The project's config has ``host: http://127.0.0.1:<free port>`` and ``output: airflow-dags``:
the command takes its port from ``host`` and its DAG folder from ``output``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from kedro_airflow_k8s.errors import EXIT_INPUT, EXIT_REMOTE
from tests.e2e.infra.airflow_server import free_port
from tests.helpers import REPO, VENV_BIN, kedro, write_project

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PACKAGE = "dev_demo"
QUIET = str(REPO / "scripts" / "quiet-logging.yml")

FILES = {
    f"src/{PACKAGE}/pipeline_registry.py": """\
        from kedro.pipeline import Pipeline, node


        def identity(x):
            return x


        def register_pipelines():
            return {"__default__": Pipeline([node(identity, "params:x", "y", name="copy")])}
        """,
    "conf/base/parameters.yml": "x: 1\n",
}


def _project(base: Path, port: int) -> Path:
    project = write_project(base, PACKAGE, "Dev demo", FILES)
    (project / "conf" / "base" / "kedro-airflow-k8s.yaml").write_text(
        f"host: http://127.0.0.1:{port}\noutput: airflow-dags\nrun_config:\n  image: dev:1\n"
    )
    return project


def _environ() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "KEDRO_"))}
    return {**env, "KEDRO_DISABLE_TELEMETRY": "true", "KEDRO_LOGGING_CONFIG": QUIET}


def _session_processes(session: int) -> list[int]:
    """Processes of the dev command's session, of its children and of their sessions."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            table[int(entry.name)] = (int(fields[1]), int(fields[3]))  # ppid, session
    sessions = {session} | {pid for pid, (ppid, _) in table.items() if ppid == session}
    return sorted(pid for pid, (_, sid) in table.items() if sid in sessions or pid in sessions)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def _wait(check: Any, what: str, timeout: float, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(interval)


def test_dev_serves_airflow_on_loopback_with_a_login_and_stops_clean(tmp_path: Path) -> None:
    port = free_port()
    project = _project(tmp_path, port)
    out, err = tmp_path / "dev.out", tmp_path / "dev.err"
    started = time.monotonic()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        dev = subprocess.Popen(
            [str(VENV_BIN / "kedro"), "airflow-k8s", "dev"],
            cwd=project,
            env=_environ(),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,  # as a terminal's foreground job: Ctrl-C reaches it alone
        )
    try:
        _wait(lambda: dev.poll() is None and "is ready at" in out.read_text(), "ready line", 240)
        ready_s = time.monotonic() - started
        banner = out.read_text()
        home = project / ".airflow"
        password = json.loads((home / "passwords.json").read_text())["admin"]
        assert f"is ready at http://127.0.0.1:{port} (" in banner
        assert f"DAG files: {project / 'airflow-dags'}" in banner
        assert f"export AIRFLOW_USERNAME=admin AIRFLOW_PASSWORD={password}" in banner
        assert f"(http://127.0.0.1:{port}) points here" in banner
        assert (home / ".gitignore").read_text().splitlines()[-1] == "*"

        # Only loopback listeners in the whole process tree.
        pids = _session_processes(dev.pid)
        listening = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
        ours = [ln for ln in listening.splitlines() if any(f"pid={p}," in ln for p in pids)]
        assert ours, listening
        for line in ours:
            local_address = line.split()[3]
            assert local_address == f"127.0.0.1:{port}", line

        # The plugin's commands, unchanged, with the printed login.
        login = {"AIRFLOW_USERNAME": "admin", "AIRFLOW_PASSWORD": password}
        done = kedro(project, "airflow-k8s", "compile", "-o", "airflow-dags", env=login)
        assert done.returncode == 0, done.stderr[-2000:]
        dag_id = "dev_demo.__default__.local"

        def listed() -> bool:
            done = kedro(project, "airflow-k8s", "list-pipelines", env=login)
            assert done.returncode == 0, done.stderr[-2000:]
            return dag_id in done.stdout

        _wait(listed, f"{dag_id} in list-pipelines", 120, interval=2)
        wrong = kedro(
            project, "airflow-k8s", "list-pipelines", env={**login, "AIRFLOW_PASSWORD": "nope"}
        )
        assert wrong.returncode == EXIT_REMOTE, wrong.stderr[-2000:]
        assert "401" in wrong.stderr or "credentials" in wrong.stderr

        # A second start on the same project is refused while this one runs.
        again = kedro(project, "airflow-k8s", "dev", "--port", str(free_port()))
        assert again.returncode == EXIT_INPUT, again.stderr[-2000:]
        assert re.search(r"Error: an Airflow of this project already runs from ", again.stderr)

        # Ctrl-C: everything stops, within a bound.
        pids = _session_processes(dev.pid)
        stopping = time.monotonic()
        os.kill(dev.pid, signal.SIGINT)
        assert dev.wait(60) == 0, err.read_text()[-2000:]
        stop_s = time.monotonic() - stopping
        _wait(lambda: not any(_alive(p) for p in pids), "end of every process", 10, 0.1)
        assert "Airflow stopped (" in err.read_text()
        print(f"dev: ready after {ready_s:.1f} s, stopped in {stop_s:.1f} s")
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGKILL)
            dev.wait(10)
        for pid in _session_processes(dev.pid):
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    shutil.rmtree(project / ".airflow", ignore_errors=True)
