"""A Kubernetes API on loopback for end-to-end tests, plus a tiny test "kubelet".

The API is kmock's in-memory ``KubernetesEmulator`` (served by aiohttp on 127.0.0.1, on a free port)
with the few additions the cncf-kubernetes provider's ``KubernetesPodOperator`` needs:

* a created pod gets ``metadata.uid``/``creationTimestamp`` and ``status.phase: Pending`` (kmock
  stores objects verbatim, and the provider fails on a ``None`` phase);
* ``labelSelector`` and ``fieldSelector`` are honoured on list requests (kmock ignores them, and the
  operator finds "its" pod by labels: with two pods in a namespace it would see both);
* ``GET .../pods/{name}/log`` serves what the container printed, with ``timestamps``, ``follow``,
  ``sinceSeconds``/``sinceTime`` and ``tailLines`` (kmock would answer with the pod object);
* ``v1/events`` is declared, so the operator's event polling gets an empty list instead of a 404,
  and the kubelet posts a few events of its own.

The kubelet runs in the emulator's event loop (one background thread for the whole emulator). For
each new pod it moves the pod Pending -> Running, runs the command + args of the pod's main
container ("base" by default) as a local process, captures stdout+stderr line by line for the log
endpoint, and finally sets the container state ``terminated`` with the real exit code and the pod
phase ``Succeeded`` or ``Failed``. Deleting a pod while its process runs kills the process group.

Local execution is configurable: working directory, executable mapping (a container's ``kedro`` ->
this venv's ``kedro``), and environment layers. Use ``configured(...)`` to change them for one test
when the emulator is session-scoped.

Not emulated: init containers and sidecars (they are reported as terminated with exit code 0 and
have empty logs), ``valueFrom`` environment variables (skipped and recorded on the run), volumes,
exec/attach (so ``do_xcom_push=True`` cannot work), watches beyond what kmock offers, resource
versions.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import functools
import json
import os
import re
import shutil
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp.web
import kmock
import yaml

POD_RESOURCE = kmock.resource("v1/pods")
EVENT_RESOURCE = kmock.resource("v1/events")

# Environment variables of the test process that must not leak into "containers".
_STRIPPED_ENV_PREFIXES = ("AIRFLOW", "PYTEST_", "KUBECONFIG", "KUBERNETES_")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _k8s_time(moment: dt.datetime) -> str:
    """Kubernetes object timestamps: RFC 3339, seconds precision, UTC."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _log_time(moment: dt.datetime) -> str:
    """Log line timestamps: RFC 3339 with sub-second precision, as kubelet prints with
    timestamps=true."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _truthy(value: str | None) -> bool:
    """Query flags: the Python client sends ``True``, kubectl sends ``true``."""
    return (value or "").lower() in ("true", "1")


def _has_news(run: PodRun, seen: int) -> bool:
    return len(run.lines) > seen or run.done.is_set()


def _parse_time(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------------
# Label and field selectors (the subset of the real grammar that clients use in practice).
# --------------------------------------------------------------------------------------------------

_SET_EXPR = re.compile(r"^\s*([^\s!=,()]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_selector(selector: str) -> list[str]:
    """Split on commas that are not inside parentheses (``a in (x,y),b=c``)."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def label_selector_matches(selector: str | None, labels: Mapping[str, str] | None) -> bool:
    """Whether ``labels`` satisfy a Kubernetes label selector string."""
    labels = labels or {}
    for requirement in _split_selector(selector or ""):
        set_match = _SET_EXPR.match(requirement)
        if set_match:
            key, operator, raw_values = set_match.groups()
            values = {value.strip() for value in raw_values.split(",") if value.strip()}
            if operator == "in" and labels.get(key) not in values:
                return False
            if operator == "notin" and key in labels and labels[key] in values:
                return False
        elif "!=" in requirement:
            key, value = (part.strip() for part in requirement.split("!=", 1))
            if labels.get(key) == value:
                return False
        elif "=" in requirement:
            key, value = (part.strip() for part in requirement.replace("==", "=").split("=", 1))
            if labels.get(key) != value:
                return False
        elif requirement.startswith("!"):
            if requirement[1:].strip() in labels:
                return False
        elif requirement not in labels:
            return False
    return True


