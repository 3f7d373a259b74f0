"""Faults injected by the stand-in: retries, timeouts, dropped connections, HTTP errors, answers
of the wrong kind, the time limit, and the one-line messages the user gets (asserted in full)."""

from __future__ import annotations

import re
import socket
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kedro_airflow_k8s.airflow_api import (
    AirflowV1,
    AirflowV2,
    ClientSettings,
    RestApi,
    ServerInfo,
    Transport,
    Unavailable,
    connect,
    transport,
)
from kedro_airflow_k8s.deadline import Deadline
from kedro_airflow_k8s.errors import EXIT_REMOTE, EXIT_TIMEOUT, PluginError, RemoteError, TimedOut

from .conftest import FAST
from .fake_server import FaultyAirflowStandIn, self_signed

Make = Callable[..., RestApi]
LIMIT = "the command's time limit (--timeout or KEDRO_AIRFLOW_K8S_TIMEOUT)"


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """The pauses the client makes between attempts (really waited)."""
    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        time.sleep(seconds)

    monkeypatch.setattr(transport, "_sleep", sleep)
    yield waited


def error_of(call: Callable[[], object]) -> PluginError:
    with pytest.raises(PluginError) as info:
        call()
    assert "\n" not in info.value.message
    return info.value


def message_of(call: Callable[[], object]) -> str:
    return error_of(call).message


def v2_at(url: str, deadline: Deadline | None = None, **settings: Any) -> AirflowV2:
    """The v2 API at ``url`` without asking which Airflow it is (nothing may answer there)."""
    options = {**FAST, **settings}
    return AirflowV2(Transport(ClientSettings(url, **options), deadline), ServerInfo("3", "v2"))


