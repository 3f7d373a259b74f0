"""``kedro airflow-k8s dev``: a local Airflow 3 for the project, on 127.0.0.1 only.

Three processes of the Airflow installed beside the plugin (``pip install
'kedro-airflow-k8s[local]'``), each in a process group of its own, their output in
``<home>/logs/<name>.log``:

* ``airflow api-server`` on 127.0.0.1:<port> (UI, REST API, and the execution API the tasks use);
* ``airflow scheduler --skip-serve-logs`` with the LocalExecutor (without the flag it would serve
  task logs on every interface, port 8793, with no setting to bind it elsewhere);
* ``airflow dag-processor``, scanning the DAG folder every few seconds.

Not ``airflow standalone``: it starts the scheduler and a triggerer without
``--skip-serve-logs`` (log servers on all interfaces), runs them in the caller's process group and
stops them with a single SIGTERM.

Everything lives in ``<project>/.airflow`` (the home, which holds its own ``.gitignore``): the
SQLite database, the task logs, the ``admin`` user's password (``passwords.json``, generated once)
and the keys Airflow signs and encrypts with (``secrets.json``), kept so that a restart keeps
logins, Variables and Connections. The simple auth manager checks the password.

Settings the safety of the set-up depends on (addresses, home, database, executor, auth, keys)
are always this module's; tuning settings (parallelism, scan intervals) are defaults that
``AIRFLOW__...`` environment variables override. Each process starts a session of its own and
gets a marker variable with a token of this start; stopping sends SIGTERM to each process group,
SIGKILL to what is left after a bounded wait, then (on Linux) to any process left in those
sessions or carrying the marker: task processes in groups of their own, local ``kedro run``
processes in sessions of their own.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from base64 import urlsafe_b64encode
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from kedro_airflow_k8s.deadline import Deadline
from kedro_airflow_k8s.errors import PluginError, RemoteError, TimedOut, UsageProblem

HOME_NAME = ".airflow"
DEFAULT_PORT = 8080
USERNAME = "admin"
MARKER_ENV = "KEDRO_AIRFLOW_K8S_DEV"
INSTALL_HINT = "pip install 'kedro-airflow-k8s[local]'"
SIMPLE_AUTH_MANAGER = (
    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
)
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
REFRESH_INTERVAL = 5  # seconds between scans of the DAG folder (Airflow's default: 300)
STOP_TIMEOUT = 15.0  # seconds from SIGTERM to SIGKILL when stopping
PROCESSES = (
    ("api-server", ("api-server",)),
    ("scheduler", ("scheduler", "--skip-serve-logs")),
    ("dag-processor", ("dag-processor",)),
)
_HEALTHY_PARTS = ("metadatabase", "scheduler", "dag_processor")
_PR_SET_PDEATHSIG = 1


class Stopped(BaseException):
    """SIGINT, SIGTERM or SIGHUP arrived: stop Airflow and end the command."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def airflow_version() -> str:
    """The installed Airflow 3's version, or a one-line error saying how to install it."""
    try:
        version = importlib.metadata.version("apache-airflow")
    except importlib.metadata.PackageNotFoundError as error:
        raise PluginError(
            f"`dev` runs Airflow from this Python environment, which has none: {INSTALL_HINT}"
        ) from error
    if not version.split(".", 1)[0].isdigit() or int(version.split(".", 1)[0]) < 3:
        raise PluginError(
            f"`dev` runs Airflow 3; this environment has apache-airflow {version}: {INSTALL_HINT}"
        )
    if importlib.util.find_spec("airflow.providers.cncf.kubernetes") is None:
        raise PluginError(
            "the generated DAGs import the cncf-kubernetes provider, which this environment "
            f"lacks: {INSTALL_HINT}"
        )
    return version


def _host_port(host: str | None) -> int | None:
    """The port of ``host`` when it is an http:// URL on this machine."""
    if host:
        parts = urlsplit(host)
        if parts.scheme == "http" and parts.hostname in LOOPBACK_NAMES:
            with contextlib.suppress(ValueError):
                return parts.port or 80
    return None


def default_port(host: str | None) -> int:
    """The port of ``host`` when it is an http:// URL on this machine, else 8080."""
    port = _host_port(host)
    return DEFAULT_PORT if port is None else port


def dags_folder(project: Path, output: str | None) -> tuple[Path, str | None]:
    """Where the DAG files are: ``output`` when it is a local folder (relative to the working
    directory, as the upload commands take it), else ``<project>/dag``; and a note when
    ``output`` is an object store."""
    from kedro_airflow_k8s.ship import parse_destination

    if output:
        destination = parse_destination(output)
        if not destination.scheme:
            return Path(os.path.abspath(destination.root)), None
        note = (
            f"output is {output}: run-once, upload-pipeline and schedule ship there, not to this "
            f"Airflow, which reads {project / 'dag'} (where compile writes); set output to a "
            "folder, e.g. `output: dag` in conf/local/kedro-airflow-k8s.yaml"
        )
        return project / "dag", note
    return project / "dag", None


