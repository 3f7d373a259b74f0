"""Local execution (runtime/local.py) as ordinary code, in a real Airflow 3.

The DAG is built from a SPEC written by hand. The tests that run a process use a stand-in
``kedro`` package written into the project folder: ``python -m kedro`` finds it first (the
working directory leads ``sys.path``) and runs the Python code of the ``STANDIN`` environment
variable, so each test decides what the "kedro run" does without a Kedro project. The real
``kedro run`` under a real Airflow scheduler is in tests/e2e/test_local_execution_e2e.py.
"""

from __future__ import annotations

import copy
import os
import signal
import sys
import textwrap
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.helpers import handmade_spec, load_runtime, pod_task

PYTHON = sys.executable

STANDIN_MAIN = """\
import os, sys
exec(os.environ["STANDIN"])
"""


@pytest.fixture(scope="module")
def runtime() -> Any:
    return load_runtime("mlflow_run", "memory", "spark", "local")


def local_section(project: Path | str = "/srv/project", **extra: Any) -> dict[str, Any]:
    return {"project_path": str(project), "python": PYTHON, "warnings": [], **extra}


def spec_with(local: dict[str, Any], **sections: Any) -> dict[str, Any]:
    tasks = [
        pod_task("a", full_task_id="outer.a", group=["outer"], profile="p"),
        pod_task(
            "s",
            upstream=["outer.a"],
            arguments=["kedro", "run", "--env", "local", "--nodes", "s1,s2"],
        ),
        pod_task("c", upstream=["s"]),
    ]
    tasks[1]["kind"] = "spark"
    for task in tasks:
        task["arguments"] = [
            *task["arguments"],
            {"jinja": "--params={{ kedro_params({}, {}, dag_run.conf) }}"},
        ]
    return handmade_spec(
        "demo.__default__.local",
        tasks,
        pod={"env_vars": {"FROM_VAR": {"jinja": "{{ var.value.FROM_VAR }}"}}},
        profiles={
            "p": {
                "requests": {"cpu": "1"},
                "limits": {},
                "node_selector": {},
                "labels": {},
                "annotations": {},
                "tolerations": [],
                "affinity": {},
            }
        },
        task_groups=[["outer"]],
        local=local,
        **sections,
    )


def build(runtime: Any, spec: dict[str, Any], *others: Any) -> Any:
    """The DAG with the local extension first, as a generated local DAG file builds it."""
    return runtime.build_dag(
        copy.deepcopy(spec), extensions=[runtime.LocalExtension(runtime.untemplated), *others]
    )


def render(task: Any, conf: dict[str, Any] | None = None, xcom: str = "") -> None:
    ti = SimpleNamespace(
        dag_id=task.dag_id,
        task_id=task.task_id,
        run_id="r",
        try_number=1,
        map_index=-1,
        xcom_pull=lambda task_ids=None, **_: xcom,
    )
    context = {
        "ti": ti,
        "task_instance": ti,
        "run_id": "r",
        "dag": task.dag,
        "var": {"value": SimpleNamespace(FROM_VAR="from-variable")},
        "dag_run": SimpleNamespace(conf=conf or {}),
    }
    task.render_template_fields(context)


# --- the DAG ---------------------------------------------------------------------------------


def test_every_node_task_runs_locally_spark_groups_too(runtime: Any) -> None:
    """Local first: the spark extension behind it never gets the spark group."""
    spark = {"type": "k8s", "tasks": ["s"], "jobs": {}}
    spec = spec_with(local_section(), spark=spark)
    dag = build(runtime, spec, runtime.SparkExtension(runtime.untemplated))
    local = runtime.LocalKedroRunOperator
    assert {t.task_id for t in dag.tasks if isinstance(t, local)} == {"outer.a", "s", "c"}
    assert dag.get_task("s").upstream_task_ids == {"outer.a"}
    assert dag.get_task("c").upstream_task_ids == {"s"}
    assert dag.get_task("pipeline_complete").upstream_task_ids == {"c"}
    assert dag.get_task("outer.a").task_group.group_id == "outer"
    task = dag.get_task("outer.a")
    assert (task.python, task.project_path) == (PYTHON, "/srv/project")
    assert task.retries == 0 and dag.default_args["retries"] == 0


