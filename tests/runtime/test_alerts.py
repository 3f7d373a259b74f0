"""Failure alerts (runtime/alerts.py): the extension gives every task of the DAG one failure
callback per handler, and the renderer embeds it only when the config has handlers.

The callbacks posting to a real Slack webhook endpoint through a real Airflow 3 run are tested in
tests/e2e/test_failure_alert.py.
"""

from __future__ import annotations

import datetime
from types import SimpleNamespace
from typing import Any

import pytest

from kedro_airflow_k8s.config import parse_config
from kedro_airflow_k8s.plan import PlanOptions, build_plan
from kedro_airflow_k8s.render import DagContext, build_spec, render_dag
from kedro_airflow_k8s.snapshot import DatasetSource, DatasetSpec, NodeSpec, PipelineSpec
from tests.helpers import handmade_spec, load_runtime, pod_task

HANDLERS = [
    {"type": "slack", "connection_id": "first", "message_template": "{task} failed"},
    {"type": "slack", "connection_id": "second", "message_template": "{dag} failed"},
]


@pytest.fixture(scope="module")
def runtime() -> Any:
    return load_runtime("alerts")


def _dag(runtime: Any, handlers: list[dict[str, Any]]) -> Any:
    tasks = [pod_task("a"), pod_task("b", upstream=["a"])]
    spec = handmade_spec("alerts_unit", tasks, failure_handlers=handlers)
    return runtime.build_dag(spec, extensions=[runtime.AlertsExtension])


def test_every_task_gets_one_callback_per_handler(runtime: Any) -> None:
    dag = _dag(runtime, HANDLERS)
    assert sorted(dag.task_ids) == ["a", "b", "pipeline_complete"]
    for task in dag.tasks:
        callbacks = task.on_failure_callback
        assert isinstance(callbacks, list) and len(callbacks) == 2, task.task_id
        assert all(callable(callback) for callback in callbacks)
    # the other default arguments are kept
    assert dag.get_task("a").retry_delay == datetime.timedelta(seconds=60)
    assert dag.get_task("a").owner == "me"


def test_no_handler_no_callback(runtime: Any) -> None:
    dag = _dag(runtime, [])
    assert all(not task.on_failure_callback for task in dag.tasks)


def test_the_message_fills_the_placeholders_of_the_failed_task(runtime: Any) -> None:
    """The context is a stand-in for what Airflow passes a callback (a task instance with its
    ids and log URL, the logical date); Airflow's own is used by the e2e test."""
    ti = SimpleNamespace(task_id="train", dag_id="proj.__default__.prod", log_url="http://log")
    moment = datetime.datetime(2026, 1, 2, 3, 4, tzinfo=datetime.timezone.utc)
    context = {"ti": ti, "logical_date": moment}
    template = "{task} of {dag} at {execution_time}: {url} ({other})"
    assert runtime.alert_message(template, context) == (
        "train of proj.__default__.prod at 2026-01-02T03:04:00+00:00: http://log ({other})"
    )
    assert runtime.alert_message("{execution_time}", {"ti": ti}) == "-"


def _source(failure_handlers: list[dict[str, Any]]) -> str:
    config = parse_config(
        {"run_config": {"image": "alerting:1", "failure_handlers": failure_handlers}}
    )
    pipeline = PipelineSpec("__default__", (NodeSpec("breaks", ("a",), ("b",)),))
    datasets = {n: DatasetSpec(n, DatasetSource.ENTRY, "pickle.PickleDataset") for n in "ab"}
    plan = build_plan(pipeline, datasets, PlanOptions())
    context = DagContext("Alerts", "alerts", "__default__", "unit")
    return render_dag(build_spec(plan, config.run_config, context))


def test_the_dag_file_embeds_the_alerts_only_with_handlers() -> None:
    with_alerts = _source([{"type": "slack"}])
    assert "class AlertsExtension" in with_alerts
    assert with_alerts.rstrip().endswith("dag = build_dag(SPEC, extensions=[AlertsExtension])")
    without = _source([])
    assert "AlertsExtension" not in without
    assert without.rstrip().endswith("dag = build_dag(SPEC)")
