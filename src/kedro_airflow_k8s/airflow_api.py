"""Client of Airflow 3's REST API (v2), built on apache-airflow-client 3.x.

Everything the plugin asks a running Airflow goes through :class:`AirflowApi`: which DAGs exist,
parse requests, import errors, unpausing, triggering, following a run and reading task logs.

How it uses the generated client:

* Requests are built by the package's API classes (``DAGApi``, ``DagRunApi``, ...): path quoting
  (run ids hold ``+`` and ``:``), query encoding, the bearer header and request bodies. They are
  called through their ``*_without_preload_content`` variants, so the answer is read here and not
  by the generated pydantic models: retries, the token refresh and the user-facing messages
  live in one place, and only the fields the plugin uses are read, so a newer Airflow that adds
  fields or enum values does not break the client.
* Endpoints the package lacks (``POST /auth/token``; ``/api/v1/version`` and ``/api/v1/health`` to
  recognise an Airflow 2) go through the same ``ApiClient`` (``param_serialize`` + ``call_api``).
* urllib3's own retries are off (``retries=False``): :meth:`AirflowApi._send` retries connection
  errors, timeouts, 5xx and 429 with capped exponential backoff and honours ``Retry-After``.

Every failure is a :class:`~kedro_airflow_k8s.errors.PluginError` with one line that names the
Airflow URL and what was being done. Secrets (the API token, tokens fetched with the password, the
password) never appear in a message, a ``repr`` or a log record: messages are scrubbed, the
settings hide them from ``repr``, and nothing here logs headers or bodies (nor turns on the
generated client's ``debug`` switch, which makes ``http.client`` print request headers).

The generated package imports all its models at once (about 1 s), so it is imported only when an
:class:`AirflowApi` is built.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import os
import re
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from kedro_airflow_k8s import __version__
from kedro_airflow_k8s.config.models import airflow_base_url
from kedro_airflow_k8s.errors import PluginError, RemoteError, TimedOut

if TYPE_CHECKING:
    from airflow_client.client import ApiClient
    from urllib3 import BaseHTTPResponse

log = logging.getLogger(__name__)

TOKEN_ENV = "AIRFLOW_API_TOKEN"
USERNAME_ENV = "AIRFLOW_USERNAME"
PASSWORD_ENV = "AIRFLOW_PASSWORD"
SSL_VERIFY_ENV = "AIRFLOW__CLIENT__SSL_VERIFY"
CA_BUNDLE_ENV = "AIRFLOW_API_CA_BUNDLE"

DEFAULT_BUNDLE = "dags-folder"
PAGE_SIZE = 100  # Airflow's default [api] maximum_page_limit
RETRY_AFTER_MAX = 60.0  # a Retry-After longer than this is cut to it
REFRESH_INTERVAL_HINT = "[dag_processor] refresh_interval, 300 s by default"

_FALSE = frozenset({"false", "0", "no", "off"})
_TRUE = frozenset({"true", "1", "yes", "on"})
_JWT = re.compile(r"eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*")
Send = Callable[[], "BaseHTTPResponse"]


# --- settings ---


@dataclass(frozen=True)
class ClientSettings:
    """How to reach Airflow's REST API. ``token`` and ``password`` never show in ``repr``.

    :param host: the Airflow base URL (``https://airflow.example.com``, maybe with a path prefix);
        a trailing ``/`` or ``/api/v2`` is dropped.
    :param token: a bearer token, used as is.
    :param username: with ``password``: a token is fetched from ``POST /auth/token`` (and once
        more when Airflow refuses it: 401, or 403 "Invalid JWT token" as Airflow 3.3 answers to a
        token it cannot verify).
    :param verify: TLS: ``True`` (system CAs), ``False`` (no verification) or a CA bundle path.
    :param timeout: seconds for every request.
    :param retries: extra attempts on connection errors, timeouts, 5xx and 429.
    :param backoff: first delay between attempts; doubled each time, at most ``backoff_max``.
    """

    host: str
    token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    verify: bool | str = True
    timeout: float = 30.0
    retries: int = 5
    backoff: float = 0.5
    backoff_max: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "host", _normalize_host(self.host))
        if bool(self.username) != bool(self.password):
            raise PluginError(
                f"a user name needs a password: set both {USERNAME_ENV} and {PASSWORD_ENV}, "
                f"or {TOKEN_ENV}"
            )
        if self.timeout <= 0 or self.retries < 0 or self.backoff < 0 or self.backoff_max < 0:
            raise PluginError(
                "Airflow API client: timeout must be > 0; retries, backoff and backoff_max >= 0"
            )

    @classmethod
    def from_env(
        cls,
        host: str,
        environ: Mapping[str, str] | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 5,
        backoff: float = 0.5,
    ) -> ClientSettings:
        """Credentials and TLS from the environment.

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
            timeout=timeout,
            retries=retries,
            backoff=backoff,
        )

    @property
    def auth(self) -> str:
        """``"password"``, ``"token"`` or ``"none"``: how requests are authenticated."""
        if self.username:
            return "password"
        return "token" if self.token else "none"


