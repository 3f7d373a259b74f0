"""FaultyAirflowStandIn: a stand-in for Airflow's REST API (v2 of Airflow 3, or v1 of Airflow
2.10), for fault injection only.

It is NOT Airflow: it serves, from in-memory data, just the requests the client makes, with
answers built from the client's own wire types (``kedro_airflow_k8s.airflow_api.wire``, which a
test checks against the OpenAPI documents shipped with Airflow 3 and 2.10), so its answers
cannot drift from the shapes the real API promises. Its behaviour can be scripted: N x 500 then
success, 429 with ``Retry-After``, an answer slower than the client's timeout, a dropped
connection, any status or body (non-JSON, wrong shapes, a page served for ever), 401/403/404, a
restart on the same port, and ``ignores_filters`` to answer like Airflow 3.0, which ignores the
``bundle_name`` filter of the DAG list and ``filename_pattern`` of import errors. The real
Airflow is exercised by the end-to-end tests (``tests/e2e``).

It binds 127.0.0.1 on a free port (or the port it had, on restart), serves from a daemon thread
(stdlib ``http.server``), and is stopped by the fixture that started it. Every request is
recorded in ``requests``.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import json
import re
import secrets
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from kedro_airflow_k8s.airflow_api import wire

DEFAULT_BUNDLE = "dags-folder"
MAX_PAGE = 100  # Airflow's default [api] maximum_page_limit
Answer = tuple[int, Any]


@dataclass
class Fault:
    """A scripted misbehaviour for requests whose path matches ``path`` (a regex, searched in the
    decoded path) and, if given, whose method is ``method``; used up after ``times`` hits.
    ``body`` may be a callable of the request (a page that changes with the offset...)."""

    path: str
    action: Literal["status", "hang", "drop", "lose"]
    times: int = 1
    method: str | None = None
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    seconds: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        return (self.method in (None, method)) and re.search(self.path, path) is not None


@dataclass
class Recorded:
    method: str
    raw_path: str  # as sent, still percent-encoded
    path: str  # decoded
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int | None = None  # None: no answer (hang, drop)


@dataclass
class StandInDag:
    dag_id: str
    tags: list[str]
    is_paused: bool = True
    bundle_name: str = DEFAULT_BUNDLE
    relative_fileloc: str = ""
    is_stale: bool = False
    #: the tags of the version a new run starts from (the build tag is in its doc), when that
    #: version is older than the last parse (Airflow stores one at most every 30 s by default)
    stored_tags: list[str] | None = None

    def doc_md(self) -> str:
        tags = self.tags if self.stored_tags is None else self.stored_tags
        return "Kedro pipeline." + "".join(f" Build `{tag}`." for tag in tags)

    @property
    def file_token(self) -> str:
        return f"token-of-{self.bundle_name}-{self.relative_fileloc}"

    @property
    def fileloc(self) -> str:
        return f"/opt/airflow/dags/{self.relative_fileloc}"

    def v2(self) -> wire.DagV2:
        return {
            "dag_id": self.dag_id,
            "is_paused": self.is_paused,
            "tags": [{"name": tag} for tag in self.tags],
            "file_token": self.file_token,
            "fileloc": self.fileloc,
            "has_import_errors": False,
            "is_stale": self.is_stale,
            "bundle_name": self.bundle_name,
            "relative_fileloc": self.relative_fileloc,
        }

    def v1(self) -> wire.DagV1:
        return {
            "dag_id": self.dag_id,
            "is_paused": self.is_paused,
            "tags": [{"name": tag} for tag in self.tags],
            "file_token": self.file_token,
            "fileloc": self.fileloc,
            "is_active": not self.is_stale,
            "has_import_errors": False,
        }


@dataclass
class StandInRun:
    dag_id: str
    run_id: str
    id: int
    state: str
    conf: dict[str, Any]
    start_date: str | None = None
    end_date: str | None = None

    def v2(self) -> wire.DagRunV2:
        return {
            "dag_run_id": self.run_id,
            "dag_id": self.dag_id,
            "state": self.state,
            "run_type": "manual",
            "start_date": self.start_date,
            "end_date": self.end_date,
            "run_after": now_iso(),
        }

    def v1(self) -> wire.DagRunV1:
        return {
            "dag_run_id": self.run_id,
            "dag_id": self.dag_id,
            "state": self.state,
            "run_type": "manual",
            "start_date": self.start_date,
            "end_date": self.end_date,
        }


def _task(task_id: str, state: str | None, try_number: int) -> wire.TaskInstanceV2:
    return {
        "task_id": task_id,
        "state": state,
        "try_number": try_number,
        "map_index": -1,
        "start_date": "2026-01-02T03:04:05.123Z",
        "end_date": None,
    }


_last_stamp = datetime(2000, 1, 1, tzinfo=timezone.utc)
_stamp_lock = threading.Lock()


def now_iso() -> str:
    """The time now, strictly later than any time this gave before (as a database would)."""
    global _last_stamp
    with _stamp_lock:
        now = max(datetime.now(timezone.utc), _last_stamp + timedelta(microseconds=1))
        _last_stamp = now
    return now.isoformat().replace("+00:00", "Z")


class FaultyAirflowStandIn:
    """Scriptable stand-in (see the module docstring)."""

    def __init__(
        self,
        *,
        username: str = "admin",
        password: str = "stand-in-password-Xq7",
        static_token: str | None = None,
        auth_required: bool = True,
        api: Literal["v2", "v1"] = "v2",
        version: str | None = None,
        ignores_filters: bool = False,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        """``tls``: (certificate, key) PEM files to serve HTTPS (see :func:`self_signed`)."""
        self.tls = tls
        self.username = username
        self.password = password
        self.static_token = static_token
        self.auth_required = auth_required
        self.api = api
        self.version = version or ("3.3.2" if api == "v2" else "2.10.5")
        self.ignores_filters = ignores_filters
        self.dags: dict[str, StandInDag] = {}
        self.pending_dags: dict[str, StandInDag] = {}  # files written, not parsed yet
        self.runs: dict[str, list[StandInRun]] = {}
        self.task_instances: dict[tuple[str, str], list[wire.TaskInstanceV2]] = {}
        self.logs: dict[tuple[str, str, str, int], Any] = {}
        self.import_errors: list[wire.ImportErrorV2] = []
        self.pending_import_errors: list[wire.ImportErrorV2] = []
        self.issued_tokens: list[str] = []
        self.expired_tokens: list[str] = []
        self.parse_requests: list[str] = []
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self.on_parse: Callable[[str], object] | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self._connections: set[socket.socket] = set()
        self._next_ids = {"run": 1, "import_error": 1}

    # --- lifecycle ---

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self._port}"

    def start(self) -> FaultyAirflowStandIn:
        handler = type("Handler", (_Handler,), {"stand_in": self})
        self._stopping.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), handler)
        self._server.daemon_threads = True
        self._port = self._server.server_address[1]
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop every open connection (as a process that ends would)."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            connections, self._connections = set(self._connections), set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def restart(self) -> None:
        """Start again on the same port; the tokens it issued are forgotten (as after a
        change of secret), the data is kept."""
        self.stop()
        with self._lock:
            self.issued_tokens.clear()
        self.start()

    # --- scripting ---

    def fail(self, path: str, status: int, times: int = 1, **options: Any) -> None:
        self.faults.append(Fault(path, "status", times, status=status, **options))

    def hang(self, path: str, seconds: float, times: int = 1, method: str | None = None) -> None:
        self.faults.append(Fault(path, "hang", times, method=method, seconds=seconds))

    def drop(self, path: str, times: int = 1, method: str | None = None) -> None:
        self.faults.append(Fault(path, "drop", times, method=method))

    def lose_answer(self, path: str, times: int = 1, method: str | None = None) -> None:
        """Handle the request (side effects happen) but close the connection instead of
        answering: the client cannot know whether it worked."""
        self.faults.append(Fault(path, "lose", times, method=method))

    def expire_tokens(self) -> None:
        """Issued tokens expire (401 "Token Expired" from now on)."""
        with self._lock:
            self.expired_tokens += self.issued_tokens
            self.issued_tokens.clear()

    def forget_tokens(self) -> None:
        """Issued tokens can no longer be verified (as after a jwt_secret change): 403."""
        with self._lock:
            self.issued_tokens.clear()

    def add_dag(
        self,
        dag_id: str,
        tags: tuple[str, ...] | list[str] = (),
        *,
        paused: bool = True,
        fileloc: str | None = None,
        bundle_name: str = DEFAULT_BUNDLE,
        pending: bool = False,
        is_stale: bool = False,
        stored_tags: list[str] | None = None,
    ) -> StandInDag:
        """A DAG served now, or (``pending``) one whose file waits for the next parse request
        (``stored_tags``: see :class:`StandInDag`)."""
        dag = StandInDag(
            dag_id,
            list(tags),
            paused,
            bundle_name,
            fileloc or f"{dag_id}.py",
            is_stale,
            None if stored_tags is None else list(stored_tags),
        )
        with self._lock:
            (self.pending_dags if pending else self.dags)[dag_id] = dag
        return dag

    def add_import_error(
        self, filename: str, stack_trace: str, *, pending: bool = False
    ) -> wire.ImportErrorV2:
        with self._lock:
            error: wire.ImportErrorV2 = {
                "import_error_id": self._next_id("import_error"),
                "filename": filename,
                "bundle_name": DEFAULT_BUNDLE,
                "stack_trace": stack_trace,
                "timestamp": now_iso(),
            }
            (self.pending_import_errors if pending else self.import_errors).append(error)
        return error

    def add_run(self, dag_id: str, run_id: str, state: str = "running") -> StandInRun:
        with self._lock:
            return self._new_run(dag_id, run_id, state, {})

    def add_task(
        self, dag_id: str, run_id: str, task_id: str, state: str | None, try_number: int = 1
    ) -> None:
        with self._lock:
            tasks = self.task_instances.setdefault((dag_id, run_id), [])
            tasks.append(_task(task_id, state, try_number))

    def set_log(
        self, dag_id: str, run_id: str, task_id: str, try_number: int, content: Any
    ) -> None:
        self.logs[(dag_id, run_id, task_id, try_number)] = content

    def calls(self, method: str | None = None, path: str = "") -> list[Recorded]:
        """Recorded requests (method and a regex searched in the decoded path)."""
        return [
            r
            for r in list(self.requests)
            if method in (None, r.method) and re.search(path, r.path) is not None
        ]

    # --- internals used by the handler ---

    def _next_id(self, kind: str) -> int:
        value = self._next_ids[kind]
        self._next_ids[kind] = value + 1
        return value

    def _new_run(self, dag_id: str, run_id: str, state: str, conf: dict[str, Any]) -> StandInRun:
        run = StandInRun(dag_id, run_id, self._next_id("run"), state, conf)
        self.runs.setdefault(dag_id, []).append(run)
        return run

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fault.matches(method, path):
                    fault.times -= 1
                    return fault
        return None

    def _auth_refusal(self, headers: dict[str, str]) -> Answer | None:
        """None when the request may go on, else the answer of Airflow 3.3 (401 "Not
        authenticated", 401 "Token Expired", 403 "Invalid JWT token") or of Airflow 2.10's
        basic auth (401 "Unauthorized")."""
        if not self.auth_required:
            return None
        value = headers.get("authorization", "")
        token = value[len("Bearer ") :] if value.startswith("Bearer ") else None
        if self.api == "v1":
            basic = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            if value == f"Basic {basic}" or (token and token == self.static_token):
                return None
            return 401, {"title": "Unauthorized", "status": 401, "detail": None}
        with self._lock:
            if token is None:
                return 401, {"detail": "Not authenticated"}
            if token in self.issued_tokens or token == self.static_token:
                return None
            if token in self.expired_tokens:
                return 401, {"detail": "Token Expired"}
            return 403, {"detail": "Invalid JWT token"}

    def _parse_requested(self, token: str) -> bool:
        with self._lock:
            known = any(d.file_token == token for d in self.dags.values())
            if not known:
                return False
            self.parse_requests.append(token)
            if self.api == "v1":  # Airflow 2 parses the one file of the token
                found = [d for d in self.pending_dags.values() if d.file_token == token]
            else:  # Airflow 3 rescans the bundle, which finds new and changed files
                found = list(self.pending_dags.values())
            for dag in found:
                self.dags[dag.dag_id] = self.pending_dags.pop(dag.dag_id)
            for error in self.pending_import_errors:
                self.import_errors = [
                    e for e in self.import_errors if e["filename"] != error["filename"]
                ]
                self.import_errors.append({**error, "timestamp": now_iso()})
            self.pending_import_errors.clear()
        if self.on_parse is not None:
            self.on_parse(token)
        return True


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (also usable as its own CA bundle) and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stand-in")])
    start = datetime.now(timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - timedelta(minutes=5))
        .not_valid_after(start + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "stand-in.pem", directory / "stand-in.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _window(items: list[Any], query: dict[str, list[str]]) -> list[Any]:
    limit = min(int(query.get("limit", ["50"])[0]), MAX_PAGE)
    offset = int(query.get("offset", ["0"])[0])
    return items[offset : offset + limit]


def _ilike(pattern: str, text: str) -> bool:
    """Airflow's ``*_pattern``: case-insensitive substring, ``%`` and ``_`` wildcards."""
    regex = "".join(
        ".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern.lower()
    )
    return re.search(regex, text.lower()) is not None


class _Handler(BaseHTTPRequestHandler):
    stand_in: FaultyAirflowStandIn
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body wait on delayed ACKs (40 ms)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        with self.stand_in._lock:
            self.stand_in._connections.add(self.connection)

    def finish(self) -> None:
        with self.stand_in._lock:
            self.stand_in._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    # every method goes through one dispatcher
    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        stand_in = self.stand_in
        split = urlsplit(self.path)
        segments = [unquote(part) for part in split.path.split("/")]
        path = "/".join(segments)
        headers = {name.lower(): value for name, value in self.headers.items()}
        length = int(headers.get("content-length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw_body) if raw_body else None
        except ValueError:
            body = raw_body.decode("utf-8", "replace")
        record = Recorded(self.command, split.path, path, parse_qs(split.query), headers, body)
        stand_in.requests.append(record)
        fault = stand_in._take_fault(self.command, path)
        if fault is not None and fault.action == "hang":
            stand_in._stopping.wait(fault.seconds)
            self._drop()
            return
        if fault is not None and fault.action in ("drop", "lose"):
            if fault.action == "lose":
                _route(stand_in, record, segments[1:])
            self._drop()
            return
        if fault is not None:
            payload = fault.body(record) if callable(fault.body) else fault.body
            if payload is None:
                payload = {"detail": "scripted"}
            self._answer(record, fault.status, payload, fault.headers)
            return
        status, payload = _route(stand_in, record, segments[1:])
        self._answer(record, status, payload)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _answer(
        self, record: Recorded, status: int, payload: Any, headers: dict[str, str] | None = None
    ) -> None:
        record.status = status
        text = isinstance(payload, (bytes, str))
        data = payload.encode() if isinstance(payload, str) else payload
        if not text:
            data = json.dumps(payload).encode()
        with contextlib.suppress(OSError):
            self.send_response(status)
            kind = "text/plain" if isinstance(payload, str) else "text/html"
            self.send_header("Content-Type", kind if text else "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)


# --- routes ---


def _route(stand_in: FaultyAirflowStandIn, record: Recorded, parts: list[str]) -> Answer:
    if parts == ["auth", "token"] and record.method == "POST" and stand_in.api == "v2":
        return _token(stand_in, record)
    prefix = ["api", stand_in.api]
    if parts[:2] != prefix:
        return 404, {"detail": "Not Found"}
    rest = parts[2:]
    if rest == ["version"]:
        version: wire.Version = {"version": stand_in.version}
        return 200, {**version, "git_version": None}
    if rest == ["health"] and stand_in.api == "v1":
        return 200, {"metadatabase": {"status": "healthy"}}
    refusal = stand_in._auth_refusal(record.headers)
    if refusal is not None:
        return refusal
    return _api_route(stand_in, record, rest)


def _token(stand_in: FaultyAirflowStandIn, record: Recorded) -> Answer:
    body = record.body if isinstance(record.body, dict) else {}
    if body.get("username") != stand_in.username or body.get("password") != stand_in.password:
        return 401, {"detail": "Invalid credentials"}
    token = "eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJhZG1pbiJ9." + secrets.token_urlsafe(24)
    with stand_in._lock:
        stand_in.issued_tokens.append(token)
    answer: wire.TokenV2 = {"access_token": token}
    return 201, answer


def _api_route(stand_in: FaultyAirflowStandIn, record: Recorded, rest: list[str]) -> Answer:
    method, query = record.method, record.query
    if rest == ["dags"] and method == "GET":
        return 200, _list_dags(stand_in, query)
    if rest == ["importErrors"] and method == "GET":
        return 200, _list_import_errors(stand_in, query)
    if len(rest) == 2 and rest[0] == "parseDagFile" and method == "PUT":
        if stand_in._parse_requested(rest[1]):
            return 201, None
        return 404, {"detail": "File not found"}
    if len(rest) >= 2 and rest[0] == "dags":
        return _dag_route(stand_in, record, rest[1], rest[2:])
    return 404, {"detail": "Not Found"}


def _list_dags(stand_in: FaultyAirflowStandIn, query: dict[str, list[str]]) -> Any:
    tags = set(query.get("tags", []))
    bundle = query.get("bundle_name", [None])[0]
    dags = sorted(stand_in.dags.values(), key=lambda d: d.dag_id)
    if tags:
        dags = [d for d in dags if tags & set(d.tags)]
    if bundle and not stand_in.ignores_filters:
        dags = [d for d in dags if d.bundle_name == bundle]
    if stand_in.api == "v1":
        if query.get("only_active", ["true"])[0] == "true":
            dags = [d for d in dags if not d.is_stale]
        v1: wire.DagCollectionV1 = {
            "dags": [d.v1() for d in _window(dags, query)],
            "total_entries": len(dags),
        }
        return v1
    v2: wire.DagCollectionV2 = {
        "dags": [d.v2() for d in _window(dags, query)],
        "total_entries": len(dags),
    }
    return v2


def _list_import_errors(stand_in: FaultyAirflowStandIn, query: dict[str, list[str]]) -> Any:
    errors = list(stand_in.import_errors)
    pattern = query.get("filename_pattern", [""])[0]
    if pattern and not stand_in.ignores_filters and stand_in.api == "v2":
        errors = [e for e in errors if _ilike(pattern, e["filename"])]
    order = query.get("order_by", ["id"])[0]
    key = order.lstrip("-")
    sort_key = "import_error_id" if key in ("id", "import_error_id") else key
    errors.sort(key=lambda e: e[sort_key], reverse=order.startswith("-"))  # type: ignore[literal-required]
    page = _window(errors, query)
    if stand_in.api == "v1":
        v1: wire.ImportErrorCollectionV1 = {
            "import_errors": [
                {
                    "import_error_id": e["import_error_id"],
                    "timestamp": e["timestamp"],
                    "filename": e["filename"],
                    "stack_trace": e["stack_trace"],
                }
                for e in page
            ],
            "total_entries": len(errors),
        }
        return v1
    v2: wire.ImportErrorCollectionV2 = {"import_errors": page, "total_entries": len(errors)}
    return v2


def _dag_route(
    stand_in: FaultyAirflowStandIn, record: Recorded, dag_id: str, rest: list[str]
) -> Answer:
    dag = stand_in.dags.get(dag_id)
    v1 = stand_in.api == "v1"
    if dag is None:
        return 404, {"detail": f"Dag with id {dag_id} was not found"}
    if not rest and record.method == "GET":
        return 200, dag.v1() if v1 else dag.v2()
    if rest == ["details"] and record.method == "GET":
        return 200, {**(dag.v1() if v1 else dag.v2()), "doc_md": dag.doc_md()}
    if not rest and record.method == "PATCH":
        body = record.body if isinstance(record.body, dict) else {}
        if not isinstance(body.get("is_paused"), bool):
            return 422, {"detail": [{"loc": ["body", "is_paused"], "msg": "Field required"}]}
        dag.is_paused = body["is_paused"]
        return 200, dag.v1() if v1 else dag.v2()
    if rest == ["dagRuns"] and record.method == "POST":
        return _trigger(stand_in, dag_id, record.body)
    if rest == ["dagRuns"] and record.method == "GET":
        runs = list(stand_in.runs.get(dag_id, []))
        if record.query.get("order_by", [""])[0] == "-id":
            runs.sort(key=lambda r: -r.id)
        if v1:
            one: wire.DagRunCollectionV1 = {
                "dag_runs": [r.v1() for r in _window(runs, record.query)],
                "total_entries": len(runs),
            }
            return 200, one
        two: wire.DagRunCollectionV2 = {
            "dag_runs": [r.v2() for r in _window(runs, record.query)],
            "total_entries": len(runs),
        }
        return 200, two
    if len(rest) >= 2 and rest[0] == "dagRuns":
        return _run_route(stand_in, record, dag_id, rest[1], rest[2:])
    return 404, {"detail": "Not Found"}


def _trigger(stand_in: FaultyAirflowStandIn, dag_id: str, body: Any) -> Answer:
    if not isinstance(body, dict) or (stand_in.api == "v2" and "logical_date" not in body):
        return 422, {
            "detail": [
                {"type": "missing", "loc": ["body", "logical_date"], "msg": "Field required"}
            ]
        }
    run_id = body.get("dag_run_id") or f"manual__{datetime.now(timezone.utc).isoformat()}"
    with stand_in._lock:
        if any(r.run_id == run_id for r in stand_in.runs.get(dag_id, [])):
            return 409, {"detail": f"Unique constraint violation: dag_run {run_id} exists"}
        run = stand_in._new_run(dag_id, run_id, "queued", body.get("conf") or {})
    return 200, run.v1() if stand_in.api == "v1" else run.v2()


def _run_route(
    stand_in: FaultyAirflowStandIn, record: Recorded, dag_id: str, run_id: str, rest: list[str]
) -> Answer:
    run = next((r for r in stand_in.runs.get(dag_id, []) if r.run_id == run_id), None)
    if run is None:
        return 404, {
            "detail": f"The DagRun with dag_id: `{dag_id}` and run_id: `{run_id}` was not found"
        }
    if not rest:
        return 200, run.v1() if stand_in.api == "v1" else run.v2()
    tis = stand_in.task_instances.get((dag_id, run_id), [])
    if rest == ["taskInstances"]:
        page: wire.TaskInstanceCollectionV2 = {
            "task_instances": _window(tis, record.query),
            "total_entries": len(tis),
        }
        return 200, page
    if len(rest) == 4 and rest[0] == "taskInstances" and rest[2] == "logs":
        content = stand_in.logs.get((dag_id, run_id, rest[1], int(rest[3])))
        if content is None:
            return 404, {"detail": "TaskInstance not found"}
        if stand_in.api == "v1":
            return 200, str(content)  # text/plain
        log: wire.LogV2 = {"content": content}
        return 200, {**log, "continuation_token": None}
    return 404, {"detail": "Not Found"}
