"""``kedro airflow-k8s``: parses options and calls the stages in order, nothing else."""

from __future__ import annotations

import contextlib
import math
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kedro_airflow_k8s.deadline import DEFAULT_TIMEOUT, TIMEOUT_ENV, Deadline
from kedro_airflow_k8s.errors import (
    OneLineUsageGroup,
    PluginConfigError,
    PluginError,
    UsageProblem,
)

if TYPE_CHECKING:
    from kedro_airflow_k8s.airflow_api import RestApi

DEFAULT_PIPELINE = "__default__"


@dataclass(frozen=True)
class CliContext:
    """Options of the ``airflow-k8s`` group, shared by its commands."""

    project_path: Path
    env: str
    pipelines: tuple[str, ...]
    timeout: float = DEFAULT_TIMEOUT  # seconds: the command's limit for network waits
    metadata: Any = None  # the project as Kedro's CLI bootstrapped it, if it did

    def deadline(self) -> Deadline:
        """The command's time limit, counting from now."""
        return Deadline(self.timeout)


def _load(obj: CliContext, *, with_pipelines: bool = True) -> Any:
    """Load the project; what Kedro prints meanwhile goes to stderr, stdout carries results."""
    from kedro_airflow_k8s import stages

    try:
        with contextlib.redirect_stdout(sys.stderr):
            loaded = stages.load(
                obj.project_path, obj.env, obj.pipelines if with_pipelines else (), obj.metadata
            )
    except PluginError:
        raise
    except Exception as error:
        raise _project_error(error, obj.project_path) from error
    for note in loaded.notes:
        click.echo(f"Warning: {note}", err=True)
    return loaded


def _project_error(error: Exception, project: Path) -> Exception:
    """A failure of the project's code or files (its pipeline registry, settings, catalog) as
    one line naming the error and where in the project it happened; a failure inside the
    plugin itself is returned as it is, to be reported with its traceback."""
    import traceback

    frames = traceback.extract_tb(error.__traceback__)
    plugin = str(Path(__file__).resolve().parent)
    if frames and str(Path(frames[-1].filename).resolve()).startswith(plugin):
        return error
    root = project.resolve()
    where = ""
    for frame in reversed(frames):
        path = Path(frame.filename).resolve()
        if path.is_relative_to(root):
            where = f" ({path.relative_to(root)}, line {frame.lineno})"
            break
    detail = " ".join(str(error).split()) or "no message"
    return PluginError(
        f"cannot load the Kedro project {project}: {type(error).__name__}: {detail}{where}"
    )


def _warn(compiled: Any) -> None:
    for warning in compiled.warnings:
        click.echo(f"Warning: {warning}", err=True)


def _echo_artifacts(written: dict[str, str]) -> None:
    for where in written.values():
        click.echo(f"Spark artifact: {where}", err=True)


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _group_by(value: str | None) -> tuple[str, ...] | None:
    """``--group-by a,b``: the strategy names, checked (a usage error when wrong)."""
    if value is None:
        return None
    from kedro_airflow_k8s.plan.model import group_by_strategies

    names = _split(value)
    try:
        group_by_strategies(names)
    except ValueError as error:
        raise click.BadParameter(str(error)) from error
    return names


@click.group(name="kedro-airflow-k8s")
def commands() -> None:
    """Kedro plugin: Airflow DAGs running every task as a Kubernetes pod."""


@commands.group(
    name="airflow-k8s",
    cls=OneLineUsageGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "-e",
    "--env",
    default=lambda: os.environ.get("KEDRO_ENV") or "local",
    show_default="$KEDRO_ENV, else local",
    help="Kedro configuration environment to use.",
)
@click.option(
    "-p",
    "--pipelines",
    "--pipeline",
    "pipeline",
    default=DEFAULT_PIPELINE,
    show_default=True,
    help="Registered pipelines to use, comma separated (Kedro's spelling; --pipeline also works).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    envvar=TIMEOUT_ENV,
    show_envvar=True,
    help="Seconds the command may spend waiting on Airflow and the DAG storage in all. "
    "run-once's --parse-timeout and --wait-for-completion are limits of their own; during them "
    "Airflow may stay unreachable for up to this long.",
)
@click.pass_context
def airflow_k8s(ctx: click.Context, env: str, pipeline: str, timeout: float) -> None:
    """Compile Kedro pipelines into Airflow DAGs of Kubernetes pods, ship and run them."""
    if math.isnan(timeout):  # FloatRange lets NaN through: no comparison holds for it
        raise click.BadParameter("nan is not a number of seconds", param_hint="'--timeout'")
    metadata = ctx.obj
    project_path = Path(getattr(metadata, "project_path", None) or Path.cwd())
    pipelines = _split(pipeline)
    if not pipelines:
        raise UsageProblem("-p/--pipelines: give at least one pipeline name")
    ctx.obj = CliContext(
        project_path=project_path,
        env=env,
        pipelines=pipelines,
        timeout=timeout,
        metadata=metadata,
    )


