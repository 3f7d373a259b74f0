"""features/spark/spec.py spark_spec: the SPEC's spark section for dataproc, k8s and custom."""

from __future__ import annotations

from typing import Any

import pytest

from kedro_airflow_k8s.config.models import RunConfig
from kedro_airflow_k8s.features.spark.artifacts import SparkArtifacts
from kedro_airflow_k8s.features.spark.feature import spark_warnings
from kedro_airflow_k8s.features.spark.spec import SparkArtifactUrls, k8s_warnings, spark_tasks
from kedro_airflow_k8s.render import DagContext, build_spec, render_dag
from tests.spark.common import (
    CUSTOM,
    DATAPROC,
    HOME,
    K8S,
    PARAMS,
    demo_plan,
    plan,
    run_config,
    spec_for,
    task,
    urls,
)

ARGS = ["run", "--env", "prod", "--pipeline", "__default__", "--node"]


def _spec(plan_: Any, config: RunConfig, **overrides: Any) -> dict[str, Any]:
    spec = spec_for(plan_, config, **overrides)
    assert spec is not None
    return spec


# --- no spark section ---------------------------------------------------------------------------


def test_none_without_spark_config() -> None:
    assert spec_for(demo_plan(), run_config(None)) is None


@pytest.mark.parametrize("spark", [DATAPROC, K8S, CUSTOM])
def test_none_without_spark_tasks(spark: dict[str, Any]) -> None:
    pods_only = plan(task("a"), task("b", upstream=("a",)))
    assert spec_for(pods_only, run_config(spark)) is None


# --- dataproc -----------------------------------------------------------------------------------


def test_dataproc_cluster_and_ids() -> None:
    spec = _spec(demo_plan(), run_config(DATAPROC))
    assert spec["type"] == "dataproc"
    assert spec["tasks"] == ["sum_by_region"]
    assert spec["create_task_id"] == "create_spark_cluster"
    assert spec["delete_task_id"] == "delete_spark_cluster"
    assert spec["create_after"] == ["clean"]
    assert spec["cluster"] == {
        "name_base": "spark-demo",
        "project_id": "demo-project",
        "region": "europe-west1",
        "gcp_conn_id": "google_cloud_default",
        "cluster_config": {
            "initialization_actions": [{"executable_file": urls(demo_plan()).init_script}]
        },
    }


def test_dataproc_init_action_is_appended_to_the_configured_ones() -> None:
    existing = [{"executable_file": "gs://b/first.sh", "execution_timeout": "600s"}]
    config = run_config(
        {
            **DATAPROC,
            "cluster_name": "my-cluster",
            "gcp_conn_id": "gcp",
            "cluster_config": {
                "initialization_actions": existing,
                "master_config": {"machine_type_uri": "n2-standard-4"},
            },
        }
    )
    spec = _spec(demo_plan(), config)
    cluster = spec["cluster"]
    assert cluster["name_base"] == "my-cluster"
    assert cluster["gcp_conn_id"] == "gcp"
    assert cluster["cluster_config"] == {
        "initialization_actions": [
            {"executable_file": "gs://b/first.sh", "execution_timeout": "600s"},
            {"executable_file": "gs://bucket/spark/demo-init.sh"},
        ],
        "master_config": {"machine_type_uri": "n2-standard-4"},
    }
    # the configuration itself is left alone (a second compile must not add a second action)
    assert config.spark is not None
    assert config.spark.cluster_config["initialization_actions"] == existing
    assert len(existing) == 1
    again = _spec(demo_plan(), config)
    assert len(again["cluster"]["cluster_config"]["initialization_actions"]) == 2


def test_dataproc_job_per_spark_task() -> None:
    the_plan = plan(
        task("a"),
        task("s1", spark=True, nodes=("n1", "n2"), upstream=("a",), group=("ns",)),
        task("b", upstream=("ns.s1",)),
        task("s2", spark=True, nodes=("n3",), upstream=("b",)),
    )
    config = run_config({**DATAPROC, "runner": "SequentialRunner"})
    spec = _spec(the_plan, config)
    assert spec["tasks"] == ["ns.s1", "s2"]
    assert set(spec["jobs"]) == {"ns.s1", "s2"}
    first = spec["jobs"]["ns.s1"]
    assert first["main_python_file_uri"] == "gs://bucket/spark/ns.s1.py"
    assert first["args"] == [*ARGS, "n1,n2", "--runner", "SequentialRunner", PARAMS]
    assert first["properties"] == {"spark.executorEnv.PYTHONPATH": f"{HOME}/src"}
    second = spec["jobs"]["s2"]
    assert second["main_python_file_uri"] == "gs://bucket/spark/s2.py"
    assert second["args"] == [*ARGS, "n3", "--runner", "SequentialRunner", PARAMS]


