"""FaultyAirflowStandIn: a stand-in for Airflow 3's REST API, for fault injection only.

It is NOT Airflow: it serves, from in-memory data, just the requests and answer shapes that
``kedro_airflow_k8s.airflow_api`` uses, so that the client's behaviour under failures can be
scripted and asserted quickly: N x 500 then success, 429 with ``Retry-After``, an answer slower
than the client's timeout, a dropped connection, 401/403/404, an Airflow-2-style server (no
``/api/v2``, ``/api/v1/version`` answers). The real Airflow 3 is exercised by the end-to-end
tests (``tests/e2e``, fixture ``airflow_server``; ``tests/e2e/test_airflow_api_real.py`` for
this client).

It binds 127.0.0.1 on a free port, serves from a daemon thread (stdlib ``http.server``), and is
stopped by the fixture that started it. Every request is recorded in ``requests``.
"""

from __future__ import annotations

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
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_BUNDLE = "dags-folder"
MAX_PAGE = 100  # Airflow's default [api] maximum_page_limit


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class Fault:
    """A scripted misbehaviour for requests whose path matches ``path`` (a regex, searched in the
    decoded path) and, if given, whose method is ``method``; used up after ``times`` hits."""

    path: str
    action: str  # "status" | "hang" | "drop" | "lose" (do the work, then drop the answer)
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


