"""HTTP to Airflow's REST API: one urllib3 pool, credentials, TLS, retries and the time limit.

* **Retries** follow urllib3's :class:`~urllib3.util.Retry` policy: connection errors, timeouts,
  429 and 5xx (but 501 and 505) are retried up to ``retries`` times with its exponential
  backoff, and a ``Retry-After`` header is honoured. The attempts are made here, one
  ``urlopen`` each, so that every attempt's connect and read timeouts and every pause are cut to
  what is left of the command's time limit (:class:`~kedro_airflow_k8s.deadline.Deadline`):
  a ``Retry-After`` that would end past it is not waited for.
* **Credentials**: a bearer token as given; or a user name and password, exchanged for a token at
  ``POST /auth/token`` (Airflow 3, fetched again once when Airflow refuses it: 401, or 403
  "Invalid JWT token") or sent as basic auth (Airflow 2).
* **Errors** are one line (:mod:`.messages`). Secrets (the token, the password, tokens fetched
  with it, the basic-auth value) never appear in a message, a ``repr`` or a log record: server
  text is scrubbed before it is quoted, and nothing here logs headers or bodies.
* **Proxies** from the environment (``HTTPS_PROXY``, ``HTTP_PROXY``, ``NO_PROXY``) are used, but
  never for a loopback address.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import re
import time
import urllib.request
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Literal
from urllib.parse import quote, urlencode, urlsplit

import urllib3
from urllib3 import exceptions as u3
from urllib3.util import Retry, Timeout

from kedro_airflow_k8s import __version__
from kedro_airflow_k8s.airflow_api import messages
from kedro_airflow_k8s.airflow_api.messages import Reply
from kedro_airflow_k8s.airflow_api.settings import ClientSettings
from kedro_airflow_k8s.deadline import Deadline
from kedro_airflow_k8s.errors import PluginError, RemoteError, TimedOut

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, *range(500, 600)} - {501, 505})
LOGIN_PATH = "/auth/token"
_SHORTEST_ATTEMPT = 0.05  # seconds: less is not worth an attempt
_JWT = re.compile(r"eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*")

PasswordUse = Literal["login", "basic"]
Query = Mapping[str, str | int | bool | list[str] | None]


class Unavailable(RemoteError):
    """No answer, or only 5xx / 429 answers after every retry: Airflow may come back later.

    ``problem`` says what happened in a few words ("connection refused", "503 Service
    Unavailable")."""

    problem = ""


class OutOfTime(TimedOut):
    """The command's time limit ended a request; ``problem`` as for :class:`Unavailable`."""

    problem = ""


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def path(*parts: str) -> str:
    """A URL path of quoted segments (run ids hold ``+`` and ``:``)."""
    return "/" + "/".join(quote(part, safe="") for part in parts)


class Transport:
    """Requests to one Airflow; see the module docstring."""

    def __init__(self, settings: ClientSettings, deadline: Deadline | None = None) -> None:
        self.settings = settings
        self.host = settings.host
        self.deadline = deadline
        self._retries: int | None = None
        #: what the password is used for: a token from POST /auth/token, or basic auth
        self.password_use: PasswordUse = "login"
        self._token: str | None = settings.token
        self._secrets = [s for s in (settings.token, settings.password) if s]
        self._basic: str | None = None
        if settings.username and settings.password:
            pair = f"{settings.username}:{settings.password}".encode()
            self._basic = base64.b64encode(pair).decode()
            self._secrets.append(self._basic)
        self._pool = _pool(settings)
        if settings.verify is False:
            log.warning("TLS certificate verification is off for %s", settings.host)

    def __repr__(self) -> str:
        return f"Transport(host={self.host!r}, auth={self.settings.auth!r})"

    def close(self) -> None:
        """Close every connection now (``PoolManager.clear`` alone leaves them to the garbage
        collector, which an exception's traceback can keep waiting)."""
        keys = self._pool.pools.keys()  # the container cannot be iterated itself
        pools = [self._pool.pools.get(key) for key in keys]
        self._pool.clear()
        for pool in pools:
            if pool is not None:
                pool.close()

    @contextmanager
    def bounded(self, deadline: Deadline | None, *, retries: int | None = None) -> Iterator[None]:
        """Requests made inside take at most what is left of ``deadline`` (and are retried at
        most ``retries`` times, when given)."""
        saved = self.deadline, self._retries
        self.deadline, self._retries = deadline, retries
        try:
            yield
        finally:
            self.deadline, self._retries = saved

    # --- requests ---

    def request(
        self,
        method: str,
        url_path: str,
        what: str,
        *,
        query: Query | None = None,
        body: Any = None,
        allow: tuple[int, ...] = (),
        not_found: str | None = None,
        accept: str = "application/json",
    ) -> Reply:
        """One API call with credentials: log in when needed, retry, fetch a new token once when
        Airflow refuses it, and turn an answer that is neither 2xx nor in ``allow`` into a
        one-line error (:class:`Unavailable` for 5xx and 429)."""
        fresh = self._ensure_token()
        reply = self._send(what, method, url_path, query, body, accept, credentials=True)
        if messages.token_refused(reply) and self._logs_in and not fresh:
            self._log_in()
            reply = self._send(what, method, url_path, query, body, accept, credentials=True)
        if 200 <= reply.status < 300 or reply.status in allow:
            return reply
        raise self.http_error(what, reply, not_found)

    def probe(self, url_path: str, what: str) -> Reply:
        """A GET without a fetched token (only a given one) whatever Airflow answers: to learn
        which Airflow this is."""
        return self._send(what, "GET", url_path, None, None, "application/json", credentials=False)

    @property
    def _logs_in(self) -> bool:
        return bool(self.settings.username) and self.password_use == "login"

    def _ensure_token(self) -> bool:
        """Fetch a token with the user name and password if there is none; True if fetched."""
        if not self._logs_in or self._token:
            return False
        self._log_in()
        return True

    def _log_in(self) -> None:
        from kedro_airflow_k8s.airflow_api.records import read
        from kedro_airflow_k8s.airflow_api.wire import TokenV2

        user = self.settings.username
        what = f"log in as '{user}'"
        body = {"username": user, "password": self.settings.password}
        self._token = None
        reply = self._send(what, "POST", LOGIN_PATH, None, body, "application/json", False)
        if reply.status in (200, 201):
            token = read(self, reply, TokenV2)["access_token"]
            self._secrets.append(token)
            self._token = token
            return
        if reply.status in (401, 403):
            raise self.error(messages.login_refused(self.host, user, reply))
        if reply.status in (404, 405):
            raise self.error(messages.no_login(self.host, LOGIN_PATH, reply))
        raise self.http_error(what, reply, None)

    def _headers(self, accept: str, body: Any, credentials: bool) -> dict[str, str]:
        headers = {"Accept": accept, "User-Agent": f"kedro-airflow-k8s/{__version__}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.settings.token:
            headers["Authorization"] = f"Bearer {self.settings.token}"
        elif credentials and self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        elif credentials and self._basic and self.password_use == "basic":
            headers["Authorization"] = f"Basic {self._basic}"
        return headers

    def _send(
        self,
        what: str,
        method: str,
        url_path: str,
        query: Query | None,
        body: Any,
        accept: str,
        credentials: bool,
    ) -> Reply:
        """Send with urllib3's retry policy, within the time limit; the last answer is returned
        as is (raises when there was none)."""
        url = self.host + url_path + _query_string(query)
        data = None if body is None else json.dumps(body).encode()
        headers = self._headers(accept, body, credentials)
        retry = self._retry_policy()
        count = 0
        while True:
            count += 1
            timeout = self._attempt_timeout(what)
            try:
                response = self._urlopen(method, url, data, headers, timeout)
            except (u3.SSLError, u3.ProxyError) as exc:
                if isinstance(exc, u3.SSLError) or _is_tls(exc):
                    raise self.error(messages.tls(self.host, self._tls_reason(exc))) from exc
                problem, error = "cannot connect through the proxy", exc
            except u3.HTTPError as exc:
                problem, error = self._problem(exc, timeout), exc  # type: ignore[assignment]
            else:
                reply = Reply(
                    method,
                    url_path,
                    response.status,
                    {name.lower(): value for name, value in response.headers.items()},
                    response.data or b"",
                    count,
                )
                log.debug("Airflow API: %s -> %s (attempt %d)", what, reply.status, count)
                if not retry.is_retry(method, reply.status, "retry-after" in reply.headers):
                    return reply
                try:
                    retry = retry.increment(method, url, response=response)
                except u3.MaxRetryError:
                    return reply
                after = retry.get_retry_after(response)
                self._pause(what, after if after is not None else retry.get_backoff_time(), reply)
                continue
            try:
                retry = retry.increment(method, url, error=error)
            except (u3.MaxRetryError, u3.HTTPError):
                message = messages.unreachable(self.host, what, problem, count)
                raise self._unavailable(message, problem) from error
            self._pause(what, retry.get_backoff_time(), None, problem, count)

    def _urlopen(
        self, method: str, url: str, data: bytes | None, headers: dict[str, str], timeout: Timeout
    ) -> urllib3.BaseHTTPResponse:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", u3.InsecureRequestWarning)
            return self._pool.urlopen(
                method,
                url,
                body=data,
                headers=headers,
                retries=False,
                redirect=False,
                timeout=timeout,
                preload_content=True,
            )

    def _retry_policy(self) -> Retry:
        return Retry(
            total=self.settings.retries if self._retries is None else self._retries,
            connect=None,
            read=None,
            redirect=0,
            status=None,
            other=None,
            allowed_methods=None,  # every call is safe to repeat (trigger: see the v2 API)
            status_forcelist=RETRY_STATUSES,
            backoff_factor=self.settings.backoff,
            backoff_max=self.settings.backoff_max,
            raise_on_redirect=False,
            raise_on_status=False,
            respect_retry_after_header=True,
        )

    def _attempt_timeout(self, what: str) -> Timeout:
        connect, read = self.settings.connect_timeout, self.settings.read_timeout
        if self.deadline is not None:
            left = self.deadline.remaining()
            if left <= 0:
                message = messages.no_time_left(self.host, what, self.deadline.seconds)
                raise self._out_of_time(message, "no time left")
            connect, read = min(connect, left), min(read, left)
        return Timeout(connect=connect, read=read)

    def _pause(
        self,
        what: str,
        delay: float,
        reply: Reply | None,
        problem: str = "",
        count: int = 0,
    ) -> None:
        """Wait ``delay`` s before the next attempt, unless that ends past the time limit."""
        if self.deadline is not None and delay >= self.deadline.remaining() - _SHORTEST_ATTEMPT:
            seconds = self.deadline.seconds
            if reply is not None:
                problem, count = messages.status(reply.status), reply.attempts
            if reply is not None and "retry-after" in reply.headers:
                left = self.deadline.remaining()
                message = messages.retry_after_too_long(self.host, what, self.cleaned(reply), left)
                problem = f"{problem}, Retry-After {delay:g} s"
            else:
                message = messages.out_of_time(self.host, what, problem, count, seconds)
            raise self._out_of_time(message, problem)
        log.debug("Airflow API: %s: retry in %.2f s", what, delay)
        if delay > 0:
            _sleep(delay)

    def _problem(self, exc: u3.HTTPError, timeout: Timeout) -> str:
        if isinstance(exc, u3.NameResolutionError):
            return "cannot resolve the host name"
        if isinstance(exc, u3.ConnectTimeoutError) and not isinstance(exc, u3.NewConnectionError):
            return f"no connection within {messages.seconds(timeout.connect_timeout)} s"
        if isinstance(exc, u3.NewConnectionError):
            return "connection refused" if "refused" in str(exc).lower() else "cannot connect"
        if isinstance(exc, u3.ReadTimeoutError):
            return f"no answer within {messages.seconds(timeout.read_timeout)} s"
        return "the connection was closed without an answer"

    def _tls_reason(self, exc: Exception) -> str:
        text = str(getattr(exc, "original_error", None) or exc)
        match = re.search(r"\[SSL[^\]]*\][^')\"]*", text)
        reason = match.group(0) if match else text
        return self.clean(reason.strip()[:200])

    # --- errors ---

    def http_error(self, what: str, reply: Reply, not_found: str | None) -> PluginError:
        if messages.token_refused(reply):
            code = messages.status(reply.status)
            if reply.status == 403:
                code += ": Invalid JWT token"
            auth = "token" if self.settings.token else "none"
            if self.settings.username:
                auth = self.password_use
            message = messages.unauthorized(self.host, what, code, auth, self.settings.username)
            return self.error(message)
        message = messages.http_error(self.host, what, reply, self._who(), not_found, self.clean)
        if reply.status in RETRY_STATUSES:
            return self._unavailable(message, messages.status(reply.status))
        return self.error(message)

    def _unavailable(self, message: str, problem: str) -> Unavailable:
        error = self.error(message, Unavailable)
        assert isinstance(error, Unavailable)
        error.problem = problem
        return error

    def _out_of_time(self, message: str, problem: str) -> OutOfTime:
        error = self.error(message, OutOfTime)
        assert isinstance(error, OutOfTime)
        error.problem = problem
        return error

    def _who(self) -> str:
        if self.settings.username:
            return f"user '{self.settings.username}'"
        return "the API token's user" if self.settings.token else "anonymous requests"

    def cleaned(self, reply: Reply) -> Reply:
        """The reply with its headers cleaned of secrets (for messages that quote them)."""
        headers = {name: self.clean(value) for name, value in reply.headers.items()}
        return replace(reply, headers=headers)

    def clean(self, text: str) -> str:
        """Text that came from the server (it may echo what was sent) without any secret."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return _JWT.sub("***", text)

    def error(self, message: str, kind: type[PluginError] = RemoteError) -> PluginError:
        """A RemoteError (or ``kind``); the message is built from our own words plus cleaned
        server text, and scrubbed once more of anything that looks like a secret (a short
        password is left alone there, or "admin" would vanish from every message)."""
        for secret in self._secrets:
            if len(secret) >= 8:
                message = message.replace(secret, "***")
        return kind(_JWT.sub("***", message))


def _query_string(query: Query | None) -> str:
    if not query:
        return ""
    pairs: list[tuple[str, str]] = []
    for key, value in query.items():
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        for one in values:
            text = str(one).lower() if isinstance(one, bool) else str(one)
            pairs.append((key, text))
    return "?" + urlencode(pairs) if pairs else ""


def _is_tls(exc: u3.ProxyError) -> bool:
    return isinstance(getattr(exc, "original_error", None), u3.SSLError)


def _pool(settings: ClientSettings) -> urllib3.PoolManager:
    options: dict[str, Any] = {
        "cert_reqs": "CERT_REQUIRED" if settings.verify is not False else "CERT_NONE",
        "maxsize": 4,
    }
    if isinstance(settings.verify, str):
        options["ca_certs"] = settings.verify
    if settings.verify is False:
        options["assert_hostname"] = False
    proxy = _proxy_for(settings.host)
    if proxy is not None:
        if not proxy.startswith(("http://", "https://")):
            raise PluginError(
                f"the proxy for {settings.host} from the environment is {urlsplit(proxy).scheme}: "
                "only http:// and https:// proxies are supported"
            )
        return urllib3.ProxyManager(proxy, **options)
    return urllib3.PoolManager(**options)


def _proxy_for(url: str) -> str | None:
    """The proxy the environment sets for ``url``; never one for a loopback address."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if _is_loopback(host):
        return None
    proxies = urllib.request.getproxies()
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if "no" in proxies and bypass(host, proxies):
        return None
    return proxies.get(parts.scheme)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