def test_dataproc_configured_spark_conf_wins() -> None:
    conf = {"spark.executorEnv.PYTHONPATH": "/elsewhere", "spark.executor.cores": "4"}
    spec = _spec(demo_plan(), run_config({**DATAPROC, "conf": conf}))
    assert spec["jobs"]["sum_by_region"]["properties"] == conf


def test_dataproc_properties_are_strings() -> None:
    conf = {"spark.executor.instances": 2, "spark.dynamicAllocation.enabled": False}
    spec = _spec(demo_plan(), run_config({**DATAPROC, "conf": conf}))
    properties = spec["jobs"]["sum_by_region"]["properties"]
    assert all(isinstance(value, str) for value in properties.values()), properties


# --- k8s ----------------------------------------------------------------------------------------


def test_k8s_defaults() -> None:
    spec = _spec(demo_plan(), run_config(K8S), run_name="spark-demo")
    assert spec["type"] == "k8s"
    assert spec["tasks"] == ["sum_by_region"]
    assert "create_task_id" not in spec and "cluster" not in spec
    job = spec["jobs"]["sum_by_region"]
    assert job["application"] == "local:///home/kedro/spark_run.py"
    assert job["conn_id"] == "spark_default"
    assert job["name"] == "spark-demo-sum_by_region"
    assert job["application_args"] == [
        *ARGS,
        "to_spark,sum_by_region",
        "--runner",
        "ThreadRunner",
        PARAMS,
    ]
    assert job["conf"] == {
        "spark.submit.deployMode": "cluster",
        "spark.kubernetes.namespace": "default",
        "spark.kubernetes.container.image": "repo/img:1",
        "spark.kubernetes.container.image.pullPolicy": "IfNotPresent",
        "spark.kubernetes.authenticate.driver.serviceAccountName": "default",
    }


def test_k8s_run_config_values() -> None:
    config = run_config(
        K8S,
        namespace="kedro",
        service_account_name="pods",
        image_pull_policy="Always",
        image_pull_secrets="one, two",
    )
    conf = _spec(demo_plan(), config, image="other/img:2")["jobs"]["sum_by_region"]["conf"]
    assert conf["spark.kubernetes.namespace"] == "kedro"
    assert conf["spark.kubernetes.container.image"] == "other/img:2"
    assert conf["spark.kubernetes.container.image.pullPolicy"] == "Always"
    assert conf["spark.kubernetes.authenticate.driver.serviceAccountName"] == "pods"
    assert conf["spark.kubernetes.container.image.pullSecrets"] == "one,two"


def test_k8s_spark_overrides_win_over_run_config() -> None:
    spark = {
        **K8S,
        "namespace": "spark",
        "image": "spark/img:3",
        "service_account_name": "driver",
        "conn_id": "spark_k8s",
    }
    config = run_config(spark, namespace="kedro", service_account_name="pods")
    job = _spec(demo_plan(), config)["jobs"]["sum_by_region"]
    assert job["conn_id"] == "spark_k8s"
    assert job["conf"]["spark.kubernetes.namespace"] == "spark"
    assert job["conf"]["spark.kubernetes.container.image"] == "spark/img:3"
    assert job["conf"]["spark.kubernetes.authenticate.driver.serviceAccountName"] == "driver"


def test_k8s_application_is_the_uploaded_run_script_without_run_script() -> None:
    config = run_config({"type": "k8s", "artifacts_path": "gs://bucket/spark"})
    job = _spec(demo_plan(), config)["jobs"]["sum_by_region"]
    assert job["application"] == "gs://bucket/spark/sum_by_region.py"


