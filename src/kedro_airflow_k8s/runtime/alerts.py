"""Failure alerts: a message to Slack when a task fails.

This module runs inside Airflow: the renderer embeds its source after the DAG builder's when the
SPEC's ``"failure_handlers"`` section is not empty (a list of
:class:`~kedro_airflow_k8s.runtime.spec.AlertSpec`) and passes ``AlertsExtension`` to
``build_dag``. Every task of the DAG then gets one ``on_failure_callback`` per handler (through
the DAG's ``default_args``), posting the handler's message through the Slack webhook connection
it names.

Imports: the standard library, and the Slack provider when a callback runs; no
``from __future__`` (it is not at the top of the file). Top-level names start with ``alert`` /
``Alerts`` so they cannot clash with the other embedded modules.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the SPEC's types; never imported inside Airflow (runtime/spec.py)
    from .spec import DagSpec

ALERT_PLACEHOLDERS = ("task", "dag", "execution_time", "url")


def alert_message(template: str, context: Any) -> str:
    """``template`` with ``{task}``, ``{dag}``, ``{execution_time}`` (the logical date, or when
    the run was queued) and ``{url}`` (the task's log) of the failed task's ``context``."""
    ti = context.get("task_instance") or context.get("ti")
    moment = context.get("logical_date") or getattr(context.get("dag_run"), "run_after", None)
    fields = {
        "task": getattr(ti, "task_id", "?"),
        "dag": getattr(ti, "dag_id", "?"),
        "execution_time": moment.isoformat() if moment is not None else "-",
        "url": getattr(ti, "log_url", "") or "",
    }
    text = template
    for name in ALERT_PLACEHOLDERS:
        text = text.replace("{" + name + "}", str(fields[name]))
    return text


def alert_slack_callback(connection_id: str, template: str) -> Any:
    """An ``on_failure_callback`` posting :func:`alert_message` through the Slack webhook
    connection ``connection_id``."""

    def notify(context: Any) -> None:
        from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

        text = alert_message(template, context)
        SlackWebhookHook(slack_webhook_conn_id=connection_id).send(text=text)

    return notify


class AlertsExtension:
    """DAG builder extension (see dag_builder): the failure callbacks of every task."""

    @staticmethod
    def dag_arguments(spec: "DagSpec", kwargs: dict[str, Any]) -> None:
        callbacks = [
            alert_slack_callback(handler["connection_id"], handler["message_template"])
            for handler in spec.get("failure_handlers") or []
        ]
        if callbacks:
            default_args = dict(kwargs.get("default_args") or {})
            default_args["on_failure_callback"] = callbacks
            kwargs["default_args"] = default_args