def test_the_dag_documentation_says_what_runs_where_and_what_was_ignored(runtime: Any) -> None:
    spec = spec_with(
        local_section(warnings=["run_config.resources: ignored", "run_config.secrets: ignored"])
    )
    doc = build(runtime, spec).doc_md
    assert doc.startswith("doc\n\n**Local execution**")
    assert "in `/srv/project` with `" + PYTHON + "`" in doc
    assert "* run_config.resources: ignored\n* run_config.secrets: ignored" in doc


def test_arguments_and_environment_render_as_a_pods_would(runtime: Any) -> None:
    """--params from the run's conf, env from Variables and the MLflow start task's XCom; a node
    name that looks like a template stays as it is."""
    spec = spec_with(
        local_section(),
        mlflow={"tracking_uri": "http://127.0.0.1:1", "experiment_name": "e", "run_name": "r"},
    )
    spec["tasks"][2]["arguments"][3] = "{{ not rendered }}"
    dag = build(runtime, spec, runtime.MlflowExtension)
    task = dag.get_task("c")
    render(task, conf={"alpha": 0.5, "name": "x,y"}, xcom="mlflow-run-42")
    assert task.arguments == [
        "kedro",
        "run",
        "--nodes",
        "{{ not rendered }}",
        '--params=alpha=0.5,name="x\\x2cy"',
    ]
    assert task.env == {"FROM_VAR": "from-variable", "MLFLOW_RUN_ID": "mlflow-run-42"}
    assert dag.get_task("start_mlflow_run").downstream_task_ids == {"outer.a", "end_mlflow_run"}


def test_in_memory_storage_reaches_the_process_environment(runtime: Any) -> None:
    spec = spec_with(local_section(), memory={"storage": "/tmp/runs"})
    spec["tasks"][0]["memory_datasets"] = ["numbers"]
    dag = build(runtime, spec, runtime.MemoryExtension)
    task = dag.get_task("outer.a")
    render(task)
    assert task.env["KEDRO_AIRFLOW_K8S_MEMORY_STORAGE"] == "/tmp/runs/demo.__default__.local/r"
    assert task.env["KEDRO_AIRFLOW_K8S_MEMORY_DATASETS"] == '["numbers"]'


def test_the_command_is_the_argument_list_after_python_m(runtime: Any) -> None:
    verbatim = runtime.VerbatimValue("{{ x }}")
    assert runtime.local_command("/py", ["kedro", "run", "--nodes", verbatim]) == [
        "/py",
        "-m",
        "kedro",
        "run",
        "--nodes",
        "{{ x }}",
    ]
    with pytest.raises(runtime.AirflowFailException, match="not \\['bash', '-c'"):
        runtime.local_command("/py", ["bash", "-c", "true"])


# --- the process -----------------------------------------------------------------------------


class Lines:
    """Stands in for the operator's logger: keeps what it logs (and can fail on a line)."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.lines: list[str] = []
        self.fail_on = fail_on

    def info(self, message: str, *args: Any) -> None:
        text = message % args if args else message
        self.lines.append(text)
        if self.fail_on is not None and self.fail_on in text:
            raise TimeoutError("stands in for Airflow's task timeout")

    def warning(self, message: str, *args: Any) -> None:
        """Airflow's note that execute() runs outside a task runner (as here) goes elsewhere."""

    error = debug = info


