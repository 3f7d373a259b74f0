"""What the compiler asks of every optional feature (docs/architecture.md, "Feature homes").

A feature's ``feature.py`` defines one subclass of :class:`Feature` and an instance of it named
``FEATURE``; ``features/registry.py`` lists the instances. ``build_spec`` (render) writes each
feature's SPEC section under its key; the commands (``stages.py``) ask each feature for its
artifacts, its warnings and the code it adds to the DAG file; ``render_dag`` embeds the runtime
module of every feature whose section is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, NamedTuple

if TYPE_CHECKING:
    from kedro_airflow_k8s.config.models import RunConfig
    from kedro_airflow_k8s.features.mlflow.settings import MlflowSettings
    from kedro_airflow_k8s.names import Names
    from kedro_airflow_k8s.plan.model import TaskPlan
    from kedro_airflow_k8s.project import LoadedProject
    from kedro_airflow_k8s.render.dag import DagContext
    from kedro_airflow_k8s.runtime.spec import DagSpec, JinjaValue


@dataclass(frozen=True)
class Artifacts:
    """Files a feature's tasks read at run time, uploaded (before the DAG) to ``destination``."""

    destination: str
    files: dict[str, bytes] = field(default_factory=dict)


class SectionInputs(NamedTuple):
    """What a feature's SPEC section is made from.

    ``taken`` holds the DAG's task ids: a feature claims the ids of the tasks it adds from it
    (sections are built in the order of ``features/registry.py``, so ids stay stable)."""

    plan: TaskPlan
    run_config: RunConfig
    context: DagContext
    dag_id: str
    run_name: str
    image: str
    params: JinjaValue
    taken: Names
    with_external_dependencies: bool
    mlflow: MlflowSettings | None
    artifacts: Mapping[str, Artifacts]  # spec key -> what that feature's artifacts() made


class Feature:
    """One optional feature's compile side. A subclass sets :attr:`spec_key` and overrides
    :meth:`section`; the other hooks do nothing unless the feature needs them."""

    #: The key of the feature's section in the SPEC (a key of ``DagSpec``).
    spec_key: ClassVar[str]
    #: The ``runtime/`` module embedded when the section is set (None: the builder's own code).
    runtime_module: ClassVar[str | None] = None
    #: The expression of the module's extension in ``build_dag(SPEC, extensions=[...])``.
    extension: ClassVar[str] = ""
    #: The extension's expression when :meth:`code` gave code to embed before the SPEC.
    code_extension: ClassVar[str] = ""

    def section(self, inputs: SectionInputs) -> object:
        """The SPEC section (``None`` or empty when the feature is off)."""
        raise NotImplementedError(type(self).__name__)

    def artifacts(self, loaded: LoadedProject, plan: TaskPlan) -> Artifacts | None:
        """Files to upload before the DAG (read before the SPEC is built)."""
        return None

    def warnings(
        self, spec: DagSpec, loaded: LoadedProject, artifacts: Artifacts | None
    ) -> list[str]:
        """What the user should know about the compiled DAG (the command prints each)."""
        return []

    def summary_note(self, spec: DagSpec) -> str | None:
        """A few words the command's summary adds to the DAG's title."""
        return None

    def code(
        self,
        spec: DagSpec,
        loaded: LoadedProject,
        plan: TaskPlan,
        artifacts: Artifacts | None,
    ) -> str | None:
        """Python source the DAG file holds before the SPEC (checked, literals only)."""
        return None
