"""Run a spark group's Kedro nodes inside a Spark job (the script spark-submit starts).

The renderer writes this module's source into the run script it uploads with the DAG, followed
by a call of :func:`main` with the project's defaults. The job's arguments follow the original
plugin's runner script: ``run --env ENV --node a,b --runner ThreadRunner`` (``--nodes`` and
``--pipeline`` are accepted too), plus

* ``--params=...``: handed to ``kedro run`` as it is (Airflow renders it like the pods' one);
* ``--set-env NAME=VALUE``: set in the driver's environment before Kedro starts (how the
  Dataproc driver gets ``MLFLOW_RUN_ID``);
* ``--project-home PATH``: where the project is (default: ``$PROJECT_HOME``, else the path baked
  into the script).

The work itself is delegated to Kedro's own ``kedro run`` command, in this process, so the
SparkSession the job was submitted with is the one the nodes get from ``getOrCreate()``.
It imports only the standard library (and Kedro when it runs).
"""

import os
import sys
from typing import Any


class RunScriptError(Exception):
    """Arguments the run script cannot use."""


def _value(argv: list[str], index: int, option: str) -> tuple[str, int]:
    """The value of ``option`` at ``argv[index]`` (``--opt=value`` or ``--opt value``)."""
    item = argv[index]
    if "=" in item:
        return item.split("=", 1)[1], index + 1
    if index + 1 >= len(argv):
        raise RunScriptError(f"{option} needs a value")
    return argv[index + 1], index + 2


def parse_arguments(argv: list[str], defaults: dict[str, Any]) -> dict[str, Any]:
    """Read the job's arguments into ``env``, ``nodes``, ``pipeline``, ``runner``, ``params``,
    ``set_env``, ``project_home`` and ``extra`` (anything else, passed on to ``kedro run``)."""
    args = list(argv)
    if args and args[0] == "run":
        args = args[1:]
    out: dict[str, Any] = {
        "env": defaults.get("env"),
        "nodes": defaults.get("nodes") or "",
        "pipeline": defaults.get("pipeline"),
        "runner": defaults.get("runner") or "ThreadRunner",
        "params": [],
        "set_env": {},
        "project_home": os.environ.get("PROJECT_HOME") or defaults.get("project_home"),
        "extra": [],
    }
    names = {
        "--env": "env",
        "-e": "env",
        "--node": "nodes",
        "--nodes": "nodes",
        "-n": "nodes",
        "--pipeline": "pipeline",
        "--pipelines": "pipeline",
        "-p": "pipeline",
        "--runner": "runner",
        "-r": "runner",
        "--project-home": "project_home",
    }
    index = 0
    while index < len(args):
        option = args[index].split("=", 1)[0]
        if option in names:
            value, index = _value(args, index, option)
            out[names[option]] = value
        elif option == "--params":
            value, index = _value(args, index, option)
            out["params"].append(value)
        elif option == "--set-env":
            value, index = _value(args, index, option)
            name, sep, text = value.partition("=")
            if not sep or not name.isidentifier():
                raise RunScriptError(f"--set-env takes NAME=VALUE, got {value!r}")
            out["set_env"][name] = text
        else:
            out["extra"].append(args[index])
            index += 1
    if not out["nodes"]:
        raise RunScriptError("no nodes to run: give --node a,b")
    if not out["project_home"]:
        raise RunScriptError("no project: set PROJECT_HOME or give --project-home")
    return out


def kedro_run_arguments(parsed: dict[str, Any]) -> list[str]:
    """The ``kedro run`` command line (Kedro 1.x spelling) for the parsed arguments."""
    command = ["run"]
    if parsed["env"]:
        command += ["--env", parsed["env"]]
    if parsed["pipeline"]:
        command += ["--pipelines", parsed["pipeline"]]
    command += ["--nodes", parsed["nodes"], "--runner", parsed["runner"]]
    command += [f"--params={value}" for value in parsed["params"]]
    return command + list(parsed["extra"])


def main(argv: list[str], **defaults: Any) -> int:
    """Run the nodes; the exit code is Kedro's (0 when every node succeeded)."""
    try:
        parsed = parse_arguments(argv, defaults)
    except RunScriptError as error:
        print(f"kedro-airflow-k8s run script: {error}", file=sys.stderr)
        return 2
    os.environ.update(parsed["set_env"])
    home = os.path.abspath(parsed["project_home"])
    os.environ["PROJECT_HOME"] = home
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    os.chdir(home)  # Kedro finds the project, and relative catalog paths resolve, from here
    if home not in sys.path:
        sys.path.insert(0, home)
    from kedro.framework.cli.cli import main as kedro_main

    command = kedro_run_arguments(parsed)
    print(f"kedro-airflow-k8s run script: kedro {' '.join(command)} in {home}", file=sys.stderr)
    sys.argv = ["kedro", *command]
    try:
        kedro_main()
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0
