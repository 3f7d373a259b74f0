"""``kedro airflow-k8s``: parses options and calls the stages in order, nothing else."""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from kedro_airflow_k8s.errors import PluginError

DEFAULT_PIPELINE = "__default__"


@dataclass(frozen=True)
class CliContext:
    """Options of the ``airflow-k8s`` group, shared by its commands."""

    project_path: Path
    env: str
    pipelines: tuple[str, ...]


def _load(obj: CliContext) -> Any:
    """Load the project; what Kedro prints meanwhile goes to stderr, stdout carries results."""
    from kedro_airflow_k8s import stages

    with contextlib.redirect_stdout(sys.stderr):
        return stages.load(obj.project_path, obj.env, obj.pipelines)


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@click.group(name="kedro-airflow-k8s")
def commands() -> None:
    """Kedro plugin: Airflow DAGs running every task as a Kubernetes pod."""


@commands.group(name="airflow-k8s", context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-e",
    "--env",
    default=lambda: os.environ.get("KEDRO_ENV") or "local",
    show_default="$KEDRO_ENV, else local",
    help="Kedro configuration environment to use.",
)
@click.option(
    "-p",
    "--pipeline",
    default=DEFAULT_PIPELINE,
    show_default=True,
    help="Registered pipeline to compile (comma separated for several).",
)
@click.pass_context
def airflow_k8s(ctx: click.Context, env: str, pipeline: str) -> None:
    """Compile Kedro pipelines into Airflow DAGs of Kubernetes pods, ship and run them."""
    metadata = ctx.obj
    project_path = Path(getattr(metadata, "project_path", None) or Path.cwd())
    pipelines = _split(pipeline)
    if not pipelines:
        raise PluginError("-p/--pipeline: give at least one pipeline name")
    ctx.obj = CliContext(project_path=project_path, env=env, pipelines=pipelines)


@airflow_k8s.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to write the DAG files to  [default: <project>/dag].",
)
@click.option(
    "-i", "--image", default=None, help="Image of the node pods (overrides run_config.image)."
)
@click.option(
    "--group-by",
    type=click.Choice(["none", "memory", "namespace"]),
    default=None,
    help="Extra fusion of nodes into tasks (overrides run_config.group_by).",
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
    output: Path | None,
    image: str | None,
    group_by: str | None,
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
    target = output if output is not None else obj.project_path / "dag"
    compiled = [
        stages.compile_pipeline(loaded, n, image=image, group_by=group_by) for n in obj.pipelines
    ]
    for one in compiled:  # every pipeline compiled before any file is written
        path = stages.write_dag(one, target)
        click.echo(str(path))
        click.echo(stages.summary(one), err=True)


def main(args: list[str] | None = None) -> Any:  # pragma: no cover - convenience entry
    return commands.main(args=args)
