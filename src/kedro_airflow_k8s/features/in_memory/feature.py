"""The compile side of in-memory data that crosses pods: the SPEC's ``memory`` section (where
``runtime/memory.py`` keeps the datasets between tasks)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from kedro_airflow_k8s.errors import PluginConfigError
from kedro_airflow_k8s.features.api import Feature, SectionInputs
from kedro_airflow_k8s.features.in_memory import IN_MEMORY_ON_VOLUME
from kedro_airflow_k8s.plan.model import TaskKind

if TYPE_CHECKING:
    from kedro_airflow_k8s.config.models import RunConfig
    from kedro_airflow_k8s.plan.model import TaskPlan
    from kedro_airflow_k8s.runtime.spec import MemorySpec

SPEC_KEY: Final = "memory"
#: Where ``in_memory.storage: volume`` keeps the datasets: a folder of the volume.
IN_MEMORY_VOLUME_FOLDER = "kedro-airflow-k8s-in-memory"


def memory_spec(plan: TaskPlan, run_config: RunConfig) -> MemorySpec | None:
    """Where the run keeps in-memory datasets that cross pods, or None when none do (or
    run_config.in_memory is not set)."""
    in_memory = run_config.in_memory
    if in_memory is None or not any(t.memory_datasets for t in plan.tasks):
        return None
    if run_config.spark is not None:
        for task in plan.tasks:
            if task.kind is TaskKind.SPARK and task.memory_datasets:
                raise PluginConfigError(
                    f"run_config.in_memory: in-memory dataset "
                    f"{task.memory_datasets[0]!r} passes between spark task "
                    f"{task.full_task_id!r} and another task, and a spark job runs without the "
                    "plugin's hook: give the dataset a catalog entry"
                )
    storage = in_memory.storage
    if storage == IN_MEMORY_ON_VOLUME:
        assert run_config.volume is not None  # the config requires it
        storage = f"{run_config.volume.mount_path}/{IN_MEMORY_VOLUME_FOLDER}"
    return {"storage": storage}


class InMemoryFeature(Feature):
    spec_key = SPEC_KEY
    runtime_module = "memory"
    extension = "MemoryExtension"

    def section(self, inputs: SectionInputs) -> MemorySpec | None:
        return memory_spec(inputs.plan, inputs.run_config)


FEATURE = InMemoryFeature()
