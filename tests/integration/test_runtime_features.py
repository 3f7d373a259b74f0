"""Params, external sensors, failure alerts and pod templates, compiled from a real project and
checked in a real Airflow 3 DagBag with pods built by the real provider."""

from __future__ import annotations

import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.helpers import REPO, copy_example, kedro

pytestmark = pytest.mark.airflow

FEATURES = """
run_config:
  image_pull_policy: Always
  group_by: none
  in_memory: {storage: volume}
  startup_time: 77
  volume: {size: 2Gi, owner: 1000}
  macro_params: [ds, run_id]
  variables_params: [model_owner]
  external_dependencies:
    - dag_id: upstream
    - dag_id: upstream
    - dag_id: other
      task_id: done
      timeout: 2
      check_existence: false
      execution_delta: 10
  failure_handlers:
    - type: slack
      connection_id: alerts
  kubernetes_pod_templates:
    __default__:
      template: |
        metadata:
          labels: {from-template: "yes", app.kubernetes.io/part-of: template-loses}
        spec:
          priorityClassName: batch
          containers:
            - name: base
              env:
                - {name: FROM_TEMPLATE, value: "1"}
    training:
      image: spaceflights-gpu:1
      template: |
        kind: Pod
        spec:
          runtimeClassName: nvidia
"""


def features_project(base: Path, env: str = "features") -> Path:
    """A copy of the example with FEATURES in environment ``env``, the training nodes tagged
    with the ``training`` pod template, and ``model_input_table`` left in memory (so it crosses
    pods through the per-run volume)."""
    project = copy_example(base, git=False)
    (project / "conf" / env).mkdir(exist_ok=True)
    (project / "conf" / env / "kedro-airflow-k8s.yaml").write_text(FEATURES)
    catalog = project / "conf" / "base" / "catalog.yml"  # in memory between pods: in_memory
    text = catalog.read_text()
    start = text.index("\nmodel_input_table:\n") + 1
    catalog.write_text(text[:start] + text[text.index("\n\n", start) + 2 :])
    registry = project / "src" / "spaceflights" / "pipelines" / "data_science" / "pipeline.py"
    registry.write_text(
        registry.read_text().replace('"resources.gpu"', '"resources.gpu", "k8s_template.training"')
    )
    return project


def _compile(base: Path, *args: str) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    project = features_project(base)
    out = base / "dags"
    quiet = {"KEDRO_LOGGING_CONFIG": str(REPO / "scripts" / "quiet-logging.yml")}
    done = kedro(project, "airflow-k8s", "-e", "features", *args, "-o", str(out), env=quiet)
    assert done.returncode == 0, done.stderr[-3000:]
    bag = DagBag(dag_folder=str(out))
    assert bag.import_errors == {}
    return next(iter(bag.dags.values()))


