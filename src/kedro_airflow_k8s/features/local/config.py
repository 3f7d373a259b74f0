"""The keys of local execution: ``run_config.execution`` and ``run_config.local``."""

from __future__ import annotations

import posixpath
from typing import Literal

from pydantic import Field, StrictStr, field_validator

from kedro_airflow_k8s.config.base import OnUseModel

Execution = Literal["kubernetes", "local"]
EXECUTION_KUBERNETES: Execution = "kubernetes"
EXECUTION_LOCAL: Execution = "local"


class LocalExecutionConfig(OnUseModel):
    """Where the Airflow worker finds the project and its interpreter with `execution: local`."""

    project_path: StrictStr | None = Field(
        None,
        description="The Kedro project's folder on the Airflow worker, the working directory "
        "of every `kedro run`; defaults to the folder of the project that compiles the DAG.",
    )
    python: StrictStr | None = Field(
        None,
        description="The Python interpreter with Kedro and the project's dependencies that runs "
        "`python -m kedro run`; defaults to the interpreter running `compile`.",
    )

    @field_validator("project_path", "python")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is not None and not posixpath.isabs(value):
            raise ValueError(f"{value!r} is a relative path: give an absolute one")
        return value