class FaultyAirflowStandIn:
    """Scriptable stand-in (see the module docstring). Data is plain dicts shaped like the
    API's JSON; helpers add DAGs, runs, task instances, logs and import errors."""

    def __init__(
        self,
        *,
        username: str = "admin",
        password: str = "stand-in-password-Xq7",
        static_token: str | None = None,
        auth_required: bool = True,
        airflow2: bool = False,
        version: str = "3.3.2",
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        """``tls``: (certificate, key) PEM files to serve HTTPS (see :func:`self_signed`)."""
        self.tls = tls
        self.username = username
        self.password = password
        self.static_token = static_token
        self.auth_required = auth_required
        self.airflow2 = airflow2
        self.version = version
        self.dags: dict[str, dict[str, Any]] = {}
        self.pending_dags: dict[str, dict[str, Any]] = {}  # files written, not parsed yet
        self.runs: dict[str, list[dict[str, Any]]] = {}
        self.task_instances: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.logs: dict[tuple[str, str, str, int], Any] = {}
        self.import_errors: list[dict[str, Any]] = []
        self.pending_import_errors: list[dict[str, Any]] = []
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
        self._next_ids = {"run": 1, "ti": 1, "import_error": 1}

    # --- lifecycle ---

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultyAirflowStandIn:
        handler = type("Handler", (_Handler,), {"stand_in": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
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
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

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
    ) -> dict[str, Any]:
        """A DAG served now, or (``pending``) one whose file waits for the next parse request."""
        relative = fileloc or f"{dag_id}.py"
        dag = {
            "dag_id": dag_id,
            "dag_display_name": dag_id,
            "is_paused": paused,
            "is_stale": is_stale,
            "has_import_errors": False,
            "tags": [{"name": tag, "dag_id": dag_id} for tag in tags],
            "file_token": f"token-of-{bundle_name}-{relative}",
            "fileloc": f"/opt/airflow/dags/{relative}",
            "relative_fileloc": relative,
            "bundle_name": bundle_name,
            "owners": ["airflow"],
        }
        with self._lock:
            (self.pending_dags if pending else self.dags)[dag_id] = dag
        return dag

    def add_import_error(
        self, filename: str, stack_trace: str, *, pending: bool = False
    ) -> dict[str, Any]:
        with self._lock:
            error = {
                "import_error_id": self._next_id("import_error"),
                "filename": filename,
                "bundle_name": DEFAULT_BUNDLE,
                "stack_trace": stack_trace,
                "timestamp": now_iso(),
            }
            (self.pending_import_errors if pending else self.import_errors).append(error)
        return error

    def add_run(self, dag_id: str, run_id: str, state: str = "running") -> dict[str, Any]:
        with self._lock:
            return self._new_run(dag_id, run_id, state, {})

    def add_task(
        self, dag_id: str, run_id: str, task_id: str, state: str | None, try_number: int = 1
    ) -> None:
        with self._lock:
            self.task_instances.setdefault((dag_id, run_id), []).append(
                {
                    "id": f"ti-{self._next_id('ti')}",
                    "task_id": task_id,
                    "dag_id": dag_id,
                    "dag_run_id": run_id,
                    "state": state,
                    "try_number": try_number,
                    "map_index": -1,
                    "start_date": "2026-01-02T03:04:05.123Z",
                    "end_date": None,
                }
            )

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

    def _new_run(
        self, dag_id: str, run_id: str, state: str, conf: dict[str, Any]
    ) -> dict[str, Any]:
        run = {
            "dag_id": dag_id,
            "dag_run_id": run_id,
            "id": self._next_id("run"),
            "state": state,
            "run_type": "manual",
            "conf": conf,
            "logical_date": None,
            "run_after": now_iso(),
            "start_date": None,
            "end_date": None,
        }
        self.runs.setdefault(dag_id, []).append(run)
        return run

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fault.matches(method, path):
                    fault.times -= 1
                    return fault
        return None

    def _auth_refusal(self, headers: dict[str, str]) -> tuple[int, Any] | None:
        """None when the request may go on, else Airflow 3.3's answer: 401 "Not authenticated"
        (no token), 401 "Token Expired", 403 "Invalid JWT token" (a token it cannot verify)."""
        if not self.auth_required:
            return None
        value = headers.get("authorization", "")
        token = value[len("Bearer ") :] if value.startswith("Bearer ") else None
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
            known = any(d["file_token"] == token for d in self.dags.values())
            if not known:
                return False
            self.parse_requests.append(token)
            self.dags.update(self.pending_dags)  # the bundle rescan finds new and changed files
            self.pending_dags.clear()
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


def _page(items: list[dict[str, Any]], query: dict[str, list[str]], key: str) -> dict[str, Any]:
    limit = min(int(query.get("limit", ["50"])[0]), MAX_PAGE)
    offset = int(query.get("offset", ["0"])[0])
    return {key: items[offset : offset + limit], "total_entries": len(items)}


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
                self._route(record, segments[1:])
            self._drop()
            return
        if fault is not None:
            self._answer(record, fault.status, fault.body or {"detail": "scripted"}, fault.headers)
            return
        status, payload = self._route(record, segments[1:])
        self._answer(record, status, payload)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _answer(
        self,
        record: Recorded,
        status: int,
        payload: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        record.status = status
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        with contextlib.suppress(OSError):
            self.send_response(status)
            is_json = not isinstance(payload, bytes)
            self.send_header("Content-Type", "application/json" if is_json else "text/html")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    # --- routes ---

    def _route(self, record: Recorded, parts: list[str]) -> tuple[int, Any]:
        stand_in = self.stand_in
        if stand_in.airflow2:
            return _airflow2_route(record, parts)
        if parts == ["auth", "token"] and record.method == "POST":
            return self._token(record)
        if parts[:2] != ["api", "v2"]:
            return 404, {"detail": "Not Found"}
        rest = parts[2:]
        if rest == ["version"]:
            return 200, {"version": stand_in.version, "git_version": None}
        refusal = stand_in._auth_refusal(record.headers)
        if refusal is not None:
            return refusal
        return _v2_route(stand_in, record, rest)

    def _token(self, record: Recorded) -> tuple[int, Any]:
        stand_in = self.stand_in
        body = record.body if isinstance(record.body, dict) else {}
        if body.get("username") != stand_in.username or body.get("password") != stand_in.password:
            return 401, {"detail": "Invalid credentials"}
        token = "eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJhZG1pbiJ9." + secrets.token_urlsafe(24)
        with stand_in._lock:
            stand_in.issued_tokens.append(token)
        return 201, {"access_token": token}


def _airflow2_route(record: Recorded, parts: list[str]) -> tuple[int, Any]:
    if parts == ["api", "v1", "version"]:
        return 200, {"version": "2.10.5", "git_version": None}
    if parts == ["api", "v1", "health"]:
        return 200, {"metadatabase": {"status": "healthy"}, "scheduler": {"status": "healthy"}}
    return 404, {"detail": "The requested URL was not found on the server.", "status": 404}


def _v2_route(stand_in: FaultyAirflowStandIn, record: Recorded, rest: list[str]) -> tuple[int, Any]:
    method, query = record.method, record.query
    if rest == ["dags"] and method == "GET":
        return 200, _list_dags(stand_in, query)
    if rest == ["importErrors"] and method == "GET":
        pattern = query.get("filename_pattern", [""])[0]
        errors = [e for e in stand_in.import_errors if _ilike(pattern, e["filename"])]
        return 200, _page(errors, query, "import_errors")
    if len(rest) == 2 and rest[0] == "parseDagFile" and method == "PUT":
        if stand_in._parse_requested(rest[1]):
            return 201, None
        return 404, {"detail": "File not found"}
    if len(rest) >= 2 and rest[0] == "dags":
        return _dag_route(stand_in, record, rest[1], rest[2:])
    return 404, {"detail": "Not Found"}


def _list_dags(stand_in: FaultyAirflowStandIn, query: dict[str, list[str]]) -> dict[str, Any]:
    tags = set(query.get("tags", []))
    bundle = query.get("bundle_name", [None])[0]
    dags = sorted(stand_in.dags.values(), key=lambda d: d["dag_id"])
    if tags:
        dags = [d for d in dags if tags & {t["name"] for t in d["tags"]}]
    if bundle:
        dags = [d for d in dags if d["bundle_name"] == bundle]
    return _page(dags, query, "dags")


def _dag_route(
    stand_in: FaultyAirflowStandIn, record: Recorded, dag_id: str, rest: list[str]
) -> tuple[int, Any]:
    dag = stand_in.dags.get(dag_id)
    if dag is None:
        return 404, {"detail": f"Dag with id {dag_id} was not found"}
    if not rest and record.method == "GET":
        return 200, dag
    if not rest and record.method == "PATCH":
        body = record.body if isinstance(record.body, dict) else {}
        if not isinstance(body.get("is_paused"), bool):
            return 422, {"detail": [{"loc": ["body", "is_paused"], "msg": "Field required"}]}
        dag["is_paused"] = body["is_paused"]
        return 200, dag
    if rest == ["dagRuns"] and record.method == "POST":
        return _trigger(stand_in, dag_id, record.body)
    if rest == ["dagRuns"] and record.method == "GET":
        runs = list(stand_in.runs.get(dag_id, []))
        if record.query.get("order_by", [""])[0] == "-id":
            runs.sort(key=lambda r: -int(r["id"]))
        return 200, _page(runs, record.query, "dag_runs")
    if len(rest) >= 2 and rest[0] == "dagRuns":
        return _run_route(stand_in, record, dag_id, rest[1], rest[2:])
    return 404, {"detail": "Not Found"}


def _trigger(stand_in: FaultyAirflowStandIn, dag_id: str, body: Any) -> tuple[int, Any]:
    if not isinstance(body, dict) or "logical_date" not in body:
        return 422, {
            "detail": [
                {"type": "missing", "loc": ["body", "logical_date"], "msg": "Field required"}
            ]
        }
    run_id = body.get("dag_run_id") or f"manual__{datetime.now(timezone.utc).isoformat()}"
    with stand_in._lock:
        if any(r["dag_run_id"] == run_id for r in stand_in.runs.get(dag_id, [])):
            return 409, {"detail": f"Unique constraint violation: dag_run {run_id} exists"}
        run = stand_in._new_run(dag_id, run_id, "queued", body.get("conf") or {})
    return 200, run


def _run_route(
    stand_in: FaultyAirflowStandIn, record: Recorded, dag_id: str, run_id: str, rest: list[str]
) -> tuple[int, Any]:
    run = next((r for r in stand_in.runs.get(dag_id, []) if r["dag_run_id"] == run_id), None)
    if run is None:
        return 404, {
            "detail": f"The DagRun with dag_id: `{dag_id}` and run_id: `{run_id}` was not found"
        }
    if not rest:
        return 200, run
    tis = stand_in.task_instances.get((dag_id, run_id), [])
    if rest == ["taskInstances"]:
        return 200, _page(tis, record.query, "task_instances")
    if len(rest) == 4 and rest[0] == "taskInstances" and rest[2] == "logs":
        content = stand_in.logs.get((dag_id, run_id, rest[1], int(rest[3])))
        if content is None:
            return 404, {"detail": "TaskInstance not found"}
        return 200, {"content": content, "continuation_token": None}
    return 404, {"detail": "Not Found"}