def test_k8s_labels_secrets_env_ports_and_storage() -> None:
    spark = {
        **K8S,
        "labels": {"team": "data"},
        "env_vars": {"SPARK_DEMO": "on"},
        "driver_port": 7078,
        "block_manager_port": 7079,
        "local_storage": {"storage_class": "fast-ssd", "size": "50Gi"},
    }
    secrets = [
        {"secret": "files", "deploy_type": "volume", "deploy_target": "/secrets/files"},
        {"secret": "db", "deploy_type": "env", "deploy_target": "DB_PASSWORD", "key": "pw"},
        {"secret": "whole", "deploy_type": "env"},
    ]
    conf = _spec(demo_plan(), run_config(spark, secrets=secrets))["jobs"]["sum_by_region"]["conf"]
    for role in ("driver", "executor"):
        assert conf[f"spark.kubernetes.{role}.label.team"] == "data"
        assert conf[f"spark.kubernetes.{role}.secrets.files"] == "/secrets/files"
        assert conf[f"spark.kubernetes.{role}.secretKeyRef.DB_PASSWORD"] == "db:pw"
        claim = f"spark.kubernetes.{role}.volumes.persistentVolumeClaim.spark-local-dir-1"
        assert conf[f"{claim}.options.claimName"] == "OnDemand"
        assert conf[f"{claim}.options.storageClass"] == "fast-ssd"
        assert conf[f"{claim}.options.sizeLimit"] == "50Gi"
        assert conf[f"{claim}.mount.path"] == "/storage"
        assert conf[f"{claim}.mount.readOnly"] == "false"
    assert not any("whole" in key or "whole" in str(value) for key, value in conf.items())
    assert conf["spark.kubernetes.driverEnv.SPARK_DEMO"] == "on"
    assert conf["spark.executorEnv.SPARK_DEMO"] == "on"
    assert conf["spark.driver.port"] == "7078"
    assert conf["spark.blockManager.port"] == "7079"


def test_k8s_warnings_name_whole_env_secrets_only() -> None:
    secrets = [
        {"secret": "files", "deploy_type": "volume", "deploy_target": "/secrets/files"},
        {"secret": "whole", "deploy_type": "env"},
        {"secret": "db", "deploy_type": "env", "deploy_target": "DB_PASSWORD", "key": "pw"},
    ]
    warnings = k8s_warnings(run_config(K8S, secrets=secrets))
    assert len(warnings) == 1
    assert warnings[0].startswith("run_config.secrets[1] (whole): ")


def test_spark_warnings() -> None:
    secrets = [{"secret": "whole", "deploy_type": "env"}]
    k8s = run_config(K8S, secrets=secrets, volume={"size": "1Gi"})
    notes = spark_warnings(k8s, {"type": "k8s"}, None)
    assert [note.split(" ", 1)[0] for note in notes] == [
        "run_config.secrets[0]",
        "run_config.volume:",
    ]
    dataproc = run_config(DATAPROC)
    s3 = SparkArtifacts(destination="s3://bucket/spark")
    assert len(spark_warnings(dataproc, {"type": "dataproc"}, s3)) == 1
    assert "gs://" in spark_warnings(dataproc, {"type": "dataproc"}, s3)[0]
    for ok in ("gs://bucket/spark", "gcs://bucket/spark"):
        assert spark_warnings(dataproc, {"type": "dataproc"}, SparkArtifacts(ok)) == []
    disabled = run_config(DATAPROC, volume={"disabled": True})
    assert spark_warnings(disabled, {"type": "dataproc"}, SparkArtifacts("gs://b")) == []


PROFILES = {
    "__default__": {"requests": {"cpu": "500m", "memory": "1Gi"}},
    "big": {
        "requests": {"cpu": 2, "memory": "4Gi"},
        "limits": {"cpu": "4", "memory": "6Gi"},
        "node_selectors": {"pool": "spark"},
        "labels": {"size": "big"},
        "annotations": {"example.com/note": "a note"},
    },
}


