"""The keys of failure alerts: ``run_config.failure_handlers``."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, StrictStr, field_validator

from kedro_airflow_k8s.config.base import OnUseModel
from kedro_airflow_k8s.runtime.alerts import ALERT_PLACEHOLDERS

DEFAULT_SLACK_TEMPLATE = (
    ":red_circle: Task Failed.\n"
    "*Task*: {task}\n"
    "*Dag*: {dag}\n"
    "*Execution Time*: {execution_time}\n"
    "*Log Url*: {url}"
)


class FailureHandler(OnUseModel):
    """What to do when a task fails."""

    type: Literal["slack"] = Field(description="Handler type; `slack` is available.")
    connection_id: StrictStr = Field(
        "slack",
        description="Airflow connection holding the Slack webhook (host: webhook URL, "
        "password: webhook token).",
    )
    message_template: StrictStr = Field(
        DEFAULT_SLACK_TEMPLATE,
        description="Message text; `{task}`, `{dag}`, `{execution_time}` and `{url}` are replaced.",
    )

    @field_validator("message_template")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        allowed = set(ALERT_PLACEHOLDERS)
        for name in re.findall(r"(?<!\{)\{([^{}]*)\}(?!\})", value):
            if name not in allowed:
                choices = ", ".join("{" + a + "}" for a in sorted(allowed))
                raise ValueError(f"unknown placeholder {{{name}}}; use {choices}")
        return value
