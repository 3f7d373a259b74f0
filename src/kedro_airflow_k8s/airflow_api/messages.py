"""The one-line messages of the Airflow client: what was being done, where, and what to do."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from kedro_airflow_k8s.airflow_api.settings import (
    CA_BUNDLE_ENV,
    PASSWORD_ENV,
    SSL_VERIFY_ENV,
    TOKEN_ENV,
    USERNAME_ENV,
)
from kedro_airflow_k8s.deadline import TIMEOUT_ENV

LIMIT_HINT = f"the command's time limit (--timeout or {TIMEOUT_ENV})"


@dataclass(frozen=True)
class Reply:
    """One HTTP answer, read in full. ``path`` is the path that was asked, without its query."""

    method: str
    path: str
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    attempts: int = 1

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.path}"

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not JSON."""
        return json.loads(self.body.decode("utf-8"))

    def json_or_none(self) -> Any:
        try:
            return self.json()
        except ValueError:
            return None

    def detail(self) -> str:
        """': <what the server said>' from a JSON error body, short and on one line."""
        data = self.json_or_none()
        detail = data.get("detail") if isinstance(data, dict) else None
        if isinstance(detail, list):
            detail = "; ".join(
                str(item.get("msg", item)) if isinstance(item, dict) else str(item)
                for item in detail
            )
        elif isinstance(detail, dict):
            detail = json.dumps(detail)
        if not isinstance(detail, str) or not detail.strip():
            return ""
        text = " ".join(detail.split())
        return f": {text[:200]}{'...' if len(text) > 200 else ''}"


