"""The keys of the external sensors: ``run_config.external_dependencies``."""

from __future__ import annotations

from pydantic import Field, StrictBool, StrictInt, StrictStr, field_validator

from kedro_airflow_k8s.config.base import AIRFLOW_ID, AIRFLOW_ID_MAX, MAX_MINUTES, OnUseModel


class ExternalDependency(OnUseModel):
    """Another DAG (or one of its tasks) that must finish before this pipeline starts."""

    dag_id: StrictStr = Field(description="The DAG to wait for.")
    task_id: StrictStr | None = Field(
        None, description="A task of that DAG; the whole DAG if empty."
    )
    timeout: StrictInt = Field(
        1440, gt=0, le=MAX_MINUTES, description="Minutes to wait before failing."
    )
    check_existence: StrictBool = Field(
        True, description="Fail at once when the DAG (or task) does not exist."
    )
    execution_delta: StrictInt = Field(
        0,
        ge=0,
        le=MAX_MINUTES,
        description="Minutes between this run's logical date and the awaited run's.",
    )

    @field_validator("dag_id", "task_id")
    @classmethod
    def _ids(cls, value: str | None) -> str | None:
        if value is not None and not AIRFLOW_ID.match(value):
            raise ValueError(f"{value!r} is not a valid Airflow id")
        if value is not None and len(value) > AIRFLOW_ID_MAX:
            raise ValueError(
                f"{value[:20]!r}... is {len(value)} characters: an Airflow id takes at most "
                f"{AIRFLOW_ID_MAX}"
            )
        return value
