"""The keys of spark jobs: ``run_config.spark``."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from kedro_airflow_k8s.config.base import ENV_NAME, LABEL_NAME, QUANTITY, OnUseModel

_SPARK_CLUSTER_BASE = re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")
_PYTHON_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


class SparkLocalStorage(OnUseModel):
    """An on-demand volume for Spark's local (spill) directory, on the driver and executors."""

    storage_class: StrictStr = Field(description="Storage class of the on-demand claims.")
    size: StrictStr = Field(description="Size of each claim, a Kubernetes quantity (`50Gi`).")
    mount_path: StrictStr = Field("/storage", description="Where the volume is mounted.")

    @field_validator("size")
    @classmethod
    def _quantity(cls, value: str) -> str:
        if not QUANTITY.match(value):
            raise ValueError(f"{value!r} is not a Kubernetes quantity such as 50Gi")
        return value

    @field_validator("mount_path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"{value!r} must be an absolute path")
        return value


# The keys each spark type reads besides the common ones; any other key is an error.
_SPARK_COMMON_KEYS = frozenset({"type", "artifacts_path", "project_home", "runner", "conf"})
_CLUSTER_KEYS = frozenset(
    {"region", "project_id", "cluster_name", "cluster_config", "user_init_path"}
    | {"user_post_init_path"}
)
_SPARK_TYPE_KEYS: dict[str, frozenset[str]] = {
    "dataproc": _CLUSTER_KEYS | {"gcp_conn_id"},
    "k8s": frozenset(
        {"conn_id", "image", "namespace", "service_account_name", "run_script", "env_vars"}
        | {"labels", "driver_port", "block_manager_port", "local_storage"}
    ),
    "custom": _CLUSTER_KEYS | {"operator_factory"},
}


class SparkConfig(OnUseModel):
    """How spark groups of the pipeline run: one Spark job per group.

    Without this section spark groups run as pods of the project image like any other task.
    """

    type: Literal["dataproc", "k8s", "kubernetes", "custom"] = Field(
        description="`dataproc` (an ephemeral Dataproc cluster per DAG run), `k8s` (alias "
        "`kubernetes`: spark-submit to a Kubernetes master) or `custom` (`operator_factory`)."
    )
    operator_factory: StrictStr | None = Field(
        None,
        description="With `custom`: dotted path of a class deriving from "
        "`kedro_airflow_k8s.spark.SparkOperatorFactoryBase`.",
    )
    region: StrictStr | None = Field(
        None,
        description="With `dataproc` (required) and `custom`: cloud region of the cluster.",
    )
    project_id: StrictStr | None = Field(
        None,
        description="With `dataproc` (required) and `custom`: cloud project of the cluster.",
    )
    cluster_name: StrictStr | None = Field(
        None,
        description="With `dataproc` and `custom`: base name of the ephemeral cluster "
        "(lowercase letters, digits, `-`; at most 40 characters); a suffix per DAG run is "
        "added. Default: from run_name.",
    )
    artifacts_path: StrictStr | None = Field(
        None,
        description="Where the init script, project archive and run scripts are uploaded with "
        "the DAG (gs://, s3:// or a local folder). Required for `dataproc` and `custom`.",
    )
    user_init_path: StrictStr | None = Field(
        None,
        description="With `dataproc` and `custom`: script (relative to src/) prepended to the "
        "generated init script.",
    )
    user_post_init_path: StrictStr | None = Field(
        None,
        description="With `dataproc` and `custom`: script (relative to src/) appended to the "
        "generated init script.",
    )
    cluster_config: dict[StrictStr, Any] = Field(
        default_factory=dict,
        description="With `dataproc`: the Dataproc API's ClusterConfig, passed as written (the "
        "init script is added to its initialization actions); with `custom`: handed to the "
        "factory as `SparkCluster.cluster_config`.",
    )
    project_home: StrictStr | None = Field(
        None,
        description="Where the init script unpacks the project on the cluster's machines "
        "(exported to the scripts as PROJECT_HOME). Default: /opt/kedro/<package>.",
    )
    runner: StrictStr = Field(
        "ThreadRunner", description="Kedro runner of a spark group's nodes (name or dotted path)."
    )
    conf: dict[StrictStr, StrictStr | StrictInt | StrictFloat | StrictBool] = Field(
        default_factory=dict,
        description="Extra Spark properties of every job (they win over the generated ones).",
    )
    gcp_conn_id: StrictStr = Field(
        "google_cloud_default", description="With `dataproc`: Airflow connection to Google Cloud."
    )
    conn_id: StrictStr = Field(
        "spark_default",
        description="With `k8s`: Airflow Spark connection whose host is the master, e.g. "
        "`k8s://https://kubernetes.default.svc`.",
    )
    image: StrictStr | None = Field(
        None,
        description="With `k8s`: image with Spark and the project installed. Default: the node "
        "image.",
    )
    namespace: StrictStr | None = Field(
        None, description="With `k8s`: namespace of the driver and executors. Default: namespace."
    )
    service_account_name: StrictStr | None = Field(
        None,
        description="With `k8s`: service account of the driver. Default: "
        "run_config.service_account_name, else `default`.",
    )
    run_script: StrictStr | None = Field(
        None,
        description="With `k8s`: the runner script spark-submit starts, e.g. "
        "`local:///home/kedro/spark_run.py` inside the image. Default: the generated run script "
        "uploaded to artifacts_path.",
    )
    env_vars: dict[StrictStr, StrictStr] = Field(
        default_factory=dict, description="With `k8s`: environment of the driver and executors."
    )
    labels: dict[StrictStr, StrictStr] = Field(
        default_factory=dict, description="With `k8s`: labels of the driver and executor pods."
    )
    driver_port: StrictInt | None = Field(
        None, gt=0, lt=65536, description="With `k8s`: `spark.driver.port`."
    )
    block_manager_port: StrictInt | None = Field(
        None, gt=0, lt=65536, description="With `k8s`: `spark.blockManager.port`."
    )
    local_storage: SparkLocalStorage | None = Field(
        None, description="With `k8s`: an on-demand volume for Spark's local directory."
    )

    @field_validator("type")
    @classmethod
    def _alias(cls, value: str) -> str:
        return "k8s" if value == "kubernetes" else value

    @field_validator("*")
    @classmethod
    def _of_this_type(cls, value: Any, info: ValidationInfo) -> Any:
        """A key of another spark type is an error: it would be ignored. (Its default value
        changes nothing, so a dumped config reads back.)"""
        spark_type = info.data.get("type")
        field = info.field_name or ""
        if spark_type is None or field in _SPARK_COMMON_KEYS:
            return value
        if value == cls.model_fields[field].get_default(call_default_factory=True):
            return value
        types = [t for t, keys in _SPARK_TYPE_KEYS.items() if field in keys]
        if spark_type not in types:
            hint = ""
            if field == "cluster_config" and spark_type == "k8s":
                hint = (
                    "; Spark properties such as spark.executor.instances go under "
                    "run_config.spark.conf, the runner script under run_script"
                )
            raise ValueError(
                f"not a setting of spark type {spark_type} (only of {' and '.join(types)}){hint}"
            )
        return value

    @field_validator("cluster_name")
    @classmethod
    def _cluster_name(cls, value: str | None) -> str | None:
        if value is not None and not _SPARK_CLUSTER_BASE.match(value):
            raise ValueError(
                f"{value!r}: use lowercase letters, digits and '-', starting with a letter, "
                "at most 40 characters"
            )
        return value

    @field_validator("operator_factory")
    @classmethod
    def _dotted(cls, value: str | None) -> str | None:
        if value is not None and not _PYTHON_DOTTED.match(value):
            raise ValueError(f"{value!r} is not a dotted path such as my_project.spark.Factory")
        return value

    @field_validator("env_vars")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid environment variable name")
        return value

    @field_validator("labels")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not LABEL_NAME.match(name.rsplit("/", 1)[-1]):
                raise ValueError(f"{name!r} is not a valid Kubernetes label name")
        return value

    @model_validator(mode="after")
    def _per_type(self) -> SparkConfig:
        if self.type == "custom" and not self.operator_factory:
            raise ValueError("spark type custom needs operator_factory")
        if self.type == "dataproc":
            for key in ("region", "project_id", "artifacts_path"):
                if not getattr(self, key):
                    raise ValueError(f"spark type dataproc needs {key}")
        if self.type == "custom" and not self.artifacts_path:
            raise ValueError("spark type custom needs artifacts_path")
        if self.type == "k8s" and not (self.run_script or self.artifacts_path):
            raise ValueError("spark type k8s needs run_script (in the image) or artifacts_path")
        return self
