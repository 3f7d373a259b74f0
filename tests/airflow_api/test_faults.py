"""Faults injected by the stand-in: retries, timeouts, dropped connections, HTTP errors, and the
one-line messages the user gets (asserted in full)."""

from __future__ import annotations

import functools
import socket
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kedro_airflow_k8s import airflow_api
from kedro_airflow_k8s.airflow_api import AirflowApi, ClientSettings
from kedro_airflow_k8s.errors import PluginError

from .conftest import FAST
from .fake_server import FaultyAirflowStandIn, self_signed

Make = Callable[..., AirflowApi]


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """The delays the client waits between attempts (really waited)."""
    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        time.sleep(seconds)

    monkeypatch.setattr(airflow_api, "_sleep", sleep)
    yield waited


def error_of(call: Callable[[], object]) -> str:
    with pytest.raises(PluginError) as info:
        call()
    assert "\n" not in info.value.message
    return info.value.message


# --- no answer ---


def test_api_down_is_retried_then_named(closed_port_url: str, sleeps: list[float]) -> None:
    api = AirflowApi(ClientSettings(closed_port_url, **FAST))
    message = error_of(lambda: api.get_dag("a"))
    assert message == (
        f"cannot reach Airflow at {closed_port_url} to read DAG 'a': connection refused "
        "(4 attempts)"
    )
    assert sleeps == [0.01, 0.02, 0.04]  # exponential


def test_api_down_while_logging_in(closed_port_url: str, sleeps: list[float]) -> None:
    api = AirflowApi(ClientSettings(closed_port_url, username="u", password="p", **FAST))
    assert error_of(api.version) == (
        f"cannot reach Airflow at {closed_port_url} to log in as 'u': connection refused "
        "(4 attempts)"
    )


def test_backoff_is_capped(closed_port_url: str, sleeps: list[float]) -> None:
    settings = ClientSettings(closed_port_url, retries=5, backoff=0.01, backoff_max=0.03)
    with pytest.raises(PluginError):
        AirflowApi(settings).get_dag("a")
    assert sleeps == [0.01, 0.02, 0.03, 0.03, 0.03]