@airflow_k8s.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    default=None,
    help="Folder to write the DAG files to  [default: <project>/dag].",
)
@click.option(
    "-i", "--image", default=None, help="Image of the node pods (overrides run_config.image)."
)
@click.option(
    "--group-by",
    default=None,
    callback=lambda _ctx, _param, value: _group_by(value),
    help="Extra fusion of nodes into tasks, comma separated: none, memory, namespace, chain "
    "(e.g. memory,chain; overrides run_config.group_by).",
)
@click.option(
    "--explain",
    type=click.Choice(["table", "json", "mermaid"]),
    is_flag=False,
    flag_value="table",
    default=None,
    help="Print the task plan (table, json or mermaid) instead of writing DAG files.",
)
@click.pass_obj
def compile(
    obj: CliContext,
    output: str | None,
    image: str | None,
    group_by: tuple[str, ...] | None,
    explain: str | None,
) -> None:
    """Create an Airflow DAG file for each selected pipeline."""
    from kedro_airflow_k8s import stages
    from kedro_airflow_k8s.plan import explain as explain_plan

    loaded = _load(obj)
    if explain:
        for name in obj.pipelines:
            click.echo(
                explain_plan(stages.plan_pipeline(loaded, name, group_by), explain), nl=False
            )
        return
    # An empty -o means the default, as for the upload commands.
    target = Path(output) if output else obj.project_path / "dag"
    compiled = stages.compile_pipelines(loaded, obj.pipelines, image=image, group_by=group_by)
    deadline = obj.deadline()  # for spark artifacts going to an object store
    for one in compiled:  # every pipeline compiled (and checked) before any file is written
        _echo_artifacts(stages.ship_artifacts(one, deadline=deadline))
        path = stages.write_dag(one, target)
        click.echo(str(path))
        _warn(one)
        click.echo(stages.summary(one), err=True)


_OUTPUT = click.option(
    "-o",
    "--output",
    default=None,
    help=(
        "Where Airflow reads DAGs: a folder, gs://, gcs:// or s3:// URL  "
        "[default: output in kedro-airflow-k8s.yaml]."
    ),
)
_IMAGE = click.option(
    "-i", "--image", default=None, help="Image of the node pods (overrides run_config.image)."
)
_DAG_NAME = click.option(
    "-d", "--dag-name", default=None, help="DAG id to use instead of <run_name>.<pipeline>.<env>."
)


def _destination(loaded: Any, output: str | None) -> str:
    destination = output or loaded.config.output
    if not destination:
        raise PluginError(
            "no destination for the DAG: set output in kedro-airflow-k8s.yaml or pass -o/--output"
        )
    return str(destination)


def _host(loaded: Any) -> str:
    if not loaded.config.host:
        raise PluginConfigError(
            "host: is not set; add the Airflow URL (http:// or https://) to kedro-airflow-k8s.yaml"
        )
    return str(loaded.config.host)


def _one_pipeline(obj: CliContext, command: str) -> str:
    if len(obj.pipelines) != 1:
        raise UsageProblem(
            f"-p/--pipelines: {command} takes one pipeline, got {len(obj.pipelines)}"
        )
    return obj.pipelines[0]


def _check_dag_name(dag_name: str | None, obj: CliContext) -> None:
    if dag_name is None:
        return
    if len(obj.pipelines) > 1:
        raise UsageProblem("-d/--dag-name names one DAG: select one pipeline with -p")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", dag_name):
        raise UsageProblem(
            f"-d/--dag-name {dag_name!r}: a DAG id takes letters, digits, '_', '.' and '-' only"
        )
    if len(dag_name) > 250:
        raise UsageProblem(
            f"-d/--dag-name {dag_name[:20]!r}... is {len(dag_name)} characters: a DAG id takes "
            "at most 250"
        )


def _check_run_conf(conf: dict[str, str], loaded: Any) -> None:
    """The run's conf with the rules the DAG's ``kedro_params`` applies in the pods."""
    from kedro_airflow_k8s.runtime.params import check_run_conf

    run_config = loaded.config.run_config
    try:
        check_run_conf(conf, run_config.macro_params, run_config.variables_params)
    except ValueError as exc:
        raise UsageProblem(f"--param: {exc}") from exc


