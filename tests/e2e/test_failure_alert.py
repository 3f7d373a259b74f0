"""A failing task of a generated DAG posts the rendered Slack message, for real: Airflow 3 runs the
pod through the Kubernetes emulator, the task fails, and the plugin's failure callback sends the
message through the Slack webhook hook to a local HTTP receiver standing in for Slack."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from kedro_airflow_k8s.config import parse_config
from kedro_airflow_k8s.plan import PlanOptions, build_plan
from kedro_airflow_k8s.render import DagContext, build_spec, render_dag
from kedro_airflow_k8s.snapshot import DatasetSource, DatasetSpec, NodeSpec, PipelineSpec


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append({"path": self.path, "body": json.loads(body or b"{}")})
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def test_failed_task_sends_the_slack_message(airflow_server: Any, receiver: Any) -> None:
    url, received = receiver
    airflow_server.cli(
        "connections",
        "add",
        "alerts_e2e",
        "--conn-type",
        "slackwebhook",
        "--conn-host",
        url,
        "--conn-password",
        "T000/B000/XXXX",
    )
    config = parse_config(
        {
            "run_config": {
                "image": "alerting:1",
                "retries": 0,
                "cron_expression": None,
                "failure_handlers": [
                    {
                        "type": "slack",
                        "connection_id": "alerts_e2e",
                        "message_template": "FAILED {task} of {dag} at {execution_time}: {url}",
                    }
                ],
            }
        }
    )
    pipeline = PipelineSpec("__default__", (NodeSpec("breaks", ("a",), ("b",)),))
    datasets = {n: DatasetSpec(n, DatasetSource.ENTRY, "pickle.PickleDataset") for n in "ab"}
    plan = build_plan(pipeline, datasets, PlanOptions())
    spec = build_spec(
        plan,
        config.run_config,
        DagContext("Alerts", "alerts", "__default__", "e2e"),
        dag_id="alerting_e2e",
    )
    spec["tasks"][0]["arguments"] = ["python", "-c", "raise SystemExit(3)"]
    airflow_server.write_dag("alerting_e2e.py", render_dag(spec))
    api = airflow_server.api
    api.request_parse(api.any_file_token())
    api.wait_for_dag("alerting_e2e", timeout=90)
    api.set_paused("alerting_e2e", False)
    run_id = api.trigger("alerting_e2e", {})["dag_run_id"]
    run = api.wait_for_run("alerting_e2e", run_id, timeout=120)
    assert run["state"] == "failed"
    assert len(received) == 1, received
    assert received[0]["path"] == "/T000/B000/XXXX"
    text = received[0]["body"]["text"]
    assert text.startswith("FAILED breaks of alerting_e2e at ")
    assert "http" in text.rsplit(": ", 1)[-1]