def status(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"HTTP {code}"


def attempts(count: int) -> str:
    return f"{count} attempt" if count == 1 else f"{count} attempts"


def token_refused(reply: Reply) -> bool:
    """Whether Airflow refused the credentials rather than the action: 401 (none, expired), or
    403 "Invalid JWT token" (a token it cannot verify: garbled, revoked, other secret)."""
    return reply.status == 401 or (reply.status == 403 and _is_invalid_jwt(reply))


def _is_invalid_jwt(reply: Reply) -> bool:
    data = reply.json_or_none()
    detail = data.get("detail") if isinstance(data, dict) else None
    return isinstance(detail, str) and "invalid jwt" in detail.lower()


def seconds(value: object) -> str:
    """A duration for a message: a request's timeout cut to the time left (2.99952) reads 3."""
    if not isinstance(value, int | float):  # urllib3's "no timeout" or default markers
        return str(value)
    return f"{round(value, 1):g}" if value >= 1 else f"{value:.2g}"


def unreachable(host: str, what: str, problem: str, count: int) -> str:
    return f"cannot reach Airflow at {host} to {what}: {problem} ({attempts(count)})"


def out_of_time(host: str, what: str, problem: str, count: int, seconds: float) -> str:
    return f"{unreachable(host, what, problem, count)}; gave up after {seconds:g} s, {LIMIT_HINT}"


def no_time_left(host: str, what: str, seconds: float) -> str:
    return f"no time left to {what} at Airflow {host}: gave up after {seconds:g} s, {LIMIT_HINT}"


def retry_after_too_long(host: str, what: str, reply: Reply, left: float) -> str:
    header = " ".join(reply.headers.get("retry-after", "").split())[:40]
    return (
        f"Airflow at {host} answered {status(reply.status)} to {what} and asks to wait before "
        f"trying again (Retry-After: {header}): longer than the {left:.0f} s left of "
        f"{LIMIT_HINT}"
    )


def not_json(host: str, reply: Reply) -> str:
    kind = reply.headers.get("content-type", "no content type").split(";")[0].strip()
    return (
        f"Airflow at {host} answered {reply.endpoint} with something that is not JSON "
        f"({kind}, {len(reply.body)} bytes): is {host} the Airflow URL, with no login page or "
        "proxy in between?"
    )


def wrong_shape(host: str, reply: Reply, where: str, problem: str) -> str:
    return (
        f"Airflow at {host} answered {reply.endpoint} with JSON of an unexpected shape "
        f"({where}: {problem}): is it the REST API of Airflow 2.10 or 3.x?"
    )


def repeated_page(host: str, endpoint: str, offset: int) -> str:
    return (
        f"Airflow at {host} answered {endpoint} at offset {offset} with items it had already "
        "sent: its paging repeats itself, so listing stopped (try again; if it persists, check "
        "the API server or the proxy in front of it)"
    )


def tls(host: str, reason: str) -> str:
    if "wrong version number" in reason.lower():
        hint = "the server does not speak TLS there: is the URL http:// rather than https://?"
    else:
        hint = (
            f"give the CA bundle in {CA_BUNDLE_ENV}, or set {SSL_VERIFY_ENV}=false to skip "
            "verification"
        )
    return f"TLS error talking to Airflow at {host}: {reason}; {hint}"


def unauthorized(host: str, what: str, code: str, auth: str, username: str | None) -> str:
    """A refused credential. ``auth``: "login" (a token fetched with the password), "basic"
    (the password sent to an Airflow 2), "token" or "none"."""
    if auth == "login":
        return (
            f"Airflow at {host} rejected the token it issued to user '{username}' ({code}) to "
            f"{what}: check {USERNAME_ENV} and {PASSWORD_ENV}, and that all API servers share "
            "one [api_auth] jwt_secret"
        )
    if auth == "basic":
        return (
            f"Airflow at {host} rejected user '{username}' ({code}) to {what}: wrong user name "
            f"or password ({USERNAME_ENV}, {PASSWORD_ENV}), or its REST API does not accept "
            "basic auth ([api] auth_backends needs airflow.api.auth.backend.basic_auth)"
        )
    if auth == "token":
        return (
            f"Airflow at {host} rejected the API token ({code}) to {what}: it is invalid or "
            f"expired; set a valid {TOKEN_ENV}, or {USERNAME_ENV} and {PASSWORD_ENV}"
        )
    return (
        f"Airflow at {host} requires authentication ({code}) to {what}: set {TOKEN_ENV}, or "
        f"{USERNAME_ENV} and {PASSWORD_ENV}"
    )


def login_refused(host: str, username: str | None, reply: Reply) -> str:
    return (
        f"Airflow at {host} rejected user '{username}' ({status(reply.status)}): wrong user "
        f"name or password; check {USERNAME_ENV} and {PASSWORD_ENV}"
    )


def no_login(host: str, path: str, reply: Reply) -> str:
    return (
        f"Airflow at {host} does not issue tokens for a user name and password at {path} "
        f"({status(reply.status)}): set {TOKEN_ENV} instead"
    )


def http_error(
    host: str,
    what: str,
    reply: Reply,
    who: str,
    not_found: str | None,
    clean: Callable[[str], str],
) -> str:
    """Any other answer that is neither 2xx nor expected; ``clean`` scrubs the server's text."""
    code, detail = reply.status, clean(reply.detail())
    if code == 403:
        return (
            f"Airflow at {host} denied {who} permission to {what} (403 Forbidden): ask an "
            "Airflow admin for a role that allows it"
        )
    if code == 404 and not_found:
        return not_found
    if code == 429:
        return (
            f"Airflow at {host} still answered 429 Too Many Requests to {what} "
            f"({attempts(reply.attempts)}): try again later"
        )
    if code >= 500:
        return (
            f"Airflow at {host} failed to {what}: {status(code)}{detail} "
            f"({attempts(reply.attempts)})"
        )
    if 300 <= code < 400:
        return (
            f"Airflow at {host} redirects to {clean(reply.headers.get('location', '?'))} "
            f"({status(code)}): use that URL"
        )
    return f"Airflow at {host} refused to {what}: {status(code)}{detail}"
