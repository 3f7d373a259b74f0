"""Local execution: every node task runs ``kedro run`` on the Airflow worker instead of in a pod.

This module runs inside Airflow: the renderer embeds its source verbatim after the DAG builder's
when the SPEC has a ``"local"`` section, and passes ``LocalExtension(untemplated)`` to
``build_dag`` *before* any other extension that makes operators (spark), so that every node task,
spark groups included, becomes a :class:`LocalKedroRunOperator`. ``SPEC["local"]``::

    {"project_path": str,              # the Kedro project's folder on the worker (working dir)
     "python": str,                    # the interpreter with Kedro and the project's dependencies
     "warnings": [str, ...],           # what the compiler ignored (Kubernetes-only settings)
     "kill_timeout_seconds": float}    # optional: SIGTERM to SIGKILL (LOCAL_KILL_TIMEOUT)

What the pods would have got, the local process gets:

* the task's ``kedro run`` argument list (SPEC ``tasks[].arguments``, ``kedro`` first), run as
  ``<python> -m kedro run ...``: a list, never a shell, so node names stay inert. Airflow renders
  its ``{"jinja": ...}`` marks (the ``--params`` from macros, Variables and the run's conf) as it
  renders a pod's arguments; every other string is kept verbatim (``untemplated``);
* the pod's environment (``env_vars`` after the other extensions' ``pod_arguments``: Airflow
  Variables, ``MLFLOW_RUN_ID``, the in-memory storage...), on top of the worker's own;
* its output, line by line, in the task log; a non-zero exit fails the task (Airflow's retries
  apply); when Airflow stops the task (``on_kill``: marked failed, timed out, the worker shutting
  down) the process and its children, a process group of their own, get SIGTERM, then SIGKILL
  after ``kill_timeout_seconds``. On Linux the process also gets SIGTERM if the task process
  dies without a word (parent-death signal).

Kubernetes-only settings (image, resources, secrets, pod templates, volumes) mean nothing here:
the compiler leaves them out and says so in ``warnings``, which the DAG's documentation shows.

Imports: the standard library and Airflow only; works on Airflow 3 and imports on 2.10; no
``from __future__`` (it is not at the top of the file). Top-level names start with ``local`` /
``Local`` / ``LOCAL_`` (``_local`` when private) so they cannot clash with the other embedded
modules.
"""

import collections
import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

try:  # Airflow 3
    from airflow.sdk import BaseOperator
except ImportError:  # Airflow 2.10
    from airflow.models import BaseOperator  # type: ignore[assignment,no-redef]
try:  # the task SDK's own, in its newer releases
    from airflow.sdk.exceptions import AirflowException, AirflowFailException
except ImportError:  # Airflow 2.10, and 3.x before the task SDK had them
    from airflow.exceptions import (  # type: ignore[assignment,no-redef,attr-defined]
        AirflowException,
        AirflowFailException,
    )

if TYPE_CHECKING:  # the SPEC's types; never imported inside Airflow (runtime/spec.py)
    from .spec import DagSpec, LocalSpec, TaskSpec

# Seconds between SIGTERM and SIGKILL when a task is stopped. Airflow 3's supervisor gives a task
# 5 s after its own SIGTERM before it kills the task process, so on_kill must be done before.
LOCAL_KILL_TIMEOUT = 3.0
LOCAL_TAIL_LINES = 5  # output lines repeated in the error of a failed run
LOCAL_UNBUFFERED = "PYTHONUNBUFFERED"  # so print() output reaches the task log as it happens
_LOCAL_PR_SET_PDEATHSIG = 1  # prctl(2) option: a signal the child gets when its parent dies


def local_command(python: str, arguments: Any) -> list[str]:
    """``<python> -m kedro run ...`` from a task's ``kedro run ...`` argument list."""
    words = [str(argument) for argument in arguments]
    if not words or words[0] != "kedro":
        raise AirflowFailException(
            f"local execution runs `kedro ...` argument lists, not {words[:3]!r}"
        )
    return [python, "-m", *words]


def local_environment(env: Any, base: Any = None) -> dict[str, str]:
    """The process environment: ``base`` (the worker's), then the task's variables."""
    merged = dict(os.environ if base is None else base)
    for name, value in (env or {}).items():
        merged[str(name)] = str(value)
    merged.setdefault(LOCAL_UNBUFFERED, "1")
    return merged