@pytest.fixture
def blackhole_url() -> Iterator[str]:
    """A loopback port whose connection queue is full: a connection attempt gets no answer (as
    from a firewall that drops packets)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname(), timeout=2)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        filler.close()
        listener.close()


# --- no answer ---


def test_api_down_is_retried_then_named(closed_port_url: str, sleeps: list[float]) -> None:
    error = error_of(lambda: connect(ClientSettings(closed_port_url, **FAST)))
    assert error.message == (
        f"cannot reach Airflow at {closed_port_url} to read the Airflow version: connection "
        "refused (4 attempts)"
    )
    assert isinstance(error, Unavailable) and error.exit_code == EXIT_REMOTE
    assert sleeps == [0.02, 0.04]  # urllib3's backoff: the first retry at once


def test_api_down_while_logging_in(closed_port_url: str, sleeps: list[float]) -> None:
    api = v2_at(closed_port_url, username="u", password="p")
    assert message_of(api.check_access) == (
        f"cannot reach Airflow at {closed_port_url} to log in as 'u': connection refused "
        "(4 attempts)"
    )


def test_backoff_is_capped(closed_port_url: str, sleeps: list[float]) -> None:
    api = v2_at(closed_port_url, retries=6, backoff=0.01, backoff_max=0.03)
    with pytest.raises(PluginError):
        api.get_dag("a")
    assert sleeps == [0.02, 0.03, 0.03, 0.03, 0.03]


def test_unresolvable_host(sleeps: list[float], monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "no-such-host.invalid":  # answered here: no DNS query leaves the machine
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    api = v2_at("http://no-such-host.invalid", retries=0)
    assert message_of(lambda: api.get_dag("a")) == (
        "cannot reach Airflow at http://no-such-host.invalid to read DAG 'a': cannot resolve "
        "the host name (1 attempt)"
    )


def test_timeout_is_retried_then_reported(
    stand_in: FaultyAirflowStandIn, make_api: Make, sleeps: list[float]
) -> None:
    stand_in.add_dag("a")
    api = make_api(read_timeout=0.3, retries=1)
    api.check_access()  # logged in
    stand_in.hang("^/api/v2/dags/a$", seconds=5, times=2)
    started = time.monotonic()
    assert message_of(lambda: api.get_dag("a")) == (
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
    assert make_api(read_timeout=0.3).get_dag("a") is not None


def test_a_connection_that_never_opens_times_out(blackhole_url: str, sleeps: list[float]) -> None:
    api = v2_at(blackhole_url, connect_timeout=0.3, retries=1)
    started = time.monotonic()
    assert message_of(lambda: api.get_dag("a")) == (
        f"cannot reach Airflow at {blackhole_url} to read DAG 'a': no connection within 0.3 s "
        "(2 attempts)"
    )
    assert time.monotonic() - started < 3


def test_dropped_connections_are_retried(
    stand_in: FaultyAirflowStandIn, api: RestApi, sleeps: list[float]
) -> None:
    stand_in.add_dag("a")
    stand_in.drop("^/api/v2/dags/a$", times=2)
    assert api.get_dag("a") is not None
    assert len(stand_in.calls("GET", "^/api/v2/dags/a$")) == 3


def test_connection_always_dropped(
    stand_in: FaultyAirflowStandIn, api: RestApi, sleeps: list[float]
) -> None:
    stand_in.drop("^/api/v2/dags/a$", times=10)
    assert message_of(lambda: api.get_dag("a")) == (
        f"cannot reach Airflow at {stand_in.url} to read DAG 'a': the connection was closed "
        "without an answer (4 attempts)"
    )


# --- the command's time limit ---


def test_a_hanging_api_is_given_up_at_the_time_limit(
    stand_in: FaultyAirflowStandIn, make_api: Make
) -> None:
    stand_in.add_dag("a")
    api = make_api(read_timeout=30, deadline=Deadline(0.6))
    stand_in.hang("^/api/v2/dags/a$", seconds=10, times=10)
    started = time.monotonic()
    error = error_of(lambda: api.get_dag("a"))
    assert time.monotonic() - started < 2
    assert isinstance(error, TimedOut) and error.exit_code == EXIT_TIMEOUT
    assert error.message.startswith(
        f"cannot reach Airflow at {stand_in.url} to read DAG 'a': no answer within 0."
    )
    assert error.message.endswith(f"; gave up after 0.6 s, {LIMIT}")
    # the read timeout, cut to the time left, reads as a round figure (0.59, not 0.598763)
    assert re.search(r"no answer within 0\.\d{1,2} s ", error.message), error.message


def test_retries_stop_at_the_time_limit(closed_port_url: str, sleeps: list[float]) -> None:
    api = v2_at(closed_port_url, Deadline(0.5), retries=10, backoff=0.2, backoff_max=10)
    assert message_of(lambda: api.get_dag("a")) == (
        f"cannot reach Airflow at {closed_port_url} to read DAG 'a': connection refused "
        f"(3 attempts); gave up after 0.5 s, {LIMIT}"
    )
    assert sleeps == [0.4]  # the next pause (0.8 s) would end past the limit


def test_no_time_left(closed_port_url: str) -> None:
    clock = [0.0]
    deadline = Deadline(5, clock=lambda: clock[0])
    clock[0] = 5.0
    assert message_of(lambda: v2_at(closed_port_url, deadline).get_dag("a")) == (
        f"no time left to read DAG 'a' at Airflow {closed_port_url}: gave up after 5 s, {LIMIT}"
    )


# --- 5xx and 429 ---


def test_500s_then_success(
    stand_in: FaultyAirflowStandIn, api: RestApi, sleeps: list[float]
) -> None:
    stand_in.add_dag("a")
    stand_in.fail("^/api/v2/dags/a$", 500, times=3)
    assert api.get_dag("a") is not None
    assert [r.status for r in stand_in.calls("GET", "^/api/v2/dags/a$")] == [500, 500, 500, 200]
    assert sleeps == [0.02, 0.04]


def test_500s_for_ever(stand_in: FaultyAirflowStandIn, api: RestApi, sleeps: list[float]) -> None:
    stand_in.fail("^/api/v2/dags$", 503, times=10, body={"detail": "database is locked"})
    error = error_of(api.list_dags)
    assert error.message == (
        f"Airflow at {stand_in.url} failed to list DAGs: 503 Service Unavailable: database is "
        "locked (4 attempts)"
    )
    assert isinstance(error, Unavailable) and error.problem == "503 Service Unavailable"


def test_501_is_not_retried(
    stand_in: FaultyAirflowStandIn, api: RestApi, sleeps: list[float]
) -> None:
    stand_in.fail("^/api/v2/dags$", 501, times=10)
    assert "501 Not Implemented" in message_of(api.list_dags)
    assert len(stand_in.calls("GET", "^/api/v2/dags$")) == 1


def test_429_honours_retry_after(
    stand_in: FaultyAirflowStandIn, make_api: Make, sleeps: list[float]
) -> None:
    stand_in.add_dag("a")
    api = make_api(deadline=Deadline(10))
    stand_in.fail("^/api/v2/dags/a$", 429, headers={"Retry-After": "1"})
    started = time.monotonic()
    assert api.get_dag("a") is not None
    assert time.monotonic() - started >= 0.95
    assert sleeps == [1.0]


def test_a_retry_after_past_the_time_limit_is_not_waited_for(
    stand_in: FaultyAirflowStandIn, make_api: Make, sleeps: list[float]
) -> None:
    stand_in.fail("^/api/v2/dags$", 429, times=10, headers={"Retry-After": "3600"})
    api = make_api(deadline=Deadline(20))
    started = time.monotonic()
    error = error_of(api.list_dags)
    assert time.monotonic() - started < 2 and sleeps == []
    assert isinstance(error, TimedOut)
    assert error.message == (
        f"Airflow at {stand_in.url} answered 429 Too Many Requests to list DAGs and asks to "
        f"wait before trying again (Retry-After: 3600): longer than the 20 s left of {LIMIT}"
    )


def test_429_for_ever(stand_in: FaultyAirflowStandIn, make_api: Make, sleeps: list[float]) -> None:
    stand_in.fail("^/api/v2/dags$", 429, times=10, headers={"Retry-After": "0"})
    assert message_of(make_api(retries=2).list_dags) == (
        f"Airflow at {stand_in.url} still answered 429 Too Many Requests to list DAGs "
        "(3 attempts): try again later"
    )


# --- answers that are not what the API promises ---


def test_an_answer_that_is_not_json(stand_in: FaultyAirflowStandIn, api: RestApi) -> None:
    stand_in.fail("^/api/v2/dags$", 200, body=b"<html>Sign in</html>")
    assert message_of(api.list_dags) == (
        f"Airflow at {stand_in.url} answered GET /api/v2/dags with something that is not JSON "
        f"(text/html, 20 bytes): is {stand_in.url} the Airflow URL, with no login page or proxy "
        "in between?"
    )


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ([], "(the whole answer): input should be a valid dictionary"),
        ({"dags": []}, "total_entries: field required"),
        ({"dags": [{"dag_id": 7}], "total_entries": 1}, "dags[0].dag_id: input should be a"),
        ({"dags": "x", "total_entries": 1}, "dags: input should be a valid list"),
    ],
)
def test_json_of_the_wrong_shape(
    stand_in: FaultyAirflowStandIn, api: RestApi, body: Any, where: str
) -> None:
    stand_in.fail("^/api/v2/dags$", 200, body=body)
    message = message_of(api.list_dags)
    assert message.startswith(
        f"Airflow at {stand_in.url} answered GET /api/v2/dags with JSON of an unexpected shape "
        f"({where}"
    )
    assert message.endswith("): is it the REST API of Airflow 2.10 or 3.x?")


def test_a_page_served_again_and_again_stops_the_listing(
    stand_in: FaultyAirflowStandIn, api: RestApi
) -> None:
    for index in range(100):
        stand_in.add_dag(f"d{index:03d}")
    page = api.transport.request("GET", "/api/v2/dags", "list DAGs", query={"limit": 100}).json()
    stand_in.fail("^/api/v2/dags$", 200, times=1000, body={**page, "total_entries": 10**9})
    assert message_of(api.list_dags) == (
        f"Airflow at {stand_in.url} answered GET /api/v2/dags at offset 100 with items it had "
        "already sent: its paging repeats itself, so listing stopped (try again; if it "
        "persists, check the API server or the proxy in front of it)"
    )
    assert len(stand_in.calls("GET", "^/api/v2/dags$")) == 3


def test_paging_ends_at_the_total_announced_first(
    stand_in: FaultyAirflowStandIn, api: RestApi
) -> None:
    """A server that sends new items for ever and a total that keeps growing."""

    def endless(record: Any) -> dict[str, Any]:
        offset = int(record.query["offset"][0])
        dags = [stand_in.add_dag(f"d{offset + i:06d}").v2() for i in range(100)]
        return {"dags": dags, "total_entries": 250 + offset}

    stand_in.fail("^/api/v2/dags$", 200, times=1000, body=endless)
    assert len(api.list_dags()) == 300
    assert len(stand_in.calls("GET", "^/api/v2/dags$")) == 3


# --- 401, 403, 404 and other refusals ---


def test_wrong_password(stand_in: FaultyAirflowStandIn, make_api: Make) -> None:
    api = make_api(password="not-the-password")
    assert message_of(api.check_access) == (
        f"Airflow at {stand_in.url} rejected user 'admin' (401 Unauthorized): wrong user name "
        "or password; check AIRFLOW_USERNAME and AIRFLOW_PASSWORD"
    )


def test_expired_token(stand_in: FaultyAirflowStandIn, make_api: Make) -> None:
    stand_in.expired_tokens.append("expired-token-zzz")
    api = make_api(username=None, password=None, token="expired-token-zzz")
    assert message_of(lambda: api.get_dag("a")) == (
        f"Airflow at {stand_in.url} rejected the API token (401 Unauthorized) to read DAG 'a': "
        "it is invalid or expired; set a valid AIRFLOW_API_TOKEN, or AIRFLOW_USERNAME and "
        "AIRFLOW_PASSWORD"
    )


def test_unverifiable_token(stand_in: FaultyAirflowStandIn, make_api: Make) -> None:
    """Airflow 3.3 answers 403 "Invalid JWT token" to a token it cannot verify."""
    api = make_api(username=None, password=None, token="garbled-token-zzz")
    assert message_of(lambda: api.get_dag("a")) == (
        f"Airflow at {stand_in.url} rejected the API token (403 Forbidden: Invalid JWT token) to "
        "read DAG 'a': it is invalid or expired; set a valid AIRFLOW_API_TOKEN, or "
        "AIRFLOW_USERNAME and AIRFLOW_PASSWORD"
    )


def test_no_credentials_for_an_airflow_that_needs_them(
    stand_in: FaultyAirflowStandIn, make_api: Make
) -> None:
    api = make_api(username=None, password=None)
    assert message_of(lambda: api.get_dag("a")) == (
        f"Airflow at {stand_in.url} requires authentication (401 Unauthorized) to read DAG 'a': "
        "set AIRFLOW_API_TOKEN, or AIRFLOW_USERNAME and AIRFLOW_PASSWORD"
    )


def test_fresh_token_rejected_too(stand_in: FaultyAirflowStandIn, api: RestApi) -> None:
    api.check_access()
    stand_in.fail("^/api/v2/dags/a$", 401, times=2)
    assert message_of(lambda: api.get_dag("a")) == (
        f"Airflow at {stand_in.url} rejected the token it issued to user 'admin' "
        "(401 Unauthorized) to read DAG 'a': check AIRFLOW_USERNAME and AIRFLOW_PASSWORD, and "
        "that all API servers share one [api_auth] jwt_secret"
    )
    assert len(stand_in.calls("POST", "^/auth/token$")) == 2  # one refresh, no more


def test_forbidden(stand_in: FaultyAirflowStandIn, api: RestApi) -> None:
    stand_in.add_dag("a")
    stand_in.fail("^/api/v2/dags/a$", 403, method="PATCH", body={"detail": "Forbidden"})
    assert message_of(lambda: api.unpause("a")) == (
        f"Airflow at {stand_in.url} denied user 'admin' permission to unpause DAG 'a' "
        "(403 Forbidden): ask an Airflow admin for a role that allows it"
    )


def test_forbidden_with_a_token(stand_in: FaultyAirflowStandIn, make_api: Make) -> None:
    stand_in.static_token = "static-token-abcdef"
    stand_in.fail("dagRuns$", 403, method="POST")
    api = make_api(username=None, password=None, token="static-token-abcdef")
    assert message_of(lambda: api.trigger("a")) == (
        f"Airflow at {stand_in.url} denied the API token's user permission to trigger DAG 'a' "
        "(403 Forbidden): ask an Airflow admin for a role that allows it"
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda api: api.unpause("ghost"),
        lambda api: api.trigger("ghost", {}),
        lambda api: api.last_run("ghost"),
    ],
)
def test_dag_not_in_airflow(
    stand_in: FaultyAirflowStandIn, api: RestApi, call: Callable[[RestApi], object]
) -> None:
    assert message_of(lambda: call(api)) == (
        f"DAG 'ghost' is not in Airflow at {stand_in.url} (404 Not Found): it has not been "
        "uploaded, or Airflow has not parsed it yet"
    )


def test_run_not_in_airflow(stand_in: FaultyAirflowStandIn, api: RestApi) -> None:
    stand_in.add_dag("a")
    expected = (
        f"run 'manual__x+00:00' of DAG 'a' is not in Airflow at {stand_in.url} (404 Not Found)"
    )
    assert message_of(lambda: api.dag_run("a", "manual__x+00:00")) == expected
    assert message_of(lambda: api.task_instances("a", "manual__x+00:00")) == expected


def test_bad_request_shows_what_airflow_said(stand_in: FaultyAirflowStandIn, api: RestApi) -> None:
    stand_in.add_dag("a")
    detail = "Dag with dag_id: 'a' has import errors and cannot be triggered"
    stand_in.fail("dagRuns$", 400, method="POST", body={"detail": detail})
    error = error_of(lambda: api.trigger("a"))
    assert error.message == (
        f"Airflow at {stand_in.url} refused to trigger DAG 'a': 400 Bad Request: {detail}"
    )
    assert type(error) is RemoteError and error.exit_code == EXIT_REMOTE


def test_validation_errors_are_joined(stand_in: FaultyAirflowStandIn, api: RestApi) -> None:
    body = {"detail": [{"loc": ["query", "limit"], "msg": "bad limit"}, {"msg": "bad offset"}]}
    stand_in.fail("^/api/v2/dags$", 422, body=body)
    assert message_of(api.list_dags) == (
        f"Airflow at {stand_in.url} refused to list DAGs: 422 Unprocessable Entity: bad limit; "
        "bad offset"
    )


def test_redirect_is_reported(stand_in: FaultyAirflowStandIn, api: RestApi) -> None:
    stand_in.fail("^/api/v2/dags$", 308, headers={"Location": "https://airflow.example.com/"})
    assert message_of(api.list_dags) == (
        f"Airflow at {stand_in.url} redirects to https://airflow.example.com/ "
        "(308 Permanent Redirect): use that URL"
    )


# --- trigger is safe to retry ---


def test_trigger_whose_answer_was_lost_is_not_run_twice(
    stand_in: FaultyAirflowStandIn, api: RestApi, sleeps: list[float]
) -> None:
    stand_in.add_dag("a")
    stand_in.lose_answer("dagRuns$", method="POST")
    run_id = api.trigger("a")
    assert [r.run_id for r in stand_in.runs["a"]] == [run_id]
    assert [r.status for r in stand_in.calls("POST", "dagRuns$")] == [None, 409]  # None: lost


def test_trigger_conflict_on_the_first_attempt(
    stand_in: FaultyAirflowStandIn, api: RestApi
) -> None:
    stand_in.add_dag("a")
    stand_in.add_run("a", "taken")
    assert message_of(lambda: api.trigger("a", run_id="taken")) == (
        f"Airflow at {stand_in.url} refused to trigger DAG 'a': 409 Conflict: Unique "
        "constraint violation: dag_run taken exists"
    )


# --- which Airflow ---


def test_airflow_2_10_gets_the_v1_api(make_api: Make, make_stand_in: Any) -> None:
    server = make_stand_in(api="v1")
    api = make_api(host=server.url)
    assert isinstance(api, AirflowV1)
    assert (api.server.version, api.server.api) == ("2.10.5", "v1")


@pytest.mark.parametrize("version", ["2.9.3", "1.10.15"])
def test_an_older_airflow_is_refused(make_api: Make, make_stand_in: Any, version: str) -> None:
    server = make_stand_in(api="v1", version=version)
    assert message_of(lambda: make_api(host=server.url)) == (
        f"Airflow at {server.url} is version {version}: this plugin drives Airflow 2.10 "
        "(REST API v1) and 3.x (REST API v2); upgrade Airflow"
    )


def test_no_airflow_api_at_the_url(stand_in: FaultyAirflowStandIn, make_api: Make) -> None:
    stand_in.fail("^/api/", 404, times=10, body=b"<html>not here</html>")
    assert message_of(lambda: make_api(username=None, password=None)) == (
        f"no Airflow REST API at {stand_in.url} (GET /api/v2/version answered 404 Not Found, "
        "GET /api/v1/version 404 Not Found): check the Airflow URL (scheme, host, port, path "
        "prefix)"
    )


def test_a_redirect_of_the_version_is_named(stand_in: FaultyAirflowStandIn, make_api: Make) -> None:
    stand_in.fail("^/api/v2/version$", 301, headers={"Location": "https://airflow.example.com/"})
    assert message_of(make_api) == (
        f"Airflow at {stand_in.url} redirects to https://airflow.example.com/ "
        "(301 Moved Permanently): use that URL"
    )


def test_a_version_answer_that_is_not_json(stand_in: FaultyAirflowStandIn, make_api: Make) -> None:
    stand_in.fail("^/api/v2/version$", 200, body=b"<html>the UI</html>")
    assert message_of(make_api).startswith(
        f"Airflow at {stand_in.url} answered GET /api/v2/version with something that is not JSON"
    )


def test_auth_token_endpoint_missing(stand_in: FaultyAirflowStandIn, api: RestApi) -> None:
    stand_in.fail("^/auth/token$", 404)
    assert message_of(api.check_access) == (
        f"Airflow at {stand_in.url} does not issue tokens for a user name and password at "
        "/auth/token (404 Not Found): set AIRFLOW_API_TOKEN instead"
    )


def test_https_against_plain_http(stand_in: FaultyAirflowStandIn) -> None:
    host = stand_in.url.replace("http://", "https://")
    message = message_of(lambda: connect(ClientSettings(host, **{**FAST, "retries": 0})))
    assert message.startswith(f"TLS error talking to Airflow at {host}: ")
    assert "wrong version number" in message.lower()
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
    message = message_of(lambda: connect(ClientSettings(server.url, **{**FAST, "retries": 0})))
    assert message.startswith(f"TLS error talking to Airflow at {server.url}: [SSL: CERTIFICATE_")
    assert message.endswith(
        "give the CA bundle in AIRFLOW_API_CA_BUNDLE, or set AIRFLOW__CLIENT__SSL_VERIFY=false "
        "to skip verification"
    )
    assert server.calls() == []  # nothing was sent before the handshake failed


def test_tls_with_a_ca_bundle(tls_stand_in: tuple[FaultyAirflowStandIn, Path]) -> None:
    server, cert = tls_stand_in
    settings = ClientSettings.from_env(server.url, {"AIRFLOW_API_CA_BUNDLE": str(cert)})
    assert connect(settings).get_dag("a") is not None


def test_tls_without_verification(
    tls_stand_in: tuple[FaultyAirflowStandIn, Path], caplog: pytest.LogCaptureFixture
) -> None:
    server, _ = tls_stand_in
    settings = ClientSettings.from_env(server.url, {"AIRFLOW__CLIENT__SSL_VERIFY": "false"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # urllib3's InsecureRequestWarning must not leak out
        assert connect(settings).get_dag("a") is not None
    assert f"TLS certificate verification is off for {server.url}" in caplog.text


def test_loopback_is_never_sent_to_a_proxy(
    stand_in: FaultyAirflowStandIn, make_api: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    stand_in.add_dag("a")
    assert make_api(retries=0).get_dag("a") is not None


def test_a_proxy_from_the_environment_is_used_for_other_hosts(
    stand_in: FaultyAirflowStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stand-in plays the proxy: the request for a remote host arrives there, whole."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", stand_in.url)
    stand_in.auth_required = False
    stand_in.add_dag("a")
    api = v2_at("http://airflow.example.invalid", retries=0)
    assert api.get_dag("a") is not None
    (sent,) = stand_in.calls("GET")
    assert (sent.path, sent.headers["host"]) == ("/api/v2/dags/a", "airflow.example.invalid")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (30.0, "30"),
        (10, "10"),
        (2.99952, "3"),
        (1.9504, "2"),
        (12.34, "12.3"),
        (0.3, "0.3"),
        (0.598763, "0.6"),
        (0.0421, "0.042"),
    ],
)
def test_durations_in_messages_are_round(value: float, shown: str) -> None:
    """A request's timeout is cut to what is left of the command's time limit: the message
    shows it rounded ("no answer within 3 s"), not as the float it came to."""
    from kedro_airflow_k8s.airflow_api.messages import seconds

    assert seconds(value) == shown
