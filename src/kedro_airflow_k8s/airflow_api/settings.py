"""How to reach Airflow's REST API: URL, credentials, TLS, timeouts and retries."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kedro_airflow_k8s.config.models import airflow_base_url
from kedro_airflow_k8s.errors import PluginError

TOKEN_ENV = "AIRFLOW_API_TOKEN"
USERNAME_ENV = "AIRFLOW_USERNAME"
PASSWORD_ENV = "AIRFLOW_PASSWORD"
SSL_VERIFY_ENV = "AIRFLOW__CLIENT__SSL_VERIFY"
CA_BUNDLE_ENV = "AIRFLOW_API_CA_BUNDLE"

_FALSE = frozenset({"false", "0", "no", "off"})
_TRUE = frozenset({"true", "1", "yes", "on"})


@dataclass(frozen=True)
class ClientSettings:
    """How to reach Airflow's REST API. ``token`` and ``password`` never show in ``repr``.

    :param host: the Airflow base URL (``https://airflow.example.com``, maybe with a path prefix),
        normalised as ``host`` in ``kedro-airflow-k8s.yaml`` is.
    :param token: a bearer token, sent as is.
    :param username: with ``password``: on Airflow 3 a token is fetched from ``POST /auth/token``
        (and once more when Airflow refuses it); on Airflow 2 they are sent as basic auth.
    :param verify: TLS: ``True`` (system CAs), ``False`` (no verification) or a CA bundle path.
    :param connect_timeout: seconds to open a connection (each attempt).
    :param read_timeout: seconds to wait for an answer once connected (each attempt).
    :param retries: extra attempts on connection errors, timeouts, 5xx and 429.
    :param backoff: urllib3's backoff factor: the n-th retry in a row waits ``backoff * 2**(n-1)``
        seconds (the first one none), at most ``backoff_max``.
    """

    host: str
    token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    verify: bool | str = True
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    retries: int = 5
    backoff: float = 0.5
    backoff_max: float = 10.0

    def __post_init__(self) -> None:
        try:
            host = airflow_base_url(self.host)
        except ValueError as exc:
            raise PluginError(f"Airflow URL: {exc}") from exc
        object.__setattr__(self, "host", host)
        if bool(self.username) != bool(self.password):
            raise PluginError(
                f"a user name needs a password: set both {USERNAME_ENV} and {PASSWORD_ENV}, "
                f"or {TOKEN_ENV}"
            )
        numbers = (self.retries, self.backoff, self.backoff_max)
        if not (self.connect_timeout > 0 and self.read_timeout > 0) or min(numbers) < 0:
            raise PluginError(
                "Airflow API client: timeouts must be > 0; retries, backoff and backoff_max >= 0"
            )

    @classmethod
    def from_env(
        cls, host: str, environ: Mapping[str, str] | None = None, **options: float
    ) -> ClientSettings:
        """Credentials and TLS from the environment; ``options`` set the numbers.

        ``AIRFLOW_API_TOKEN``, else ``AIRFLOW_USERNAME`` + ``AIRFLOW_PASSWORD``, else no
        credentials (for an Airflow without authentication). ``AIRFLOW__CLIENT__SSL_VERIFY=false``
        (or ``0``/``no``/``off``) turns TLS verification off; ``AIRFLOW_API_CA_BUNDLE=<path>``
        gives a CA bundle.
        """
        env = os.environ if environ is None else environ
        token = env.get(TOKEN_ENV, "").strip() or None
        username = None if token else env.get(USERNAME_ENV, "").strip() or None
        password = None if token else env.get(PASSWORD_ENV) or None
        return cls(
            host=host,
            token=token,
            username=username,
            password=password,
            verify=_verify_from_env(env),
            **options,  # type: ignore[arg-type]
        )

    @property
    def auth(self) -> str:
        """``"password"``, ``"token"`` or ``"none"``: what the user gave to authenticate."""
        if self.username:
            return "password"
        return "token" if self.token else "none"


def _verify_from_env(env: Mapping[str, str]) -> bool | str:
    raw = env.get(SSL_VERIFY_ENV, "").strip().lower()
    if raw in _FALSE:
        return False
    if raw and raw not in _TRUE:
        raise PluginError(f"{SSL_VERIFY_ENV}={raw!r}: use true or false")
    bundle = env.get(CA_BUNDLE_ENV, "").strip()
    if not bundle:
        return True
    if not Path(bundle).is_file():
        raise PluginError(f"{CA_BUNDLE_ENV}={bundle}: no such file")
    return bundle