@pytest.fixture(scope="module")
def dag(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return _compile(tmp_path_factory.mktemp("features"), "compile")


def _render(task: Any, dag: Any, kubeconfig: Path, conf: dict[str, Any]) -> dict[str, Any]:
    from kubernetes.client import ApiClient

    task.config_file = str(kubeconfig)
    ti = SimpleNamespace(
        dag_id=dag.dag_id, task_id=task.task_id, run_id="scheduled__x", try_number=1, map_index=-1
    )
    context = {
        "ti": ti,
        "task_instance": ti,
        "dag": dag,
        "run_id": "scheduled__x",
        "ds": "2026-11-20",
        "var": {"value": SimpleNamespace(model_owner="team a, b", AWS_DEFAULT_REGION="r")},
        "dag_run": SimpleNamespace(conf=conf),
    }
    context["dag_run"].run_id = "scheduled__x"
    task.render_template_fields(context)
    manifest: dict[str, Any] = ApiClient().sanitize_for_serialization(
        task.build_pod_request_obj(context)
    )
    return manifest


def test_params_come_from_macros_variables_and_conf(dag: Any, kubeconfig: Path) -> None:
    task = dag.get_task("preprocessing")
    pod = _render(task, dag, kubeconfig, {"run_id": "from conf", "extra": 1})
    assert pod["spec"]["containers"][0]["args"][-1] == (
        '--params=ds="2026-11-20",run_id="from conf",model_owner="team a\\x2c b",extra=1'
    )


def test_startup_time_and_pull_policy_reach_every_pod(dag: Any, kubeconfig: Path) -> None:
    pods = [t for t in dag.tasks if type(t).__name__ == "KubernetesPodOperator"]
    assert pods
    for task in pods:
        assert task.startup_timeout_seconds == 77
        assert task.image_pull_policy == "Always"
    manifest = _render(dag.get_task("preprocessing"), dag, kubeconfig, {})
    assert manifest["spec"]["containers"][0]["imagePullPolicy"] == "Always"


def test_external_dependency_sensors_wait_before_the_first_tasks(dag: Any) -> None:
    sensors = {t.task_id: t for t in dag.tasks if type(t).__name__ == "ExternalTaskSensor"}
    assert set(sensors) == {"wait_for_upstream", "wait_for_upstream_2", "wait_for_other.done"}
    other = sensors["wait_for_other.done"]
    assert (other.external_dag_id, other.external_task_id) == ("other", "done")
    assert other.timeout == 120 and other.check_existence is False
    assert other.execution_delta == datetime.timedelta(minutes=10)
    assert sensors["wait_for_upstream"].timeout == 1440 * 60
    assert all(s.mode == "reschedule" for s in sensors.values())
    roots = {
        t.task_id
        for t in dag.tasks
        if type(t).__name__ == "KubernetesPodOperator"
        and not any(
            type(dag.get_task(u)).__name__ == "KubernetesPodOperator" for u in t.upstream_task_ids
        )
    }
    assert roots == {"preprocessing"}
    # The sensors wait first; only then the per-run volume is created, then the nodes run.
    assert dag.get_task("preprocessing").upstream_task_ids == {*sensors, "data_volume_init"}
    assert dag.get_task("data_volume_init").upstream_task_ids == set(sensors)


def test_sensor_task_ids_stay_unique_however_many_entries() -> None:
    """(That run-once leaves the sensors out is shown by a real run-once, see
    tests/e2e/test_run_once.py.)"""
    from kedro_airflow_k8s.config import parse_config
    from kedro_airflow_k8s.features.sensors.feature import external_dependencies_spec

    config = parse_config({"run_config": {"external_dependencies": [{"dag_id": "a"}] * 12}})
    ids = [e["task_id"] for e in external_dependencies_spec(config.run_config)]
    assert len(set(ids)) == 12


def test_failure_handlers_are_callbacks_of_every_task(dag: Any) -> None:
    callbacks = dag.get_task("preprocessing").on_failure_callback
    assert isinstance(callbacks, list) and len(callbacks) == 1
    assert callbacks[0].__name__ == "notify"


def test_pod_templates_are_merged_under_the_plugins_settings(dag: Any, kubeconfig: Path) -> None:
    import kubernetes_validate

    default = _render(dag.get_task("preprocessing"), dag, kubeconfig, {})
    assert default["spec"]["priorityClassName"] == "batch"
    assert default["metadata"]["labels"]["from-template"] == "yes"
    # On conflict the plugin's settings win (resources.__default__.labels).
    assert default["metadata"]["labels"]["app.kubernetes.io/part-of"] == "spaceflights"
    env = {e["name"]: e.get("value") for e in default["spec"]["containers"][0]["env"]}
    assert env["FROM_TEMPLATE"] == "1" and env["AWS_DEFAULT_REGION"] == "r"
    training = _render(
        dag.get_task("active_modelling_pipeline.train_model_node"), dag, kubeconfig, {}
    )
    assert training["spec"]["runtimeClassName"] == "nvidia"
    assert training["spec"]["containers"][0]["image"] == "spaceflights-gpu:1"
    assert "priorityClassName" not in training["spec"]
    for manifest in (default, training):
        kubernetes_validate.validate(manifest, "1.30.0", strict=True)
        # The template keeps the plugin's per-run volume and its fsGroup.
        mounts = manifest["spec"]["containers"][0]["volumeMounts"]
        assert "/home/kedro_docker/data" in {m["mountPath"] for m in mounts}
        claims = [v for v in manifest["spec"]["volumes"] if "persistentVolumeClaim" in v]
        assert len(claims) == 1
        assert manifest["spec"]["securityContext"]["fsGroup"] == 1000
