"""Fixtures for end-to-end tests: a loopback Kubernetes API and a real Airflow 3.

Session-scoped, started on first use, stopped at the end of the session:

* ``kube_emulator`` -> ``infra.kube_emulator.KubeEmulator`` (kmock + test kubelet).
* ``airflow_server`` -> ``infra.airflow_server.AirflowServer`` wired to the emulator: KUBECONFIG in
  the environment of every Airflow process, hence of every task process (see
  ``KubeEmulator.airflow_env``), plus KEDRO_DISABLE_TELEMETRY=true.
* ``airflow_server_factory(**options)`` -> another server with its own options (for instance
  ``refresh_interval=5`` for a test that explicitly wants periodic folder scans, or
  ``triggerer=True``), stopped at session end.
* ``e2e_timings`` -> a dict whose entries are printed in the terminal summary.

Every test under tests/e2e gets the ``e2e`` marker automatically.
"""

from __future__ import annotations

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
