"""The parts of ``kedro airflow-k8s dev`` that need no running Airflow (local_airflow.py).

The command itself, with a real Airflow 3, is in tests/e2e/test_dev_command.py."""

from __future__ import annotations

import importlib.metadata
import json
import os
import signal
import socket
import stat
import time
from pathlib import Path

import pytest

from kedro_airflow_k8s import local_airflow as local
from kedro_airflow_k8s.errors import EXIT_USAGE, PluginError, UsageProblem


@pytest.mark.parametrize(
    ("host", "port"),
    [
        ("http://localhost:8081", 8081),
        ("http://127.0.0.1:9000", 9000),
        ("http://[::1]:9001", 9001),
        ("http://127.0.0.1", 80),
        ("https://localhost:8443", 8080),  # dev serves http only
        ("https://airflow.example.com", 8080),
        (None, 8080),
    ],
)
def test_the_port_follows_a_loopback_host(host: str | None, port: int) -> None:
    assert local.default_port(host) == port


def test_the_dag_folder_is_the_local_output_or_the_compile_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    project = tmp_path / "project"
    assert local.dags_folder(project, None) == (project / "dag", None)
    assert local.dags_folder(project, "dags") == (tmp_path / "dags", None)  # as run-once writes
    assert local.dags_folder(project, "file:///srv/dags") == (Path("/srv/dags"), None)
    folder, note = local.dags_folder(project, "gs://bucket/dags")
    assert folder == project / "dag"
    assert note is not None and note.startswith("output is gs://bucket/dags: run-once")


def test_a_port_in_use_is_a_usage_error_naming_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UsageProblem) as refused:
            local.choose_port(port, None)
    assert refused.value.exit_code == EXIT_USAGE
    assert refused.value.message.startswith(f"--port {port}: 127.0.0.1:{port} cannot be used (")


def test_a_free_port_is_chosen_as_given_or_from_host() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert local.choose_port(port, "http://localhost:1") == port
    assert local.choose_port(None, f"http://localhost:{port}") == port


def test_a_busy_default_port_is_not_blamed_on_port(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UsageProblem) as from_host:
            local.choose_port(None, f"http://localhost:{port}")
        monkeypatch.setattr(local, "DEFAULT_PORT", port)
        with pytest.raises(UsageProblem) as plain_default:
            local.choose_port(None, None)
    assert from_host.value.message == (
        f"127.0.0.1:{port} cannot be used (Address already in use): it is the port of host in "
        f"kedro-airflow-k8s.yaml (http://localhost:{port}), dev's default; stop what uses it or "
        "choose another port with --port PORT"
    )
    assert plain_default.value.message == (
        f"127.0.0.1:{port} cannot be used (Address already in use): it is dev's default port, "
        f"{port}; stop what uses it or choose another port with --port PORT"
    )
    assert not from_host.value.message.startswith("--port")
    assert from_host.value.exit_code == plain_default.value.exit_code == EXIT_USAGE


def test_without_airflow_3_one_line_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    with pytest.raises(PluginError, match=r"has none: pip install 'kedro-airflow-k8s\[local\]'$"):
        local.airflow_version()
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "2.10.5")
    with pytest.raises(PluginError, match=r"runs Airflow 3; this environment has .* 2\.10\.5"):
        local.airflow_version()
    monkeypatch.undo()
    assert local.airflow_version().startswith("3.")  # the test environment's


def make(tmp_path: Path, port: int = 8999) -> local.LocalAirflow:
    return local.LocalAirflow(home=tmp_path / ".airflow", dags=tmp_path / "dag", port=port)


def test_prepare_keeps_everything_in_the_home_owner_only_and_stable(tmp_path: Path) -> None:
    first = make(tmp_path)
    first.prepare()
    try:
        home = tmp_path / ".airflow"
        assert (home / ".gitignore").read_text().splitlines()[-1] == "*"
        assert (tmp_path / "dag").is_dir()
        for name in ("passwords.json", "secrets.json"):
            assert stat.S_IMODE((home / name).stat().st_mode) == 0o600
        assert json.loads((home / "passwords.json").read_text()) == {"admin": first.password}
        assert len(first.password) >= 16
    finally:
        first.stop()
    again = make(tmp_path)
    again.prepare()
    try:
        assert again.password == first.password
        keys = ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY")
        assert [again.env[k] for k in keys] == [first.env[k] for k in keys]
        assert again.token != first.token
    finally:
        again.stop()


def test_a_second_start_on_the_same_home_is_refused(tmp_path: Path) -> None:
    running = make(tmp_path)
    running.prepare()
    try:
        with pytest.raises(PluginError, match=r"already runs from .*\(pid \d+, http://127"):
            make(tmp_path, port=9000).prepare()
    finally:
        running.stop()
    again = make(tmp_path)
    again.prepare()  # free again once stopped
    again.stop()


def test_safety_settings_win_over_the_environment_tuning_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__API__HOST", "0.0.0.0")
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    monkeypatch.setenv("AIRFLOW__CORE__PARALLELISM", "3")
    monkeypatch.setenv("AIRFLOW_VAR_REGION", "eu")
    airflow = make(tmp_path, port=8123)
    env = airflow.environment({"jwt_secret": "j", "secret_key": "s", "fernet_key": "f"})
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW__API__PORT"] == "8123"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8123/execution/"
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "False"
    assert env["AIRFLOW__CORE__PARALLELISM"] == "3"
    assert env["AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL"] == str(local.REFRESH_INTERVAL)
    assert env["AIRFLOW_VAR_REGION"] == "eu"  # Variables for the DAGs pass through
    assert env[local.MARKER_ENV] == airflow.token
    assert "127.0.0.1" in env["NO_PROXY"].split(",")


def test_the_host_note_says_whether_the_commands_reach_this_airflow() -> None:
    url = "http://127.0.0.1:8080"
    assert local.host_note("http://localhost:8080", url) == (
        "host in kedro-airflow-k8s.yaml (http://localhost:8080) points here"
    )
    assert local.host_note("https://airflow.example.com", url).startswith(
        "host in kedro-airflow-k8s.yaml is https://airflow.example.com: to use this Airflow "
        "set `host: http://127.0.0.1:8080`"
    )
    assert "is not set" in local.host_note(None, url)


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_stop_signal_ends_the_wait_and_is_then_restored(name: str) -> None:
    signum = getattr(signal, name)
    before = signal.getsignal(signum)
    with pytest.raises(local.Stopped) as stopped, local.stop_signals():
        os.kill(os.getpid(), signum)
        time.sleep(5)  # the handler raises at once
        raise AssertionError("the signal did not stop the wait")
    assert stopped.value.signum == signum
    assert signal.getsignal(signum) == before
