"""The API token and the password never show: not in messages, exceptions, reprs, log records
(every logger at DEBUG, urllib3's included) nor printed output, even when Airflow echoes them."""

from __future__ import annotations

import base64
import http.client
import logging
from collections.abc import Callable, Iterator

import pytest

from kedro_airflow_k8s.airflow_api import RestApi
from kedro_airflow_k8s.errors import PluginError

from .fake_server import FaultyAirflowStandIn

PASSWORD = "pw-Very-Secret-8c1f2e"
STATIC_TOKEN = "static-Token-Secret-77a9d3"
WRONG = "wrong-Password-0b3e"
Make = Callable[..., RestApi]


@pytest.fixture
def stand_in() -> Iterator[FaultyAirflowStandIn]:
    server = FaultyAirflowStandIn(password=PASSWORD, static_token=STATIC_TOKEN).start()
    server.add_dag("a", ["t"])
    server.add_run("a", "r")
    server.add_task("a", "r", "t", "failed")
    try:
        yield server
    finally:
        server.stop()


def secrets_of(stand_in: FaultyAirflowStandIn) -> list[str]:
    basic = [base64.b64encode(f"admin:{p}".encode()).decode() for p in (PASSWORD, WRONG)]
    return [PASSWORD, STATIC_TOKEN, WRONG, *basic, *stand_in.issued_tokens]


def exception_texts(error: BaseException) -> list[str]:
    texts: list[str] = []
    seen: BaseException | None = error
    while seen is not None:  # the whole chain, even a suppressed context
        texts += [str(seen), repr(seen), repr(seen.args)]
        if isinstance(seen, PluginError):
            texts += [seen.message, seen.format_message()]
        seen = seen.__cause__ or seen.__context__
    return texts


def scenarios(stand_in: FaultyAirflowStandIn, make_api: Make) -> list[BaseException]:
    """Drive successes and failures; return the errors raised."""
    errors: list[BaseException] = []

    def attempt(call: Callable[[], object]) -> None:
        try:
            call()
        except PluginError as error:
            errors.append(error)

    api = make_api()
    attempt(api.check_access)
    attempt(lambda: api.trigger("a", {"x": 1}))
    attempt(lambda: api.get_dag("a"))
    stand_in.expire_tokens()
    attempt(lambda: api.get_dag("a"))  # 401, token refreshed
    stand_in.fail("^/api/v2/dags/a$", 401, times=2)
    attempt(lambda: api.get_dag("a"))  # the fresh token rejected too
    stand_in.fail("^/api/v2/dags$", 500, times=4, body={"detail": f"echo {PASSWORD}"})
    attempt(api.list_dags)
    token = stand_in.issued_tokens[-1]
    stand_in.fail("dagRuns$", 400, body={"detail": f"bad header Bearer {token}"})
    attempt(lambda: api.trigger("a"))
    stand_in.fail("^/api/v2/dags$", 308, headers={"Location": f"https://x/?token={token}"})
    attempt(api.list_dags)
    stand_in.set_log("a", "r", "t", 1, [{"event": f"env: AIRFLOW_PASSWORD={PASSWORD}"}])
    assert PASSWORD not in api.task_log_tail("a", "r", "t", 1)
    stand_in.fail("^/auth/token$", 422, body={"detail": [{"msg": f"input {PASSWORD}"}]})
    attempt(make_api().check_access)
    attempt(make_api(password=WRONG).check_access)
    stand_in.fail("^/auth/token$", 201, body={"access_token": 12, "echo": PASSWORD})
    attempt(make_api().check_access)  # a token answer of the wrong shape
    attempt(make_api(username=None, password=None, token=STATIC_TOKEN).check_access)
    attempt(make_api(username=None, password=None, token="not-" + STATIC_TOKEN).list_dags)
    stand_in.fail("^/api/v2/dags$", 403)
    attempt(make_api(username=None, password=None, token=STATIC_TOKEN).list_dags)
    eyj = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    stand_in.fail("^/api/v2/dags$", 422, body={"detail": f"some other token {eyj}"})
    attempt(api.list_dags)
    old = FaultyAirflowStandIn(api="v1", password=PASSWORD).start()  # basic auth
    try:
        old.add_dag("a")
        attempt(make_api(host=old.url).check_access)
        old.fail("^/api/v1/dags$", 500, times=4, body={"detail": f"echo {PASSWORD}"})
        attempt(make_api(host=old.url).list_dags)
        attempt(make_api(host=old.url, password=WRONG).check_access)
    finally:
        old.stop()
    return errors


def test_no_secret_anywhere(
    stand_in: FaultyAirflowStandIn,
    make_api: Make,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)  # root: urllib3 and the generated client too
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    logging.getLogger("airflow_client").setLevel(logging.DEBUG)
    errors = scenarios(stand_in, make_api)
    assert len(errors) == 12
    assert any("echo ***" in str(e) for e in errors)
    assert any("some other token ***" in str(e) for e in errors)
    texts = [text for error in errors for text in exception_texts(error)]
    texts += [r.getMessage() + repr(r.args) + str(r.exc_text) for r in caplog.records]
    texts += list(capfd.readouterr())
    api = make_api()
    texts += [repr(api), repr(api.transport), repr(api.transport.settings)]
    assert caplog.records  # the DEBUG logs were captured
    for secret in secrets_of(stand_in):
        leaks = [text for text in texts if secret in text]
        assert leaks == [], f"a secret leaked in {leaks[:3]}"
    assert http.client.HTTPConnection.debuglevel == 0  # no header dump on stdout


def test_the_bearer_and_the_password_did_travel(
    stand_in: FaultyAirflowStandIn, make_api: Make
) -> None:
    """The negative test above would pass trivially if nothing was sent: check that it was."""
    make_api().get_dag("a")
    assert stand_in.calls("POST", "^/auth/token$")[0].body["password"] == PASSWORD
    token = stand_in.issued_tokens[0]
    assert stand_in.calls("GET", "/dags/a")[0].headers["authorization"] == f"Bearer {token}"
