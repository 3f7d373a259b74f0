"""The contract of a custom Spark operator factory (``run_config.spark.type: custom``).

Users import it as :mod:`kedro_airflow_k8s.spark`.

A factory turns the plan's spark groups into Airflow operators of the user's choice. It returns
*Python source*: one expression per operator, and the import statement those expressions need.
The plugin checks that each piece parses (an expression, imports only) and writes them into the
generated DAG file, where they are evaluated inside the DAG (and the task's TaskGroup)::

    class MyFactory(SparkOperatorFactoryBase):
        @property
        def imports_statement(self) -> str:
            return "from my_company.airflow import CreateCluster, DeleteCluster, SubmitJob"

        def create_cluster_operator(self, cluster: SparkCluster) -> str:
            return self.call("CreateCluster", task_id=cluster.create_task_id,
                             name=cluster.name, init_script=cluster.init_script_url)
        ...

Values from the pipeline and config must reach the source as literals: :meth:`call` writes
each keyword value with ``repr``-style literals, so a quote or newline in a node name cannot
change the code. ``cluster.name`` is a Jinja template (unique per DAG run), so give it to a
templated field of the operator.
"""

from __future__ import annotations

import abc
import re
from dataclasses import dataclass, field
from typing import Any

from kedro_airflow_k8s.render.literals import to_literal

_IDENTIFIER_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


@dataclass(frozen=True)
class SparkCluster:
    """The ephemeral cluster of one DAG run."""

    project_name: str
    create_task_id: str
    delete_task_id: str
    name: str  # Jinja template rendering to a name unique per DAG run
    init_script_url: str
    project_archive_url: str
    cluster_config: dict[str, Any] = field(default_factory=dict)
    region: str | None = None
    project_id: str | None = None


@dataclass(frozen=True)
class SparkJob:
    """One spark group: the Kedro nodes one Spark job runs."""

    project_name: str
    task_id: str  # the id inside its TaskGroup (the operator must use exactly this id)
    full_task_id: str
    nodes: tuple[str, ...]
    pipeline: str
    env: str
    run_script_url: str
    arguments: tuple[Any, ...]  # strings, and {"jinja": template} for the --params argument
    cluster: SparkCluster
    properties: dict[str, Any] = field(default_factory=dict)


class SparkOperatorFactoryBase(abc.ABC):
    """Derive from this and name the class in ``run_config.spark.operator_factory``."""

    @property
    @abc.abstractmethod
    def imports_statement(self) -> str:
        """Import statement(s) of everything the operator expressions use."""

    @abc.abstractmethod
    def create_cluster_operator(self, cluster: SparkCluster) -> str:
        """An expression creating the operator that starts the cluster."""

    @abc.abstractmethod
    def delete_cluster_operator(self, cluster: SparkCluster) -> str:
        """An expression creating the operator that deletes the cluster (it is run whatever
        the outcome of the jobs: the plugin sets its trigger rule to ``all_done``)."""

    @abc.abstractmethod
    def submit_operator(self, job: SparkJob) -> str:
        """An expression creating the operator that runs ``job``."""

    @staticmethod
    def call(callable_path: str, /, **kwargs: Any) -> str:
        """``callable_path(key=<literal>, ...)``: values are written as Python literals.

        A ``{"jinja": template}`` value (as in :attr:`SparkJob.arguments`) is written as its
        template string, for a templated field of the operator to render.
        """
        if not _IDENTIFIER_PATH.fullmatch(callable_path):
            raise ValueError(f"{callable_path!r} is not a name or dotted path")
        parts = []
        for key, value in kwargs.items():
            parts.append(f"{key}={to_literal(_jinja_to_text(value))}")
        return f"{callable_path}({', '.join(parts)})"


def _jinja_to_text(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"jinja"}:
            return value["jinja"]
        return {key: _jinja_to_text(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jinja_to_text(item) for item in value]
    return value