def _ship(obj: CliContext, output: str | None, **compile_options: Any) -> None:
    from kedro_airflow_k8s import ship, stages

    loaded = _load(obj)
    destination = _destination(loaded, output)
    compiled = stages.compile_pipelines(loaded, obj.pipelines, **compile_options)
    deadline = obj.deadline()
    for one in compiled:
        _echo_artifacts(stages.ship_artifacts(one, deadline=deadline))
        click.echo(ship.upload_text(destination, one.file_name, one.source, deadline=deadline))
        _warn(one)


@airflow_k8s.command(name="upload-pipeline")
@_OUTPUT
@_IMAGE
@click.pass_obj
def upload_pipeline(obj: CliContext, output: str | None, image: str | None) -> None:
    """Upload the DAG of each selected pipeline to where Airflow reads DAGs."""
    _ship(obj, output, image=image)


@airflow_k8s.command()
@_OUTPUT
@click.option(
    "-c",
    "--cron-expression",
    default=None,
    help="Cron expression or preset such as @daily  [default: run_config.cron_expression].",
)
@_DAG_NAME
@click.pass_obj
def schedule(
    obj: CliContext, output: str | None, cron_expression: str | None, dag_name: str | None
) -> None:
    """Upload the DAG with the given schedule (and name)."""
    from kedro_airflow_k8s.config.cron import validate_schedule
    from kedro_airflow_k8s.render.dag import UNSET

    _check_dag_name(dag_name, obj)
    chosen: Any = UNSET
    if cron_expression is not None:
        try:
            chosen = validate_schedule(cron_expression)
        except ValueError as exc:
            raise UsageProblem(f"-c/--cron-expression: {exc}") from exc
    _ship(obj, output, schedule=chosen, dag_id=dag_name)


@airflow_k8s.command(name="run-once")
@_OUTPUT
@_DAG_NAME
@_IMAGE
@click.option(
    "-w",
    "--wait-for-completion",
    "wait_minutes",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Follow the run for up to MINUTES; exit 0 on success, 1 on failure, 3 on timeout.",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    help="KEY=VALUE handed to the run as its conf (repeat for several).",
)
@click.option(
    "--parse-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=360.0,
    show_default=True,
    help="Seconds to wait for Airflow to serve the uploaded DAG.",
)
@click.pass_obj
def run_once(
    obj: CliContext,
    output: str | None,
    dag_name: str | None,
    image: str | None,
    wait_minutes: float | None,
    params: tuple[str, ...],
    parse_timeout: float,
) -> None:
    """Upload the DAG unscheduled, have Airflow parse it, trigger one run and maybe follow it."""
    from kedro_airflow_k8s import operate, ship, stages

    started = time.monotonic()
    pipeline = _one_pipeline(obj, "run-once")
    _check_dag_name(dag_name, obj)
    conf = operate.parse_params(params)
    loaded = _load(obj)
    _check_run_conf(conf, loaded)  # before anything is shipped or triggered
    destination = _destination(loaded, output)
    deadline = obj.deadline()
    with _connect(loaded, deadline) as api:  # reachable, authorised, known: before shipping
        build_tag = operate.new_build_tag()
        compiled = stages.compile_pipeline(
            loaded,
            pipeline,
            image=image,
            dag_id=dag_name,
            schedule=None,
            extra_tags=(build_tag,),
            with_external_dependencies=False,
        )
        _echo_artifacts(stages.ship_artifacts(compiled, deadline=deadline))
        click.echo(
            ship.upload_text(destination, compiled.file_name, compiled.source, deadline=deadline)
        )
        _warn(compiled)
        trigger = operate.start_run(
            api,
            dag_id=compiled.dag_id,
            build_tag=build_tag,
            file_name=compiled.file_name,
            conf=conf,
            parse_timeout=parse_timeout,
            echo=click.echo,
            deadline=deadline,
        )
        click.echo(f"Run queued {time.monotonic() - started:.1f} s after the command started.")
        if wait_minutes is not None:
            operate.follow_run(
                api, trigger, minutes=wait_minutes, echo=click.echo, allowance=obj.timeout
            )


def _connect(loaded: Any, deadline: Deadline) -> RestApi:
    """The Airflow API of the configured host, checked to accept the credentials (close it)."""
    from kedro_airflow_k8s.airflow_api import ClientSettings, connect

    api = connect(ClientSettings.from_env(_host(loaded)), deadline)
    try:
        api.check_access()
    except BaseException:
        api.close()
        raise
    return api


@airflow_k8s.command(name="list-pipelines")
@click.pass_obj
def list_pipelines(obj: CliContext) -> None:
    """List the DAGs in Airflow that this plugin generated."""
    from kedro_airflow_k8s import operate

    loaded = _load(obj, with_pipelines=False)
    with _connect(loaded, obj.deadline()) as api:
        rows = operate.pipeline_rows(api)
    click.echo(operate.format_rows(rows))