def _normalize_host(host: str) -> str:
    try:
        return airflow_base_url(host)
    except ValueError as exc:
        raise PluginError(f"Airflow URL: {exc}") from exc


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


# --- what the API answers, as plain data ---


@dataclass(frozen=True)
class DagInfo:
    dag_id: str
    is_paused: bool
    tags: tuple[str, ...]
    file_token: str
    bundle_name: str | None
    fileloc: str
    relative_fileloc: str | None
    has_import_errors: bool
    is_stale: bool


@dataclass(frozen=True)
class RunInfo:
    dag_id: str
    run_id: str
    state: str | None
    run_type: str | None
    run_after: datetime | None
    start_date: datetime | None
    end_date: datetime | None

    @property
    def finished(self) -> bool:
        return self.state in ("success", "failed")


@dataclass(frozen=True)
class TaskInfo:
    task_id: str
    state: str | None
    try_number: int
    map_index: int
    start_date: datetime | None
    end_date: datetime | None


@dataclass(frozen=True)
class ImportErrorInfo:
    import_error_id: int
    filename: str
    bundle_name: str | None
    stack_trace: str
    timestamp: str


@dataclass(frozen=True)
class _Reply:
    """One HTTP answer, read in full."""

    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    attempts: int = 1

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8", "replace"))
        except ValueError:
            return None

    def obj(self) -> dict[str, Any]:
        data = self.json()
        return data if isinstance(data, dict) else {}


class _Unreachable(Exception):
    """No HTTP answer: refused, unresolvable, timed out or dropped (worth retrying)."""


# --- the client ---


