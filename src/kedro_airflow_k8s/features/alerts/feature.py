"""The compile side of failure alerts: the SPEC's ``failure_handlers`` section."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from kedro_airflow_k8s.features.api import Feature, SectionInputs

if TYPE_CHECKING:
    from kedro_airflow_k8s.features.alerts.config import FailureHandler
    from kedro_airflow_k8s.runtime.spec import AlertSpec

SPEC_KEY: Final = "failure_handlers"


def alerts_section(handlers: list[FailureHandler]) -> list[AlertSpec]:
    """One entry per configured handler (empty: no alerts, the runtime module is not embedded)."""
    return [
        {
            "type": handler.type,
            "connection_id": handler.connection_id,
            "message_template": handler.message_template,
        }
        for handler in handlers
    ]


class AlertsFeature(Feature):
    spec_key = SPEC_KEY
    runtime_module = "alerts"
    extension = "AlertsExtension"

    def section(self, inputs: SectionInputs) -> list[AlertSpec]:
        return alerts_section(inputs.run_config.failure_handlers)


FEATURE = AlertsFeature()