def operator(
    runtime: Any,
    project: Path,
    code: str,
    *arguments: str,
    env: dict[str, str] | None = None,
    fail_on: str | None = None,
    **options: Any,
) -> Any:
    """An operator whose "kedro run" is the stand-in running ``code``."""
    (project / "kedro").mkdir(parents=True, exist_ok=True)
    (project / "kedro" / "__init__.py").write_text("")  # a regular package: found first
    (project / "kedro" / "__main__.py").write_text(STANDIN_MAIN)

    class Recorded(runtime.LocalKedroRunOperator):  # type: ignore[misc]
        @property
        def log(self) -> Lines:
            return lines

    lines = Lines(fail_on)
    op = Recorded(
        task_id="t",
        arguments=["kedro", "run", *arguments],
        python=PYTHON,
        project_path=str(project),
        env={"STANDIN": textwrap.dedent(code), **(env or {})},
        **options,
    )
    return op


def in_thread(op: Any) -> tuple[threading.Thread, list[BaseException]]:
    """``op.execute`` in a thread, as Airflow runs it while a signal may call on_kill."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            op.execute({})
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    return worker, errors


def wait_until(check: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.05)


def test_output_is_streamed_line_by_line_and_success_returns(runtime: Any, tmp_path: Path) -> None:
    code = """
        import os, sys, time
        print("first", flush=False)      # unbuffered by PYTHONUNBUFFERED
        print("cwd", os.getcwd())
        print("argv", sys.argv[1:])
        sys.stderr.write("to stderr\\n")
        print("env", os.environ["FROM_TASK"], os.environ["FROM_WORKER"])
    """
    os.environ["FROM_WORKER"] = "worker"
    try:
        op = operator(runtime, tmp_path, code, "--nodes", "a", env={"FROM_TASK": "task"})
        assert op.execute({}) is None
    finally:
        del os.environ["FROM_WORKER"]
    lines = op.log.lines
    assert lines[0] == f"Running in {tmp_path}: {PYTHON} -m kedro run --nodes a"
    assert lines[1:6] == [
        "first",
        f"cwd {tmp_path}",
        "argv ['run', '--nodes', 'a']",
        "to stderr",
        "env task worker",
    ]
    assert lines[-1].startswith("kedro run finished in ")


def test_lines_reach_the_log_while_the_process_runs(runtime: Any, tmp_path: Path) -> None:
    code = """
        import time
        print("early")
        time.sleep(60)
    """
    op = operator(runtime, tmp_path, code)
    worker, errors = in_thread(op)
    try:
        wait_until(lambda: "early" in op.log.lines, "first line in the log")
    finally:
        op.on_kill()
        worker.join(30)
    assert not worker.is_alive() and len(errors) == 1


def test_names_are_arguments_never_shell_words(runtime: Any, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    hostile = f"a;touch {marker}`touch {marker}`$(touch {marker})|x&&y'\""
    code = """
        import sys
        print("argv", sys.argv[1:])
    """
    op = operator(runtime, tmp_path, code, "--nodes", hostile)
    op.execute({})
    assert f"argv {['run', '--nodes', hostile]!r}" in op.log.lines
    assert not marker.exists()


def test_a_non_zero_exit_fails_the_task_and_may_be_retried(runtime: Any, tmp_path: Path) -> None:
    code = """
        import sys
        print("loading")
        print("ValueError: the node broke")
        sys.exit(3)
    """
    op = operator(runtime, tmp_path, code)
    with pytest.raises(runtime.AirflowException) as failed:
        op.execute({})
    assert not isinstance(failed.value, runtime.AirflowFailException)  # retries apply
    message = str(failed.value)
    assert message.startswith("kedro run exited with code 3 after ")
    assert message.endswith("last output: loading | ValueError: the node broke")


def test_a_missing_project_folder_or_python_fails_without_retries(
    runtime: Any, tmp_path: Path
) -> None:
    op = operator(runtime, tmp_path, "pass")
    op.project_path = str(tmp_path / "gone")
    with pytest.raises(runtime.AirflowFailException, match=r"project folder .*gone does not exist"):
        op.execute({})
    op = operator(runtime, tmp_path, "pass")
    op.python = str(tmp_path / "no-python")
    with pytest.raises(runtime.AirflowFailException, match=r"cannot start .*no-python"):
        op.execute({})


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    if status.exists():  # a zombie is dead for our purpose
        return "\nState:\tZ" not in status.read_text()
    return True


GRANDCHILD = """
    import os, subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    with open(os.environ["PIDS"], "w") as out:
        out.write(f"{os.getpid()} {child.pid}")
    print("started", flush=True)
    time.sleep(600)
