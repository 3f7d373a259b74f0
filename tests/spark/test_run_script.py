"""The spark groups' run script: run_script_text, and runtime/spark_run.py's argument handling."""

from __future__ import annotations

import ast
import os
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from kedro_airflow_k8s.features.spark.scripts import run_script_text
from kedro_airflow_k8s.features.spark.spec import job_arguments
from kedro_airflow_k8s.render.dag import runtime_source
from kedro_airflow_k8s.runtime import spark as runtime_spark
from kedro_airflow_k8s.runtime.spark_run import (
    RunScriptError,
    kedro_run_arguments,
    main,
    parse_arguments,
)
from tests.spark.common import PARAMS

HOSTILE_NODES = ("a'b", 'c"d', "e\n)\nimport os", "{{ f }}", "'''g'''", "h\\")
DEFAULTS = {"project_home": "/opt/kedro/demo", "env": "prod", "pipeline": "__default__"}


def _script(nodes: tuple[str, ...] = ("a", "b"), **overrides: str) -> str:
    values: dict[str, Any] = {
        "project_name": "Demo",
        "commit": "abc123",
        "project_home": "/opt/kedro/demo",
        "env": "prod",
        "pipeline": "__default__",
        "nodes": nodes,
        "runner": "ThreadRunner",
        **overrides,
    }
    return run_script_text(runtime_source("spark_run"), **values)


def _main_call(source: str) -> dict[str, Any]:
    """The keyword literals of the ``main(...)`` call under ``if __name__ == "__main__":``."""
    module = ast.parse(source)
    last = module.body[-1]
    assert isinstance(last, ast.If)
    assert ast.unparse(last.test) == "__name__ == '__main__'"
    assert len(last.body) == 1
    exit_call = last.body[0].value  # type: ignore[attr-defined]
    assert ast.unparse(exit_call.func) == "sys.exit"
    call = exit_call.args[0]
    assert ast.unparse(call.func) == "main"
    assert [ast.unparse(arg) for arg in call.args] == ["sys.argv[1:]"]
    return {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}


# --- run_script_text ----------------------------------------------------------------------------


def test_run_script_compiles_and_calls_main_with_the_defaults() -> None:
    source = _script(runner="SequentialRunner")
    compile(source, "run.py", "exec")
    assert source.startswith("# Spark run script of Kedro project Demo (commit abc123)")
    assert runtime_source("spark_run").rstrip() in source
    assert _main_call(source) == {
        "project_home": "/opt/kedro/demo",
        "env": "prod",
        "pipeline": "__default__",
        "nodes": "a,b",
        "runner": "SequentialRunner",
    }


def test_hostile_values_are_literals() -> None:
    hostile = "x'y \"z\"\nimport os; os.system('touch pwned')  # {{ t }} '''"
    source = _script(
        HOSTILE_NODES,
        project_name=hostile,
        commit=hostile,
        project_home=hostile,
        env=hostile,
        pipeline=hostile,
        runner=hostile,
    )
    compile(source, "run.py", "exec")
    call = _main_call(source)
    assert call["nodes"] == ",".join(HOSTILE_NODES)
    assert {call[key] for key in ("project_home", "env", "pipeline", "runner")} == {hostile}
    # the comment header is one line: the second statement-bearing line is the runtime's
    assert source.splitlines()[1] == runtime_source("spark_run").splitlines()[0]
    # only the runtime's own top-level statements and the final `if`
    expected = len(ast.parse(runtime_source("spark_run")).body) + 1
    assert len(ast.parse(source).body) == expected


def test_run_script_as_main_uses_argv(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    """Executed as a script, it calls main(sys.argv[1:]): bad arguments exit with 2."""
    source = _script()
    monkeypatch.setattr(sys, "argv", ["run.py", "run", "--set-env", "not-an-assignment"])
    with pytest.raises(SystemExit) as exited:
        exec(compile(source, "run.py", "exec"), {"__name__": "__main__"})
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "kedro-airflow-k8s run script: --set-env takes NAME=VALUE, got 'not-an-assignment'\n"
    )


def test_run_script_as_main_runs_kedro_with_the_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls = _fake_kedro(monkeypatch, exit_code=None)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["run.py", "run", "--env", "staging"])
    source = _script(("n1", "n2"), project_home=str(tmp_path))
    with pytest.raises(SystemExit) as exited:
        exec(compile(source, "run.py", "exec"), {"__name__": "__main__"})
    assert exited.value.code == 0
    assert calls == [
        {
            "argv": [
                "kedro",
                "run",
                "--env",
                "staging",
                "--pipelines",
                "__default__",
                "--nodes",
                "n1,n2",
                "--runner",
                "ThreadRunner",
            ],
            "cwd": str(tmp_path),
            "PROJECT_HOME": str(tmp_path),
            "SPARK_RUN_TEST": None,
        }
    ]


