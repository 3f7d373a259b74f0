"""Fixtures for end-to-end tests: a loopback Kubernetes API and a real Airflow 3.

Session-scoped, started on first use, stopped at the end of the session:

* ``kube_emulator`` -> ``infra.kube_emulator.KubeEmulator`` (kmock + test kubelet).
* ``airflow_server`` -> ``infra.airflow_server.AirflowServer`` wired to the emulator: KUBECONFIG in
  the environment of every Airflow process, hence of every task process (see
  ``KubeEmulator.airflow_env``), plus KEDRO_DISABLE_TELEMETRY=true.
* ``airflow_server_factory(**options)`` -> another server with its own options (for instance
  ``refresh_interval=5`` for a test that explicitly wants periodic folder scans, or
  ``triggerer=True``), stopped at session end.
* ``region_variable`` -> the Airflow Variable AWS_DEFAULT_REGION the example's tasks read, set
  on ``airflow_server`` (once).
* ``e2e_timings`` -> a dict whose entries are printed in the terminal summary.

Every test under tests/e2e gets the ``e2e`` marker automatically.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

_E2E_DIR = Path(__file__).parent
_TIMINGS_KEY = pytest.StashKey[dict[str, Any]]()

INSTALL_HINT = "e2e extras missing: pip install -r requirements/e2e.txt"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "e2e: end-to-end test against a real Airflow 3 and a loopback Kubernetes API emulator",
    )
    config.stash[_TIMINGS_KEY] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _E2E_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)
    # Tests of the Airflow 2.10 server last: it starts in the background meanwhile.
    airflow2 = [item for item in items if "airflow2_server" in getattr(item, "fixturenames", ())]
    if airflow2:
        others = [item for item in items if item not in airflow2]
        items[:] = others + airflow2


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    timings = config.stash.get(_TIMINGS_KEY, {})
    if timings:
        terminalreporter.section("e2e measurements")
        for key, value in timings.items():
            text = f"{value:.2f}" if isinstance(value, float) else str(value)
            terminalreporter.write_line(f"{key}: {text}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """On an e2e failure, attach the tails of the Airflow process logs to the report."""
    report = yield
    if report.failed and call.when in ("setup", "call"):
        server = getattr(item, "funcargs", {}).get("airflow_server")
        if server is not None:
            for name in ("scheduler", "dag-processor", "api-server"):
                report.sections.append((f"airflow {name} log (tail)", server.log_tail(name, 80)))
    return report


@pytest.fixture(scope="session")
def e2e_timings(request: pytest.FixtureRequest) -> dict[str, Any]:
    return request.config.stash[_TIMINGS_KEY]


@pytest.fixture(scope="session")
def kube_emulator(
    tmp_path_factory: pytest.TempPathFactory, e2e_timings: dict[str, Any]
) -> Iterator[Any]:
    try:
        import kmock  # noqa: F401
    except ImportError:  # a missing extra is a failure, never a silent skip
        pytest.fail(INSTALL_HINT)
    from .infra.kube_emulator import KubeEmulator

    started = time.monotonic()
    emulator = KubeEmulator(
        tmp_path_factory.mktemp("kube"), env={"KEDRO_DISABLE_TELEMETRY": "true"}
    )
    emulator.start()
    e2e_timings["kube_emulator_start_s"] = time.monotonic() - started
    try:
        yield emulator
    finally:
        emulator.stop()


def _airflow_env(kube_emulator: Any) -> dict[str, str]:
    return {**kube_emulator.airflow_env(), "KEDRO_DISABLE_TELEMETRY": "true"}


@pytest.fixture(scope="session")
def airflow_server(
    tmp_path_factory: pytest.TempPathFactory, kube_emulator: Any, e2e_timings: dict[str, Any]
) -> Iterator[Any]:
    from .infra.airflow_server import AirflowServer

    server = AirflowServer(
        tmp_path_factory.mktemp("airflow"), extra_env=_airflow_env(kube_emulator)
    )
    server.start()
    e2e_timings.update({f"airflow_{key}": value for key, value in server.timings.items()})
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def region_variable(airflow_server: Any) -> None:
    """The example exports the Airflow Variable AWS_DEFAULT_REGION to its tasks: set once on
    the session's server (each ``airflow`` command costs seconds of imports)."""
    done = airflow_server.cli("variables", "set", "AWS_DEFAULT_REGION", "eu-central-1")
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.fixture(scope="session")
def airflow_server_factory(
    tmp_path_factory: pytest.TempPathFactory, kube_emulator: Any
) -> Iterator[Callable[..., Any]]:
    """``make(**options)`` -> another started ``AirflowServer``; ``extra_env`` adds to wiring."""
    from .infra.airflow_server import AirflowServer

    servers: list[AirflowServer] = []

    def make(**options: Any) -> AirflowServer:
        extra_env = {**_airflow_env(kube_emulator), **options.pop("extra_env", {})}
        server = AirflowServer(
            tmp_path_factory.mktemp("airflow-extra"), extra_env=extra_env, **options
        )
        servers.append(server)
        return server.start()

    try:
        yield make
    finally:
        for server in servers:
            server.stop()


class _Background:
    """A server starting in a thread, for a fixture that asks for it later.

    The thread lives until :meth:`close`: the server's processes are started with a parent-death
    signal (see AirflowServer._spawn), which the kernel sends when the *thread* that started
    them ends."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.error: BaseException | None = None
        self.started = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._start, daemon=True)
        self.thread.start()

    def _start(self) -> None:
        try:
            self.server.start()  # stops what it started when it fails
        except BaseException as exc:  # handed to the fixture
            self.error = exc
        finally:
            self.started.set()
        self.release.wait()

    def result(self, timeout: float) -> Any:
        if not self.started.wait(timeout):
            pytest.fail(f"the server did not start within {timeout} s")
        if self.error is not None:
            raise self.error
        return self.server

    def close(self) -> None:
        self.server.stop()
        self.release.set()
        self.thread.join(60)


_AIRFLOW2_KEY = pytest.StashKey[_Background]()


def _uses_airflow2(items: list[pytest.Item]) -> bool:
    return any("airflow2_server" in getattr(item, "fixturenames", ()) for item in items)


@pytest.fixture(scope="session", autouse=True)
def _airflow2_in_the_background(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    kube_emulator: Any,
) -> Iterator[None]:
    """Airflow 2.10 takes a minute to start: when the session has tests that need it (they run
    last, see pytest_collection_modifyitems), it starts in a thread at the first e2e test."""
    if not _uses_airflow2(request.session.items):
        yield
        return
    from tests.venvs import AIRFLOW2, venv_python

    from .infra.airflow2_server import Airflow2Server

    server = Airflow2Server(
        tmp_path_factory.mktemp("airflow2"),
        airflow_bin=venv_python(AIRFLOW2).parent / "airflow",
        extra_env=_airflow_env(kube_emulator),
    )
    background = _Background(server)
    request.config.stash[_AIRFLOW2_KEY] = background
    try:
        yield
    finally:
        background.close()


@pytest.fixture(scope="session")
def airflow2_server(request: pytest.FixtureRequest, e2e_timings: dict[str, Any]) -> Any:
    """A real Airflow 2.10 webserver + scheduler (its own virtualenv, made on first use)."""
    server = request.config.stash[_AIRFLOW2_KEY].result(timeout=1200)
    e2e_timings.update({f"airflow2_{key}": value for key, value in server.timings.items()})
    return server