class AirflowApi:
    """Airflow 3's REST API (v2) as the plugin needs it; every failure is a one-line PluginError."""

    def __init__(self, settings: ClientSettings) -> None:
        from airflow_client.client import (
            DAGApi,
            DAGParsingApi,
            DagRunApi,
            ImportErrorApi,
            TaskInstanceApi,
            VersionApi,
        )

        self.settings = settings
        self._client = _api_client(settings)
        self._dags = DAGApi(self._client)
        self._runs = DagRunApi(self._client)
        self._tasks = TaskInstanceApi(self._client)
        self._parsing = DAGParsingApi(self._client)
        self._import_errors = ImportErrorApi(self._client)
        self._version = VersionApi(self._client)
        self._secrets: list[str] = [s for s in (settings.token, settings.password) if s]
        self._v2_confirmed = False
        if settings.verify is False:
            log.warning("TLS certificate verification is off for %s", settings.host)

    def __repr__(self) -> str:
        return f"AirflowApi(host={self.settings.host!r}, auth={self.settings.auth!r})"

    def close(self) -> None:
        self._client.rest_client.pool_manager.clear()

    def __enter__(self) -> AirflowApi:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def _timeout(self) -> float:
        return float(self.settings.timeout)

    # --- public calls ---

    def version(self) -> str:
        """Airflow's version (``GET /api/v2/version``); an Airflow 2 raises a PluginError."""
        reply = self._call(
            "read the Airflow version",
            lambda: self._version.get_version_without_preload_content(
                _request_timeout=self._timeout
            ),
        )
        version = reply.obj().get("version")
        if not isinstance(version, str):
            raise self._error(
                f"Airflow at {self.settings.host} answered GET /api/v2/version without a "
                "version: is this the Airflow URL?"
            )
        self._v2_confirmed = True
        return version

    def get_dag(self, dag_id: str) -> DagInfo | None:
        """The DAG as Airflow serves it, or None when Airflow does not know it (yet)."""
        reply = self._call(
            f"read DAG '{dag_id}'",
            lambda: self._dags.get_dag_without_preload_content(
                dag_id, _request_timeout=self._timeout
            ),
            allow=(404,),
        )
        return None if reply.status == 404 else _dag_info(reply.obj())

    def list_dags(
        self, tag_prefix: str | None = None, *, bundle_name: str | None = None
    ) -> list[DagInfo]:
        """Every DAG (all pages), optionally only those with a tag that starts with
        ``tag_prefix`` (the API only filters exact tags, so this is done here)."""
        items = self._collect("list DAGs", "dags", functools.partial(self._dag_page, bundle_name))
        dags = [_dag_info(item) for item in items]
        if bundle_name is not None:
            dags = [dag for dag in dags if dag.bundle_name == bundle_name]
        if tag_prefix is not None:
            dags = [dag for dag in dags if any(t.startswith(tag_prefix) for t in dag.tags)]
        return list({dag.dag_id: dag for dag in dags}.values())

    def request_parse(self, file_token: str) -> None:
        """Ask the DAG processor to parse the file of ``file_token`` now (it also rescans the
        file's bundle, which discovers new files). A request already queued counts as done."""
        if not self._parse(file_token):
            raise self._error(
                f"Airflow at {self.settings.host} has no DAG file for this file token "
                "(404 Not Found): the file holds no DAG, or it was removed"
            )

    def import_errors(self, filename_contains: str | None = None) -> list[ImportErrorInfo]:
        """Import errors (all pages), optionally of files whose name contains the text."""

        def page(offset: int) -> BaseHTTPResponse:
            return self._import_errors.get_import_errors_without_preload_content(
                limit=PAGE_SIZE,
                offset=offset,
                order_by=["id"],
                filename_pattern=filename_contains or None,  # ILIKE: a superset, refined below
                _request_timeout=self._timeout,
            )

        items = self._collect("read import errors", "import_errors", page)
        errors = [_import_error_info(item) for item in items]
        if filename_contains:
            errors = [e for e in errors if filename_contains in e.filename]
        return errors

    def unpause(self, dag_id: str) -> None:
        from airflow_client.client.models.dag_patch_body import DAGPatchBody

        body = DAGPatchBody(is_paused=False)
        self._call(
            f"unpause DAG '{dag_id}'",
            lambda: self._dags.patch_dag_without_preload_content(
                dag_id, body, update_mask=["is_paused"], _request_timeout=self._timeout
            ),
            not_found=self._dag_missing(dag_id),
        )

    def trigger(
        self, dag_id: str, conf: Mapping[str, Any] | None = None, *, run_id: str | None = None
    ) -> str:
        """Start a run now (``logical_date`` null) and return its run id.

        The run id is chosen here (``manual__<UTC time>`` unless given), so a retry after an
        answer that got lost cannot start a second run: Airflow answers 409 to the retry.
        """
        from airflow_client.client.models.trigger_dag_run_post_body import TriggerDAGRunPostBody

        run_id = run_id or _new_run_id()
        body = TriggerDAGRunPostBody(dag_run_id=run_id, conf=dict(conf or {}), logical_date=None)
        what = f"trigger DAG '{dag_id}'"
        reply = self._call(
            what,
            lambda: self._runs.trigger_dag_run_without_preload_content(
                dag_id, body, _request_timeout=self._timeout
            ),
            allow=(409,),
            not_found=self._dag_missing(dag_id),
        )
        if reply.status == 409:
            if reply.attempts > 1 and self._run_exists(dag_id, run_id):
                return run_id  # an earlier attempt went through; its answer was lost
            raise self._http_error(what, reply, None)
        created = reply.obj().get("dag_run_id")
        return created if isinstance(created, str) and created else run_id

    def dag_run(self, dag_id: str, run_id: str) -> RunInfo:
        reply = self._call(
            f"read run '{run_id}' of DAG '{dag_id}'",
            lambda: self._runs.get_dag_run_without_preload_content(
                dag_id, run_id, _request_timeout=self._timeout
            ),
            not_found=self._run_missing(dag_id, run_id),
        )
        return _run_info(reply.obj(), dag_id)

    def last_run(self, dag_id: str) -> RunInfo | None:
        """The most recently created run of the DAG, or None when it never ran."""
        reply = self._call(
            f"list the runs of DAG '{dag_id}'",
            lambda: self._runs.get_dag_runs_without_preload_content(
                dag_id, limit=1, order_by=["-id"], _request_timeout=self._timeout
            ),
            not_found=self._dag_missing(dag_id),
        )
        runs = [r for r in reply.obj().get("dag_runs") or [] if isinstance(r, dict)]
        return _run_info(runs[0], dag_id) if runs else None

    def task_instances(self, dag_id: str, run_id: str) -> list[TaskInfo]:
        """Every task instance of the run (all pages)."""

        def page(offset: int) -> BaseHTTPResponse:
            return self._tasks.get_task_instances_without_preload_content(
                dag_id,
                run_id,
                limit=PAGE_SIZE,
                offset=offset,
                order_by=["id"],
                _request_timeout=self._timeout,
            )

        what = f"list the tasks of run '{run_id}' of DAG '{dag_id}'"
        items = self._collect(what, "task_instances", page, self._run_missing(dag_id, run_id))
        return [_task_info(item) for item in items]

    def task_log_tail(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        try_number: int,
        lines: int = 40,
        *,
        map_index: int = -1,
    ) -> str:
        """The last ``lines`` lines of a task try's log as plain text (structured records are
        flattened, exceptions in ``error_detail`` rendered as tracebacks); "" when there is no
        log."""
        reply = self._call(
            f"read the log of task '{task_id}' (try {try_number}) of run '{run_id}'",
            lambda: self._tasks.get_log_without_preload_content(
                dag_id,
                run_id,
                task_id,
                try_number,
                full_content=True,
                map_index=map_index,
                accept="application/json",
                _request_timeout=self._timeout,
            ),
            allow=(404,),
        )
        if reply.status == 404 or lines <= 0:
            return ""
        text = _log_lines(reply.obj().get("content"))[-lines:]
        return self._clean("\n".join(text))

    def wait_for_dag(
        self,
        dag_id: str,
        required_tag: str,
        file_name: str,
        timeout: float,
        on_wait: Callable[[str], None] | None = None,
        *,
        bundle_name: str = DEFAULT_BUNDLE,
        poll_interval: float = 2.0,
        reparse_interval: float = 10.0,
    ) -> DagInfo:
        """Wait until Airflow serves THIS version of the DAG: the one tagged ``required_tag``.

        Meanwhile a parse is requested every ``reparse_interval`` s: with the DAG's own file
        token when Airflow knows the DAG, else with a token borrowed from any DAG of the bundle
        (taking the request rescans the bundle, which finds new files). When there is nothing to
        borrow, only Airflow's periodic scan finds the file. ``on_wait`` gets a line each time
        what is being done changes. Raises a PluginError when the file fails to import (a new
        import error for ``file_name``) or on timeout.
        """
        waiter = _DagWait(self, dag_id, required_tag, file_name, bundle_name, on_wait)
        deadline = time.monotonic() + timeout
        next_parse = time.monotonic()
        while True:
            dag = self.get_dag(dag_id)
            if dag is not None and required_tag in dag.tags:
                return dag
            waiter.check_import_errors()
            if time.monotonic() >= next_parse:
                waiter.request_parse(dag)
                next_parse = time.monotonic() + reparse_interval
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._error(waiter.timeout_message(dag, timeout), TimedOut)
            _sleep(min(poll_interval, remaining))

    # --- helpers of the public calls ---

    def _dag_page(self, bundle_name: str | None, offset: int) -> BaseHTTPResponse:
        return self._dags.get_dags_without_preload_content(
            limit=PAGE_SIZE,
            offset=offset,
            order_by=["dag_id"],
            bundle_name=bundle_name,
            _request_timeout=self._timeout,
        )

    def _donor(self, bundle_name: str, exclude: str) -> DagInfo | None:
        """Any live DAG of the bundle whose file token can carry a parse request."""
        reply = self._call("list DAGs", lambda: self._dag_page(bundle_name, 0))
        dags = [_dag_info(item) for item in reply.obj().get("dags") or [] if isinstance(item, dict)]
        usable = [
            dag
            for dag in dags
            if dag.file_token
            and not dag.is_stale
            and dag.dag_id != exclude
            and dag.bundle_name in (None, bundle_name)
        ]
        return usable[0] if usable else None

    def _parse(self, file_token: str) -> bool:
        """Request a parse; False when Airflow knows no DAG file for the token (404)."""
        reply = self._call(
            "request a parse of a DAG file",
            lambda: self._parsing.reparse_dag_file_without_preload_content(
                file_token, _request_timeout=self._timeout
            ),
            allow=(404, 409),  # 409: a request for that file is already queued
        )
        return reply.status != 404

    def _run_exists(self, dag_id: str, run_id: str) -> bool:
        reply = self._call(
            f"read run '{run_id}' of DAG '{dag_id}'",
            lambda: self._runs.get_dag_run_without_preload_content(
                dag_id, run_id, _request_timeout=self._timeout
            ),
            allow=(404,),
        )
        return reply.status != 404

    def _collect(
        self,
        what: str,
        key: str,
        fetch: Callable[[int], BaseHTTPResponse],
        not_found: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every item of a paginated list (``limit``/``offset``, ``total_entries``)."""
        items: list[dict[str, Any]] = []
        while True:
            reply = self._call(what, functools.partial(fetch, len(items)), not_found=not_found)
            body = reply.obj()
            page = [item for item in body.get(key) or [] if isinstance(item, dict)]
            items.extend(page)
            total = body.get("total_entries")
            if not page or (
                len(items) >= total if isinstance(total, int) else len(page) < PAGE_SIZE
            ):
                return items

    def _dag_missing(self, dag_id: str) -> str:
        return (
            f"DAG '{dag_id}' is not in Airflow at {self.settings.host} (404 Not Found): it has "
            "not been uploaded, or Airflow has not parsed it yet"
        )

    def _run_missing(self, dag_id: str, run_id: str) -> str:
        return (
            f"run '{run_id}' of DAG '{dag_id}' is not in Airflow at {self.settings.host} "
            "(404 Not Found)"
        )

    # --- requests: auth, retries, errors ---

    def _call(
        self,
        what: str,
        send: Send,
        *,
        allow: tuple[int, ...] = (),
        not_found: str | None = None,
    ) -> _Reply:
        """One API call: log in if needed, retry, fetch a new token once when Airflow refuses
        the token (401, or 403 "Invalid JWT token"), and turn any answer that is neither 2xx nor
        in ``allow`` into a PluginError."""
        fresh = self._ensure_token()
        reply = self._send(what, send)
        if _token_refused(reply) and self.settings.username and not fresh:
            self._log_in()
            reply = self._send(what, send)
        if reply.status == 404:
            self._ensure_v2()  # an Airflow 2 or a wrong URL answers 404 to everything
        if 200 <= reply.status < 300 or reply.status in allow:
            return reply
        raise self._http_error(what, reply, not_found)

    def _ensure_token(self) -> bool:
        """Fetch a token with the user name and password if there is none; True if fetched."""
        if not self.settings.username or self._client.configuration.access_token:
            return False
        self._log_in()
        return True

    def _log_in(self) -> None:
        host, user = self.settings.host, self.settings.username
        body = {"username": user, "password": self.settings.password}
        reply = self._send(f"log in as '{user}'", lambda: self._raw("POST", "/auth/token", body))
        token = reply.obj().get("access_token") if reply.status in (200, 201) else None
        if isinstance(token, str) and token:
            self._secrets.append(token)
            self._client.configuration.access_token = token
            return
        if reply.status in (401, 403):
            raise self._error(
                f"Airflow at {host} rejected user '{user}' ({_status(reply.status)}): wrong user "
                f"name or password; check {USERNAME_ENV} and {PASSWORD_ENV}"
            )
        if reply.status in (404, 405):
            self._ensure_v2()
            raise self._error(
                f"Airflow at {host} does not issue tokens for a user name and password at "
                f"/auth/token ({_status(reply.status)}): set {TOKEN_ENV} instead"
            )
        if reply.status in (200, 201):
            raise self._error(f"Airflow at {host} answered POST /auth/token without a token")
        raise self._http_error(f"log in as '{user}'", reply, None)

    def _ensure_v2(self) -> None:
        """Raise unless the host serves REST API v2 (it may be an Airflow 2, or the wrong URL)."""
        if self._v2_confirmed:
            return
        reply = self._send("read the Airflow version", lambda: self._raw("GET", "/api/v2/version"))
        if reply.status in (401, 403) or isinstance(reply.obj().get("version"), str):
            self._v2_confirmed = True
            return
        host = self.settings.host
        old = self._airflow2_version()
        if old is not None:
            raise self._error(
                f"Airflow at {host} is Airflow 2 (REST API v1{', version ' + old if old else ''}); "
                "this plugin needs Airflow 3 (REST API v2): upgrade Airflow, or use "
                "kedro-airflow-k8s 0.8 with Airflow 2"
            )
        raise self._error(
            f"no Airflow 3 REST API at {host} (GET /api/v2/version answered "
            f"{_status(reply.status)}): check the Airflow URL (scheme, host, port, path prefix)"
        )

    def _airflow2_version(self) -> str | None:
        """The version of an Airflow 2 at the host ("" if unknown), None if it is not one."""
        what = "detect the Airflow version"
        reply = self._send(what, lambda: self._raw("GET", "/api/v1/version"))
        version = reply.obj().get("version")
        if reply.status == 200 and isinstance(version, str):
            return version
        reply = self._send(what, lambda: self._raw("GET", "/api/v1/health"))
        return "" if reply.status == 200 and "metadatabase" in reply.obj() else None

    def _raw(self, method: str, path: str, body: Any = None) -> BaseHTTPResponse:
        """A request the generated API classes do not offer, without credentials."""
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = self._client.param_serialize(
            method=method, resource_path=path, header_params=headers, body=body
        )
        response: BaseHTTPResponse = self._client.call_api(
            *request, _request_timeout=self._timeout
        ).response
        return response

    def _send(self, what: str, send: Send) -> _Reply:
        """Send with retries on no answer, 5xx and 429; the last answer is returned as is."""
        attempts = self.settings.retries + 1
        problem = ""
        for attempt in range(1, attempts + 1):
            try:
                reply = self._send_once(send, attempt)
            except _Unreachable as exc:
                problem, delay = str(exc), self._backoff(attempt)
            else:
                log.debug("Airflow API: %s -> %s (attempt %d)", what, reply.status, attempt)
                if not _retryable(reply.status) or attempt == attempts:
                    return reply
                problem, delay = _status(reply.status), self._retry_delay(reply, attempt)
            if attempt < attempts:
                log.debug("Airflow API: %s: %s; retry in %.2f s", what, problem, delay)
                _sleep(delay)
        raise self._error(
            f"cannot reach Airflow at {self.settings.host} to {what}: {problem} "
            f"({_attempts(attempts)})"
        )

    def _send_once(self, send: Send, attempt: int) -> _Reply:
        from airflow_client.client.exceptions import ApiException
        from urllib3 import exceptions as u3

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", u3.InsecureRequestWarning)
                response = send()
                try:
                    body = response.data
                finally:
                    response.release_conn()
        except u3.NameResolutionError:
            raise _Unreachable("cannot resolve the host name") from None
        except u3.NewConnectionError as exc:
            problem = "connection refused" if "refused" in str(exc).lower() else "cannot connect"
            raise _Unreachable(problem) from None
        except u3.TimeoutError:
            raise _Unreachable(f"no answer within {self.settings.timeout:g} s") from None
        except u3.SSLError as exc:
            raise self._tls_error(str(exc)) from None
        except (u3.ProtocolError, u3.ProxyError):
            raise _Unreachable("the connection was closed without an answer") from None
        except ApiException as exc:  # the generated client's wrapper of urllib3's SSLError
            raise self._tls_error(str(exc.reason or "")) from None
        headers = {name.lower(): value for name, value in response.headers.items()}
        return _Reply(response.status, headers, body, attempt)

    def _backoff(self, attempt: int) -> float:
        return float(min(self.settings.backoff * 2 ** (attempt - 1), self.settings.backoff_max))

    def _retry_delay(self, reply: _Reply, attempt: int) -> float:
        after = _retry_after(reply.headers.get("retry-after"))
        return self._backoff(attempt) if after is None else min(after, RETRY_AFTER_MAX)

    def _tls_error(self, text: str) -> PluginError:
        reason = next((line for line in text.splitlines()[1:] if line.strip()), text)
        reason = self._clean(reason.strip()[:200])
        if "wrong version number" in reason.lower():
            hint = "the server does not speak TLS there: is the URL http:// rather than https://?"
        else:
            hint = (
                f"give the CA bundle in {CA_BUNDLE_ENV}, or set {SSL_VERIFY_ENV}=false to skip "
                "verification"
            )
        return self._error(
            f"TLS error talking to Airflow at {self.settings.host}: {reason}; {hint}"
        )

    def _http_error(self, what: str, reply: _Reply, not_found: str | None) -> PluginError:
        host, code = self.settings.host, reply.status
        detail = self._clean(_detail(reply))
        if _token_refused(reply):
            message = self._unauthorized(what, _auth_status(reply))
        elif code == 403:
            message = (
                f"Airflow at {host} denied {self._who()} permission to {what} (403 Forbidden): "
                "ask an Airflow admin for a role that allows it"
            )
        elif code == 404 and not_found:
            message = not_found
        elif code == 429:
            message = (
                f"Airflow at {host} still answered 429 Too Many Requests to {what} "
                f"({_attempts(reply.attempts)}): try again later"
            )
        elif code >= 500:
            message = (
                f"Airflow at {host} failed to {what}: {_status(code)}{detail} "
                f"({_attempts(reply.attempts)})"
            )
        elif 300 <= code < 400:
            message = (
                f"Airflow at {host} redirects to {self._clean(reply.headers.get('location', '?'))} "
                f"({_status(code)}): use that URL"
            )
        else:
            message = f"Airflow at {host} refused to {what}: {_status(code)}{detail}"
        return self._error(message)

    def _unauthorized(self, what: str, status: str) -> str:
        host = self.settings.host
        if self.settings.username:
            return (
                f"Airflow at {host} rejected the token it issued to user "
                f"'{self.settings.username}' ({status}) to {what}: check {USERNAME_ENV} "
                f"and {PASSWORD_ENV}, and that all API servers share one [api_auth] jwt_secret"
            )
        if self.settings.token:
            return (
                f"Airflow at {host} rejected the API token ({status}) to {what}: it is "
                f"invalid or expired; set a valid {TOKEN_ENV}, or {USERNAME_ENV} and "
                f"{PASSWORD_ENV}"
            )
        return (
            f"Airflow at {host} requires authentication ({status}) to {what}: set "
            f"{TOKEN_ENV}, or {USERNAME_ENV} and {PASSWORD_ENV}"
        )

    def _who(self) -> str:
        if self.settings.username:
            return f"user '{self.settings.username}'"
        return "the API token's user" if self.settings.token else "anonymous requests"

    def _clean(self, text: str) -> str:
        """Text that came from the server (it may echo what was sent) without any secret."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return _JWT.sub("***", text)

    def _error(self, message: str, kind: type[PluginError] = RemoteError) -> PluginError:
        """A RemoteError (or ``kind``); the message is built from our own words plus cleaned
        server text, and scrubbed once more of anything that looks like a secret (a short
        password is left alone there, or "admin" would vanish from every message)."""
        for secret in self._secrets:
            if len(secret) >= 8:
                message = message.replace(secret, "***")
        return kind(_JWT.sub("***", message))


class _DagWait:
    """The state of one :meth:`AirflowApi.wait_for_dag`: the import errors that were there
    before, what was last reported, and whether a parse could be requested at all."""

    def __init__(
        self,
        api: AirflowApi,
        dag_id: str,
        required_tag: str,
        file_name: str,
        bundle_name: str,
        on_wait: Callable[[str], None] | None,
    ) -> None:
        self.api, self.dag_id, self.required_tag = api, dag_id, required_tag
        self.file_name, self.bundle_name, self.on_wait = file_name, bundle_name, on_wait
        self.no_donor = False
        self.said = ""
        self.baseline = {(e.import_error_id, e.timestamp) for e in self._file_errors()}

    def _file_errors(self) -> list[ImportErrorInfo]:
        base = self.file_name.rsplit("/", 1)[-1]
        return [e for e in self.api.import_errors(base) if _same_file(e.filename, self.file_name)]

    def check_import_errors(self) -> None:
        for error in self._file_errors():
            if (error.import_error_id, error.timestamp) not in self.baseline:
                raise self.api._error(
                    f"Airflow at {self.api.settings.host} cannot import {error.filename}: "
                    f"{self.api._clean(_trace_summary(error.stack_trace))} (full trace: import "
                    "errors in the Airflow UI)"
                )

    def request_parse(self, dag: DagInfo | None) -> None:
        if dag is not None and dag.file_token and self.api._parse(dag.file_token):
            where = dag.relative_fileloc or self.file_name
            self._say(f"asked Airflow to parse {where} again (waiting for {self.required_tag})")
            return
        donor = self.api._donor(self.bundle_name, exclude=self.dag_id)
        if donor is not None and self.api._parse(donor.file_token):
            self.no_donor = False
            self._say(
                f"asked Airflow to rescan bundle '{self.bundle_name}' (through DAG "
                f"'{donor.dag_id}') to find {self.file_name}"
            )
            return
        self.no_donor = True
        self._say(
            f"no DAG in bundle '{self.bundle_name}' to carry a parse request: waiting for "
            f"Airflow's periodic scan to find {self.file_name} ({REFRESH_INTERVAL_HINT})"
        )

    def _say(self, message: str) -> None:
        if message != self.said:
            self.said = message
            log.debug("%s", message)
            if self.on_wait is not None:
                self.on_wait(message)

    def timeout_message(self, dag: DagInfo | None, timeout: float) -> str:
        if dag is None:
            state = "the DAG is not in Airflow"
        else:
            tags = ", ".join(dag.tags) or "none"
            state = f"Airflow still serves another version of it (tags: {tags})"
        hint = ""
        if self.no_donor:
            hint = (
                f"; no DAG in bundle '{self.bundle_name}' could carry a parse request, so only "
                f"Airflow's periodic scan finds new files ({REFRESH_INTERVAL_HINT})"
            )
        return (
            f"timed out after {timeout:g} s waiting for Airflow at {self.api.settings.host} to "
            f"serve DAG '{self.dag_id}' tagged '{self.required_tag}' from {self.file_name}: "
            f"{state}{hint}"
        )


# --- small pure helpers ---


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def _api_client(settings: ClientSettings) -> ApiClient:
    from airflow_client.client import ApiClient, Configuration

    config = Configuration(
        host=settings.host,
        access_token=settings.token,
        verify_ssl=settings.verify is not False,
        ssl_ca_cert=settings.verify if isinstance(settings.verify, str) else None,
        retries=False,  # our own loop retries; urllib3 would retry blindly and follow redirects
    )
    if settings.verify is False:
        config.assert_hostname = False
    if _is_loopback(settings.host):
        config.proxy = None  # a proxy from the environment cannot reach this machine's loopback
    client = ApiClient(config)
    client.user_agent = f"kedro-airflow-k8s/{__version__}"
    return client


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _new_run_id() -> str:
    return f"manual__{datetime.now(timezone.utc).isoformat(timespec='microseconds')}"


def _retryable(status: int) -> bool:
    return status == 429 or (status >= 500 and status not in (501, 505))


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _status(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"HTTP {code}"


def _token_refused(reply: _Reply) -> bool:
    """Whether Airflow refused the credentials rather than the action: 401 (none, expired), or
    403 "Invalid JWT token" (a token it cannot verify: garbled, revoked, other secret)."""
    return reply.status == 401 or (reply.status == 403 and _is_invalid_jwt(reply))


def _is_invalid_jwt(reply: _Reply) -> bool:
    detail = reply.obj().get("detail")
    return isinstance(detail, str) and "invalid jwt" in detail.lower()


def _auth_status(reply: _Reply) -> str:
    """``401 Unauthorized``, or ``403 Forbidden: Invalid JWT token`` (a 403 that is about the
    token, so the user sees why it is reported as one)."""
    if reply.status == 403:
        return f"{_status(403)}: Invalid JWT token"
    return _status(reply.status)


def _attempts(count: int) -> str:
    return f"{count} attempt" if count == 1 else f"{count} attempts"


def _detail(reply: _Reply) -> str:
    """': <what the server said>' from a JSON error body, short and on one line."""
    detail = reply.obj().get("detail")
    if isinstance(detail, list):
        detail = "; ".join(
            str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in detail
        )
    elif isinstance(detail, dict):
        detail = json.dumps(detail)
    if not isinstance(detail, str) or not detail.strip():
        return ""
    text = " ".join(detail.split())
    return f": {text[:200]}{'...' if len(text) > 200 else ''}"


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _when(value: Any) -> datetime | None:
    """A datetime from the API's ISO strings (``Z`` and any number of fraction digits)."""
    if not isinstance(value, str) or not value:
        return None
    text = re.sub(r"Z$", "+00:00", value.strip())
    text = re.sub(r"\.(\d+)", lambda m: "." + (m.group(1) + "000000")[:6], text)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _tag_names(tags: Any) -> Iterable[str]:
    for tag in tags or []:
        name = tag.get("name") if isinstance(tag, dict) else tag
        if isinstance(name, str):
            yield name


def _dag_info(item: Mapping[str, Any]) -> DagInfo:
    return DagInfo(
        dag_id=str(item.get("dag_id") or ""),
        is_paused=bool(item.get("is_paused")),
        tags=tuple(_tag_names(item.get("tags"))),
        file_token=str(item.get("file_token") or ""),
        bundle_name=_opt_str(item.get("bundle_name")),
        fileloc=str(item.get("fileloc") or ""),
        relative_fileloc=_opt_str(item.get("relative_fileloc")),
        has_import_errors=bool(item.get("has_import_errors")),
        is_stale=bool(item.get("is_stale")),
    )


def _run_info(item: Mapping[str, Any], dag_id: str) -> RunInfo:
    return RunInfo(
        dag_id=str(item.get("dag_id") or dag_id),
        run_id=str(item.get("dag_run_id") or item.get("run_id") or ""),
        state=_opt_str(item.get("state")),
        run_type=_opt_str(item.get("run_type")),
        run_after=_when(item.get("run_after")),
        start_date=_when(item.get("start_date")),
        end_date=_when(item.get("end_date")),
    )


def _task_info(item: Mapping[str, Any]) -> TaskInfo:
    return TaskInfo(
        task_id=str(item.get("task_id") or ""),
        state=_opt_str(item.get("state")),
        try_number=_int(item.get("try_number"), 0),
        map_index=_int(item.get("map_index"), -1),
        start_date=_when(item.get("start_date")),
        end_date=_when(item.get("end_date")),
    )


def _import_error_info(item: Mapping[str, Any]) -> ImportErrorInfo:
    return ImportErrorInfo(
        import_error_id=_int(item.get("import_error_id"), -1),
        filename=str(item.get("filename") or ""),
        bundle_name=_opt_str(item.get("bundle_name")),
        stack_trace=str(item.get("stack_trace") or ""),
        timestamp=str(item.get("timestamp") or ""),
    )


def _same_file(reported: str, file_name: str) -> bool:
    """Whether an import error's (bundle-relative) file name is ``file_name``."""
    a, b = reported.strip("/"), file_name.strip("/")
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


_CHAIN_SEPARATORS = (
    "The above exception was the direct cause of the following exception:",
    "During handling of the above exception, another exception occurred:",
)


def _trace_summary(trace: str) -> str:
    """The exception line of a formatted traceback and the last place it points at.

    For a chain of exceptions (Python prints the first cause first) the first cause is what
    went wrong, so it leads; the exception that ended the chain follows it."""
    blocks: list[list[str]] = [[]]
    for line in trace.strip().splitlines():
        if line.strip() in _CHAIN_SEPARATORS:
            blocks.append([])
        elif line.strip():
            blocks[-1].append(line.rstrip())
    summaries = [_block_summary(block) for block in blocks if block]
    if not summaries:
        return "(no details)"
    if len(summaries) == 1:
        return summaries[0]
    return f"{summaries[0]}; which then caused {summaries[-1]}"


def _block_summary(lines: list[str]) -> str:
    exception = next((ln for ln in reversed(lines) if not ln[:1].isspace()), lines[-1]).strip()
    place = next((ln.strip() for ln in reversed(lines) if ln.strip().startswith('File "')), "")
    return f"{exception} ({place})" if place and place != exception else exception


def _log_lines(content: Any) -> list[str]:
    """Task log lines from the API's ``content``: structured records, or older plain text."""
    if isinstance(content, str):
        return content.splitlines()
    lines: list[str] = []
    for record in content or []:
        if isinstance(record, dict):
            lines.extend(_record_lines(record))
        else:
            lines.extend(str(record).splitlines())
    return lines


def _record_lines(record: Mapping[str, Any]) -> list[str]:
    head = " ".join(str(record[key]) for key in ("timestamp", "level") if record.get(key))
    event = str(record.get("event") or "")
    text = f"[{head}] {event}" if head else event
    return text.splitlines() + _error_detail_lines(record.get("error_detail"))


def _error_detail_lines(detail: Any) -> list[str]:
    """An ``error_detail`` (structlog's exception dicts, outermost first) as Python prints it."""
    if not detail:
        return []
    if isinstance(detail, str):
        return detail.splitlines()
    if not isinstance(detail, list):
        return [str(detail)]
    # Innermost first, as Python prints a chain; a stack's is_cause says it caused the one
    # before it in structlog's list (printed after it here).
    stacks = [stack for stack in reversed(detail) if isinstance(stack, dict)]
    lines: list[str] = []
    for index, stack in enumerate(stacks):
        if index:
            lines += ["", _CHAIN_TEXT[bool(stacks[index - 1].get("is_cause"))], ""]
        lines += _stack_lines(stack)
    return lines


_CHAIN_TEXT = {
    True: "The above exception was the direct cause of the following exception:",
    False: "During handling of the above exception, another exception occurred:",
}


def _stack_lines(stack: Mapping[str, Any]) -> list[str]:
    frames = [f for f in stack.get("frames") or [] if isinstance(f, dict)]
    lines = ["Traceback (most recent call last):"] if frames else []
    for frame in frames:
        lines.append(
            f'  File "{frame.get("filename", "?")}", line {frame.get("lineno", "?")}, '
            f"in {frame.get('name', '?')}"
        )
    value = str(stack.get("exc_value") or "")
    exc_type = str(stack.get("exc_type") or "Exception")
    lines.append(f"{exc_type}: {value}" if value else exc_type)
    return lines
