"""ClientSettings: credentials and TLS from the environment, URL checks, no secret in repr."""

from __future__ import annotations

from pathlib import Path

import pytest

from kedro_airflow_k8s.airflow_api import AirflowV2, ClientSettings, ServerInfo, Transport
from kedro_airflow_k8s.errors import PluginError

HOST = "https://airflow.example.com"
TOKEN = "tok-Secret-123456"
PASSWORD = "pw-Secret-654321"


def test_token_from_env_wins_over_user_and_password() -> None:
    env = {"AIRFLOW_API_TOKEN": TOKEN, "AIRFLOW_USERNAME": "u", "AIRFLOW_PASSWORD": PASSWORD}
    settings = ClientSettings.from_env(HOST, env)
    assert (settings.token, settings.username, settings.password) == (TOKEN, None, None)
    assert settings.auth == "token"


def test_user_and_password_from_env() -> None:
    settings = ClientSettings.from_env(HOST, {"AIRFLOW_USERNAME": "u", "AIRFLOW_PASSWORD": "p"})
    assert (settings.token, settings.username, settings.password) == (None, "u", "p")
    assert settings.auth == "password"


def test_no_credentials_means_no_auth() -> None:
    settings = ClientSettings.from_env(HOST, {})
    assert settings.auth == "none"
    assert settings.verify is True
    assert (settings.connect_timeout, settings.read_timeout) == (10.0, 30.0)
    assert (settings.retries, settings.backoff, settings.backoff_max) == (5, 0.5, 10.0)


def test_user_without_password_is_refused() -> None:
    with pytest.raises(PluginError) as info:
        ClientSettings.from_env(HOST, {"AIRFLOW_USERNAME": "u"})
    assert info.value.message == (
        "a user name needs a password: set both AIRFLOW_USERNAME and AIRFLOW_PASSWORD, "
        "or AIRFLOW_API_TOKEN"
    )


@pytest.mark.parametrize("value", ["false", "0", "no", "False", " OFF "])
def test_ssl_verify_switch_turns_verification_off(value: str) -> None:
    assert ClientSettings.from_env(HOST, {"AIRFLOW__CLIENT__SSL_VERIFY": value}).verify is False


@pytest.mark.parametrize("value", ["true", "1", "yes", ""])
def test_ssl_verify_switch_on(value: str) -> None:
    assert ClientSettings.from_env(HOST, {"AIRFLOW__CLIENT__SSL_VERIFY": value}).verify is True


def test_ssl_verify_switch_rejects_other_values() -> None:
    with pytest.raises(PluginError, match=r"AIRFLOW__CLIENT__SSL_VERIFY='maybe': use true or"):
        ClientSettings.from_env(HOST, {"AIRFLOW__CLIENT__SSL_VERIFY": "maybe"})


def test_ca_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert ClientSettings.from_env(HOST, {"AIRFLOW_API_CA_BUNDLE": str(bundle)}).verify == str(
        bundle
    )
    missing = tmp_path / "nope.pem"
    with pytest.raises(PluginError) as info:
        ClientSettings.from_env(HOST, {"AIRFLOW_API_CA_BUNDLE": str(missing)})
    assert info.value.message == f"AIRFLOW_API_CA_BUNDLE={missing}: no such file"


def test_verify_off_wins_over_a_ca_bundle(tmp_path: Path) -> None:
    env = {"AIRFLOW__CLIENT__SSL_VERIFY": "no", "AIRFLOW_API_CA_BUNDLE": str(tmp_path / "x")}
    assert ClientSettings.from_env(HOST, env).verify is False


@pytest.mark.parametrize(
    "given",
    [HOST, HOST + "/", HOST + "/api/v2", HOST + "/api/v2/", HOST + "/api/v1", "  " + HOST + " "],
)
def test_host_is_normalised_as_the_config_model_does(given: str) -> None:
    from kedro_airflow_k8s.config.models import PluginConfig

    assert ClientSettings(given).host == HOST
    assert PluginConfig(host=given).host == HOST  # one rule: ui, run-once and list agree


def test_host_keeps_a_path_prefix() -> None:
    assert ClientSettings("http://proxy:8080/airflow/").host == "http://proxy:8080/airflow"


@pytest.mark.parametrize("given", ["airflow:8080", "ftp://x", "", "http://"])
def test_host_needs_http_or_https(given: str) -> None:
    with pytest.raises(PluginError) as info:
        ClientSettings(given)
    assert info.value.message == f"Airflow URL: {given!r} is not an http:// or https:// URL"


@pytest.mark.parametrize(
    "given", [f"https://admin:{PASSWORD}@airflow.example.com", f"ftp://u:{PASSWORD}@x/"]
)
def test_credentials_in_the_url_are_refused_without_echoing_them(given: str) -> None:
    with pytest.raises(PluginError) as info:
        ClientSettings(given)
    error: BaseException | None = info.value
    while error is not None:  # nor in its cause
        assert PASSWORD not in str(error)
        error = error.__cause__
    assert info.value.message == (
        "Airflow URL: the Airflow URL must not hold credentials: set AIRFLOW_API_TOKEN, or "
        "AIRFLOW_USERNAME and AIRFLOW_PASSWORD"
    )


@pytest.mark.parametrize(
    "options",
    [
        {"connect_timeout": 0},
        {"read_timeout": -1},
        {"retries": -1},
        {"backoff": -0.1},
        {"backoff_max": -1},
    ],
)
def test_bad_numbers_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(PluginError, match="timeouts must be > 0"):
        ClientSettings(HOST, **options)  # type: ignore[arg-type]


def test_numbers_from_the_caller() -> None:
    settings = ClientSettings.from_env(HOST, {}, read_timeout=3, retries=0)
    assert (settings.read_timeout, settings.retries) == (3, 0)


def test_repr_shows_no_secret() -> None:
    settings = ClientSettings(HOST, token=TOKEN, username="u", password=PASSWORD)
    transport = Transport(settings)
    api = AirflowV2(transport, ServerInfo("3.3.2", "v2"))
    for text in (repr(settings), str(settings), repr(transport), repr(api)):
        assert TOKEN not in text
        assert PASSWORD not in text
    assert "airflow.example.com" in repr(settings)
    assert repr(api) == "AirflowV2(host='https://airflow.example.com', auth='password')"
