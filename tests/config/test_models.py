"""The typed models of kedro-airflow-k8s.yaml: every default, every accepted form, every error
message."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import types
import typing
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, StrictStr, ValidationError

from kedro_airflow_k8s.config import PluginConfig, RunConfig, parse_config
from kedro_airflow_k8s.config.base import declared_type
from kedro_airflow_k8s.config.kubernetes import ResourceProfile
from kedro_airflow_k8s.config.loading import format_validation_error
from kedro_airflow_k8s.config.models import NodeTagsConfig
from kedro_airflow_k8s.config.scheduling import Toleration
from kedro_airflow_k8s.config.secrets import SecretConfig
from kedro_airflow_k8s.errors import ConfigError, PluginError
from kedro_airflow_k8s.features.alerts.config import FailureHandler
from kedro_airflow_k8s.features.in_memory.config import InMemoryConfig
from kedro_airflow_k8s.features.local.config import LocalExecutionConfig
from kedro_airflow_k8s.features.mlflow.config import Authentication
from kedro_airflow_k8s.features.pod_templates.config import PodTemplate
from kedro_airflow_k8s.features.sensors.config import ExternalDependency
from kedro_airflow_k8s.features.spark.config import SparkConfig
from kedro_airflow_k8s.features.volume.config import VolumeConfig

PREFIX = "airflow-k8s config: "

SLACK_TEMPLATE = (
    ":red_circle: Task Failed.\n"
    "*Task*: {task}\n"
    "*Dag*: {dag}\n"
    "*Execution Time*: {execution_time}\n"
    "*Log Url*: {url}"
)

DEFAULT_NODE_TAGS = {
    "resources_prefix": "resources.",
    "machine_prefix": "machine.",
    "k8s_template_prefix": "k8s_template.",
    "group_prefix": "airflow.",
    "pyspark": "kedro-airflow-k8s.group.pyspark",
}

DEFAULT_RUN_CONFIG = {
    "image": None,
    "image_pull_policy": "IfNotPresent",
    "startup_time": 600,
    "namespace": "default",
    "experiment_name": None,
    "run_name": None,
    "cron_expression": "@daily",
    "start_date": None,
    "description": None,
    "image_pull_secrets": [],
    "service_account_name": None,
    "kubernetes_conn_id": None,
    "owner": "airflow",
    "retries": 1,
    "retry_delay": 300,
    "failure_handlers": [],
    "volume": None,
    "in_memory": None,
    "secrets": [],
    "macro_params": [],
    "variables_params": [],
    "env_vars": [],
    "resources": {},
    "external_dependencies": [],
    "authentication": {"type": "Null", "params": []},
    "kubernetes_pod_templates": {},
    "spark": None,
    "node_tags": DEFAULT_NODE_TAGS,
    "group_by": ["memory"],
    "group_spark_nodes": True,
    "detect_spark": True,
    "namespace_task_groups": True,
    "execution": "kubernetes",
    "local": {"project_path": None, "python": None},
}


def rc(**keys: Any) -> dict[str, Any]:
    """A document with only ``run_config`` keys."""
    return {"run_config": keys}


def profile(**keys: Any) -> dict[str, Any]:
    """A document with one resource profile ``p``."""
    return rc(resources={"p": keys})


def error_of(document: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(document)
    return caught.value.message


# --- defaults -----------------------------------------------------------------------------------


def test_empty_document_gives_every_default():
    config = parse_config({})
    assert config.model_dump() == {"host": None, "output": None, "run_config": DEFAULT_RUN_CONFIG}


def test_empty_run_config_gives_every_default():
    config = parse_config({"run_config": {}})
    assert config.run_config.model_dump() == DEFAULT_RUN_CONFIG


def test_models_built_directly_have_the_same_defaults():
    assert PluginConfig().model_dump() == {
        "host": None,
        "output": None,
        "run_config": DEFAULT_RUN_CONFIG,
    }
    assert RunConfig().model_dump() == DEFAULT_RUN_CONFIG


SECTION_DEFAULTS = [
    (
        Toleration,
        {},
        {
            "key": None,
            "operator": "Equal",
            "value": None,
            "effect": None,
            "toleration_seconds": None,
        },
    ),
    (
        ResourceProfile,
        {},
        {
            "requests": {},
            "limits": {},
            "node_selectors": {},
            "labels": {},
            "annotations": {},
            "tolerations": [],
            "affinity": None,
        },
    ),
    (
        SecretConfig,
        {"secret": "s"},
        {"secret": "s", "deploy_type": "env", "deploy_target": None, "key": None},
    ),
    (
        FailureHandler,
        {"type": "slack"},
        {"type": "slack", "connection_id": "slack", "message_template": SLACK_TEMPLATE},
    ),
    (
        VolumeConfig,
        {},
        {
            "storageclass": None,
            "size": "1Gi",
            "access_modes": ["ReadWriteOnce"],
            "skip_init": False,
            "owner": 0,
            "disabled": False,
            "mount_path": "/home/kedro_docker/data",
        },
    ),
    (
        ExternalDependency,
        {"dag_id": "upstream"},
        {
            "dag_id": "upstream",
            "task_id": None,
            "timeout": 1440,
            "check_existence": True,
            "execution_delta": 0,
        },
    ),
    (Authentication, {}, {"type": "Null", "params": []}),
    (PodTemplate, {"template": "kind: Pod"}, {"template": "kind: Pod", "image": None}),
    (
        SparkConfig,
        {"type": "kubernetes", "run_script": "local:///r.py"},
        {
            "type": "k8s",
            "operator_factory": None,
            "region": None,
            "project_id": None,
            "cluster_name": None,
            "artifacts_path": None,
            "user_init_path": None,
            "user_post_init_path": None,
            "cluster_config": {},
            "project_home": None,
            "runner": "ThreadRunner",
            "conf": {},
            "gcp_conn_id": "google_cloud_default",
            "conn_id": "spark_default",
            "image": None,
            "namespace": None,
            "service_account_name": None,
            "run_script": "local:///r.py",
            "env_vars": {},
            "labels": {},
            "driver_port": None,
            "block_manager_port": None,
            "local_storage": None,
        },
    ),
    (NodeTagsConfig, {}, DEFAULT_NODE_TAGS),
]


@pytest.mark.parametrize(
    ("model", "required", "defaults"),
    SECTION_DEFAULTS,
    ids=[model.__name__ for model, _, _ in SECTION_DEFAULTS],
)
def test_section_defaults(model, required, defaults):
    assert model.model_validate(required).model_dump() == defaults


def test_models_are_frozen():
    config = parse_config({})
    with pytest.raises(ValidationError):
        config.run_config.namespace = "other"  # type: ignore[misc]


def test_config_error_is_a_plugin_error_exiting_with_2():
    with pytest.raises(PluginError) as caught:
        parse_config({"run_confg": {}})
    assert isinstance(caught.value, ConfigError)
    assert caught.value.exit_code == 4


# --- a full document with every key set ---------------------------------------------------------

FULL_DOCUMENT = yaml.safe_load(
    """