def choose_port(given: int | None, host: str | None) -> int:
    """The port dev serves on: ``--port`` when given, else :func:`default_port`. A port that
    something already listens on (or that cannot be bound) on 127.0.0.1 is refused, the
    message saying whether the user chose it or it is the default."""
    port = given or default_port(host)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            reason = error.strerror or str(error)
        else:
            return port
    if given:
        raise UsageProblem(
            f"--port {port}: 127.0.0.1:{port} cannot be used ({reason}); stop what uses it or "
            "choose another port with --port"
        )
    if _host_port(host) is None:
        default = f"dev's default port, {port}"
    else:
        default = f"the port of host in kedro-airflow-k8s.yaml ({host}), dev's default"
    raise UsageProblem(
        f"127.0.0.1:{port} cannot be used ({reason}): it is {default}; stop what uses it or "
        "choose another port with --port PORT"
    )


def _private_json(path: Path, make: Callable[[], dict[str, str]]) -> dict[str, str]:
    """The JSON object in ``path``, written (owner-only) from ``make()`` when missing."""
    if path.exists():
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as error:
            raise PluginError(
                f"{path} cannot be read ({error}): delete it to start afresh"
            ) from error
        if isinstance(data, dict) and all(isinstance(v, str) for v in data.values()):
            return data
        raise PluginError(f"{path} is not what `dev` wrote: delete it to start afresh")
    data = make()
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(data, file)
    temporary.replace(path)
    return data


def _death_signal() -> Callable[[], None] | None:
    """A ``preexec_fn`` giving the child SIGTERM when this process dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def set_death_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)

    return set_death_signal


@contextlib.contextmanager
def stop_signals() -> Iterator[None]:
    """While inside, SIGINT, SIGTERM and SIGHUP raise :class:`Stopped` (main thread only)."""

    def raise_stopped(signum: int, frame: Any) -> None:
        raise Stopped(signum)

    previous: dict[int, Any] = {}
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None:
            with contextlib.suppress(ValueError):  # not the main thread
                previous[signum] = signal.signal(signum, raise_stopped)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """While inside (stopping, which is bounded), SIGINT, SIGTERM and SIGHUP wait."""
    previous: dict[int, Any] = {}
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None:
            with contextlib.suppress(ValueError):
                previous[signum] = signal.signal(signum, signal.SIG_IGN)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def host_note(host: str | None, url: str) -> str:
    """What the commands that talk to Airflow need to know about the config's ``host``."""
    if (
        host
        and urlsplit(host).hostname in LOOPBACK_NAMES
        and default_port(host) == int(urlsplit(url).port or 0)
    ):
        return f"host in kedro-airflow-k8s.yaml ({host}) points here"
    where = f"is {host}" if host else "is not set"
    return (
        f"host in kedro-airflow-k8s.yaml {where}: to use this Airflow set `host: {url}` "
        "(e.g. in conf/local/kedro-airflow-k8s.yaml)"
    )