@airflow_k8s.command()
@_DAG_NAME
@click.pass_obj
def ui(obj: CliContext, dag_name: str | None) -> None:
    """Open the Airflow UI (the DAG's page with -d) in a browser."""
    from kedro_airflow_k8s import operate

    loaded = _load(obj, with_pipelines=False)
    operate.open_ui(_host(loaded), dag_name, click.echo)


@airflow_k8s.command()
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Port of the Airflow UI and REST API on 127.0.0.1  [default: the port of host when "
    "host is http://127.0.0.1 or http://localhost, else 8080].",
)
@click.pass_obj
def dev(obj: CliContext, port: int | None) -> None:
    """Run a local Airflow 3 for the project on 127.0.0.1 until Ctrl-C.

    It reads the DAG files of the project's output folder (<project>/dag unless output is
    another folder), keeps its database, logs and password in <project>/.airflow, and needs
    Airflow in the same environment: pip install 'kedro-airflow-k8s[local]'. --timeout bounds
    its start."""
    from kedro_airflow_k8s import local_airflow as local

    version = local.airflow_version()
    loaded = _load(obj, with_pipelines=False)
    config = loaded.config
    chosen = local.choose_port(port, config.host)
    folder, note = local.dags_folder(obj.project_path, config.output)
    if note:
        click.echo(f"Warning: {note}", err=True)
    airflow = local.LocalAirflow(home=obj.project_path / local.HOME_NAME, dags=folder, port=chosen)
    with local.stop_signals():
        try:
            airflow.prepare()
            click.echo(f"Starting Airflow {version} at {airflow.url} ...", err=True)
            started = time.monotonic()
            deadline = obj.deadline()
            airflow.migrate(deadline)
            airflow.start()
            airflow.wait_ready(deadline)
            _dev_banner(airflow, version, config.host, time.monotonic() - started)
            airflow.serve()
        except local.Stopped:
            click.echo("Stopping Airflow ...", err=True)
        finally:
            with local.signals_ignored():
                stopping, ran = time.monotonic(), bool(airflow.processes)
                airflow.stop()
                if ran:
                    click.echo(f"Airflow stopped ({time.monotonic() - stopping:.1f} s).", err=True)


def _dev_banner(airflow: Any, version: str, host: str | None, seconds: float) -> None:
    from kedro_airflow_k8s import local_airflow as local

    user, password = local.USERNAME, airflow.password
    for line in (
        f"Airflow {version} is ready at {airflow.url} ({seconds:.1f} s)",
        f"  DAG files: {airflow.dags}",
        f"  Log in as {user} with password {password} (kept in {airflow.passwords_file})",
        "  run-once, list-pipelines, schedule and ui from another terminal need:",
        f"    export AIRFLOW_USERNAME={user} AIRFLOW_PASSWORD={password}",
        f"  and {local.host_note(host, airflow.url)}",
        f"  Logs: {airflow.logs_dir}; Ctrl-C stops Airflow.",
    ):
        click.echo(line)


@airflow_k8s.command()
@click.argument("airflow_url")
@click.option(
    "--with-github-actions",
    is_flag=True,
    help="Also write GitHub Actions workflows (run once on a branch push, schedule on a merge) "
    "and a Dockerfile when the project has none.",
)
@click.option(
    "-o",
    "--output",
    default="dag",
    show_default=True,
    help="Where Airflow reads DAG files (a folder, gs:// or s3:// URL), written as output.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Rewrite the plugin's own files that already exist (the config, and the workflows "
    "init wrote before); never a Dockerfile or a file init did not write.",
)
@click.option(
    "--overwrite-dockerfile",
    is_flag=True,
    help="Replace an existing Dockerfile and .dockerignore (with --with-github-actions).",
)
@click.pass_obj
def init(
    obj: CliContext,
    airflow_url: str,
    with_github_actions: bool,
    output: str,
    force: bool,
    overwrite_dockerfile: bool,
) -> None:
    """Write conf/base/kedro-airflow-k8s.yaml for the Airflow at AIRFLOW_URL.

    The resource profiles and pod templates the nodes' tags ask for are read from the project's
    registered pipelines, loaded through Kedro."""
    from kedro_airflow_k8s.scaffold import writer

    result = writer.init_project(
        obj.project_path,
        airflow_url,
        output=output,
        with_github_actions=with_github_actions,
        force=force,
        overwrite_dockerfile=overwrite_dockerfile,
    )
    for path in result.written:
        click.echo(str(path))
    for note in result.notes:
        click.echo(note, err=True)


def main(args: list[str] | None = None) -> Any:  # pragma: no cover - convenience entry
    return commands.main(args=args)