host: https://airflow.example.com/
output: gs://bucket/dags
run_config:
  image: europe-docker.pkg.dev/project/repo/image:1.2.3
  image_pull_policy: Always
  startup_time: 120
  namespace: ml-pipelines
  experiment_name: experiment
  run_name: spaceflights
  cron_expression: "0 5 * * MON-FRI"
  start_date: 2021-07-21
  description: Nightly training
  image_pull_secrets: regcred, other-cred
  service_account_name: pipelines
  kubernetes_conn_id: k8s
  owner: team-ml
  retries: 3
  retry_delay: 60
  failure_handlers:
    - type: slack
      connection_id: slack_alerts
      message_template: "{task} of {dag} failed at {execution_time}: {url} {{literal}}"
  volume:
    storageclass: standard-rwo
    size: 10Gi
    access_modes: [ReadWriteMany]
    skip_init: true
    owner: 1000
    disabled: false
    mount_path: /app/data/
  in_memory:
    storage: volume
  secrets:
    - secret: all-keys
    - secret: one-key
      key: password
      deploy_target: DB_PASSWORD
    - secret: mounted
      deploy_type: volume
      deploy_target: /var/secrets
  macro_params: [ds, logical_date, run_id]
  variables_params: [model_version]
  env_vars: [MLFLOW_TRACKING_URI]
  resources:
    __default__:
      requests: {cpu: 500m, memory: 1Gi}
      limits: {cpu: 2, memory: 4Gi, nvidia.com/gpu: 1, ephemeral-storage: 1.5, hugepages-2Mi: 64Mi}
      node_selectors: {cloud.google.com/gke-nodepool: pool-1}
      labels: {app.kubernetes.io/name: pipeline, team: ""}
      annotations: {example.com/note: "any value\\nover lines"}
      tolerations:
        - key: dedicated
          operator: Equal
          value: ml
          effect: NoSchedule
        - operator: Exists
          effect: NoExecute
          tolerationSeconds: 30
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchExpressions: [{key: pool, operator: In, values: [ml]}]
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 50
              podAffinityTerm:
                topologyKey: kubernetes.io/hostname
                labelSelector: {matchLabels: {app: kedro}}
  external_dependencies:
    - dag_id: upstream
      task_id: publish
      timeout: 60
      check_existence: false
      execution_delta: 30
  authentication:
    type: Vars
    params: [MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD]
  kubernetes_pod_templates:
    __default__:
      template: "kind: Pod"
      image: other/image:1
  spark:
    type: custom
    operator_factory: project.spark.Factory
    region: europe-west1
    project_id: gcp-project
    cluster_name: spark
    artifacts_path: gs://bucket/spark
    user_init_path: init.sh
    user_post_init_path: post_init.sh
    cluster_config: {workers: 2}
    project_home: /opt/project
    runner: SequentialRunner
    conf: {spark.executor.instances: 2}
  node_tags:
    resources_prefix: res.
    machine_prefix: mach.
    k8s_template_prefix: tpl.
    group_prefix: group.
    pyspark: spark-node
  group_by: memory
  group_spark_nodes: false
  detect_spark: false
  namespace_task_groups: false
  execution: local
  local:
    project_path: /srv/project
    python: /srv/venv/bin/python