def test_k8s_resources_come_from_each_tasks_profile() -> None:
    the_plan = plan(
        task("small", spark=True, profile="__default__"),
        task("large", spark=True, profile="big"),
        task("plain", spark=True, profile=None),
    )
    jobs = _spec(the_plan, run_config(K8S, resources=PROFILES))["jobs"]
    small, large, plain = jobs["small"]["conf"], jobs["large"]["conf"], jobs["plain"]["conf"]
    for role in ("driver", "executor"):
        assert small[f"spark.kubernetes.{role}.request.cores"] == "500m"
        assert f"spark.kubernetes.{role}.limit.cores" not in small
        assert small[f"spark.{role}.memory"] == "1024m"
        assert large[f"spark.kubernetes.{role}.request.cores"] == "2"
        assert large[f"spark.kubernetes.{role}.limit.cores"] == "4"
        assert large[f"spark.{role}.memory"] == "6144m"  # the limit wins over the request
        assert large[f"spark.kubernetes.{role}.label.size"] == "big"
        assert large[f"spark.kubernetes.{role}.annotation.example.com/note"] == "a note"
        assert f"spark.{role}.memory" not in plain
    assert large["spark.kubernetes.node.selector.pool"] == "spark"
    assert "spark.kubernetes.node.selector.pool" not in small


def test_k8s_configured_spark_conf_wins_over_generated_and_resources() -> None:
    conf = {
        "spark.kubernetes.namespace": "other",
        "spark.driver.memory": "8g",
        "spark.kubernetes.driver.label.team": "ml",
        "spark.executor.instances": "2",
    }
    spark = {**K8S, "conf": {**conf, "spark.executor.instances": 2}, "labels": {"team": "data"}}
    config = run_config(spark, resources=PROFILES)
    the_plan = plan(task("sum_by_region", spark=True, profile="__default__"))
    job_conf = _spec(the_plan, config)["jobs"]["sum_by_region"]["conf"]
    assert {key: job_conf[key] for key in conf} == conf
    assert job_conf["spark.executor.memory"] == "1024m"
    assert job_conf["spark.kubernetes.executor.label.team"] == "data"


# --- custom -------------------------------------------------------------------------------------


def test_custom_cluster_ids_do_not_clash_with_tasks() -> None:
    the_plan = plan(
        task("create_spark_cluster"),
        task("delete_spark_cluster"),
        task("delete_spark_cluster_2"),
        task("job", spark=True, upstream=("create_spark_cluster", "delete_spark_cluster")),
    )
    spec = _spec(the_plan, run_config(CUSTOM))
    assert spec["type"] == "custom"
    assert spec["create_task_id"] == "create_spark_cluster_2"
    assert spec["delete_task_id"] == "delete_spark_cluster_3"
    assert spec["create_after"] == ["create_spark_cluster", "delete_spark_cluster"]
    assert spec["jobs"] == {}
    assert spec["cluster"] == {
        "name_base": "spark-demo",
        "project_id": None,
        "region": None,
        "gcp_conn_id": "google_cloud_default",
    }


def test_build_spec_ids_are_unique_with_volume_and_final_task() -> None:
    """Through build_spec: the cluster tasks' ids differ from every other task id."""
    the_plan = plan(
        task("create_spark_cluster"),
        task("job", spark=True, upstream=("create_spark_cluster",)),
        task("delete_spark_cluster", upstream=("job",)),
    )
    config = run_config(DATAPROC, volume={"size": "1Gi"})
    context = DagContext("Demo", "demo", "__default__", "local", "abc123")
    spec = build_spec(
        the_plan, config, context, artifacts={"spark": SparkArtifacts("", urls=urls(the_plan))}
    )
    spark = spec["spark"]
    ids = [t["full_task_id"] for t in spec["tasks"]]
    ids += [spark["create_task_id"], spark["delete_task_id"]]
    ids += [spec["volume"]["create_task_id"], spec["volume"]["delete_task_id"]]
    assert len(ids) == len(set(ids)), ids
    assert spark["create_task_id"] == "create_spark_cluster_2"
    compile(render_dag(spec), "dag.py", "exec")


def test_spark_tasks_in_plan_order() -> None:
    the_plan = plan(task("b", spark=True), task("a"), task("c", spark=True, upstream=("a",)))
    assert [t.task_id for t in spark_tasks(the_plan)] == ["b", "c"]


def test_urls_default_needs_no_run_scripts_for_k8s_with_run_script() -> None:
    spec = spec_for(demo_plan(), run_config(K8S), urls=SparkArtifactUrls(HOME))
    assert spec is not None
    assert spec["jobs"]["sum_by_region"]["application"] == K8S["run_script"]