def _local_death_signal() -> Any:
    """A ``preexec_fn`` asking Linux to send SIGTERM to the child when its parent dies, or None
    elsewhere (and where prctl cannot be found)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork
    except (OSError, AttributeError):
        return None

    def set_death_signal() -> None:
        prctl(_LOCAL_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)

    return set_death_signal


def local_stop(process: Any, timeout: float) -> None:
    """SIGTERM the process group of ``process``, SIGKILL it after ``timeout`` s if the process
    is still there; returns once the process is gone (bounded: a last wait of 5 s)."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        if process.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(max(0.0, wait))
    if process.returncode is not None and process.returncode < 0:
        # Children that outlived a killed leader: the group is still ours (pgid == its pid).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


class LocalKedroRunOperator(BaseOperator):
    """Run a task's ``kedro run`` as a subprocess of the Airflow worker (see the module)."""

    template_fields = ("arguments", "env")
    template_ext = ()
    ui_color = "#ffe8a8"

    def __init__(
        self,
        *,
        arguments: Any,
        python: str,
        project_path: str,
        env: Any = None,
        kill_timeout: float = LOCAL_KILL_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.arguments = arguments
        self.python = python
        self.project_path = project_path
        self.env = env
        self.kill_timeout = kill_timeout
        self._local_process: Any = None

    def execute(self, context: Any) -> None:
        command = local_command(self.python, self.arguments)
        if not os.path.isdir(self.project_path):
            raise AirflowFailException(
                f"the Kedro project folder {self.project_path} does not exist on this worker "
                "(run_config.local.project_path)"
            )
        self.log.info("Running in %s: %s", self.project_path, shlex.join(command))
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                command,
                cwd=self.project_path,
                env=local_environment(self.env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: on_kill stops its children too
                preexec_fn=_local_death_signal(),
            )
        except OSError as error:
            raise AirflowFailException(
                f"cannot start {self.python} (run_config.local.python): {error.strerror or error}"
            ) from error
        self._local_process = process
        tail: collections.deque[str] = collections.deque(maxlen=LOCAL_TAIL_LINES)
        try:
            assert process.stdout is not None
            for raw in process.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                self.log.info("%s", line)
                if line.strip():
                    tail.append(line.strip())
            code = process.wait()
        finally:
            if process.poll() is None:  # an exception here (a timeout, SIGINT): stop it
                local_stop(process, self.kill_timeout)
            if process.stdout is not None:
                process.stdout.close()
        seconds = time.monotonic() - started
        if code == 0:
            self.log.info("kedro run finished in %.1f s", seconds)
            return
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            ended = f"was stopped by {name}"
        else:
            ended = f"exited with code {code}"
        last = f"; last output: {' | '.join(tail)}" if tail else ""
        raise AirflowException(f"kedro run {ended} after {seconds:.1f} s{last}")

    def on_kill(self) -> None:
        process = self._local_process
        if process is not None and process.poll() is None:
            self.log.info("Stopping kedro run (process group %s)", process.pid)
            local_stop(process, self.kill_timeout)


def local_section(spec: "DagSpec") -> "LocalSpec":
    """``SPEC["local"]``, which a DAG given the local extension has."""
    local_spec = spec.get("local")
    if local_spec is None:
        raise ValueError("LocalExtension needs the SPEC's local section")
    return local_spec


def local_doc(local_spec: "LocalSpec") -> str:
    """What the DAG's documentation says about local execution."""
    lines = [
        "**Local execution**: each task runs `kedro run` as a process of the Airflow worker, "
        f"in `{local_spec['project_path']}` with `{local_spec['python']}`.",
    ]
    warnings = [str(w) for w in local_spec.get("warnings") or []]
    if warnings:
        lines += ["", "Ignored in local execution:", ""]
        lines += [f"* {warning}" for warning in warnings]
    return "\n".join(lines)


class LocalExtension:
    """DAG builder extension (see dag_builder): node tasks as local ``kedro run`` processes."""

    def __init__(self, protect: Any) -> None:
        # protect: the builder's untemplated() (plain strings kept from Jinja, {"jinja": t} kept)
        self.protect = protect

    @staticmethod
    def dag_arguments(spec: "DagSpec", kwargs: dict[str, Any]) -> None:
        note = local_doc(local_section(spec))
        kwargs["doc_md"] = f"{kwargs['doc_md']}\n\n{note}" if kwargs.get("doc_md") else note

    def task_operator(self, spec: "DagSpec", task: "TaskSpec", kwargs: dict[str, Any]) -> Any:
        """The operator of every node task (spark groups included)."""
        local_spec = local_section(spec)
        return LocalKedroRunOperator(
            task_id=task["task_id"],
            arguments=self.protect(list(task["arguments"])),
            env=self.protect(dict(kwargs.get("env_vars") or {})),
            python=local_spec["python"],
            project_path=local_spec["project_path"],
            kill_timeout=float(local_spec.get("kill_timeout_seconds", LOCAL_KILL_TIMEOUT)),
        )