@dataclass
class LocalAirflow:
    """A local Airflow 3 under ``home`` serving ``dags`` on 127.0.0.1:``port``."""

    home: Path
    dags: Path
    port: int
    echo: Callable[[str], None] = print
    parallelism: int = field(default_factory=lambda: max(2, min(8, os.cpu_count() or 2)))
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    password: str = ""
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    _lock: IO[str] | None = None
    _logs: list[IO[bytes]] = field(default_factory=list)
    _sessions: set[int] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def passwords_file(self) -> Path:
        return self.home / "passwords.json"

    # --- start ---

    def prepare(self) -> None:
        """The home, its .gitignore, the lock, the password and keys, the environment."""
        for folder in (self.home, self.logs_dir, self.dags):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise PluginError(f"cannot create {folder}: {error.strerror or error}") from error
        ignore = self.home / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# Written by `kedro airflow-k8s dev`: nothing here is shared.\n*\n")
        self._take_lock()
        self.password = _private_json(
            self.passwords_file, lambda: {USERNAME: secrets.token_urlsafe(12)}
        )[USERNAME]
        keys = _private_json(
            self.home / "secrets.json",
            lambda: {
                "jwt_secret": secrets.token_urlsafe(48),
                "secret_key": secrets.token_urlsafe(32),
                "fernet_key": urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            },
        )
        self.env = self.environment(keys)

    def _take_lock(self) -> None:
        import fcntl

        lock = (self.home / "dev.lock").open("a+", encoding="utf-8")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            lock.seek(0)
            held_by = lock.read().strip() or "another process"
            lock.close()
            raise PluginError(
                f"an Airflow of this project already runs from {self.home} ({held_by}): stop it "
                "first (Ctrl-C where it runs)"
            ) from error
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}, {self.url}\n")
        lock.flush()
        self._lock = lock

    def environment(self, keys: dict[str, str]) -> dict[str, str]:
        """The Airflow processes' environment (see the module docstring)."""
        env = dict(os.environ)
        bin_dir = str(Path(sys.executable).parent)
        env["PATH"] = os.pathsep.join(filter(None, [bin_dir, env.get("PATH")]))
        loopback = "127.0.0.1,localhost"
        env["NO_PROXY"] = env["no_proxy"] = ",".join(filter(None, [env.get("NO_PROXY"), loopback]))
        tuning = {
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": str(REFRESH_INTERVAL),
        }
        for name, value in tuning.items():
            env.setdefault(name, value)
        env.update(
            {
                MARKER_ENV: self.token,
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags),
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
                "AIRFLOW__CORE__FERNET_KEY": keys["fernet_key"],
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__BASE_URL": self.url,
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API__SECRET_KEY": keys["secret_key"],
                "AIRFLOW__API_AUTH__JWT_SECRET": keys["jwt_secret"],
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.logs_dir / "tasks"),
                # Its health server binds 0.0.0.0.
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            }
        )
        return env

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.logs_dir / f"{name}.log").open("ab")
        self._logs.append(log)
        process = subprocess.Popen(
            [sys.executable, "-m", "airflow", *args],
            env=self.env,
            cwd=self.home,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_death_signal(),
        )
        self._sessions.add(process.pid)
        return process

    def migrate(self, deadline: Deadline) -> None:
        """``airflow db migrate`` (creates or upgrades the SQLite database)."""
        process = self._spawn("db-migrate", "db", "migrate")
        self.processes["db-migrate"] = process
        try:
            code = process.wait(deadline.remaining())
        except subprocess.TimeoutExpired as error:
            raise TimedOut(deadline.message("airflow db migrate")) from error
        del self.processes["db-migrate"]
        if code != 0:
            raise RemoteError(
                f"airflow db migrate failed with exit code {code}: {self._last_line('db-migrate')}"
                f" (log: {self.logs_dir / 'db-migrate.log'})"
            )

    def start(self) -> None:
        for name, args in PROCESSES:
            self.processes[name] = self._spawn(name, *args)

    def check_alive(self, doing: str) -> None:
        for name, process in self.processes.items():
            code = process.poll()
            if code is not None:
                raise RemoteError(
                    f"airflow {name} exited with code {code} {doing}: {self._last_line(name)} "
                    f"(log: {self.logs_dir / (name + '.log')})"
                )

    def wait_ready(self, deadline: Deadline) -> None:
        """Until the API answers and the scheduler and dag-processor are healthy; then warm up
        the execution API (built on its first request) and log in as the user."""
        health: dict[str, Any] = {}
        while True:
            self.check_alive("while starting")
            with contextlib.suppress(OSError, ValueError):
                health = self._get_json("/api/v2/monitor/health")
                if all((health.get(p) or {}).get("status") == "healthy" for p in _HEALTHY_PARTS):
                    break
            if deadline.expired():
                states = {p: (health.get(p) or {}).get("status", "?") for p in _HEALTHY_PARTS}
                raise TimedOut(deadline.message(f"waiting for Airflow to be healthy ({states})"))
            time.sleep(0.5)
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"{self.url}/execution/health", timeout=deadline.remaining())
        self._check_login(deadline)

    def _get_json(self, path: str) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=5) as answer:
            data = json.loads(answer.read())
        return data if isinstance(data, dict) else {}

    def _check_login(self, deadline: Deadline) -> None:
        """The printed credentials work: the plugin's own client logs in with them."""
        from kedro_airflow_k8s.airflow_api import ClientSettings, connect

        settings = ClientSettings(self.url, username=USERNAME, password=self.password)
        with connect(settings, deadline) as api:
            api.check_access()

    def _last_line(self, name: str) -> str:
        path = self.logs_dir / f"{name}.log"
        with contextlib.suppress(OSError):
            lines = [ln.strip() for ln in path.read_text("utf-8", "replace").splitlines()]
            lines = [ln for ln in lines if ln]
            if lines:
                return lines[-1][:300]
        return "(no output)"

    # --- run and stop ---

    def serve(self, poll: float = 0.5) -> None:
        """Until a process ends (an error) or a signal raises :class:`Stopped`."""
        while True:
            self.check_alive("unexpectedly")
            time.sleep(poll)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop every process (see the module docstring); bounded by ``timeout`` + 10 s."""
        running = [p for p in self.processes.values() if p.poll() is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGTERM)
        until = time.monotonic() + timeout
        for process in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.0, until - time.monotonic()))
        for process in self.processes.values():
            # Also the group members that outlived their leader.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)
        self._kill_leftovers(until=time.monotonic() + 5)
        self.processes.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def leftover_processes(self) -> list[int]:
        """Processes of this start still running (Linux, from /proc; elsewhere none): those in
        the sessions of the processes it started (task processes in groups of their own) and
        those carrying its marker variable (a task's own session, such as a local ``kedro run``).
        Airflow rewrites its processes' titles over their environment, hence both."""
        marker = f"{MARKER_ENV}={self.token}".encode()
        found: list[int] = []
        proc = Path("/proc")
        if not proc.is_dir():
            return found
        for entry in proc.iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            pid = int(entry.name)
            with contextlib.suppress(OSError):
                if os.getsid(pid) in self._sessions or marker in (
                    (entry / "environ").read_bytes().split(b"\0")
                ):
                    found.append(pid)
        return found

    def _kill_leftovers(self, until: float) -> None:
        while True:
            left = self.leftover_processes()
            if not left or time.monotonic() > until:
                return
            for pid in left:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