def _field_value(obj: Mapping[str, Any], path: str) -> Any:
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def field_selector_matches(selector: str | None, obj: Mapping[str, Any]) -> bool:
    """Whether an object satisfies a field selector (``=``, ``==``, ``!=`` on dotted paths)."""
    for requirement in _split_selector(selector or ""):
        negate = "!=" in requirement
        key, value = (part.strip() for part in re.split(r"!=|==|=", requirement, maxsplit=1))
        actual = _field_value(obj, key)
        actual_text = "" if actual is None else str(actual)
        if (actual_text == value) == negate:
            return False
    return True


# --------------------------------------------------------------------------------------------------
# Records of what the kubelet ran.
# --------------------------------------------------------------------------------------------------


@dataclass
class PodRun:
    """One container process run by the test kubelet (read it from tests; written by the
    emulator)."""

    namespace: str
    pod_name: str
    container: str
    manifest: dict[str, Any]  # the pod as created (deep copy)
    argv: list[str] = field(default_factory=list)  # command + args as in the pod spec
    resolved_argv: list[str] = field(default_factory=list)  # what was actually executed
    cwd: str = ""
    pod_env: dict[str, str] = field(default_factory=dict)  # plain-value env vars of the container
    skipped_env: list[str] = field(default_factory=list)  # names of env vars with valueFrom
    created_at: dt.datetime = field(default_factory=_now)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    exit_code: int | None = None
    reason: str | None = None  # Completed / Error / DeadlineExceeded / Killed / StartError
    deleted: bool = False
    # (timestamp, line bytes including the trailing newline if there was one)
    lines: list[tuple[dt.datetime, bytes]] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def output(self) -> str:
        return b"".join(line for _, line in self.lines).decode("utf-8", errors="replace")

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.manifest.get("metadata", {}).get("labels") or {})

    def wait(self, timeout: float = 60) -> PodRun:
        if not self.done.wait(timeout):
            raise TimeoutError(
                f"pod {self.namespace}/{self.pod_name} still running after {timeout} s"
            )
        return self


@dataclass
class _ExecutionSettings:
    workdir: Path
    executables: dict[str, str]
    env: dict[str, str]
    env_overrides: dict[str, str]
    inherit_env: bool
    pending_delay: float
    run_timeout: float
    main_containers: tuple[str, ...]


# --------------------------------------------------------------------------------------------------
# The kmock handler with the additions.
# --------------------------------------------------------------------------------------------------


