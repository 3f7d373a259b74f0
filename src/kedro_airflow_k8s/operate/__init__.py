"""Operate: drive a shipped DAG through Airflow's REST API (parse, trigger, follow, list, open).

Everything here talks to Airflow through the :class:`~kedro_airflow_k8s.airflow_api.AirflowApi`
protocol and prints through the ``echo`` callable it is given, so the CLI stays a thin shell and
tests can capture output. Modules: :mod:`.parse_wait` (this build served), :mod:`.runs` (start,
follow, UI links), :mod:`.listing` (list-pipelines), :mod:`.patience` (waits that outlive an API
restart).
"""

from __future__ import annotations

from kedro_airflow_k8s.dag_tags import new_build_tag
from kedro_airflow_k8s.operate.listing import PipelineRow, format_rows, pipeline_rows
from kedro_airflow_k8s.operate.parse_wait import wait_for_dag
from kedro_airflow_k8s.operate.runs import (
    FINAL_STATES,
    Trigger,
    dag_url,
    follow_run,
    open_ui,
    parse_params,
    run_url,
    start_run,
)

__all__ = [
    "FINAL_STATES",
    "PipelineRow",
    "Trigger",
    "dag_url",
    "follow_run",
    "format_rows",
    "new_build_tag",
    "open_ui",
    "parse_params",
    "pipeline_rows",
    "run_url",
    "start_run",
    "wait_for_dag",
]
