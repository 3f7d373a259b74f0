"""The compiled example in a real Airflow 3 with the real cncf-kubernetes provider.

Loads the DAG with Airflow's DagBag, compares it with the Kedro pipeline, and builds every pod
with the provider's own ``build_pod_request_obj`` (against a dummy kubeconfig: nothing is
contacted), then validates each pod strictly against the Kubernetes 1.30 schema.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

pytestmark = pytest.mark.airflow

FINAL = "pipeline_complete"


def _pod_tasks(dag: Any) -> list[Any]:
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    return [t for t in dag.tasks if isinstance(t, KubernetesPodOperator)]


def _nodes_of(task: Any) -> list[str]:
    # Before rendering, the arguments are wrapped in literal() (never templated).
    args = [getattr(a, "value", a) for a in task.arguments]
    return str(args[args.index("--nodes") + 1]).split(",")


@pytest.fixture(scope="session")
def pods(compiled_example: Any, kubeconfig: Path) -> dict[str, dict[str, Any]]:
    """Every pod the provider would send, by node name (from a DagBag of their own: rendering
    templates changes the tasks, so the shared DAG is left untouched)."""
    from airflow.dag_processing.dagbag import DagBag
    from kubernetes.client import ApiClient

    dag = next(iter(DagBag(dag_folder=str(compiled_example.dags_folder)).dags.values()))
    built = {}
    for task in _pod_tasks(dag):
        nodes = _nodes_of(task)
        task.config_file = str(kubeconfig)
        ti = SimpleNamespace(
            dag_id=dag.dag_id, task_id=task.task_id, run_id="manual__t", try_number=1, map_index=-1
        )
        context = {
            "ti": ti,
            "task_instance": ti,
            "run_id": "manual__t",
            "dag": dag,
            "var": {"value": SimpleNamespace(AWS_DEFAULT_REGION="eu-central-1")},
            "dag_run": SimpleNamespace(conf={"from_conf": "a,b: 'c'"}),
        }
        task.render_template_fields(context)
        manifest = ApiClient().sanitize_for_serialization(task.build_pod_request_obj(context))
        for node in nodes:
            built[node] = manifest
    return built


def test_dag_loads_without_import_errors(example_dag: Any, compiled_example: Any) -> None:
    assert example_dag.dag_id == "spaceflights.__default__.local"
    # Kedro logs to stdout too; the path of the written file is the last line.
    assert compiled_example.stdout.strip().splitlines()[-1] == str(compiled_example.dag_file)


def test_dag_settings(example_dag: Any, compiled_example: Any) -> None:
    import datetime

    assert example_dag.description == "Spaceflights price model, trained daily"
    assert example_dag.catchup is False
    assert example_dag.start_date == datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    assert example_dag.timetable.expression == "0 0 * * *"
    commit = (compiled_example.project / ".git").exists()
    assert commit
    tags = set(example_dag.tags)
    assert any(re.fullmatch(r"generated_with_kedro_airflow_k8s:\d+\.\d+\.\d+.*", t) for t in tags)
    assert any(re.fullmatch(r"commit_sha:[0-9a-f]{40}", t) for t in tags)
    assert {"experiment_name:spaceflights", "kedro_pipeline:__default__", "kedro_env:local"} <= tags
    args = example_dag.default_args
    assert args["owner"] == "airflow" and args["retries"] == 1
    assert args["retry_delay"] == datetime.timedelta(seconds=300)


def test_every_node_runs_exactly_once(example_dag: Any, kedro_pipeline: Any) -> None:
    ran = [node for task in _pod_tasks(example_dag) for node in _nodes_of(task)]
    assert sorted(ran) == sorted(n.name for n in kedro_pipeline.nodes)


def test_dependencies_match_the_kedro_pipeline(example_dag: Any, kedro_pipeline: Any) -> None:
    task_of = {node: t.task_id for t in _pod_tasks(example_dag) for node in _nodes_of(t)}
    producer = {out: n.name for n in kedro_pipeline.nodes for out in n.outputs}
    expected = {
        (task_of[producer[i]], task_of[n.name])
        for n in kedro_pipeline.nodes
        for i in n.inputs
        if i in producer and task_of[producer[i]] != task_of[n.name]
    }
    actual = {(up, t.task_id) for t in _pod_tasks(example_dag) for up in t.upstream_task_ids}
    assert actual == expected


def test_final_task_follows_every_leaf_and_fails_with_them(example_dag: Any) -> None:
    final = example_dag.get_task(FINAL)
    leaves = {t.task_id for t in _pod_tasks(example_dag) if not t.downstream_task_ids - {FINAL}}
    assert final.upstream_task_ids == leaves
    assert final.trigger_rule == "all_success"


def test_pods_are_valid_kubernetes_manifests(pods: dict[str, dict[str, Any]]) -> None:
    import kubernetes_validate

    assert len(pods) == 9
    for manifest in pods.values():
        manifest = dict(manifest)
        manifest.setdefault("apiVersion", "v1")
        manifest.setdefault("kind", "Pod")
        kubernetes_validate.validate(manifest, "1.30.0", strict=True)


def test_pod_runs_kedro_with_the_image_entrypoint_kept(pods: dict[str, dict[str, Any]]) -> None:
    node = "active_modelling_pipeline.train_model_node"
    pod = pods[node]
    container = pod["spec"]["containers"][0]
    assert container.get("command") in (None, [])
    assert container["args"] == [
        "kedro",
        "run",
        "--env",
        "local",
        "--pipelines",
        "__default__",
        "--nodes",
        node,
        "--params=from_conf=\"a\\x2cb: 'c'\"",
    ]
    assert re.fullmatch(r"spaceflights:[0-9a-f]{40}", container["image"])
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert pod["metadata"]["namespace"] == "kedro"
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", pod["metadata"]["name"])
    assert len(pod["metadata"]["name"]) <= 63
    assert pod["spec"]["serviceAccountName"] == "kedro-runner"
    assert pod["spec"]["imagePullSecrets"] == [{"name": "registry-credentials"}]


def test_gpu_profile_pod(pods: dict[str, dict[str, Any]]) -> None:
    pod = pods["candidate_modelling_pipeline.train_model_node"]
    spec = pod["spec"]
    assert spec["containers"][0]["resources"] == {
        "requests": {"cpu": "4", "memory": "8Gi", "nvidia.com/gpu": "1"},
        "limits": {"memory": "8Gi", "nvidia.com/gpu": "1"},
    }
    assert spec["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    term = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["nodeSelectorTerms"][0]["matchExpressions"] == [
        {"key": "cloud.google.com/gke-accelerator", "operator": "In", "values": ["nvidia-tesla-t4"]}
    ]
    assert pod["metadata"]["annotations"]["example.com/owner"] == (
        "data-science team\n#spaceflights channel\n"
    )


def test_high_memory_profile_pod(pods: dict[str, dict[str, Any]]) -> None:
    pod = pods["create_model_input_table_node"]
    spec = pod["spec"]
    assert spec["containers"][0]["resources"] == {
        "requests": {"cpu": "2", "memory": "16Gi"},
        "limits": {"memory": "16Gi"},
    }
    assert spec["nodeSelector"] == {"cloud.google.com/gke-nodepool": "high-memory"}
    assert spec["tolerations"] == [
        {"key": "dedicated", "operator": "Equal", "value": "high-memory", "effect": "NoSchedule"}
    ]


def test_default_profile_pod_with_secrets_and_variables(pods: dict[str, dict[str, Any]]) -> None:
    pod = pods["active_modelling_pipeline.evaluate_model_node"]
    container = pod["spec"]["containers"][0]
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"memory": "1Gi"},
    }
    assert pod["metadata"]["labels"]["app.kubernetes.io/part-of"] == "spaceflights"
    env = {e["name"]: e for e in container["env"]}
    assert env["AWS_DEFAULT_REGION"] == {"name": "AWS_DEFAULT_REGION", "value": "eu-central-1"}
    assert env["DB_CONNECTION"]["valueFrom"] == {
        "secretKeyRef": {"name": "spaceflights-db", "key": "connection_string"}
    }
    assert container["envFrom"] == [{"secretRef": {"name": "spaceflights-shared"}}]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    volume_name = mounts["/etc/spaceflights/certs"]["name"]
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes[volume_name]["secret"] == {"secretName": "spaceflights-certs"}