class _PodAwareEmulator(kmock.KubernetesEmulator):
    """kmock's emulator plus pod defaults, selectors, a log endpoint and the kubelet hooks.

    Runs only inside the emulator thread's event loop.
    """

    def setup(self, owner: KubeEmulator) -> None:
        # attrs classes: plain attributes set after construction keep the constructor untouched.
        object.__setattr__(self, "_owner", owner)
        self.resources["v1/pods"] = kmock.ResourceInfo(
            kind="Pod",
            namespaced=True,
            singular="pod",
            shortnames={"po"},
            verbs={"create", "delete", "get", "list", "patch", "watch"},
            subresources={"log", "status"},
        )
        self.resources["v1/events"] = kmock.ResourceInfo(
            kind="Event",
            namespaced=True,
            singular="event",
            shortnames={"ev"},
            verbs={"create", "get", "list", "watch"},
        )
        self.resources["v1/namespaces"] = kmock.ResourceInfo(
            kind="Namespace",
            namespaced=False,
            singular="namespace",
            verbs={"get", "list"},
        )

    # kmock calls this for every HTTP request.
    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        owner: KubeEmulator = self._owner  # type: ignore[attr-defined]
        is_pod = request.resource == POD_RESOURCE
        if is_pod and request.subresource == "log" and request.method == kmock.method.GET:
            return await self._serve_log(request)
        if is_pod and request.action == kmock.action.CREATE and isinstance(request.data, dict):
            self._complete_new_pod(request)
            response = await super()._handle(request)
            if response.status < 300:
                metadata = request.data["metadata"]
                await owner._pod_created(metadata["namespace"], metadata["name"], request.data)
            return response
        if is_pod and request.action == kmock.action.DELETE and request.name:
            owner._pod_deleted(request.namespace or "", request.name)
        return await super()._handle(request)

    def _complete_new_pod(self, request: kmock.Request) -> None:
        """What the API server and the scheduler add to a pod on creation."""
        pod = request.data
        metadata = pod.setdefault("metadata", {})
        if not metadata.get("name") and metadata.get("generateName"):
            metadata["name"] = metadata["generateName"] + uuid.uuid4().hex[:5]
        metadata.setdefault("namespace", request.namespace or "default")
        metadata.setdefault("uid", str(uuid.uuid4()))
        metadata.setdefault("creationTimestamp", _k8s_time(_now()))
        metadata.setdefault("resourceVersion", "1")
        pod.setdefault("apiVersion", "v1")
        pod.setdefault("kind", "Pod")
        status = pod.setdefault("status", {})
        status.setdefault("phase", "Pending")
        status.setdefault("qosClass", "BestEffort")
        status.setdefault(
            "conditions",
            [{"type": "PodScheduled", "status": "True", "lastTransitionTime": _k8s_time(_now())}],
        )
        pod.setdefault("spec", {}).setdefault("nodeName", "kmock-node")

    async def _serve_list(self, request: kmock.Request) -> Any:
        result: dict[str, Any] = dict(await super()._serve_list(request))  # type: ignore[arg-type]
        label_selector = request.params.get("labelSelector")
        field_selector = request.params.get("fieldSelector")
        result["items"] = [
            item
            for item in result["items"]
            if label_selector_matches(label_selector, (item.get("metadata") or {}).get("labels"))
            and field_selector_matches(field_selector, item)
        ]
        result.setdefault("apiVersion", "v1")
        if request.resource == POD_RESOURCE:
            result.setdefault("kind", "PodList")
        elif request.resource == EVENT_RESOURCE:
            result.setdefault("kind", "EventList")
        return result

    async def _serve_log(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        owner: KubeEmulator = self._owner  # type: ignore[attr-defined]
        namespace, name = request.namespace or "", request.name or ""
        key = (POD_RESOURCE, namespace, name)
        if key not in self.objects or self.objects[key].deleted:
            raise kmock.KubernetesObjectNotFoundError(message=f'pods "{name}" not found')
        params = request.params
        container = params.get("container")
        run = owner._runs_by_pod.get((namespace, name))
        if run is None or (container and container != run.container):
            # Not the main container (sidecar, init container) or nothing started yet: empty log.
            return aiohttp.web.Response(body=b"", content_type="text/plain")
        if run.started_at is None:
            raise kmock.KubernetesError(
                status=400,
                reason="BadRequest",
                message=f'container "{run.container}" in pod "{name}" is waiting to start: '
                "ContainerCreating",
            )

        timestamps = _truthy(params.get("timestamps"))
        follow = _truthy(params.get("follow"))
        since: dt.datetime | None = None
        if params.get("sinceSeconds"):
            since = _now() - dt.timedelta(seconds=int(params["sinceSeconds"]))
        elif params.get("sinceTime"):
            since = _parse_time(params["sinceTime"])
        tail = int(params["tailLines"]) if params.get("tailLines") else None

        def render(items: list[tuple[dt.datetime, bytes]]) -> bytes:
            chunks = []
            for moment, line in items:
                if since is not None and moment < since:
                    continue
                chunks.append((_log_time(moment) + " ").encode() + line if timestamps else line)
            return b"".join(chunks)

        condition = owner._conditions[(namespace, name)]
        if not follow:
            items = list(run.lines)
            if tail is not None:
                items = items[-tail:] if tail > 0 else []
            return aiohttp.web.Response(body=render(items), content_type="text/plain")

        raw_request = request._raw_request
        assert raw_request is not None
        response = aiohttp.web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(raw_request)
        position = 0
        if tail is not None:
            position = max(0, len(run.lines) - tail)
        try:
            while True:
                async with condition:
                    await condition.wait_for(functools.partial(_has_news, run, position))
                    items = run.lines[position:]
                    position += len(items)
                    finished = run.done.is_set() and position >= len(run.lines)
                if items:
                    await response.write(render(items))
                if finished:
                    break
            await response.write_eof()
        except (ConnectionError, asyncio.CancelledError):
            pass  # the client went away
        return response


# --------------------------------------------------------------------------------------------------
# The public object.
# --------------------------------------------------------------------------------------------------


class KubeEmulator:
    """A loopback Kubernetes API (kmock) with a test kubelet that runs pod commands locally.

    ``start()`` serves on http://127.0.0.1:<free port> from a daemon thread and writes
    ``kubeconfig_path``; ``stop()`` kills whatever the kubelet still runs and shuts the server down.
    """

    def __init__(
        self,
        base_dir: str | Path,
        *,
        namespace: str = "default",
        workdir: str | Path | None = None,
        executables: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        env_overrides: Mapping[str, str] | None = None,
        inherit_env: bool = True,
        pending_delay: float = 0.0,
        run_timeout: float = 900.0,
        main_containers: tuple[str, ...] = ("base",),
    ) -> None:
        """
        :param base_dir: where the kubeconfig and the default working directory go.
        :param namespace: the kubeconfig context's namespace (pods may use any namespace).
        :param workdir: working directory of container processes (default ``<base_dir>/workdir``).
        :param executables: container executable -> local executable, matched on the exact
            ``argv[0]`` first and then on its basename. Defaults map ``python``/``python3`` to this
            interpreter and ``kedro`` to the ``kedro`` beside it (when it exists); given entries are
            added on top.
        :param env: environment under the pod's env (the pod's plain-value vars win over these).
        :param env_overrides: environment over the pod's env (these win).
        :param inherit_env: start from this process's environment (minus AIRFLOW*, PYTEST_*, KUBE*).
        :param pending_delay: seconds a pod stays Pending before it turns Running and its process
            starts. 0 (default): the create response says Pending and the pod is Running by the
            creator's next read. Any delay makes ``KubernetesPodOperator`` sleep a whole
            ``startup_check_interval_seconds`` (5 s by default) per task when its first look finds
            the pod Pending.
        :param run_timeout: a container process running longer is killed (exit code 137).
        :param main_containers: names of the containers whose command is run; a pod without any of
            them runs its first container.
        """
        self.base_dir = Path(base_dir)
        self.namespace = namespace
        self.kubeconfig_path = self.base_dir / "kubeconfig.yaml"
        default_executables = {"python": sys.executable, "python3": sys.executable}
        kedro = Path(sys.executable).parent / "kedro"
        if kedro.exists():
            default_executables["kedro"] = str(kedro)
        default_executables.update(executables or {})
        self._settings = _ExecutionSettings(
            workdir=Path(workdir) if workdir else self.base_dir / "workdir",
            executables=default_executables,
            env=dict(env or {}),
            env_overrides=dict(env_overrides or {}),
            inherit_env=inherit_env,
            pending_delay=pending_delay,
            run_timeout=run_timeout,
            main_containers=tuple(main_containers),
        )
        self._runs: list[PodRun] = []
        self._runs_by_pod: dict[tuple[str, str], PodRun] = {}
        self._runs_lock = threading.Lock()
        self._conditions: dict[tuple[str, str], asyncio.Condition] = {}
        self._processes: dict[tuple[str, str], asyncio.subprocess.Process] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._handler: _PodAwareEmulator | None = None
        self.port: int | None = None

    # --- lifecycle ---

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the emulator is not running")
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> KubeEmulator:
        if self._thread is not None:
            raise RuntimeError("already started")
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self._settings.workdir.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._thread_main, name="kube-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"the Kubernetes emulator did not start within {timeout} s")
        if self._startup_error is not None:
            raise RuntimeError("the Kubernetes emulator failed to start") from self._startup_error
        self._write_kubeconfig()
        return self

    def stop(self, timeout: float = 30) -> None:
        if self._thread is None:
            return
        if self._loop is not None and self._stop_event is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop_event.set)
        self._thread.join(timeout)
        self._thread = None

    def __enter__(self) -> KubeEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start() if it happens during startup
            self._startup_error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        handler = _PodAwareEmulator()
        handler.setup(self)
        self._handler = handler
        async with handler, kmock.Server(handler, host="127.0.0.1") as server:
            self.port = server.port
            self._ready.set()
            await self._stop_event.wait()
            for key in list(self._processes):
                self._kill(key)
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _write_kubeconfig(self) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "kmock", "cluster": {"server": self.url}}],
            "users": [{"name": "kmock", "user": {"token": "e2e-test-token"}}],
            "contexts": [
                {
                    "name": "kmock",
                    "context": {"cluster": "kmock", "user": "kmock", "namespace": self.namespace},
                }
            ],
            "current-context": "kmock",
            "preferences": {},
        }
        self.kubeconfig_path.write_text(yaml.safe_dump(config, sort_keys=False))

    # --- for tests ---

    def airflow_env(self, conn_id: str | None = None) -> dict[str, str]:
        """Environment for the Airflow processes (task processes inherit the scheduler's
        environment).

        Default: only ``KUBECONFIG``. ``KubernetesPodOperator``'s default connection
        ``kubernetes_default`` may be missing; the hook then loads the kubeconfig that KUBECONFIG
        names, in sync and deferrable mode.

        With ``conn_id``: only ``AIRFLOW_CONN_<ID>`` (a kubernetes connection whose extra has
        ``kube_config_path``), for DAGs that name their connection. Never both: in deferrable mode
        the operator turns KUBECONFIG into a config dict, and the trigger's hook rejects a config
        dict next to a connection with ``kube_config_path`` ("Options ... are mutually exclusive").
        """
        if conn_id is None:
            return {"KUBECONFIG": str(self.kubeconfig_path)}
        connection = {
            "conn_type": "kubernetes",
            "extra": {"kube_config_path": str(self.kubeconfig_path), "namespace": self.namespace},
        }
        return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(connection)}

    @property
    def runs(self) -> list[PodRun]:
        """Every container process started so far, oldest first."""
        with self._runs_lock:
            return list(self._runs)

    def run_for(self, pod_name: str, namespace: str | None = None) -> PodRun:
        with self._runs_lock:
            for run in reversed(self._runs):
                if run.pod_name == pod_name and (namespace is None or run.namespace == namespace):
                    return run
        raise KeyError(pod_name)

    def runs_with_labels(self, **labels: str) -> list[PodRun]:
        """Runs whose pod carried all these labels (e.g. ``dag_id=..., task_id=...``)."""
        return [run for run in self.runs if all(run.labels.get(k) == v for k, v in labels.items())]

    def wait_for_runs(self, count: int, timeout: float = 60) -> list[PodRun]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = self.runs
            if len(runs) >= count:
                return runs
            time.sleep(0.1)
        raise TimeoutError(f"{len(self.runs)} pod runs seen, {count} expected within {timeout} s")

    def clear_runs(self) -> None:
        with self._runs_lock:
            self._runs.clear()

    def pods(self, namespace: str | None = None) -> list[dict[str, Any]]:
        """The pods that currently exist (deep copies), optionally in one namespace."""
        return list(self._call_in_loop(self._list_pods(namespace)))

    async def _list_pods(self, namespace: str | None) -> list[dict[str, Any]]:
        assert self._handler is not None
        result = []
        for (resource, ns, _name), obj in self._handler.objects.items():
            if (
                resource == POD_RESOURCE
                and not obj.deleted
                and (namespace is None or ns == namespace)
            ):
                result.append(copy.deepcopy(dict(obj.raw)))
        return result

    def _call_in_loop(self, coroutine: Any, timeout: float = 10) -> Any:
        if self._loop is None:
            raise RuntimeError("the emulator is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    @property
    def workdir(self) -> Path:
        return self._settings.workdir

    @contextlib.contextmanager
    def configured(
        self,
        *,
        workdir: str | Path | None = None,
        executables: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        env_overrides: Mapping[str, str] | None = None,
        pending_delay: float | None = None,
        run_timeout: float | None = None,
    ) -> Iterator[KubeEmulator]:
        """Temporarily change how pods are executed (executables/env entries are added, others
        replaced).

        Settings are read when a pod's process starts, so keep the block open until the runs
        started.
        """
        saved = copy.copy(self._settings)
        new = copy.copy(saved)
        if workdir is not None:
            new.workdir = Path(workdir)
        if executables is not None:
            new.executables = {**saved.executables, **executables}
        if env is not None:
            new.env = {**saved.env, **env}
        if env_overrides is not None:
            new.env_overrides = {**saved.env_overrides, **env_overrides}
        if pending_delay is not None:
            new.pending_delay = pending_delay
        if run_timeout is not None:
            new.run_timeout = run_timeout
        self._settings = new
        try:
            yield self
        finally:
            self._settings = saved

    # --- the kubelet ---

    async def _pod_created(self, namespace: str, name: str, pod: dict[str, Any]) -> None:
        """Called in the loop right after kmock stored a new pod (its create response says
        Pending)."""
        containers = (pod.get("spec") or {}).get("containers") or []
        if not containers:
            return
        settings = self._settings
        main = next(
            (c for c in containers if c.get("name") in settings.main_containers), containers[0]
        )
        run = PodRun(
            namespace=namespace,
            pod_name=name,
            container=main.get("name", ""),
            manifest=copy.deepcopy(pod),
        )
        with self._runs_lock:
            self._runs.append(run)
            self._runs_by_pod[(namespace, name)] = run
        self._conditions[(namespace, name)] = asyncio.Condition()
        await self._post_event(
            run, "Scheduled", f"Successfully assigned {namespace}/{name} to kmock-node"
        )
        if settings.pending_delay <= 0:
            # An infinitely fast kubelet: Running before the creator's next request can read the
            # pod. The
            # operator looks again only after startup_check_interval_seconds (5 s by default) if it
            # sees Pending.
            await self._mark_running(run, containers)
        task = asyncio.get_running_loop().create_task(self._kubelet(run, pod, settings))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _mark_running(self, run: PodRun, containers: list[dict[str, Any]]) -> None:
        run.started_at = _now()
        started = _k8s_time(run.started_at)
        await self._patch_pod(
            run.namespace,
            run.pod_name,
            {
                "status": {
                    "phase": "Running",
                    "startTime": started,
                    "hostIP": "127.0.0.1",
                    "podIP": "127.0.0.1",
                    "podIPs": [{"ip": "127.0.0.1"}],
                    "conditions": [
                        {"type": t, "status": "True", "lastTransitionTime": started}
                        for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
                    ],
                    "containerStatuses": [
                        self._container_status(c, {"running": {"startedAt": started}}, ready=True)
                        for c in containers
                    ],
                }
            },
        )

    def _pod_deleted(self, namespace: str, name: str) -> None:
        run = self._runs_by_pod.get((namespace, name))
        if run is not None:
            run.deleted = True
            self._kill((namespace, name))

    def _kill(self, key: tuple[str, str]) -> None:
        process = self._processes.get(key)
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)

    async def _patch_pod(self, namespace: str, name: str, patch: dict[str, Any]) -> bool:
        handler = self._handler
        assert handler is not None
        key = (POD_RESOURCE, namespace, name)
        async with handler._lock:
            if key not in handler.objects or handler.objects[key].deleted:
                return False
            handler.objects[key].patch(patch)
            raw = handler.objects[key].raw
            await handler._buses[POD_RESOURCE].put({"type": "MODIFIED", "object": raw})
        return True

    async def _post_event(
        self, run: PodRun, reason: str, message: str, event_type: str = "Normal"
    ) -> None:
        handler = self._handler
        assert handler is not None
        name = f"{run.pod_name}.{uuid.uuid4().hex[:12]}"
        now = _k8s_time(_now())
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": name,
                "namespace": run.namespace,
                "uid": str(uuid.uuid4()),
                "resourceVersion": "1",
                "creationTimestamp": now,
            },
            "involvedObject": {
                "kind": "Pod",
                "apiVersion": "v1",
                "namespace": run.namespace,
                "name": run.pod_name,
                "uid": run.manifest["metadata"].get("uid"),
                "fieldPath": f"spec.containers{{{run.container}}}",
            },
            "reason": reason,
            "message": message,
            "type": event_type,
            "source": {"component": "kmock-kubelet", "host": "kmock-node"},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        async with handler._lock:
            handler.objects[EVENT_RESOURCE, run.namespace, name] = event
            await handler._buses[EVENT_RESOURCE].put({"type": "ADDED", "object": event})

    def _container_status(
        self, container: dict[str, Any], state: dict[str, Any], ready: bool
    ) -> dict[str, Any]:
        return {
            "name": container.get("name", ""),
            "image": container.get("image") or "unknown",
            "imageID": "",
            "containerID": f"kmock://{uuid.uuid4().hex}",
            "ready": ready,
            "started": "running" in state,
            "restartCount": 0,
            "state": state,
        }

    def _build_argv(
        self, container: dict[str, Any], settings: _ExecutionSettings, env: dict[str, str]
    ) -> list[str]:
        argv = list(container.get("command") or []) + list(container.get("args") or [])
        if not argv:
            raise ValueError(
                "the container has neither command nor args (the image entrypoint is unknown)"
            )
        executable = settings.executables.get(argv[0]) or settings.executables.get(
            os.path.basename(argv[0])
        )
        if executable is None and os.sep not in argv[0]:
            executable = shutil.which(argv[0], path=env.get("PATH"))
        return [executable or argv[0], *argv[1:]]

    def _build_env(
        self, run: PodRun, container: dict[str, Any], settings: _ExecutionSettings
    ) -> dict[str, str]:
        env: dict[str, str] = {}
        if settings.inherit_env:
            env.update(
                {k: v for k, v in os.environ.items() if not k.startswith(_STRIPPED_ENV_PREFIXES)}
            )
        env.update(settings.env)
        env["HOSTNAME"] = run.pod_name
        for item in container.get("env") or []:
            if "value" in item or "valueFrom" not in item:
                value = str(item.get("value") or "")
                run.pod_env[item["name"]] = value
                env[item["name"]] = value
            else:
                run.skipped_env.append(item["name"])
        env.update(settings.env_overrides)
        return env

    async def _append_output(self, run: PodRun, data: bytes) -> None:
        condition = self._conditions[(run.namespace, run.pod_name)]
        async with condition:
            run.lines.append((_now(), data))
            condition.notify_all()

    async def _kubelet(
        self, run: PodRun, pod: dict[str, Any], settings: _ExecutionSettings
    ) -> None:
        key = (run.namespace, run.pod_name)
        containers = pod["spec"]["containers"]
        main = next(c for c in containers if c.get("name") == run.container)
        try:
            if run.started_at is None:
                await asyncio.sleep(settings.pending_delay)
                if run.deleted:
                    return
                await self._mark_running(run, containers)
            assert run.started_at is not None
            started = _k8s_time(run.started_at)
            if run.deleted:
                return

            env = self._build_env(run, main, settings)
            run.argv = list(main.get("command") or []) + list(main.get("args") or [])
            run.cwd = str(settings.workdir)
            start_error: str | None = None
            process: asyncio.subprocess.Process | None = None
            try:
                run.resolved_argv = self._build_argv(main, settings, env)
                process = await asyncio.create_subprocess_exec(
                    *run.resolved_argv,
                    cwd=run.cwd,
                    env=env,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT,
                    start_new_session=True,
                )
                self._processes[key] = process
            except (OSError, ValueError) as exc:
                start_error = f"failed to start container process {run.argv!r}: {exc}"
            await self._post_event(run, "Started", f"Started container {run.container}")

            if process is None:
                await self._append_output(run, (start_error or "").encode() + b"\n")
                exit_code, reason = 128, "StartError"
            else:
                exit_code, reason = await self._pump(run, process, settings.run_timeout)

            run.finished_at = _now()
            run.exit_code = exit_code
            run.reason = reason
            finished = _k8s_time(run.finished_at)
            terminated_statuses = []
            for c in containers:
                if c is main:
                    state = {
                        "terminated": {
                            "exitCode": exit_code,
                            "reason": reason,
                            "startedAt": started,
                            "finishedAt": finished,
                            "containerID": "kmock://main",
                        }
                    }
                    if exit_code != 0:
                        tail = run.output.strip().splitlines()[-5:]
                        state["terminated"]["message"] = "\n".join(tail)[-1024:]
                else:
                    state = {
                        "terminated": {
                            "exitCode": 0,
                            "reason": "Completed",
                            "startedAt": started,
                            "finishedAt": finished,
                        }
                    }
                terminated_statuses.append(self._container_status(c, state, ready=False))
            await self._patch_pod(
                run.namespace,
                run.pod_name,
                {
                    "status": {
                        "phase": "Succeeded" if exit_code == 0 else "Failed",
                        "conditions": [
                            {
                                "type": "PodScheduled",
                                "status": "True",
                                "lastTransitionTime": started,
                            },
                            {
                                "type": "Initialized",
                                "status": "True",
                                "lastTransitionTime": started,
                            },
                            {
                                "type": "ContainersReady",
                                "status": "False",
                                "reason": "PodCompleted",
                                "lastTransitionTime": finished,
                            },
                            {
                                "type": "Ready",
                                "status": "False",
                                "reason": "PodCompleted",
                                "lastTransitionTime": finished,
                            },
                        ],
                        "containerStatuses": terminated_statuses,
                    }
                },
            )
            if exit_code != 0:
                await self._post_event(
                    run,
                    "Failed",
                    f"Container {run.container} exited with code {exit_code}",
                    "Warning",
                )
        finally:
            self._processes.pop(key, None)
            condition = self._conditions[key]
            async with condition:
                run.done.set()
                condition.notify_all()

    async def _pump(
        self, run: PodRun, process: asyncio.subprocess.Process, timeout: float
    ) -> tuple[int, str]:
        assert process.stdout is not None
        pending = b""
        deadline = time.monotonic() + timeout
        timed_out = False
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                self._kill((run.namespace, run.pod_name))
                remaining = 5
            try:
                chunk = await asyncio.wait_for(process.stdout.read(65536), remaining)
            except asyncio.TimeoutError:
                continue
            if not chunk:
                break
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                await self._append_output(run, line + b"\n")
        if pending:
            await self._append_output(run, pending)
        returncode = await process.wait()
        if timed_out:
            return 137, "DeadlineExceeded"
        if returncode < 0:  # killed by a signal: what a container runtime reports
            return 128 - returncode, "Killed" if run.deleted else "Error"
        return returncode, "Completed" if returncode == 0 else "Error"