def test_unresolvable_host(sleeps: list[float], monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "no-such-host.invalid":  # answered here: no DNS query leaves the machine
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    api = AirflowApi(ClientSettings("http://no-such-host.invalid", **{**FAST, "retries": 0}))
    assert error_of(lambda: api.get_dag("a")) == (
        "cannot reach Airflow at http://no-such-host.invalid to read DAG 'a': cannot resolve "
        "the host name (1 attempt)"
    )


def test_timeout_is_retried_then_reported(
    stand_in: FaultyAirflowStandIn, make_api: Make, sleeps: list[float]
) -> None:
    stand_in.add_dag("a")
    api = make_api(timeout=0.3, retries=1)
    api.version()  # logged in
    stand_in.hang("^/api/v2/dags/a$", seconds=5, times=2)
    started = time.monotonic()
    assert error_of(lambda: api.get_dag("a")) == (
        f"cannot reach Airflow at {stand_in.url} to read DAG 'a': no answer within 0.3 s "
        "(2 attempts)"
    )
    assert time.monotonic() - started < 2
    assert len(stand_in.calls("GET", "^/api/v2/dags/a$")) == 2


def test_one_timeout_then_success(
    stand_in: FaultyAirflowStandIn, make_api: Make, sleeps: list[float]
) -> None:
    stand_in.add_dag("a")
    stand_in.hang("^/api/v2/dags/a$", seconds=5)
    assert make_api(timeout=0.3).get_dag("a") is not None


def test_dropped_connections_are_retried(
    stand_in: FaultyAirflowStandIn, api: AirflowApi, sleeps: list[float]
) -> None:
    stand_in.add_dag("a")
    stand_in.drop("^/api/v2/dags/a$", times=2)
    assert api.get_dag("a") is not None
    assert len(sleeps) == 2


def test_connection_always_dropped(
    stand_in: FaultyAirflowStandIn, api: AirflowApi, sleeps: list[float]
) -> None:
    stand_in.drop("^/api/v2/dags/a$", times=10)
    assert error_of(lambda: api.get_dag("a")) == (
        f"cannot reach Airflow at {stand_in.url} to read DAG 'a': the connection was closed "
        "without an answer (4 attempts)"
    )


# --- 5xx and 429 ---


def test_500s_then_success(
    stand_in: FaultyAirflowStandIn, api: AirflowApi, sleeps: list[float]
) -> None:
    stand_in.add_dag("a")
    stand_in.fail("^/api/v2/dags/a$", 500, times=3)
    assert api.get_dag("a") is not None
    assert [r.status for r in stand_in.calls("GET", "^/api/v2/dags/a$")] == [500, 500, 500, 200]
    assert sleeps == [0.01, 0.02, 0.04]


def test_500s_for_ever(
    stand_in: FaultyAirflowStandIn, api: AirflowApi, sleeps: list[float]
) -> None:
    stand_in.fail("^/api/v2/dags$", 503, times=10, body={"detail": "database is locked"})
    assert error_of(api.list_dags) == (
        f"Airflow at {stand_in.url} failed to list DAGs: 503 Service Unavailable: database is "
        "locked (4 attempts)"
    )


def test_501_is_not_retried(
    stand_in: FaultyAirflowStandIn, api: AirflowApi, sleeps: list[float]
) -> None:
    stand_in.fail("^/api/v2/dags$", 501, times=10)
    assert "501 Not Implemented" in error_of(api.list_dags)
    assert sleeps == []


def test_429_honours_retry_after(
    stand_in: FaultyAirflowStandIn, api: AirflowApi, sleeps: list[float]
) -> None:
    stand_in.add_dag("a")
    stand_in.fail("^/api/v2/dags/a$", 429, headers={"Retry-After": "1"})
    started = time.monotonic()
    assert api.get_dag("a") is not None
    assert time.monotonic() - started >= 0.95
    assert sleeps == [1.0]


def test_retry_after_is_capped(
    stand_in: FaultyAirflowStandIn, make_api: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    waited: list[float] = []
    monkeypatch.setattr(airflow_api, "_sleep", waited.append)  # do not wait an hour
    stand_in.fail("^/api/v2/dags$", 429, times=10, headers={"Retry-After": "3600"})
    assert error_of(make_api(retries=2).list_dags) == (
        f"Airflow at {stand_in.url} still answered 429 Too Many Requests to list DAGs "
        "(3 attempts): try again later"
    )
    assert waited == [60.0, 60.0]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        (" 0 ", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_values(header: str | None, expected: float | None) -> None:
    assert airflow_api._retry_after(header) == expected


# --- 401, 403, 404 and other refusals ---


def test_wrong_password(stand_in: FaultyAirflowStandIn, make_api: Make) -> None:
    api = make_api(password="not-the-password")
    assert error_of(api.version) == (
        f"Airflow at {stand_in.url} rejected user 'admin' (401 Unauthorized): wrong user name "
        "or password; check AIRFLOW_USERNAME and AIRFLOW_PASSWORD"
    )


def test_expired_token(stand_in: FaultyAirflowStandIn, make_api: Make) -> None:
    stand_in.expired_tokens.append("expired-token-zzz")
    api = make_api(username=None, password=None, token="expired-token-zzz")
    assert error_of(lambda: api.get_dag("a")) == (
        f"Airflow at {stand_in.url} rejected the API token (401 Unauthorized) to read DAG 'a': "
        "it is invalid or expired; set a valid AIRFLOW_API_TOKEN, or AIRFLOW_USERNAME and "
        "AIRFLOW_PASSWORD"
    )


def test_unverifiable_token(stand_in: FaultyAirflowStandIn, make_api: Make) -> None:
    """Airflow 3.3 answers 403 "Invalid JWT token" to a token it cannot verify."""
    api = make_api(username=None, password=None, token="garbled-token-zzz")
    assert error_of(lambda: api.get_dag("a")) == (
        f"Airflow at {stand_in.url} rejected the API token (403 Forbidden: Invalid JWT token) to "
        "read DAG 'a': it is invalid or expired; set a valid AIRFLOW_API_TOKEN, or "
        "AIRFLOW_USERNAME and AIRFLOW_PASSWORD"
    )


def test_no_credentials_for_an_airflow_that_needs_them(
    stand_in: FaultyAirflowStandIn, make_api: Make
) -> None:
    api = make_api(username=None, password=None)
    assert error_of(lambda: api.get_dag("a")) == (
        f"Airflow at {stand_in.url} requires authentication (401 Unauthorized) to read DAG 'a': "
        "set AIRFLOW_API_TOKEN, or AIRFLOW_USERNAME and AIRFLOW_PASSWORD"
    )


def test_fresh_token_rejected_too(stand_in: FaultyAirflowStandIn, api: AirflowApi) -> None:
    api.version()
    stand_in.fail("^/api/v2/dags/a$", 401, times=2)
    assert error_of(lambda: api.get_dag("a")) == (
        f"Airflow at {stand_in.url} rejected the token it issued to user 'admin' "
        "(401 Unauthorized) to read DAG 'a': check AIRFLOW_USERNAME and AIRFLOW_PASSWORD, and "
        "that all API servers share one [api_auth] jwt_secret"
    )
    assert len(stand_in.calls("POST", "^/auth/token$")) == 2  # one refresh, no more


def test_forbidden(stand_in: FaultyAirflowStandIn, api: AirflowApi) -> None:
    stand_in.add_dag("a")
    stand_in.fail("^/api/v2/dags/a$", 403, method="PATCH", body={"detail": "Forbidden"})
    assert error_of(lambda: api.unpause("a")) == (
        f"Airflow at {stand_in.url} denied user 'admin' permission to unpause DAG 'a' "
        "(403 Forbidden): ask an Airflow admin for a role that allows it"
    )


def test_forbidden_with_a_token(stand_in: FaultyAirflowStandIn, make_api: Make) -> None:
    stand_in.static_token = "static-token-abcdef"
    stand_in.fail("dagRuns$", 403, method="POST")
    api = make_api(username=None, password=None, token="static-token-abcdef")
    assert error_of(lambda: api.trigger("a")) == (
        f"Airflow at {stand_in.url} denied the API token's user permission to trigger DAG 'a' "
        "(403 Forbidden): ask an Airflow admin for a role that allows it"
    )


@pytest.mark.parametrize(
    ("call", "what"),
    [
        (lambda api: api.unpause("ghost"), "unpause"),
        (lambda api: api.trigger("ghost", {}), "trigger"),
        (lambda api: api.last_run("ghost"), "last_run"),
    ],
)
def test_dag_not_in_airflow(
    stand_in: FaultyAirflowStandIn, api: AirflowApi, call: Callable[[AirflowApi], object], what: str
) -> None:
    assert error_of(lambda: call(api)) == (
        f"DAG 'ghost' is not in Airflow at {stand_in.url} (404 Not Found): it has not been "
        "uploaded, or Airflow has not parsed it yet"
    )


def test_run_not_in_airflow(stand_in: FaultyAirflowStandIn, api: AirflowApi) -> None:
    stand_in.add_dag("a")
    expected = (
        f"run 'manual__x+00:00' of DAG 'a' is not in Airflow at {stand_in.url} (404 Not Found)"
    )
    assert error_of(lambda: api.dag_run("a", "manual__x+00:00")) == expected
    assert error_of(lambda: api.task_instances("a", "manual__x+00:00")) == expected


def test_bad_request_shows_what_airflow_said(
    stand_in: FaultyAirflowStandIn, api: AirflowApi
) -> None:
    stand_in.add_dag("a")
    detail = "Dag with dag_id: 'a' has import errors and cannot be triggered"
    stand_in.fail("dagRuns$", 400, method="POST", body={"detail": detail})
    assert error_of(lambda: api.trigger("a")) == (
        f"Airflow at {stand_in.url} refused to trigger DAG 'a': 400 Bad Request: {detail}"
    )


def test_validation_errors_are_joined(stand_in: FaultyAirflowStandIn, api: AirflowApi) -> None:
    body = {"detail": [{"loc": ["query", "limit"], "msg": "bad limit"}, {"msg": "bad offset"}]}
    stand_in.fail("^/api/v2/dags$", 422, body=body)
    assert error_of(api.list_dags) == (
        f"Airflow at {stand_in.url} refused to list DAGs: 422 Unprocessable Entity: bad limit; "
        "bad offset"
    )


def test_redirect_is_reported(stand_in: FaultyAirflowStandIn, api: AirflowApi) -> None:
    stand_in.fail("^/api/v2/dags$", 308, headers={"Location": "https://airflow.example.com/"})
    assert error_of(api.list_dags) == (
        f"Airflow at {stand_in.url} redirects to https://airflow.example.com/ "
        "(308 Permanent Redirect): use that URL"
    )


# --- trigger is safe to retry ---


def test_trigger_whose_answer_was_lost_is_not_run_twice(
    stand_in: FaultyAirflowStandIn, api: AirflowApi, sleeps: list[float]
) -> None:
    stand_in.add_dag("a")
    stand_in.lose_answer("dagRuns$", method="POST")
    run_id = api.trigger("a")
    assert [r["dag_run_id"] for r in stand_in.runs["a"]] == [run_id]
    assert [r.status for r in stand_in.calls("POST", "dagRuns$")] == [None, 409]  # None: lost


def test_trigger_conflict_on_the_first_attempt(
    stand_in: FaultyAirflowStandIn, api: AirflowApi
) -> None:
    stand_in.add_dag("a")
    stand_in.add_run("a", "taken")
    assert error_of(lambda: api.trigger("a", run_id="taken")) == (
        f"Airflow at {stand_in.url} refused to trigger DAG 'a': 409 Conflict: Unique "
        "constraint violation: dag_run taken exists"
    )


# --- not an Airflow 3 ---


def test_airflow2_is_recognised(make_api: Make) -> None:
    server = FaultyAirflowStandIn(airflow2=True).start()
    try:
        for api in (
            make_api(host=server.url, username=None, password=None),
            make_api(host=server.url),  # POST /auth/token: 404 as well
        ):
            expected = (
                f"Airflow at {server.url} is Airflow 2 (REST API v1, version 2.10.5); this "
                "plugin needs Airflow 3 (REST API v2): upgrade Airflow, or use "
                "kedro-airflow-k8s 0.8 with Airflow 2"
            )
            assert error_of(api.version) == expected
            assert error_of(functools.partial(api.get_dag, "a")) == expected
    finally:
        server.stop()


def test_no_airflow_api_at_the_url(stand_in: FaultyAirflowStandIn, make_api: Make) -> None:
    stand_in.fail("^/api/v2/", 404, times=10, body=b"<html>not here</html>")
    api = make_api(username=None, password=None)
    assert error_of(lambda: api.get_dag("a")) == (
        f"no Airflow 3 REST API at {stand_in.url} (GET /api/v2/version answered 404 Not Found): "
        "check the Airflow URL (scheme, host, port, path prefix)"
    )


def test_auth_token_endpoint_missing(stand_in: FaultyAirflowStandIn, api: AirflowApi) -> None:
    stand_in.fail("^/auth/token$", 404)
    assert error_of(api.version) == (
        f"Airflow at {stand_in.url} does not issue tokens for a user name and password at "
        "/auth/token (404 Not Found): set AIRFLOW_API_TOKEN instead"
    )


def test_https_against_plain_http(stand_in: FaultyAirflowStandIn) -> None:
    host = stand_in.url.replace("http://", "https://")
    api = AirflowApi(ClientSettings(host, **{**FAST, "retries": 0}))
    message = error_of(lambda: api.get_dag("a"))
    assert message.startswith(f"TLS error talking to Airflow at {host}: ")
    assert "wrong version number" in message
    assert message.endswith(
        "the server does not speak TLS there: is the URL http:// rather than https://?"
    )


@pytest.fixture
def tls_stand_in(tmp_path: Path) -> Iterator[tuple[FaultyAirflowStandIn, Path]]:
    cert, key = self_signed(tmp_path)
    server = FaultyAirflowStandIn(auth_required=False, tls=(cert, key)).start()
    server.add_dag("a")
    try:
        yield server, cert
    finally:
        server.stop()


def test_tls_verification_is_on_by_default(
    tls_stand_in: tuple[FaultyAirflowStandIn, Path],
) -> None:
    server, _ = tls_stand_in
    api = AirflowApi(ClientSettings(server.url, **{**FAST, "retries": 0}))
    message = error_of(lambda: api.get_dag("a"))
    assert message.startswith(f"TLS error talking to Airflow at {server.url}: [SSL: CERTIFICATE_")
    assert message.endswith(
        "give the CA bundle in AIRFLOW_API_CA_BUNDLE, or set AIRFLOW__CLIENT__SSL_VERIFY=false "
        "to skip verification"
    )
    assert server.calls() == []  # nothing was sent before the handshake failed


def test_tls_with_a_ca_bundle(tls_stand_in: tuple[FaultyAirflowStandIn, Path]) -> None:
    server, cert = tls_stand_in
    settings = ClientSettings.from_env(server.url, {"AIRFLOW_API_CA_BUNDLE": str(cert)})
    assert AirflowApi(settings).get_dag("a") is not None


def test_tls_without_verification(
    tls_stand_in: tuple[FaultyAirflowStandIn, Path], caplog: pytest.LogCaptureFixture
) -> None:
    server, _ = tls_stand_in
    settings = ClientSettings.from_env(server.url, {"AIRFLOW__CLIENT__SSL_VERIFY": "false"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # urllib3's InsecureRequestWarning must not leak out
        assert AirflowApi(settings).get_dag("a") is not None
    assert f"TLS certificate verification is off for {server.url}" in caplog.text
