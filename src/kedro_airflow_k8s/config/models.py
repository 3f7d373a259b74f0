"""Typed models of ``kedro-airflow-k8s.yaml``: the whole file (:class:`PluginConfig`) and its
``run_config`` (:class:`RunConfig`).

Every key is declared with its type, default and description; the description is the
documentation (the configuration reference is generated from the models). Unknown keys are
rejected, so a typo never silently falls back to a default. The Kubernetes settings of the pods
are in :mod:`.kubernetes` (a profile's tolerations and affinity in :mod:`.scheduling`, the Secrets
in :mod:`.secrets`); each optional feature's keys are in its home under ``features/``. The
models of optional keys are defined when a config gives them (:func:`.base.defined_on_use`).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

from pydantic import Field, StrictBool, StrictInt, StrictStr, field_validator, model_validator

from kedro_airflow_k8s.config.base import (
    BUILT_ON_USE,
    DEFAULT_START_DATE,
    DNS_LABEL,
    EARLIEST_START,
    ENV_NAME,
    INT32_MAX,
    ISO_DATE,
    LATEST_START,
    MAX_SECONDS,
    TAG_TEXT,
    YYYYMMDD,
    ConfigModel,
    check_image,
    check_object_name,
    defined_on_use,
    empty_list,
    yyyymmdd,
)
from kedro_airflow_k8s.config.cron import PRESETS, first_run_after, validate_schedule
from kedro_airflow_k8s.config.kubernetes import ResourceProfile
from kedro_airflow_k8s.features.in_memory import IN_MEMORY_ON_VOLUME
from kedro_airflow_k8s.features.local.config import (
    EXECUTION_KUBERNETES,
    Execution,
    LocalExecutionConfig,
)
from kedro_airflow_k8s.features.mlflow.config import Authentication

# The models of the optional sections are defined when a config gives the section (see
# defined_on_use); the defaults of local and authentication are made from their models.
if TYPE_CHECKING:
    from kedro_airflow_k8s.config.secrets import SecretConfig
    from kedro_airflow_k8s.features.alerts.config import FailureHandler
    from kedro_airflow_k8s.features.in_memory.config import InMemoryConfig
    from kedro_airflow_k8s.features.pod_templates.config import PodTemplate
    from kedro_airflow_k8s.features.sensors.config import ExternalDependency
    from kedro_airflow_k8s.features.spark.config import SparkConfig
    from kedro_airflow_k8s.features.volume.config import VolumeConfig
else:
    SecretConfig = defined_on_use("kedro_airflow_k8s.config.secrets", "SecretConfig")
    FailureHandler = defined_on_use("kedro_airflow_k8s.features.alerts.config", "FailureHandler")
    InMemoryConfig = defined_on_use("kedro_airflow_k8s.features.in_memory.config", "InMemoryConfig")
    PodTemplate = defined_on_use("kedro_airflow_k8s.features.pod_templates.config", "PodTemplate")
    ExternalDependency = defined_on_use(
        "kedro_airflow_k8s.features.sensors.config", "ExternalDependency"
    )
    SparkConfig = defined_on_use("kedro_airflow_k8s.features.spark.config", "SparkConfig")
    VolumeConfig = defined_on_use("kedro_airflow_k8s.features.volume.config", "VolumeConfig")

_API_SUFFIXES = ("/api/v2", "/api/v1")


def airflow_base_url(value: str) -> str:
    """The Airflow base URL every command uses (``host``): the REST API, the UI links, ``ui``.

    Surrounding blanks, trailing ``/`` and a trailing ``/api/v2`` or ``/api/v1`` are dropped; a
    path prefix (``https://proxy/airflow``) is kept. Raises ValueError unless it is an http:// or
    https:// URL, and when it holds credentials (``user:password@``), without echoing them.
    """
    url = value.strip().rstrip("/")
    for suffix in _API_SUFFIXES:
        url = url[: -len(suffix)].rstrip("/") if url.endswith(suffix) else url
    if re.match(r"^[^/?#]*//[^/?#]*@", url):  # never echo it: it holds credentials
        raise ValueError(
            "the Airflow URL must not hold credentials: set AIRFLOW_API_TOKEN, or "
            "AIRFLOW_USERNAME and AIRFLOW_PASSWORD"
        )
    if re.match(r"^https?://[^/\s?#]+", url) is None:
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    return url


# Context values an Airflow 3 task can read by name (``macro_params``).
AIRFLOW_MACROS = frozenset(
    {
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
    }
)
_REMOVED_MACROS = {
    "prev_ds": "prev_data_interval_start_success",
    "next_ds": "data_interval_end",
    "prev_ds_nodash": "prev_data_interval_start_success",
    "next_ds_nodash": "data_interval_end",
    "execution_date": "logical_date",
    "next_execution_date": "data_interval_end",
    "prev_execution_date": "prev_data_interval_start_success",
    "yesterday_ds": "ds",
    "tomorrow_ds": "ds",
}


class NodeTagsConfig(ConfigModel):
    """The node tags the plugin reads. Kedro 1.x tags allow letters, digits, `-`, `_`, `.`."""

    resources_prefix: StrictStr = Field(
        "resources.", description="`<prefix><profile>` selects a run_config.resources profile."
    )
    machine_prefix: StrictStr = Field(
        "machine.", description="Alternative prefix selecting a resource profile."
    )
    k8s_template_prefix: StrictStr = Field(
        "k8s_template.", description="`<prefix><name>` selects a kubernetes_pod_templates entry."
    )
    group_prefix: StrictStr = Field(
        "airflow.", description="Nodes sharing `<prefix><group>` run as one task named `<group>`."
    )
    pyspark: StrictStr = Field(
        "kedro-airflow-k8s.group.pyspark", description="Marks a node as a spark node."
    )

    @field_validator("*")
    @classmethod
    def _tag_text(cls, value: str) -> str:
        if not TAG_TEXT.match(value):
            raise ValueError(
                f"{value!r} cannot appear in a Kedro tag: use letters, digits, '-', '_' and '.'"
            )
        return value


GroupByName = Literal["none", "memory", "namespace", "chain"]


class RunConfig(ConfigModel):
    """How the pipeline runs on Airflow and Kubernetes."""

    image: StrictStr | None = Field(
        None, description="Image of the node pods (the project installed); `--image` overrides."
    )
    image_pull_policy: Literal["IfNotPresent", "Always", "Never"] = Field(
        "IfNotPresent", description="`Always` when you push images under the same tag."
    )
    startup_time: StrictInt = Field(
        600,
        gt=0,
        le=MAX_SECONDS,
        description="Seconds a pod may take to start before the task fails.",
    )
    namespace: StrictStr = Field("default", description="Kubernetes namespace of the pods.")
    experiment_name: StrictStr | None = Field(
        None,
        description="Shown in the DAG's `experiment_name:` tag; defaults to run_name. (The MLflow "
        "run goes into kedro-mlflow's experiment, see mlflow.yml.)",
    )
    run_name: StrictStr | None = Field(
        None, description="Base of the DAG id; defaults to the project's package name."
    )
    cron_expression: StrictStr | None = Field(
        "@daily",
        description="Schedule: a 5-field cron expression or an Airflow preset (`@daily`); "
        "empty for manual runs only.",
    )
    start_date: StrictStr | None = Field(
        None,
        description=f"First schedule date, `YYYYMMDD` (UTC), from {yyyymmdd(EARLIEST_START)} to "
        f"{yyyymmdd(LATEST_START)}. A YAML date (`2024-01-01`, unquoted) is taken as the same "
        "day; a time of day is refused. Defaults to "
        f"{DEFAULT_START_DATE}; runs are never backfilled (catchup is off).",
    )
    description: StrictStr | None = Field(None, description="DAG description shown in Airflow.")
    image_pull_secrets: list[StrictStr] = Field(
        default_factory=empty_list,
        description="Names of image pull secrets (a list or a comma separated string).",
    )
    service_account_name: StrictStr | None = Field(
        None, description="Kubernetes service account of the pods; the namespace default if empty."
    )
    kubernetes_conn_id: StrictStr | None = Field(
        None,
        description="Airflow connection to the cluster; empty uses the provider's default "
        "(`kubernetes_default`, or in-cluster).",
    )
    owner: StrictStr = Field("airflow", description="Owner of the DAG's tasks.")
    retries: StrictInt = Field(1, ge=0, le=INT32_MAX, description="Retries of a failed task.")
    retry_delay: StrictInt = Field(
        300, ge=0, le=MAX_SECONDS, description="Seconds between retries."
    )
    failure_handlers: Annotated[list[FailureHandler], BUILT_ON_USE] = Field(
        default_factory=empty_list, description="Alerts sent when a task fails."
    )
    volume: Annotated[VolumeConfig | None, BUILT_ON_USE] = Field(
        None,
        description="A volume created per DAG run and shared by the node pods; absent or "
        "`disabled: true` means none.",
    )
    in_memory: Annotated[InMemoryConfig | None, BUILT_ON_USE] = Field(
        None,
        description="Keep in-memory datasets that cross pods in per-run storage instead of "
        "refusing them; absent: they are refused (after `group_by` fused what it can).",
    )
    secrets: Annotated[list[SecretConfig], BUILT_ON_USE] = Field(
        default_factory=empty_list, description="Kubernetes Secrets exposed to every node pod."
    )
    macro_params: list[StrictStr] = Field(
        default_factory=empty_list,
        description="Airflow context values passed to `kedro run --params` under their names.",
    )
    variables_params: list[StrictStr] = Field(
        default_factory=empty_list,
        description="Airflow Variables passed to `kedro run --params` under their names.",
    )
    env_vars: list[StrictStr] = Field(
        default_factory=empty_list,
        description="Airflow Variables exported to every node pod as environment variables "
        "of the same name.",
    )
    resources: dict[StrictStr, ResourceProfile] = Field(
        default_factory=dict,
        description="Resource profiles by name; `__default__` applies to nodes without a "
        "profile tag.",
    )
    external_dependencies: Annotated[list[ExternalDependency], BUILT_ON_USE] = Field(
        default_factory=empty_list,
        description="DAGs that must finish before a scheduled run starts.",
    )
    authentication: Annotated[Authentication, BUILT_ON_USE] = Field(
        default_factory=Authentication.model_construct,
        description="Authentication to the MLflow API.",
    )
    kubernetes_pod_templates: Annotated[dict[StrictStr, PodTemplate], BUILT_ON_USE] = Field(
        default_factory=dict,
        description="Custom pod templates by name; `__default__` applies to untagged nodes.",
    )
    spark: Annotated[SparkConfig | None, BUILT_ON_USE] = Field(
        None, description="How spark node groups run."
    )
    node_tags: NodeTagsConfig = Field(
        default_factory=lambda: NodeTagsConfig(),
        description="Tag prefixes the plugin reads on nodes.",
    )
    group_by: list[GroupByName] = Field(
        "memory",  # type: ignore[assignment]  # one name becomes a list of one
        validate_default=True,
        json_schema_extra={
            "shown_type": " \\| ".join(f"`{name}`" for name in get_args(GroupByName))
            + ", or a list of them"
        },
        description="Extra fusion, one strategy or a list of them (`[memory, chain]`): "
        "`memory` fuses nodes joined by in-memory datasets, `namespace` makes one task per "
        "top-level namespace, `chain` fuses linear chains of tasks that ask for the same pod, "
        "`none` (alone) runs each node in a pod of its own (in-memory data between pods is "
        "then refused, unless `in_memory` keeps it in per-run storage).",
    )
    group_spark_nodes: StrictBool = Field(
        True, description="Fuse connected spark nodes into one spark job."
    )
    detect_spark: StrictBool = Field(
        True,
        description="Find spark nodes by type hints and catalog types too; when false only the "
        "`node_tags.pyspark` tag marks them.",
    )
    namespace_task_groups: StrictBool = Field(
        True, description="Show Kedro namespaces as Airflow TaskGroups."
    )
    execution: Execution = Field(
        EXECUTION_KUBERNETES,
        description="`kubernetes`: every task runs in a pod. `local`: every task (spark groups "
        "too) runs `kedro run` as a process of the Airflow worker, for a laptop's Airflow "
        "(`kedro airflow-k8s dev`); the Kubernetes-only settings are then ignored with a "
        "warning each (see [local execution](local.md#local-execution)).",
    )
    local: Annotated[LocalExecutionConfig, BUILT_ON_USE] = Field(
        default_factory=LocalExecutionConfig.model_construct,
        description="The project and interpreter on the worker with `execution: local`.",
    )

    @field_validator("group_by", mode="before")
    @classmethod
    def _one_group_by(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list):
            raise ValueError(f"a strategy ({', '.join(get_args(GroupByName))}) or a list of them")
        return value

    @field_validator("group_by")
    @classmethod
    def _group_by(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("give one strategy or several, e.g. [memory, chain]")
        if "none" in value and len(set(value)) > 1:
            raise ValueError("none cannot be combined with other strategies")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _in_memory_volume(self) -> RunConfig:
        on_volume = self.in_memory is not None and self.in_memory.storage == IN_MEMORY_ON_VOLUME
        if on_volume and (self.volume is None or self.volume.disabled):
            raise ValueError(
                "in_memory.storage: volume needs a run_config.volume (absent or disabled here)"
            )
        return self

    @field_validator("image")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        return None if value is None else check_image(value)

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if len(value) > 63 or not DNS_LABEL.match(value):
            raise ValueError(f"{value!r} is not a valid Kubernetes namespace (a DNS-1123 label)")
        return value

    @field_validator("run_name")
    @classmethod
    def _run_name(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("run_name must not be empty")
        return value

    @field_validator("cron_expression")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return None if value is None else validate_schedule(value)

    @field_validator("start_date", mode="before")
    @classmethod
    def _start_date(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, (date, datetime)):  # a YAML date (or timestamp): its day
            value = yyyymmdd(value)
        if isinstance(value, str):
            # A YAML date (2021-07-21) read through Kedro's OmegaConf loader arrives as text.
            text = value.replace("-", "") if ISO_DATE.match(value) else value
            try:
                # strptime alone would take "2021111" (January 11th or November 1st?).
                if not YYYYMMDD.match(text):
                    raise ValueError(text)
                day = datetime.strptime(text, "%Y%m%d").date()
            except ValueError as exc:
                raise ValueError(f"{value!r} is not a date in the form YYYYMMDD") from exc
            if not EARLIEST_START <= day <= LATEST_START:
                earliest, latest = yyyymmdd(EARLIEST_START), yyyymmdd(LATEST_START)
                raise ValueError(
                    f"{value!r} is outside {earliest}-{latest}, the dates whose runs, retries "
                    "and sensors stay within the years Python holds"
                )
            value = text
        return value

    @field_validator("image_pull_secrets", mode="before")
    @classmethod
    def _pull_secrets(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("image_pull_secrets")
    @classmethod
    def _pull_secret_names(cls, value: list[str]) -> list[str]:
        for name in value:
            check_object_name(name, "Secret")
        return value

    @field_validator("service_account_name")
    @classmethod
    def _service_account(cls, value: str | None) -> str | None:
        return None if value is None else check_object_name(value, "ServiceAccount")

    @model_validator(mode="after")
    def _schedule_runs(self) -> RunConfig:
        # A preset runs after any start date this model takes (up to LATEST_START): only a
        # cron expression is checked, which spares importing croniter for the presets.
        if self.cron_expression and self.cron_expression not in PRESETS:
            start = datetime.strptime(self.start_date or DEFAULT_START_DATE, "%Y%m%d")
            try:
                first_run_after(self.cron_expression, start)
            except ValueError as exc:
                raise ValueError(f"cron_expression {exc}") from exc
        return self

    @field_validator("env_vars", "variables_params")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid variable name")
        return value

    @field_validator("macro_params")
    @classmethod
    def _macros(cls, value: list[str]) -> list[str]:
        for name in value:
            if name in _REMOVED_MACROS:
                raise ValueError(
                    f"macro {name!r} does not exist in Airflow 3; use {_REMOVED_MACROS[name]!r}"
                )
            if name not in AIRFLOW_MACROS:
                raise ValueError(
                    f"unknown macro {name!r}; available: {', '.join(sorted(AIRFLOW_MACROS))}"
                )
        return value


class PluginConfig(ConfigModel):
    """The whole of ``kedro-airflow-k8s.yaml``."""

    host: StrictStr | None = Field(
        None, description="Base URL of the Airflow web server / API, with http:// or https://."
    )
    output: StrictStr | None = Field(
        None,
        description="Where Airflow reads DAG files: a local folder, gs:// (gcs://) or s3:// URL.",
    )
    run_config: RunConfig = Field(
        default_factory=lambda: RunConfig(), description="How the pipeline runs."
    )

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError(
                "is empty; write the Airflow URL (http:// or https://) here in "
                "kedro-airflow-k8s.yaml, or remove the key"
            )
        return None if value is None else airflow_base_url(value)