"""
)


def test_full_document_sets_every_key():
    config = parse_config(FULL_DOCUMENT)
    assert config.host == "https://airflow.example.com"  # trailing slash dropped
    assert config.output == "gs://bucket/dags"
    run = config.run_config
    assert run.image == "europe-docker.pkg.dev/project/repo/image:1.2.3"
    assert run.image_pull_policy == "Always"
    assert run.startup_time == 120
    assert run.namespace == "ml-pipelines"
    assert run.experiment_name == "experiment"
    assert run.run_name == "spaceflights"
    assert run.cron_expression == "0 5 * * MON-FRI"
    assert run.start_date == "20210721"
    assert run.description == "Nightly training"
    assert run.image_pull_secrets == ["regcred", "other-cred"]
    assert run.service_account_name == "pipelines"
    assert run.kubernetes_conn_id == "k8s"
    assert run.owner == "team-ml"
    assert run.retries == 3
    assert run.retry_delay == 60
    assert [h.model_dump() for h in run.failure_handlers] == [
        {
            "type": "slack",
            "connection_id": "slack_alerts",
            "message_template": "{task} of {dag} failed at {execution_time}: {url} {{literal}}",
        }
    ]
    assert run.in_memory is not None and run.in_memory.storage == "volume"
    assert run.volume is not None
    assert run.volume.model_dump() == {
        "storageclass": "standard-rwo",
        "size": "10Gi",
        "access_modes": ["ReadWriteMany"],
        "skip_init": True,
        "owner": 1000,
        "disabled": False,
        "mount_path": "/app/data",
    }
    assert [s.model_dump() for s in run.secrets] == [
        {"secret": "all-keys", "deploy_type": "env", "deploy_target": None, "key": None},
        {
            "secret": "one-key",
            "deploy_type": "env",
            "deploy_target": "DB_PASSWORD",
            "key": "password",
        },
        {
            "secret": "mounted",
            "deploy_type": "volume",
            "deploy_target": "/var/secrets",
            "key": None,
        },
    ]
    assert run.macro_params == ["ds", "logical_date", "run_id"]
    assert run.variables_params == ["model_version"]
    assert run.env_vars == ["MLFLOW_TRACKING_URI"]
    default = run.resources["__default__"]
    assert default.requests == {"cpu": "500m", "memory": "1Gi"}
    assert default.limits == {
        "cpu": "2",
        "memory": "4Gi",
        "nvidia.com/gpu": "1",
        "ephemeral-storage": "1.5",
        "hugepages-2Mi": "64Mi",
    }
    assert default.node_selectors == {"cloud.google.com/gke-nodepool": "pool-1"}
    assert default.labels == {"app.kubernetes.io/name": "pipeline", "team": ""}
    assert default.annotations == {"example.com/note": "any value\nover lines"}
    assert [t.model_dump() for t in default.tolerations] == [
        {
            "key": "dedicated",
            "operator": "Equal",
            "value": "ml",
            "effect": "NoSchedule",
            "toleration_seconds": None,
        },
        {
            "key": None,
            "operator": "Exists",
            "value": None,
            "effect": "NoExecute",
            "toleration_seconds": 30,
        },
    ]
    assert default.affinity.as_pod_spec() == {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["ml"]}]}
                ]
            }
        },
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 50,
                    "podAffinityTerm": {
                        "topologyKey": "kubernetes.io/hostname",
                        "labelSelector": {"matchLabels": {"app": "kedro"}},
                    },
                }
            ]
        },
    }
    assert [d.model_dump() for d in run.external_dependencies] == [
        {
            "dag_id": "upstream",
            "task_id": "publish",
            "timeout": 60,
            "check_existence": False,
            "execution_delta": 30,
        }
    ]
    assert run.authentication.model_dump() == {
        "type": "Vars",
        "params": ["MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"],
    }
    assert run.kubernetes_pod_templates["__default__"].model_dump() == {
        "template": "kind: Pod",
        "image": "other/image:1",
    }
    assert run.spark is not None
    assert run.spark.model_dump() == {
        "type": "custom",
        "operator_factory": "project.spark.Factory",
        "region": "europe-west1",
        "project_id": "gcp-project",
        "cluster_name": "spark",
        "artifacts_path": "gs://bucket/spark",
        "user_init_path": "init.sh",
        "user_post_init_path": "post_init.sh",
        "cluster_config": {"workers": 2},
        "project_home": "/opt/project",
        "runner": "SequentialRunner",
        "conf": {"spark.executor.instances": 2},
        "gcp_conn_id": "google_cloud_default",
        "conn_id": "spark_default",
        "image": None,
        "namespace": None,
        "service_account_name": None,
        "run_script": None,
        "env_vars": {},
        "labels": {},
        "driver_port": None,
        "block_manager_port": None,
        "local_storage": None,
    }
    assert run.node_tags.model_dump() == {
        "resources_prefix": "res.",
        "machine_prefix": "mach.",
        "k8s_template_prefix": "tpl.",
        "group_prefix": "group.",
        "pyspark": "spark-node",
    }
    assert run.group_by == ["memory"]
    assert run.group_spark_nodes is False
    assert run.detect_spark is False
    assert run.namespace_task_groups is False
    assert run.execution == "local"
    assert (run.local.project_path, run.local.python) == ("/srv/project", "/srv/venv/bin/python")


def test_full_document_sets_every_key_of_every_model():
    """Guards the test above: a key added to a model must be added to FULL_DOCUMENT too."""
    run = FULL_DOCUMENT["run_config"]
    assert set(FULL_DOCUMENT) == set(PluginConfig.model_fields)
    assert set(run) == set(RunConfig.model_fields)
    default = run["resources"]["__default__"]
    assert set(default) == set(ResourceProfile.model_fields)
    tolerations = set(default["tolerations"][0]) | set(default["tolerations"][1])
    assert tolerations == {"key", "operator", "value", "effect", "tolerationSeconds"}
    assert {"key", "operator", "value", "effect", "toleration_seconds"} == set(
        Toleration.model_fields
    )
    assert set().union(*run["secrets"]) == set(SecretConfig.model_fields)
    assert set(run["failure_handlers"][0]) == set(FailureHandler.model_fields)
    assert set(run["volume"]) == set(VolumeConfig.model_fields)
    assert set(run["in_memory"]) == set(InMemoryConfig.model_fields)
    assert set(run["external_dependencies"][0]) == set(ExternalDependency.model_fields)
    assert set(run["authentication"]) == set(Authentication.model_fields)
    assert set(run["kubernetes_pod_templates"]["__default__"]) == set(PodTemplate.model_fields)
    spark_keys = set(run["spark"]) | set(SPARK_DATAPROC_KEYS) | set(SPARK_K8S_KEYS)
    assert spark_keys == set(SparkConfig.model_fields)
    assert set(run["node_tags"]) == set(NodeTagsConfig.model_fields)
    assert set(run["local"]) == set(LocalExecutionConfig.model_fields)


# The spark keys of the other types (FULL_DOCUMENT's spark section is of type custom).
SPARK_DATAPROC_KEYS = {
    "type": "dataproc",
    "region": "europe-west1",
    "project_id": "gcp-project",
    "artifacts_path": "gs://bucket/spark",
    "gcp_conn_id": "gcp",
}
SPARK_K8S_KEYS = {
    "type": "k8s",
    "conn_id": "spark_k8s",
    "image": "spark/image:1",
    "namespace": "spark",
    "service_account_name": "spark-driver",
    "run_script": "local:///run.py",
    "env_vars": {"A": "1"},
    "labels": {"team": "ml"},
    "driver_port": 7078,
    "block_manager_port": 7079,
    "local_storage": {"storage_class": "ssd", "size": "10Gi", "mount_path": "/scratch"},
}


@pytest.mark.parametrize("document", [SPARK_DATAPROC_KEYS, SPARK_K8S_KEYS], ids=["dataproc", "k8s"])
def test_every_key_of_each_spark_type_is_read(document: dict[str, object]) -> None:
    spark = parse_config(rc(spark=document)).run_config.spark
    assert spark is not None
    dumped = spark.model_dump()
    assert {key: dumped[key] for key in document} == document


# Each spark type's own keys; everything else of SparkConfig is an error for it.
SPARK_OWN_KEYS = {
    "dataproc": {"region", "project_id", "cluster_name", "cluster_config", "user_init_path"}
    | {"user_post_init_path", "gcp_conn_id"},
    "custom": {"region", "project_id", "cluster_name", "cluster_config", "user_init_path"}
    | {"user_post_init_path", "operator_factory"},
    "k8s": set(SPARK_K8S_KEYS) - {"type"},
}
SPARK_COMMON = {"type", "artifacts_path", "project_home", "runner", "conf"}
SPARK_VALUES = {
    **FULL_DOCUMENT["run_config"]["spark"],
    **SPARK_DATAPROC_KEYS,
    **SPARK_K8S_KEYS,
}


@pytest.mark.parametrize(
    ("spark_type", "key"),
    [
        (spark_type, key)
        for spark_type, own in SPARK_OWN_KEYS.items()
        for key in sorted(set(SparkConfig.model_fields) - own - SPARK_COMMON)
    ],
)
def test_a_key_of_another_spark_type_is_an_error(spark_type: str, key: str) -> None:
    spark = {"type": spark_type, **SPARK_NEEDS[spark_type], key: SPARK_VALUES[key]}
    with pytest.raises(ConfigError) as error:
        parse_config(rc(spark=spark))
    owners = " and ".join(t for t, own in SPARK_OWN_KEYS.items() if key in own)
    assert str(error.value).startswith(
        f"{PREFIX}run_config.spark.{key}: not a setting of spark type {spark_type} "
        f"(only of {owners})"
    )


def test_an_old_style_cluster_config_under_k8s_is_an_error_with_a_hint() -> None:
    old = {"run_script": "local:///run.py", "num_executors": 4}
    spark = {"type": "kubernetes", "artifacts_path": "gs://b/spark", "cluster_config": old}
    with pytest.raises(ConfigError) as error:
        parse_config(rc(spark=spark))
    assert str(error.value) == (
        f"{PREFIX}run_config.spark.cluster_config: not a setting of spark type k8s (only of "
        "dataproc and custom); Spark properties such as spark.executor.instances go under "
        "run_config.spark.conf, the runner script under run_script"
    )


# --- accepted forms -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("regcred", ["regcred"]),
        ("regcred,other", ["regcred", "other"]),
        (" regcred , other ,, ", ["regcred", "other"]),
        ("", []),
        (["regcred", "other"], ["regcred", "other"]),
        ([], []),
    ],
)
def test_image_pull_secrets_as_comma_string_or_list(value, expected):
    assert parse_config(rc(image_pull_secrets=value)).run_config.image_pull_secrets == expected


@pytest.mark.parametrize(
    "value",
    [
        "20210721",
        20210721,
        date(2021, 7, 21),
        datetime(2021, 7, 21, 10, 30),
        yaml.safe_load("start_date: 2021-07-21")["start_date"],
        "2021-07-21",
    ],
    ids=["string", "int", "date", "datetime", "yaml-date", "yaml-date-through-omegaconf"],
)
def test_start_date_forms(value):
    assert parse_config(rc(start_date=value)).run_config.start_date == "20210721"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(100, 1, 1), "01000101"),
        (date(999, 12, 31), "09991231"),
        (date(9899, 12, 31), "98991231"),
    ],
)
def test_start_date_objects_keep_four_digits_of_year(value, expected):
    # strftime("%Y") gives "100" for the year 100 on Linux: the earliest date was refused.
    assert parse_config(rc(start_date=value)).run_config.start_date == expected


def test_start_date_from_yaml_is_a_date_object():
    # The YAML form above really is a date, not a string.
    assert isinstance(yaml.safe_load("d: 2021-07-21")["d"], date)


@pytest.mark.parametrize(
    "preset",
    [
        "@once",
        "@continuous",
        "@hourly",
        "@daily",
        "@weekly",
        "@monthly",
        "@quarterly",
        "@yearly",
        "@annually",
        "@midnight",
    ],
)
def test_schedule_presets(preset):
    assert parse_config(rc(cron_expression=preset)).run_config.cron_expression == preset


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0 5 * * 1-5", "0 5 * * 1-5"),
        ("  */15  0-23/2 1,15 JAN-JUN mon-fri ", "*/15 0-23/2 1,15 JAN-JUN mon-fri"),
        (None, None),
    ],
)
def test_cron_expression_is_normalised_or_empty(value, expected):
    assert parse_config(rc(cron_expression=value)).run_config.cron_expression == expected


@pytest.mark.parametrize("value", [None, "Null"])
def test_authentication_null(value):
    config = parse_config(rc(authentication={"type": value}))
    assert config.run_config.authentication.type == "Null"
    assert config.run_config.authentication.params == []


def test_authentication_google():
    assert parse_config(
        rc(authentication={"type": "GoogleOAuth2"})
    ).run_config.authentication.type == ("GoogleOAuth2")


@pytest.mark.parametrize("key", ["tolerationSeconds", "toleration_seconds"])
def test_toleration_seconds_alias(key):
    document = profile(tolerations=[{"operator": "Exists", "effect": "NoExecute", key: 300}])
    toleration = parse_config(document).run_config.resources["p"].tolerations[0]
    assert toleration.toleration_seconds == 300
    assert toleration.model_dump(by_alias=True)["tolerationSeconds"] == 300


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("500m", "500m"),
        (2, "2"),
        (1.5, "1.5"),
        ("4Gi", "4Gi"),
        ("1e3", "1e3"),
        (".5", ".5"),
        ("+1", "+1"),
    ],
)
def test_quantities(value, expected):
    document = profile(requests={"cpu": value}, limits={"memory": value})
    resources = parse_config(document).run_config.resources["p"]
    assert resources.requests == {"cpu": expected}
    assert resources.limits == {"memory": expected}


@pytest.mark.parametrize(
    "name",
    ["cpu", "memory", "ephemeral-storage", "hugepages-2Mi", "nvidia.com/gpu", "example.com/FPGA_x"],
)
def test_resource_names(name):
    assert parse_config(profile(limits={name: 1})).run_config.resources["p"].limits == {name: "1"}


SPARK_NEEDS = {
    "dataproc": {"region": "europe-west1", "project_id": "p", "artifacts_path": "gs://b/a"},
    "k8s": {"run_script": "local:///run.py"},
    "kubernetes": {"artifacts_path": "s3://b/a"},
    "custom": {"operator_factory": "pkg.mod.Factory", "artifacts_path": "/tmp/a"},
}


@pytest.mark.parametrize(
    ("spark_type", "expected"),
    [("dataproc", "dataproc"), ("k8s", "k8s"), ("kubernetes", "k8s"), ("custom", "custom")],
)
def test_spark_types(spark_type, expected):
    spark = parse_config(rc(spark={"type": spark_type, **SPARK_NEEDS[spark_type]})).run_config.spark
    assert spark is not None
    assert spark.type == expected


@pytest.mark.parametrize(
    ("spark_type", "missing", "message"),
    [
        ("dataproc", "region", "spark type dataproc needs region"),
        ("dataproc", "project_id", "spark type dataproc needs project_id"),
        ("dataproc", "artifacts_path", "spark type dataproc needs artifacts_path"),
        ("custom", "operator_factory", "spark type custom needs operator_factory"),
        ("custom", "artifacts_path", "spark type custom needs artifacts_path"),
        ("k8s", "run_script", "spark type k8s needs run_script (in the image) or artifacts_path"),
    ],
)
def test_spark_type_requirements(spark_type, missing, message):
    spark = {"type": spark_type, **SPARK_NEEDS[spark_type]}
    del spark[missing]
    with pytest.raises(ConfigError) as error:
        parse_config(rc(spark=spark))
    assert str(error.value) == f"{PREFIX}run_config.spark: {message}"


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("type", "yarn", "run_config.spark.type"),
        ("cluster_name", "Has_Upper", "lowercase letters, digits and '-'"),
        ("cluster_name", "x" * 41, "at most 40 characters"),
        ("cluster_name", "9starts-with-digit", "starting with a letter"),
        ("operator_factory", "NoModule", "is not a dotted path"),
        ("env_vars", {"1BAD": "x"}, "not a valid environment variable name"),
        ("labels", {"bad label": "x"}, "not a valid Kubernetes label name"),
        ("driver_port", 70000, "run_config.spark.driver_port"),
        ("local_storage", {"storage_class": "s", "size": "lots"}, "not a Kubernetes quantity"),
        ("local_storage", {"storage_class": "s", "size": "1Gi", "mount_path": "rel"}, "absolute"),
    ],
)
def test_spark_bad_values(key, value, fragment):
    spark_type = {"cluster_name": "dataproc", "operator_factory": "custom"}.get(key, "k8s")
    spark = {"type": spark_type, **SPARK_NEEDS[spark_type], key: value}
    with pytest.raises(ConfigError) as error:
        parse_config(rc(spark=spark))
    assert fragment in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "macro",
    [
        "ds",
        "ds_nodash",
        "ts",
        "ts_nodash",
        "ts_nodash_with_tz",
        "logical_date",
        "data_interval_start",
        "data_interval_end",
        "prev_data_interval_start_success",
        "prev_data_interval_end_success",
        "prev_start_date_success",
        "prev_end_date_success",
        "run_id",
        "task_instance_key_str",
    ],
)
def test_airflow_3_macros(macro):
    assert parse_config(rc(macro_params=[macro])).run_config.macro_params == [macro]


@pytest.mark.parametrize("value", [None, {}, {"size": "5Gi"}, {"disabled": True}])
def test_volume_forms(value):
    volume = parse_config(rc(volume=value)).run_config.volume
    assert (volume is None) == (value is None)


def test_host_http_and_output_any_string():
    config = parse_config({"host": "http://localhost:8080", "output": "/tmp/dags"})
    assert config.host == "http://localhost:8080"
    assert config.output == "/tmp/dags"


def test_empty_label_value_and_prefixed_keys():
    document = profile(
        labels={"example.com/team": ""}, node_selectors={"kubernetes.io/arch": "amd64"}
    )
    resources = parse_config(document).run_config.resources["p"]
    assert resources.labels == {"example.com/team": ""}
    assert resources.node_selectors == {"kubernetes.io/arch": "amd64"}


# --- errors -------------------------------------------------------------------------------------

AVAILABLE_MACROS = (
    "data_interval_end, data_interval_start, ds, ds_nodash, logical_date, "
    "prev_data_interval_end_success, prev_data_interval_start_success, prev_end_date_success, "
    "prev_start_date_success, run_id, task_instance_key_str, ts, ts_nodash, ts_nodash_with_tz"
)
PRESETS = (
    "@annually, @continuous, @daily, @hourly, @midnight, @monthly, @once, @quarterly, @weekly, "
    "@yearly"
)
QUANTITY_HELP = "is not a Kubernetes quantity (examples: 500m, 2, 1.5, 512Mi, 4Gi)"
KEY_HELP = (
    "is not a valid Kubernetes key: the name part must be 1-63 letters, digits, '-', '_' or '.', "
    "starting and ending with a letter or digit"
)
VALUE_HELP = (
    "is not a valid Kubernetes label value: at most 63 letters, digits, '-', '_' or '.', "
    "starting and ending with a letter or digit"
)
TAG_HELP = "cannot appear in a Kedro tag: use letters, digits, '-', '_' and '.'"
CRON_FIELDS = (
    "expected 5 fields (minute hour day-of-month month day-of-week) or a preset such as @daily"
)

ERRORS = [
    (
        "in-memory-unknown-key",
        rc(in_memory={"storage": "gs://b/p", "mode": "persist"}),
        "run_config.in_memory.mode: unknown key; valid keys: storage",
    ),
    (
        "in-memory-needs-storage",
        rc(in_memory={}),
        "run_config.in_memory.storage: is required",
    ),
    (
        "in-memory-relative-folder",
        rc(in_memory={"storage": "data/handoff"}),
        "run_config.in_memory.storage: 'data/handoff' is a relative path: give `volume`, a URL "
        "such as gs://bucket/prefix or an absolute folder every pod mounts",
    ),
    (
        "in-memory-memory-protocol",
        rc(in_memory={"storage": "memory://x"}),
        "run_config.in_memory.storage: 'memory://x': fsspec's memory:// lives inside one "
        "process; give storage every pod of the run reads",
    ),
    (
        "in-memory-unknown-protocol",
        rc(in_memory={"storage": "nope://bucket"}),
        "run_config.in_memory.storage: 'nope://bucket': fsspec knows no protocol 'nope'",
    ),
    (
        "in-memory-volume-without-volume",
        rc(in_memory={"storage": "volume"}),
        "run_config: in_memory.storage: volume needs a run_config.volume (absent or disabled here)",
    ),
    (
        "in-memory-volume-disabled",
        rc(in_memory={"storage": "volume"}, volume={"disabled": True}),
        "run_config: in_memory.storage: volume needs a run_config.volume (absent or disabled here)",
    ),
    # unknown keys, at every level
    ("top-did-you-mean", {"run_confg": {}}, "run_confg: unknown key; did you mean 'run_config'?"),
    ("top-valid-keys", {"foo": 1}, "foo: unknown key; valid keys: host, output, run_config"),
    ("top-hostname", {"hostname": "x"}, "hostname: unknown key; did you mean 'host'?"),
    ("run-config", rc(imagee="x"), "run_config.imagee: unknown key; did you mean 'image'?"),
    (
        "run-config-valid-keys",
        rc(zzz=1),
        "run_config.zzz: unknown key; valid keys: image, image_pull_policy, startup_time, "
        "namespace, experiment_name, run_name, cron_expression, start_date, description, "
        "image_pull_secrets, service_account_name, kubernetes_conn_id, owner, retries, "
        "retry_delay, failure_handlers, volume, in_memory, secrets, macro_params, "
        "variables_params, "
        "env_vars, resources, external_dependencies, authentication, kubernetes_pod_templates, "
        "spark, node_tags, group_by, group_spark_nodes, detect_spark, namespace_task_groups, "
        "execution, local",
    ),
    (
        "nested",
        rc(volume={"sise": "1Gi"}),
        "run_config.volume.sise: unknown key; did you mean 'size'?",
    ),
    (
        "nested-auth",
        rc(authentication={"typ": "Null"}),
        "run_config.authentication.typ: unknown key; did you mean 'type'?",
    ),
    (
        "nested-node-tags",
        rc(node_tags={"pyspak": "x"}),
        "run_config.node_tags.pyspak: unknown key; did you mean 'pyspark'?",
    ),
    (
        "list",
        rc(secrets=[{"secret": "a", "deploy_typ": "env"}]),
        "run_config.secrets[0].deploy_typ: unknown key; did you mean 'deploy_type'?",
    ),
    (
        "list-second-item",
        rc(failure_handlers=[{"type": "slack"}, {"type": "slack", "conection_id": "x"}]),
        "run_config.failure_handlers[1].conection_id: unknown key; did you mean 'connection_id'?",
    ),
    (
        "dict",
        rc(resources={"__default__": {"requests": {"cpu": "1"}, "limts": {}}}),
        "run_config.resources.__default__.limts: unknown key; did you mean 'limits'?",
    ),
    (
        "dict-then-list",
        profile(tolerations=[{"tolerationSecond": 3}]),
        "run_config.resources.p.tolerations[0].tolerationSecond: unknown key; "
        "did you mean 'tolerationSeconds'?",
    ),
    (
        "dict-with-missing-key",
        rc(kubernetes_pod_templates={"gpu": {"templat": "x"}}),
        "run_config.kubernetes_pod_templates.gpu.templat: unknown key; did you mean 'template'? "
        "(and 1 more problem)",
    ),
    # required keys
    ("spark-type-required", rc(spark={}), "run_config.spark.type: is required"),
    ("secret-required", rc(secrets=[{}]), "run_config.secrets[0].secret: is required"),
    (
        "failure-type-required",
        rc(failure_handlers=[{}]),
        "run_config.failure_handlers[0].type: is required",
    ),
    (
        "dag-id-required",
        rc(external_dependencies=[{"task_id": "x"}]),
        "run_config.external_dependencies[0].dag_id: is required",
    ),
    (
        "template-required",
        rc(kubernetes_pod_templates={"t": {}}),
        "run_config.kubernetes_pod_templates.t.template: is required",
    ),
    # wrong types
    (
        "str-for-int",
        rc(startup_time="10"),
        "run_config.startup_time: input should be a valid integer (got '10')",
    ),
    (
        "float-for-int",
        rc(retries=1.0),
        "run_config.retries: input should be a valid integer (got 1.0)",
    ),
    (
        "bool-for-int",
        rc(retries=True),
        "run_config.retries: input should be a valid integer (got True)",
    ),
    (
        "none-for-int",
        rc(startup_time=None),
        "run_config.startup_time: input should be a valid integer (got None)",
    ),
    (
        "int-for-bool",
        rc(group_spark_nodes=1),
        "run_config.group_spark_nodes: input should be a valid boolean (got 1)",
    ),
    (
        "str-for-bool",
        rc(volume={"skip_init": "yes"}),
        "run_config.volume.skip_init: input should be a valid boolean (got 'yes')",
    ),
    (
        "list-for-dict",
        rc(resources=[]),
        "run_config.resources: input should be a mapping (got [])",
    ),
    (
        "dict-for-list",
        rc(secrets={"a": 1}),
        "run_config.secrets: input should be a valid list (got {'a': 1})",
    ),
    (
        "str-for-list",
        rc(macro_params="ds"),
        "run_config.macro_params: input should be a valid list (got 'ds')",
    ),
    (
        "int-for-list",
        rc(image_pull_secrets=5),
        "run_config.image_pull_secrets: input should be a valid list (got 5)",
    ),
    ("int-for-str", rc(image=5), "run_config.image: input should be a valid string (got 5)"),
    (
        "none-for-str",
        rc(namespace=None),
        "run_config.namespace: input should be a valid string (got None)",
    ),
    (
        "int-in-str-list",
        rc(env_vars=["A", 2]),
        "run_config.env_vars[1]: input should be a valid string (got 2)",
    ),
    (
        "list-for-section",
        {"run_config": []},
        "run_config: input should be a mapping (got [])",
    ),
    (
        "str-for-section",
        rc(authentication="Vars"),
        "run_config.authentication: input should be a mapping (got 'Vars')",
    ),
    (
        "str-for-list-item",
        rc(secrets=["secret-name"]),
        "run_config.secrets[0]: input should be a mapping (got 'secret-name')",
    ),
    (
        "int-for-profile",
        rc(resources={"gpu": 1}),
        "run_config.resources.gpu: input should be a mapping (got 1)",
    ),
    ("int-for-host", {"host": 80}, "host: input should be a valid string (got 80)"),
    (
        "bool-quantity",
        profile(requests={"cpu": True}),
        "run_config.resources.p.requests.cpu: input should be a valid string, integer or number "
        "(got True)",
    ),
    (
        "list-quantity",
        profile(limits={"memory": [1]}),
        "run_config.resources.p.limits.memory: input should be a valid string, integer or number "
        "(got [1])",
    ),
    (
        "int-key",
        rc(resources={5: {}}),
        "run_config.resources[5]: input should be a valid string (got 5)",
    ),
    ("int-key-top", {5: 1}, "[5]: keys should be strings"),
    (
        "int-label",
        profile(labels={"a": 1}),
        "run_config.resources.p.labels.a: input should be a valid string (got 1)",
    ),
    (
        "long-value-shortened",
        rc(image=list(range(40))),
        "run_config.image: input should be a valid string (got [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, "
        "11, 12, 13, 14, 15, 16...)",
    ),
    (
        "two-problems",
        rc(image=5, namespace=7),
        "run_config.image: input should be a valid string (got 5) (and 1 more problem)",
    ),
    (
        "three-problems",
        rc(image=5, namespace=7, owner=8),
        "run_config.image: input should be a valid string (got 5) (and 2 more problems)",
    ),
    # bad values
    (
        "pull-policy",
        rc(image_pull_policy="always"),
        "run_config.image_pull_policy: input should be 'IfNotPresent', 'Always' or 'Never' (got "
        "'always')",
    ),
    (
        "namespace-underscore",
        rc(namespace="My_NS"),
        "run_config.namespace: 'My_NS' is not a valid Kubernetes namespace (a DNS-1123 label)",
    ),
    (
        "namespace-too-long",
        rc(namespace="a" * 64),
        f"run_config.namespace: '{'a' * 64}' is not a valid Kubernetes namespace (a DNS-1123 "
        "label)",
    ),
    (
        "namespace-trailing-dash",
        rc(namespace="ns-"),
        "run_config.namespace: 'ns-' is not a valid Kubernetes namespace (a DNS-1123 label)",
    ),
    (
        "startup-zero",
        rc(startup_time=0),
        "run_config.startup_time: input should be greater than 0 (got 0)",
    ),
    (
        "retries-negative",
        rc(retries=-1),
        "run_config.retries: input should be greater than or equal to 0 (got -1)",
    ),
    (
        "retry-delay-negative",
        rc(retry_delay=-5),
        "run_config.retry_delay: input should be greater than or equal to 0 (got -5)",
    ),
    (
        "start-date-day-first",
        rc(start_date="21-07-2021"),
        "run_config.start_date: '21-07-2021' is not a date in the form YYYYMMDD",
    ),
    (
        "start-date-seven-digits",
        rc(start_date="2021111"),
        "run_config.start_date: '2021111' is not a date in the form YYYYMMDD",
    ),
    (
        "start-date-short-int",
        rc(start_date=202171),
        "run_config.start_date: '202171' is not a date in the form YYYYMMDD",
    ),
    (
        "start-date-trailing-newline",
        rc(start_date="20210721\n"),
        "run_config.start_date: '20210721\\n' is not a date in the form YYYYMMDD",
    ),
    (
        "start-date-slashes",
        rc(start_date="2021/07/21"),
        "run_config.start_date: '2021/07/21' is not a date in the form YYYYMMDD",
    ),
    (
        "start-date-iso-bad-day",
        rc(start_date="2021-02-30"),
        "run_config.start_date: '2021-02-30' is not a date in the form YYYYMMDD",
    ),
    (
        "start-date-int-bad-month",
        rc(start_date=20211345),
        "run_config.start_date: '20211345' is not a date in the form YYYYMMDD",
    ),
    (
        "start-date-bool",
        rc(start_date=True),
        "run_config.start_date: input should be a valid string (got True)",
    ),
    (
        "cron-out-of-range",
        rc(cron_expression="61 * * * *"),
        "run_config.cron_expression: '61 * * * *' is not a cron expression: minute field '61': "
        "out of range",
    ),
    (
        "cron-month-out-of-range",
        rc(cron_expression="0 0 1 13 *"),
        "run_config.cron_expression: '0 0 1 13 *' is not a cron expression: month field '13': "
        "out of range",
    ),
    (
        "cron-never-runs",
        rc(cron_expression="0 0 31 2 *"),
        "run_config.cron_expression: '0 0 31 2 *' never runs: no date matches it",
    ),
    (
        "cron-field-count",
        rc(cron_expression="* * *"),
        f"run_config.cron_expression: '* * *' is not a cron expression: {CRON_FIELDS}",
    ),
    (
        "cron-six-fields",
        rc(cron_expression="0 0 * * * *"),
        f"run_config.cron_expression: '0 0 * * * *' is not a cron expression: {CRON_FIELDS}",
    ),
    (
        "cron-unknown-preset",
        rc(cron_expression="@fortnightly"),
        "run_config.cron_expression: '@fortnightly' is not an Airflow preset; use one of "
        f"{PRESETS}",
    ),
    (
        "cron-int",
        rc(cron_expression=5),
        "run_config.cron_expression: input should be a valid string (got 5)",
    ),
    (
        "quantity",
        profile(requests={"cpu": "1 core"}),
        f"run_config.resources.p.requests: '1 core' {QUANTITY_HELP}",
    ),
    (
        "quantity-unit",
        profile(limits={"memory": "4GB"}),
        f"run_config.resources.p.limits: '4GB' {QUANTITY_HELP}",
    ),
    ("volume-size", rc(volume={"size": "big"}), f"run_config.volume.size: 'big' {QUANTITY_HELP}"),
    (
        "resource-name-cpuu",
        profile(requests={"cpuu": "1"}),
        "run_config.resources.p.requests: 'cpuu' is not a Kubernetes resource name; did you mean "
        "'cpu'?",
    ),
    (
        "resource-name-memroy",
        profile(limits={"memroy": "1Gi"}),
        "run_config.resources.p.limits: 'memroy' is not a Kubernetes resource name; did you mean "
        "'memory'?",
    ),
    (
        "resource-name-gpu",
        profile(limits={"gpu": 1}),
        "run_config.resources.p.limits: 'gpu' is not a Kubernetes resource name; "
        "did you mean 'nvidia.com/gpu'?",
    ),
    (
        "resource-name-unknown",
        profile(limits={"disk": 1}),
        "run_config.resources.p.limits: 'disk' is not a Kubernetes resource name; use cpu, memory, "
        "ephemeral-storage, hugepages-<size> or a prefixed name such as nvidia.com/gpu",
    ),
    (
        "label-key",
        profile(labels={"-bad": "x"}),
        f"run_config.resources.p.labels: '-bad' {KEY_HELP}",
    ),
    (
        "label-key-too-long",
        profile(node_selectors={"k" * 64: "x"}),
        f"run_config.resources.p.node_selectors: '{'k' * 64}' {KEY_HELP}",
    ),
    (
        "label-key-prefix",
        profile(labels={"Example.com/name": "x"}),
        "run_config.resources.p.labels: 'Example.com/name' is not a valid Kubernetes key: bad "
        "prefix 'Example.com'",
    ),
    (
        "annotation-key",
        profile(annotations={"a/b/c": "x"}),
        "run_config.resources.p.annotations: 'a/b/c' is not a valid Kubernetes key: bad prefix "
        "'a/b'",
    ),
    (
        "label-value",
        profile(labels={"ok": "bad value"}),
        f"run_config.resources.p.labels: 'bad value' {VALUE_HELP}",
    ),
    (
        "label-value-too-long",
        profile(labels={"ok": "v" * 64}),
        f"run_config.resources.p.labels: '{'v' * 64}' {VALUE_HELP}",
    ),
    (
        "toleration-exists-with-value",
        profile(tolerations=[{"key": "k", "operator": "Exists", "value": "v"}]),
        "run_config.resources.p.tolerations[0]: a toleration with operator Exists must not set "
        "value",
    ),
    (
        "toleration-operator",
        profile(tolerations=[{"operator": "In"}]),
        "run_config.resources.p.tolerations[0].operator: input should be 'Equal' or 'Exists' (got "
        "'In')",
    ),
    (
        "toleration-effect",
        profile(tolerations=[{"effect": "NoRun"}]),
        "run_config.resources.p.tolerations[0].effect: input should be 'NoSchedule', "
        "'PreferNoSchedule' or 'NoExecute' (got 'NoRun')",
    ),
    (
        "affinity-kind",
        profile(affinity={"nodeAfinity": {}}),
        "run_config.resources.p.affinity.nodeAfinity: unknown key; did you mean 'nodeAffinity'?",
    ),
    (
        "affinity-deep-typo",
        profile(
            affinity={
                "podAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [
                        {"topologyKey": "zone", "labelSelector": {"matchLabel": {"a": "b"}}}
                    ]
                }
            }
        ),
        "run_config.resources.p.affinity.podAffinity.requiredDuringSchedulingIgnoredDuring"
        "Execution[0].labelSelector.matchLabel: unknown key; did you mean 'matchLabels'?",
    ),
    (
        "affinity-operator",
        profile(
            affinity={
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {"matchExpressions": [{"key": "k", "operator": "in"}]}
                        ]
                    }
                }
            }
        ),
        "run_config.resources.p.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuring"
        "Execution.nodeSelectorTerms[0].matchExpressions[0].operator: input should be 'In', "
        "'NotIn', 'Exists', 'DoesNotExist', 'Gt' or 'Lt' (got 'in')",
    ),
    (
        "secret-volume-without-path",
        rc(secrets=[{"secret": "s", "deploy_type": "volume"}]),
        "run_config.secrets[0]: a volume secret needs deploy_target: an absolute mount path",
    ),
    (
        "secret-volume-relative-path",
        rc(secrets=[{"secret": "s", "deploy_type": "volume", "deploy_target": "secrets"}]),
        "run_config.secrets[0]: a volume secret needs deploy_target: an absolute mount path",
    ),
    (
        "secret-env-key-without-target",
        rc(secrets=[{"secret": "s", "key": "k"}]),
        "run_config.secrets[0]: an env secret with a key needs deploy_target: the variable name",
    ),
    (
        "secret-env-target-without-key",
        rc(secrets=[{"secret": "s", "deploy_target": "VAR"}]),
        "run_config.secrets[0]: deploy_target needs key: which key of the Secret to expose",
    ),
    (
        "secret-env-bad-variable",
        rc(secrets=[{"secret": "s", "key": "k", "deploy_target": "1VAR"}]),
        "run_config.secrets[0]: '1VAR' is not a valid environment variable name",
    ),
    (
        "secret-name",
        rc(secrets=[{"secret": "Bad_Name"}]),
        "run_config.secrets[0]: secret name 'Bad_Name' is not a valid Kubernetes name",
    ),
    (
        "secret-deploy-type",
        rc(secrets=[{"secret": "s", "deploy_type": "file"}]),
        "run_config.secrets[0].deploy_type: input should be 'env' or 'volume' (got 'file')",
    ),
    (
        "failure-placeholder",
        rc(failure_handlers=[{"type": "slack", "message_template": "{task} {foo}"}]),
        "run_config.failure_handlers[0].message_template: unknown placeholder {foo}; use {dag}, "
        "{execution_time}, {task}, {url}",
    ),
    (
        "failure-type",
        rc(failure_handlers=[{"type": "email"}]),
        "run_config.failure_handlers[0].type: input should be 'slack' (got 'email')",
    ),
    (
        "auth-vars-without-params",
        rc(authentication={"type": "Vars"}),
        "run_config.authentication: type Vars needs params: the Airflow Variable names to export",
    ),
    (
        "auth-bad-param",
        rc(authentication={"type": "Vars", "params": ["1x"]}),
        "run_config.authentication: '1x' is not a valid environment variable name",
    ),
    (
        "auth-type",
        rc(authentication={"type": "Basic"}),
        "run_config.authentication.type: input should be 'Null', 'GoogleOAuth2' or 'Vars' (got "
        "'Basic')",
    ),
    (
        "spark-custom-without-factory",
        rc(spark={"type": "custom"}),
        "run_config.spark: spark type custom needs operator_factory",
    ),
    (
        "spark-unknown-type",
        rc(spark={"type": "emr"}),
        "run_config.spark.type: input should be 'dataproc', 'k8s', 'kubernetes' or 'custom' (got "
        "'emr')",
    ),
    (
        "macro-prev-ds",
        rc(macro_params=["ds", "prev_ds"]),
        "run_config.macro_params: macro 'prev_ds' does not exist in Airflow 3; use "
        "'prev_data_interval_start_success'",
    ),
    (
        "macro-execution-date",
        rc(macro_params=["execution_date"]),
        "run_config.macro_params: macro 'execution_date' does not exist in Airflow 3; use "
        "'logical_date'",
    ),
    (
        "macro-next-ds",
        rc(macro_params=["next_ds"]),
        "run_config.macro_params: macro 'next_ds' does not exist in Airflow 3; use "
        "'data_interval_end'",
    ),
    (
        "macro-yesterday-ds",
        rc(macro_params=["yesterday_ds"]),
        "run_config.macro_params: macro 'yesterday_ds' does not exist in Airflow 3; use 'ds'",
    ),
    (
        "macro-unknown",
        rc(macro_params=["foo"]),
        f"run_config.macro_params: unknown macro 'foo'; available: {AVAILABLE_MACROS}",
    ),
    (
        "env-var-name",
        rc(env_vars=["a-b"]),
        "run_config.env_vars: 'a-b' is not a valid variable name",
    ),
    (
        "variables-param-name",
        rc(variables_params=["my var"]),
        "run_config.variables_params: 'my var' is not a valid variable name",
    ),
    (
        "node-tag-colon",
        rc(node_tags={"group_prefix": "airflow:"}),
        f"run_config.node_tags.group_prefix: 'airflow:' {TAG_HELP}",
    ),
    (
        "node-tag-pyspark-colon",
        rc(node_tags={"pyspark": "kedro-airflow-k8s:group:pyspark"}),
        f"run_config.node_tags.pyspark: 'kedro-airflow-k8s:group:pyspark' {TAG_HELP}",
    ),
    (
        "node-tag-resources-colon",
        rc(node_tags={"resources_prefix": "resources:"}),
        f"run_config.node_tags.resources_prefix: 'resources:' {TAG_HELP}",
    ),
    (
        "node-tag-empty",
        rc(node_tags={"machine_prefix": ""}),
        f"run_config.node_tags.machine_prefix: '' {TAG_HELP}",
    ),
    ("host-scheme", {"host": "ftp://x"}, "host: 'ftp://x' is not an http:// or https:// URL"),
    (
        "host-empty",
        {"host": ""},
        "host: is empty; write the Airflow URL (http:// or https://) here in "
        "kedro-airflow-k8s.yaml, or remove the key",
    ),
    (
        "host-blank",
        {"host": "  "},
        "host: is empty; write the Airflow URL (http:// or https://) here in "
        "kedro-airflow-k8s.yaml, or remove the key",
    ),
    (
        "host-no-scheme",
        {"host": "airflow:8080"},
        "host: 'airflow:8080' is not an http:// or https:// URL",
    ),
    (
        "image",
        rc(image="bad image"),
        "run_config.image: 'bad image' is not a valid image reference",
    ),
    ("run-name-blank", rc(run_name=" "), "run_config.run_name: run_name must not be empty"),
    (
        "group-by",
        rc(group_by="tags"),
        "run_config.group_by: input should be 'none', 'memory', 'namespace' or 'chain' (got "
        "'tags')",
    ),
    (
        "access-mode",
        rc(volume={"access_modes": ["RWO"]}),
        "run_config.volume.access_modes[0]: input should be 'ReadWriteOnce', 'ReadWriteMany', "
        "'ReadOnlyMany' or 'ReadWriteOncePod' (got 'RWO')",
    ),
    (
        "dependency-dag-id",
        rc(external_dependencies=[{"dag_id": "a b"}]),
        "run_config.external_dependencies[0].dag_id: 'a b' is not a valid Airflow id",
    ),
    (
        "dependency-timeout",
        rc(external_dependencies=[{"dag_id": "x", "timeout": 0}]),
        "run_config.external_dependencies[0].timeout: input should be greater than 0 (got 0)",
    ),
    (
        "dependency-delta",
        rc(external_dependencies=[{"dag_id": "x", "execution_delta": -1}]),
        "run_config.external_dependencies[0].execution_delta: input should be greater than or "
        "equal to 0 (got -1)",
    ),
    (
        "not-a-mapping",
        ["run_config"],
        "(top level): must be a mapping of keys, not list",
    ),
]


@pytest.mark.parametrize(
    ("document", "expected"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_error_messages(document, expected):
    message = error_of(document)
    assert message == PREFIX + expected
    assert "\n" not in message


def _sections(
    model: type[BaseModel], path: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], type[BaseModel]]]:
    """Every place in the config that holds a mapping of keys (a model), directly, as a list
    item or as the value of a named entry: its key path and its model."""
    for name, field in model.model_fields.items():
        key = (*path, field.alias or name)
        annotation = declared_type(field.annotation)
        union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
        for branch in typing.get_args(annotation) if union else (annotation,):
            inner = typing.get_args(branch)
            if typing.get_origin(branch) is list:
                step, branch = (0,), inner[0]
            elif typing.get_origin(branch) is dict:
                step, branch = ("entry",), inner[1]
            else:
                step = ()
            if isinstance(branch, type) and issubclass(branch, BaseModel):
                yield (*key, *step), branch
                yield from _sections(branch, (*key, *step))


def _document(path: tuple[Any, ...], value: Any) -> Any:
    for step in reversed(path):
        value = [value] if isinstance(step, int) else {step: value}
    return value


def test_no_message_names_a_class_of_the_models():
    # The user writes YAML: a section given a scalar is told it should be "a mapping".
    sections = list(_sections(PluginConfig))
    assert (("run_config", "resources", "entry", "tolerations", 0), Toleration) in sections
    names = {model.__name__ for _, model in sections}
    for path, _ in sections:
        message = error_of(_document(path, 5))
        assert not any(re.search(rf"\b{name}\b", message) for name in names), message
        assert "dictionary" not in message, message
        # Else a required key beside it is reported first (the document holds only the path).
        if "is required" not in message:
            assert ": input should be a mapping (got 5)" in message, message


def test_a_union_with_a_section_is_told_in_yaml_terms_too():
    class Section(BaseModel):
        key: int

    class Document(BaseModel):
        value: StrictStr | Section

    with pytest.raises(ValidationError) as caught:
        Document.model_validate({"value": 5})
    assert format_validation_error(caught.value, {"value": 5}) == (
        "value: input should be a valid string or mapping (got 5)"
    )


def test_error_ids_are_unique():
    ids = [e[0] for e in ERRORS]
    assert len(ids) == len(set(ids))


def test_unknown_key_is_reported_before_other_problems():
    # The misspelt "template" is also reported as missing: the unknown key explains it.
    message = error_of(rc(image=5, kubernetes_pod_templates={"t": {"templte": "x"}}))
    assert message.startswith(PREFIX + "run_config.kubernetes_pod_templates.t.templte: unknown key")


def test_multiline_values_stay_on_one_line():
    message = error_of(rc(cron_expression="0 0\n* *"))
    assert "\n" not in message
    assert message == (
        PREFIX + "run_config.cron_expression: '0 0\\n* *' is not a cron expression: " + CRON_FIELDS
    )


def test_validation_error_keeps_the_pydantic_error_as_its_cause():
    from pydantic import ValidationError

    with pytest.raises(ConfigError) as caught:
        parse_config(rc(startup_time="x"))
    assert isinstance(caught.value.__cause__, ValidationError)
    assert "\n" not in caught.value.message


def test_a_key_of_another_spark_type_at_its_default_reads_back() -> None:
    """A dumped config holds every key at its default; reading it back must work."""
    spark = parse_config(rc(spark={"type": "k8s", **SPARK_NEEDS["k8s"]})).run_config.spark
    assert spark is not None
    again = parse_config(rc(spark=spark.model_dump())).run_config.spark
    assert again == spark


@pytest.mark.parametrize(
    ("storage", "kept"),
    [
        ("gs://bucket/prefix/", "gs://bucket/prefix"),
        ("s3://bucket", "s3://bucket"),
        ("/mnt/shared/runs/", "/mnt/shared/runs"),
        ("file:///mnt/shared", "file:///mnt/shared"),
        ("volume", "volume"),
    ],
)
def test_in_memory_storage_forms(storage: str, kept: str) -> None:
    document = rc(in_memory={"storage": storage}, volume={"size": "1Gi"})
    in_memory = parse_config(document).run_config.in_memory
    assert in_memory is not None and in_memory.storage == kept


# --- models of optional keys are built when a value of them is given -----------------------------


def test_the_models_of_absent_keys_are_not_defined() -> None:
    """A config without the optional sections never imports the modules of their models, in a
    fresh interpreter; a section given defines its models, and the models defined without a
    value of them (local execution, authentication: their defaults) stay unbuilt."""
    code = textwrap.dedent(
        """
        import json, sys
        from kedro_airflow_k8s.config import parse_config
        from kedro_airflow_k8s.config.base import OnUseModel

        def defined():
            found, stack = {}, [OnUseModel]
            while stack:
                for model in stack.pop().__subclasses__():
                    stack.append(model)
                    found[model.__name__] = model.__pydantic_complete__
            return found

        first = parse_config({"run_config": {"image": "i", "resources": {"p": {}}}})
        before = defined()
        modules = sorted(m for m in sys.modules if m.startswith("kedro_airflow_k8s"))
        spark = {"type": "k8s", "run_script": "/r.py"}
        profile = {"tolerations": [{"key": "k"}], "affinity": {"nodeAffinity": {}}}
        parse_config({"run_config": {"image": "i", "spark": spark, "resources": {"p": profile}}})
        print(json.dumps([before, modules, defined(), first.run_config.resources["p"].affinity]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    before, modules, after, affinity = json.loads(done.stdout)
    optional = {
        "config.scheduling",
        "config.secrets",
        "features.alerts.config",
        "features.in_memory.config",
        "features.pod_templates.config",
        "features.sensors.config",
        "features.spark.config",
        "features.volume.config",
    }
    assert not {f"kedro_airflow_k8s.{name}" for name in optional} & set(modules)
    assert set(before) == {"Authentication", "LocalExecutionConfig"}
    assert not any(before.values())  # made by model_construct: not built
    assert {"SparkConfig", "Toleration", "Affinity", "NodeAffinity"} <= set(after)
    assert "VolumeConfig" not in after
    assert affinity is None


def test_errors_in_a_section_built_on_use_count_with_the_others() -> None:
    document = rc(
        image=5,
        spark={"project_id": "p", "region": "r", "bogus": 1},
        resources={"p": {"tolerations": [{"key": "k", "operator": "Sometimes"}]}},
    )
    with pytest.raises(ValidationError) as caught:
        PluginConfig.model_validate(document)
    locs = {tuple(e["loc"]) for e in caught.value.errors()}
    assert ("run_config", "spark", "bogus") in locs
    assert ("run_config", "resources", "p", "tolerations", 0, "operator") in locs
    assert ("run_config", "spark", "type") in locs  # missing
    assert error_of(document).endswith("(and 3 more problems)")
    assert "config: run_config.spark.bogus: unknown key; valid keys: type, " in error_of(
        rc(spark={"type": "k8s", "run_script": "/r.py", "bogus": 1})
    )


def test_the_json_schema_describes_the_keys_built_on_use() -> None:
    """The JSON schema (for editors, or validating the YAML elsewhere) still describes the
    optional sections: built from their declared types when it is asked for."""
    schema = PluginConfig.model_json_schema()
    text = json.dumps(schema)
    run_config = schema["$defs"]["RunConfig"]["properties"]
    assert run_config["spark"]["anyOf"][0] == {"$ref": "#/$defs/SparkConfig"}
    assert run_config["failure_handlers"]["items"] == {"$ref": "#/$defs/FailureHandler"}
    for key in ("nodeAffinity", "podAntiAffinity", "tolerationSeconds", "deploy_type"):
        assert f'"{key}"' in text, key


@pytest.mark.parametrize(
    ("model", "name"),
    [
        (model, name)
        for model in (RunConfig, ResourceProfile)
        for name, field in model.model_fields.items()
        if field.default_factory is not None and isinstance(field.default_factory(), BaseModel)  # type: ignore[call-arg]
    ],
)
def test_defaults_made_without_validation_equal_validated_ones(model: Any, name: str) -> None:
    """Defaults that are models (``model_construct`` for the keys built on use, which runs no
    validator) equal what validating an empty value gives."""
    default = model.model_fields[name].default_factory()
    validated = type(default).model_validate({})
    assert default == validated
    assert default.model_dump() == validated.model_dump()