"""


def _start_in_thread(op: Any, pids: Path) -> tuple[threading.Thread, list[BaseException]]:
    worker, errors = in_thread(op)
    wait_until(lambda: pids.exists() and pids.read_text(), "pids written")
    return worker, errors


def test_on_kill_stops_the_process_and_its_children(runtime: Any, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    op = operator(runtime, tmp_path / "p", GRANDCHILD, env={"PIDS": str(pids)})
    worker, errors = _start_in_thread(op, pids)
    process, grandchild = map(int, pids.read_text().split())
    op.on_kill()
    worker.join(30)
    assert not worker.is_alive()
    wait_until(lambda: not _alive(process) and not _alive(grandchild), "end of both", 10)
    assert len(errors) == 1 and "was stopped by SIGTERM" in str(errors[0])


def test_a_process_that_ignores_sigterm_is_killed_after_the_timeout(
    runtime: Any, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    code = "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n" + textwrap.dedent(
        GRANDCHILD
    )
    op = operator(runtime, tmp_path / "p", code, env={"PIDS": str(pids)}, kill_timeout=0.5)
    worker, errors = _start_in_thread(op, pids)
    process, grandchild = map(int, pids.read_text().split())
    op.on_kill()
    worker.join(30)
    wait_until(lambda: not _alive(process) and not _alive(grandchild), "end of both", 10)
    assert "was stopped by SIGKILL" in str(errors[0])


def test_an_error_while_it_runs_stops_the_process(runtime: Any, tmp_path: Path) -> None:
    """Airflow's task timeout raises inside execute(): the process does not outlive it."""
    pids = tmp_path / "pids"
    op = operator(runtime, tmp_path / "p", GRANDCHILD, env={"PIDS": str(pids)}, fail_on="started")
    with pytest.raises(TimeoutError):
        op.execute({})
    process, grandchild = map(int, pids.read_text().split())
    wait_until(lambda: not _alive(process) and not _alive(grandchild), "end of both", 10)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal: Linux")
def test_the_process_goes_when_the_task_process_dies(tmp_path: Path) -> None:
    """A task process killed with SIGKILL (no on_kill): Linux's parent-death signal ends the
    kedro process."""
    import subprocess

    pids = tmp_path / "pids"
    project = tmp_path / "p"
    script = tmp_path / "task.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
            from tests.helpers import load_runtime
            runtime = load_runtime("local")
            (package := __import__("pathlib").Path({str(project)!r}) / "kedro").mkdir(
                parents=True, exist_ok=True)
            (package / "__init__.py").write_text("")
            (package / "__main__.py").write_text({STANDIN_MAIN!r})
            op = runtime.LocalKedroRunOperator(
                task_id="t", arguments=["kedro", "run"], python=sys.executable,
                project_path={str(project)!r},
                env={{"STANDIN": {textwrap.dedent(GRANDCHILD)!r}, "PIDS": {str(pids)!r}}},
            )
            op.execute({{}})
            """
        )
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    path = os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))
    task = subprocess.Popen([PYTHON, str(script)], env={**os.environ, "PYTHONPATH": path})
    grandchild = None
    try:
        wait_until(lambda: task.poll() is None and pids.exists() and pids.read_text(), "pids", 60)
        process, grandchild = map(int, pids.read_text().split())
        task.send_signal(signal.SIGKILL)
        task.wait(10)
        wait_until(lambda: not _alive(process), "end of the orphaned kedro process", 10)
    finally:
        if task.poll() is None:
            task.kill()
            task.wait(10)
        if grandchild is not None and _alive(grandchild):  # not the signal's business
            os.kill(grandchild, signal.SIGKILL)
