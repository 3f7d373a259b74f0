"""Fixtures for the Airflow API client tests: a fault-injecting stand-in on loopback.

``stand_in`` is a started :class:`FaultyAirflowStandIn` (stopped at teardown), ``make_stand_in``
starts others; ``make_api(**s)``
connects to it (``connect``) with the stand-in's user and password and small timeouts and
backoff (overridable; ``deadline=`` gives a time limit), and closes it at teardown.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kedro_airflow_k8s.airflow_api import ClientSettings, RestApi, connect

from .fake_server import FaultyAirflowStandIn

FAST: dict[str, Any] = {
    "connect_timeout": 2.0,
    "read_timeout": 2.0,
    "retries": 3,
    "backoff": 0.01,
    "backoff_max": 0.05,
}


@pytest.fixture
def stand_in() -> Iterator[FaultyAirflowStandIn]:
    server = FaultyAirflowStandIn().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def make_stand_in() -> Iterator[Callable[..., FaultyAirflowStandIn]]:
    """``make_stand_in(**options)``: another started stand-in (``api="v1"``, ``version=...``),
    stopped at teardown."""
    started: list[FaultyAirflowStandIn] = []

    def make(**options: Any) -> FaultyAirflowStandIn:
        server = FaultyAirflowStandIn(**options).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def make_api(stand_in: FaultyAirflowStandIn) -> Iterator[Callable[..., RestApi]]:
    made: list[RestApi] = []

    def make(**settings: Any) -> RestApi:
        deadline = settings.pop("deadline", None)
        options: dict[str, Any] = {
            "host": stand_in.url,
            "username": stand_in.username,
            "password": stand_in.password,
            **FAST,
            **settings,
        }
        api = connect(ClientSettings(**options), deadline)
        made.append(api)
        return api

    yield make
    for api in made:
        api.close()


@pytest.fixture
def api(make_api: Callable[..., RestApi]) -> RestApi:
    return make_api()


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL where nothing listens (the port was free a moment ago)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