# --- parse_arguments / kedro_run_arguments ------------------------------------------------------


def test_seed_form() -> None:
    argv = ["run", "--env", "E", "--node", "a,b", "--runner=ThreadRunner"]
    parsed = parse_arguments(argv, {"project_home": "/p"})
    assert parsed == {
        "env": "E",
        "nodes": "a,b",
        "pipeline": None,
        "runner": "ThreadRunner",
        "params": [],
        "set_env": {},
        "project_home": "/p",
        "extra": [],
    }
    assert kedro_run_arguments(parsed) == [
        "run",
        "--env",
        "E",
        "--nodes",
        "a,b",
        "--runner",
        "ThreadRunner",
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["--nodes", "x,y", "--pipeline", "p", "-e", "E", "-r", "SequentialRunner"],
        ["run", "--nodes=x,y", "--pipelines=p", "--env=E", "--runner", "SequentialRunner"],
        ["-n", "x,y", "-p", "p", "--env", "E", "-r=SequentialRunner"],
    ],
)
def test_option_spellings(argv: list[str]) -> None:
    parsed = parse_arguments(argv, {"project_home": "/p"})
    assert kedro_run_arguments(parsed) == [
        "run",
        "--env",
        "E",
        "--pipelines",
        "p",
        "--nodes",
        "x,y",
        "--runner",
        "SequentialRunner",
    ]


def test_arguments_win_over_defaults_and_defaults_fill_in() -> None:
    defaults = {**DEFAULTS, "nodes": "d1,d2", "runner": "SequentialRunner"}
    assert kedro_run_arguments(parse_arguments([], defaults)) == [
        "run",
        "--env",
        "prod",
        "--pipelines",
        "__default__",
        "--nodes",
        "d1,d2",
        "--runner",
        "SequentialRunner",
    ]
    parsed = parse_arguments(["run", "--node", "x", "--env", "dev"], defaults)
    assert (parsed["nodes"], parsed["env"], parsed["runner"]) == ("x", "dev", "SequentialRunner")
    assert parse_arguments(["--node", "x"], {"project_home": "/p"})["runner"] == "ThreadRunner"


def test_params_are_kept_in_order() -> None:
    argv = ["--node", "a", '--params=x:1,y:"a b"', "--params", "z=3"]
    parsed = parse_arguments(argv, DEFAULTS)
    assert parsed["params"] == ['x:1,y:"a b"', "z=3"]
    assert kedro_run_arguments(parsed)[-2:] == ['--params=x:1,y:"a b"', "--params=z=3"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--set-env", "A=B"], {"A": "B"}),
        (["--set-env=A=B=C"], {"A": "B=C"}),
        (["--set-env", "EMPTY="], {"EMPTY": ""}),
        (["--set-env=A=1", "--set-env", "_B=x y"], {"A": "1", "_B": "x y"}),
    ],
)
def test_set_env(argv: list[str], expected: dict[str, str]) -> None:
    parsed = parse_arguments(["--node", "a", *argv], DEFAULTS)
    assert parsed["set_env"] == expected
    assert not any("set-env" in arg for arg in kedro_run_arguments(parsed))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--set-env", "A"], "--set-env takes NAME=VALUE, got 'A'"),
        (["--set-env", "=B"], "--set-env takes NAME=VALUE, got '=B'"),
        (["--set-env", "1A=B"], "--set-env takes NAME=VALUE, got '1A=B'"),
        (["--set-env", "A-B=1"], "--set-env takes NAME=VALUE, got 'A-B=1'"),
        (["--set-env"], "--set-env needs a value"),
        (["--env"], "--env needs a value"),
        (["--params"], "--params needs a value"),
    ],
)
def test_bad_arguments(argv: list[str], message: str) -> None:
    with pytest.raises(RunScriptError) as error:
        parse_arguments(["--node", "a", *argv], DEFAULTS)
    assert str(error.value) == message


def test_project_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROJECT_HOME", raising=False)
    assert parse_arguments(["--node", "a"], DEFAULTS)["project_home"] == "/opt/kedro/demo"
    monkeypatch.setenv("PROJECT_HOME", "/from/env")
    assert parse_arguments(["--node", "a"], DEFAULTS)["project_home"] == "/from/env"
    argv = ["--node", "a", "--project-home", "/from/args"]
    assert parse_arguments(argv, DEFAULTS)["project_home"] == "/from/args"
    monkeypatch.setenv("PROJECT_HOME", "")
    assert parse_arguments(["--node", "a"], DEFAULTS)["project_home"] == "/opt/kedro/demo"
    with pytest.raises(RunScriptError, match="no project: set PROJECT_HOME"):
        parse_arguments(["--node", "a"], {})


