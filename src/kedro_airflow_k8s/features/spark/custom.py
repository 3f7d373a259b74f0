"""``spark.type: custom``: the checked source of the user's operator factory, written into the
DAG file as ``CUSTOM_SPARK_OPERATORS`` (see :mod:`kedro_airflow_k8s.features.spark.factory`)."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from kedro_airflow_k8s.errors import ConfigError
from kedro_airflow_k8s.features.spark.factory import (
    SparkCluster,
    SparkJob,
    SparkOperatorFactoryBase,
)
from kedro_airflow_k8s.features.spark.spec import (
    SparkArtifactUrls,
    job_arguments,
    spark_property,
    spark_tasks,
)
from kedro_airflow_k8s.plan.model import TaskPlan
from kedro_airflow_k8s.render.literals import to_literal
from kedro_airflow_k8s.runtime.spec import JinjaValue, SparkSpec

CLUSTER_NAME_MACRO = "kak8s_spark_cluster_name"
CLUSTER_NAME_TEMPLATE = "{{ " + CLUSTER_NAME_MACRO + "(run_id) }}"


def _check_expression(source: Any, where: str) -> str:
    if not isinstance(source, str):
        raise ConfigError(f"{where} returned {type(source).__name__}, not Python source text")
    try:
        ast.parse(source.strip(), mode="eval")
    except SyntaxError as error:
        raise ConfigError(f"{where} is not one Python expression: {error.msg}") from error
    return source.strip()


def _check_imports(source: Any, where: str) -> str:
    if not isinstance(source, str):
        raise ConfigError(f"{where} returned {type(source).__name__}, not Python source text")
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise ConfigError(f"{where} does not parse: {error.msg}") from error
    for statement in tree.body:
        if not isinstance(statement, (ast.Import, ast.ImportFrom)):
            raise ConfigError(f"{where} may hold import statements only")
    return source.strip()


def custom_operators_source(
    factory: SparkOperatorFactoryBase,
    spec: SparkSpec,
    plan: TaskPlan,
    *,
    project_name: str,
    env: str,
    pipeline: str,
    urls: SparkArtifactUrls,
    params: JinjaValue,
    runner: str,
    cluster_config: dict[str, Any],
    spark_conf: Mapping[str, Any] | None = None,
) -> str:
    """The generated file's ``CUSTOM_SPARK_OPERATORS``: the factory's import statement and one
    function per operator returning the factory's expression; every piece is checked."""
    where = f"run_config.spark.operator_factory {type(factory).__name__}"
    spark_conf = spark_conf or {}
    cluster = SparkCluster(
        project_name=project_name,
        create_task_id=spec["create_task_id"],
        delete_task_id=spec["delete_task_id"],
        name=CLUSTER_NAME_TEMPLATE,
        init_script_url=urls.init_script or "",
        project_archive_url=urls.project_archive or "",
        cluster_config=dict(cluster_config),
        region=spec["cluster"]["region"],
        project_id=spec["cluster"]["project_id"],
    )

    def produce(member: str, *args: Any) -> Any:
        """The factory's property ``member``, or what its method ``member(*args)`` returns."""
        try:
            value = getattr(factory, member)
            return value(*args) if args else value
        except ConfigError:
            raise
        except Exception as error:  # the user's code: report it in one line
            raise ConfigError(
                f"{where}.{member} failed: {type(error).__name__}: {error}"
            ) from error

    imports = _check_imports(produce("imports_statement"), where)
    properties = {key: spark_property(value) for key, value in spark_conf.items()}
    lines = [imports, "", "", "CUSTOM_SPARK_OPERATORS = {"]
    create = _check_expression(produce("create_cluster_operator", cluster), f"{where}.create")
    delete = _check_expression(produce("delete_cluster_operator", cluster), f"{where}.delete")
    lines += [
        f'    "create": lambda: ({create}\n    ),',
        f'    "delete": lambda: ({delete}\n    ),',
    ]
    lines.append('    "submit": {')
    for task in spark_tasks(plan):
        job = SparkJob(
            project_name=project_name,
            task_id=task.task_id,
            full_task_id=task.full_task_id,
            nodes=task.nodes,
            pipeline=pipeline,
            env=env,
            run_script_url=(urls.run_scripts or {}).get(task.full_task_id, ""),
            arguments=tuple(job_arguments(env, pipeline, task.nodes, runner, params)),
            cluster=cluster,
            properties=dict(properties),
        )
        submit = _check_expression(produce("submit_operator", job), f"{where}.submit_operator")
        lines.append(f"        {to_literal(task.full_task_id)}: lambda: ({submit}\n        ),")
    lines += ["    },", "}"]
    text = "\n".join(lines)
    try:  # parsing each piece alone misses e.g. a __future__ import or `await` in place
        compile(f"SPEC = None\n{text}\n", "generated DAG file", "exec")  # after SPEC
    except SyntaxError as error:
        raise ConfigError(f"{where} gives code that does not compile: {error.msg}") from error
    return text
