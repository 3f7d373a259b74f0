"""The keys of the MLflow run: ``run_config.authentication`` (the rest is read from the
project's mlflow.yml, see :mod:`.settings`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictStr, field_validator, model_validator

from kedro_airflow_k8s.config.base import ENV_NAME, OnUseModel, empty_list


class Authentication(OnUseModel):
    """How the MLflow start-run task authenticates to the MLflow tracking server."""

    type: Literal["Null", "GoogleOAuth2", "Vars"] = Field(
        "Null",
        description="`Null` (none), `GoogleOAuth2` (ID token for GOOGLE_AUDIENCE from the "
        "service account) or `Vars` (Airflow Variables named in `params`).",
    )
    params: list[StrictStr] = Field(
        default_factory=empty_list,
        description="With `Vars`: Airflow Variable names, exported under the same names "
        "(e.g. MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD).",
    )

    @field_validator("type", mode="before")
    @classmethod
    def _null(cls, value: object) -> object:
        return "Null" if value is None else value

    @model_validator(mode="after")
    def _vars_need_params(self) -> Authentication:
        if self.type == "Vars" and not self.params:
            raise ValueError("type Vars needs params: the Airflow Variable names to export")
        for name in self.params:
            if not ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid environment variable name")
        return self