def test_unknown_arguments_are_passed_on() -> None:
    argv = ["--from-inputs", "x", "--async", "--node", "a", "--conf-source=/c", "-x"]
    parsed = parse_arguments(argv, DEFAULTS)
    assert parsed["extra"] == ["--from-inputs", "x", "--async", "--conf-source=/c", "-x"]
    command = kedro_run_arguments(parsed)
    assert command[-5:] == ["--from-inputs", "x", "--async", "--conf-source=/c", "-x"]
    assert command[command.index("--nodes") + 1] == "a"


@pytest.mark.parametrize("argv", [[], ["run"], ["--node", ""], ["--nodes="]])
def test_missing_nodes(argv: list[str]) -> None:
    with pytest.raises(RunScriptError, match="no nodes to run"):
        parse_arguments(argv, DEFAULTS)


def test_the_jobs_arguments_round_trip() -> None:
    """What the renderer and the runtime put on the job's command line, as the script reads it."""
    rendered_params = '--params=run_date:"2024-01-01"'
    job = job_arguments("prod", "__default__", ("to_spark", "sum_by_region"), "R", PARAMS)
    env = {"MLFLOW_RUN_ID": {"jinja": "{{ ti.xcom_pull('start') }}"}, "PLAIN": "a=b c"}
    argv = [rendered_params if arg == PARAMS else arg for arg in job]
    for arg in runtime_spark._env_arguments(env):  # rendered by Airflow
        is_template = isinstance(arg, dict)
        argv.append(
            arg["jinja"].replace("{{ ti.xcom_pull('start') }}", "r123") if is_template else arg
        )
    parsed = parse_arguments(argv, {"project_home": "/p"})
    assert parsed["set_env"] == {"MLFLOW_RUN_ID": "r123", "PLAIN": "a=b c"}
    assert kedro_run_arguments(parsed) == [
        "run",
        "--env",
        "prod",
        "--pipelines",
        "__default__",
        "--nodes",
        "to_spark,sum_by_region",
        "--runner",
        "R",
        rendered_params,
    ]


# --- main ---------------------------------------------------------------------------------------


def test_main_bad_arguments_returns_2_with_one_line(capsys: Any) -> None:
    cwd = os.getcwd()
    assert main(["run", "--env"], **DEFAULTS) == 2
    err = capsys.readouterr().err
    assert err == "kedro-airflow-k8s run script: --env needs a value\n"
    assert main([], env="prod", project_home="/p") == 2
    assert capsys.readouterr().err == (
        "kedro-airflow-k8s run script: no nodes to run: give --node a,b\n"
    )
    assert os.getcwd() == cwd


def _fake_kedro(monkeypatch: pytest.MonkeyPatch, exit_code: Any) -> list[dict[str, Any]]:
    """Stand in for kedro.framework.cli.cli (recording what it would run); restores the process
    state main() changes."""
    calls: list[dict[str, Any]] = []

    def kedro_main() -> None:
        calls.append(
            {
                "argv": list(sys.argv),
                "cwd": os.getcwd(),
                "PROJECT_HOME": os.environ.get("PROJECT_HOME"),
                "SPARK_RUN_TEST": os.environ.get("SPARK_RUN_TEST"),
            }
        )
        if exit_code != "return":
            raise SystemExit(exit_code)

    fake = types.ModuleType("kedro.framework.cli.cli")
    fake.main = kedro_main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "kedro.framework.cli.cli", fake)
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("PROJECT_HOME", "")
    monkeypatch.setenv("SPARK_RUN_TEST", "before")
    monkeypatch.delenv("SPARK_RUN_TEST")
    return calls


@pytest.mark.parametrize(
    ("exit_code", "expected"), [(None, 0), (0, 0), (3, 3), ("failed", 1), ("return", 0)]
)
def test_main_runs_kedro_in_the_project(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, exit_code: Any, expected: int
) -> None:
    calls = _fake_kedro(monkeypatch, exit_code)
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "project"
    home.mkdir()
    argv = ["run", "--node", "a", "--set-env=SPARK_RUN_TEST=on", "--project-home", "project"]
    assert main(argv, **DEFAULTS) == expected
    assert calls == [
        {
            "argv": [
                "kedro",
                "run",
                "--env",
                "prod",
                "--pipelines",
                "__default__",
                "--nodes",
                "a",
                "--runner",
                "ThreadRunner",
            ],
            "cwd": str(home),
            "PROJECT_HOME": str(home),
            "SPARK_RUN_TEST": "on",
        }
    ]
    assert sys.path[0] == str(home)
