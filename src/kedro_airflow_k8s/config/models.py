"""Typed models of ``kedro-airflow-k8s.yaml``.

Every key is declared here with its type, default and description; the description is the
documentation (the configuration reference is generated from these models). Unknown keys are
rejected, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from datetime import date, datetime
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from kedro_airflow_k8s.config.cron import first_run_after, validate_schedule

# --- limits of what Airflow, Kubernetes and Python hold ----------------------------------------

#: Kubernetes int32 fields (fsGroup) and Airflow's try counters are signed 32-bit integers.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
#: Durations: seconds in a signed 32-bit integer (about 68 years), what C ints take.
MAX_SECONDS = INT32_MAX
MAX_MINUTES = MAX_SECONDS // 60
#: Dates from which every date Airflow derives (the first run, a retry, a sensor's look-back,
#: each at most MAX_SECONDS away) stays within the years 1 to 9999 that Python holds.
EARLIEST_START = date(100, 1, 1)
LATEST_START = date(9899, 12, 31)
DEFAULT_START_DATE = "20240101"


def yyyymmdd(day: date) -> str:
    """``day`` as YYYYMMDD, four digits of year always (strftime drops zeros on some systems)."""
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


#: The longest DAG or task id Airflow takes.
AIRFLOW_ID_MAX = 250

# --- value checks shared by several models ------------------------------------------------------

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUANTITY = re.compile(
    r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[munkMGTPE]|[KMGTPE]i)?$"
)
_RESOURCE_NAME = re.compile(
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_IMAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$")
_TAG_TEXT = re.compile(r"^[A-Za-z0-9_.-]+$")
_AIRFLOW_ID = re.compile(r"^[A-Za-z0-9_.-]+$")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_YYYYMMDD = re.compile(r"^[0-9]{8}\Z")

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


def check_label_key(key: str) -> str:
    """A Kubernetes label/annotation key: optional DNS-subdomain prefix and a name <= 63 chars."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        raise ValueError(f"{key!r} is not a valid Kubernetes key: bad prefix {prefix!r}")
    if not name or len(name) > 63 or not _LABEL_NAME.match(name):
        raise ValueError(
            f"{key!r} is not a valid Kubernetes key: the name part must be 1-63 letters, digits, "
            "'-', '_' or '.', starting and ending with a letter or digit"
        )
    return key


def check_object_name(name: str, kind: str) -> str:
    """A Kubernetes object name (a DNS-1123 subdomain: lowercase letters, digits, '-' and '.')."""
    if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        raise ValueError(
            f"{name!r} is not a valid Kubernetes {kind} name: at most 253 lowercase letters, "
            "digits, '-' or '.', starting and ending with a letter or digit"
        )
    return name


def check_image(value: str) -> str:
    if not _IMAGE.match(value):
        raise ValueError(f"{value!r} is not a valid image reference")
    return value


def check_label_value(value: str) -> str:
    if value and (len(value) > 63 or not _LABEL_NAME.match(value)):
        raise ValueError(
            f"{value!r} is not a valid Kubernetes label value: at most 63 letters, digits, '-', "
            "'_' or '.', starting and ending with a letter or digit"
        )
    return value


def check_quantity(value: str | int | float) -> str:
    text = str(value)
    if isinstance(value, bool) or not _QUANTITY.match(text):
        raise ValueError(
            f"{value!r} is not a Kubernetes quantity (examples: 500m, 2, 1.5, 512Mi, 4Gi)"
        )
    return text


def _check_labels(values: dict[str, str]) -> dict[str, str]:
    for key, value in values.items():
        check_label_key(key)
        check_label_value(value)
    return values


def _check_annotations(values: dict[str, str]) -> dict[str, str]:
    for key in values:
        check_label_key(key)
    return values


_STANDARD_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def _check_resource_name(name: str) -> None:
    if "/" in name and _RESOURCE_NAME.match(name):
        return  # an extended resource such as nvidia.com/gpu
    if name in _STANDARD_RESOURCES or name.startswith("hugepages-"):
        return
    close = difflib.get_close_matches(name, _STANDARD_RESOURCES, n=1)
    if "gpu" in name.lower():  # difflib would say 'cpu': wrong advice for a GPU
        close = ["nvidia.com/gpu"]
    hint = (
        f"did you mean {close[0]!r}?"
        if close
        else "use cpu, memory, ephemeral-storage, hugepages-<size> or a prefixed name "
        "such as nvidia.com/gpu"
    )
    raise ValueError(f"{name!r} is not a Kubernetes resource name; {hint}")


def _check_quantities(values: dict[str, str | int | float]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, quantity in values.items():
        _check_resource_name(name)
        out[name] = check_quantity(quantity)
    return out


class ConfigModel(BaseModel):
    """Base of every section: unknown keys are errors, values are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# StrictFloat: a lax float would turn `cpu: true` into the quantity "1.0".
Quantities = dict[StrictStr, StrictStr | StrictInt | StrictFloat]


# --- run_config sections ------------------------------------------------------------------------


class Toleration(ConfigModel):
    """A Kubernetes toleration of a node taint."""

    key: StrictStr | None = Field(None, description="Taint key the toleration applies to.")
    operator: Literal["Equal", "Exists"] = Field("Equal", description="`Equal` or `Exists`.")
    value: StrictStr | None = Field(None, description="Taint value (with `operator: Equal`).")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        None, description="Taint effect to tolerate; all effects when empty."
    )
    toleration_seconds: StrictInt | None = Field(
        None,
        alias="tolerationSeconds",
        ge=-INT64_MAX - 1,
        le=INT64_MAX,
        description="How long a `NoExecute` taint is tolerated, in seconds.",
    )

    @model_validator(mode="after")
    def _exists_has_no_value(self) -> Toleration:
        if self.operator == "Exists" and self.value is not None:
            raise ValueError("a toleration with operator Exists must not set value")
        return self


# --- affinity: the Kubernetes Affinity object, key by key (camelCase, as in a pod spec) ----------

_SELECTOR_OPERATORS = Literal["In", "NotIn", "Exists", "DoesNotExist"]


class LabelSelectorRequirement(ConfigModel):
    """One expression of a label selector."""

    key: StrictStr = Field(description="Label key.")
    operator: _SELECTOR_OPERATORS = Field(description="`In`, `NotIn`, `Exists` or `DoesNotExist`.")
    values: list[StrictStr] = Field(
        default_factory=list, description="Values (for `In` and `NotIn`)."
    )


class LabelSelector(ConfigModel):
    """Selects pods (or namespaces) by their labels."""

    match_labels: dict[StrictStr, StrictStr] = Field(
        default_factory=dict, alias="matchLabels", description="Labels that must all match."
    )
    match_expressions: list[LabelSelectorRequirement] = Field(
        default_factory=list, alias="matchExpressions", description="Expressions, all must hold."
    )


class NodeSelectorRequirement(ConfigModel):
    """One expression on a node's labels or fields."""

    key: StrictStr = Field(description="Label (or field) key.")
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"] = Field(
        description="`In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt` or `Lt`."
    )
    values: list[StrictStr] = Field(default_factory=list, description="Values.")


class NodeSelectorTerm(ConfigModel):
    """Expressions a node must all satisfy."""

    match_expressions: list[NodeSelectorRequirement] = Field(
        default_factory=list, alias="matchExpressions", description="On node labels."
    )
    match_fields: list[NodeSelectorRequirement] = Field(
        default_factory=list, alias="matchFields", description="On node fields."
    )


class NodeSelector(ConfigModel):
    """Terms of which a node must satisfy at least one."""

    node_selector_terms: list[NodeSelectorTerm] = Field(
        alias="nodeSelectorTerms", description="The terms."
    )


class PreferredSchedulingTerm(ConfigModel):
    """A weighted node preference."""

    weight: StrictInt = Field(ge=1, le=100, description="1-100.")
    preference: NodeSelectorTerm = Field(description="The preferred nodes.")


class NodeAffinity(ConfigModel):
    """Which nodes the pod may or should run on."""

    required: NodeSelector | None = Field(
        None,
        alias="requiredDuringSchedulingIgnoredDuringExecution",
        description="Nodes the pod must run on.",
    )
    preferred: list[PreferredSchedulingTerm] = Field(
        default_factory=list,
        alias="preferredDuringSchedulingIgnoredDuringExecution",
        description="Nodes the pod should run on.",
    )


class PodAffinityTerm(ConfigModel):
    """Pods (selected by labels) near which the pod runs, per topology domain."""

    label_selector: LabelSelector | None = Field(
        None, alias="labelSelector", description="The pods."
    )
    namespace_selector: LabelSelector | None = Field(
        None, alias="namespaceSelector", description="Their namespaces, by label."
    )
    namespaces: list[StrictStr] = Field(default_factory=list, description="Their namespaces.")
    topology_key: StrictStr = Field(
        alias="topologyKey",
        description="Node label naming the domain, e.g. `kubernetes.io/hostname`.",
    )
    match_label_keys: list[StrictStr] = Field(
        default_factory=list, alias="matchLabelKeys", description="Label keys to match too."
    )
    mismatch_label_keys: list[StrictStr] = Field(
        default_factory=list, alias="mismatchLabelKeys", description="Label keys that must differ."
    )


class WeightedPodAffinityTerm(ConfigModel):
    """A weighted pod (anti-)affinity preference."""

    weight: StrictInt = Field(ge=1, le=100, description="1-100.")
    pod_affinity_term: PodAffinityTerm = Field(alias="podAffinityTerm", description="The term.")


class PodAffinity(ConfigModel):
    """Pods the pod must or should run near (or, as anti-affinity, away from)."""

    required: list[PodAffinityTerm] = Field(
        default_factory=list,
        alias="requiredDuringSchedulingIgnoredDuringExecution",
        description="Terms that must hold.",
    )
    preferred: list[WeightedPodAffinityTerm] = Field(
        default_factory=list,
        alias="preferredDuringSchedulingIgnoredDuringExecution",
        description="Terms that should hold.",
    )


class Affinity(ConfigModel):
    """A Kubernetes `affinity` object, written as in a pod spec; unknown keys are errors."""

    node_affinity: NodeAffinity | None = Field(
        None, alias="nodeAffinity", description="Node affinity."
    )
    pod_affinity: PodAffinity | None = Field(None, alias="podAffinity", description="Pod affinity.")
    pod_anti_affinity: PodAffinity | None = Field(
        None, alias="podAntiAffinity", description="Pod anti-affinity."
    )

    def as_pod_spec(self) -> dict[str, Any]:
        """The object as a pod spec writes it (the keys that were set, camelCase)."""
        return self.model_dump(by_alias=True, exclude_unset=True)


class ResourceProfile(ConfigModel):
    """Pod settings for the nodes that select this profile (by tag) or for all (`__default__`)."""

    requests: Quantities = Field(
        default_factory=dict,
        description="Requested resources, e.g. `cpu: 500m`, `memory: 1Gi`, `nvidia.com/gpu: 1`.",
    )
    limits: Quantities = Field(
        default_factory=dict, description="Resource limits, same keys as `requests`."
    )
    node_selectors: dict[StrictStr, StrictStr] = Field(
        default_factory=dict, description="Node labels the pod must be scheduled on."
    )
    labels: dict[StrictStr, StrictStr] = Field(
        default_factory=dict, description="Labels put on the pod."
    )
    annotations: dict[StrictStr, StrictStr] = Field(
        default_factory=dict, description="Annotations put on the pod (values may span lines)."
    )
    tolerations: list[Toleration] = Field(
        default_factory=list, description="Tolerations of node taints."
    )
    affinity: Affinity = Field(
        default_factory=lambda: Affinity(),
        description="A Kubernetes `affinity` object (nodeAffinity, podAffinity, podAntiAffinity), "
        "written as in a pod spec.",
    )

    _requests = field_validator("requests", "limits")(_check_quantities)
    _labels = field_validator("node_selectors", "labels")(_check_labels)
    _annotations = field_validator("annotations")(_check_annotations)


class SecretConfig(ConfigModel):
    """A Kubernetes Secret exposed to every node pod."""

    secret: StrictStr = Field(description="Name of the Kubernetes Secret object.")
    deploy_type: Literal["env", "volume"] = Field(
        "env", description="`env` (environment variables) or `volume` (files)."
    )
    deploy_target: StrictStr | None = Field(
        None,
        description="Environment variable name (`env` with `key`) or mount path (`volume`). "
        "With `env` and no `key`, every key of the Secret becomes a variable.",
    )
    key: StrictStr | None = Field(None, description="A single key of the Secret to expose.")

    @model_validator(mode="after")
    def _targets(self) -> SecretConfig:
        if not _DNS_SUBDOMAIN.match(self.secret):
            raise ValueError(f"secret name {self.secret!r} is not a valid Kubernetes name")
        if self.deploy_type == "volume" and not (self.deploy_target or "").startswith("/"):
            raise ValueError("a volume secret needs deploy_target: an absolute mount path")
        if self.deploy_type == "env":
            if self.key and not self.deploy_target:
                raise ValueError("an env secret with a key needs deploy_target: the variable name")
            if self.deploy_target and not _ENV_NAME.match(self.deploy_target):
                raise ValueError(f"{self.deploy_target!r} is not a valid environment variable name")
            if self.deploy_target and not self.key:
                raise ValueError("deploy_target needs key: which key of the Secret to expose")
        return self


DEFAULT_SLACK_TEMPLATE = (
    ":red_circle: Task Failed.\n"
    "*Task*: {task}\n"
    "*Dag*: {dag}\n"
    "*Execution Time*: {execution_time}\n"
    "*Log Url*: {url}"
)


class FailureHandler(ConfigModel):
    """What to do when a task fails."""

    type: Literal["slack"] = Field(description="Handler type; `slack` is available.")
    connection_id: StrictStr = Field(
        "slack",
        description="Airflow connection holding the Slack webhook (host: webhook URL, "
        "password: webhook token).",
    )
    message_template: StrictStr = Field(
        DEFAULT_SLACK_TEMPLATE,
        description="Message text; `{task}`, `{dag}`, `{execution_time}` and `{url}` are replaced.",
    )

    @field_validator("message_template")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        allowed = {"task", "dag", "execution_time", "url"}
        for name in re.findall(r"(?<!\{)\{([^{}]*)\}(?!\})", value):
            if name not in allowed:
                choices = ", ".join("{" + a + "}" for a in sorted(allowed))
                raise ValueError(f"unknown placeholder {{{name}}}; use {choices}")
        return value


GroupByName = Literal["none", "memory", "namespace", "chain"]
AccessMode = Literal["ReadWriteOnce", "ReadWriteMany", "ReadOnlyMany", "ReadWriteOncePod"]


class VolumeConfig(ConfigModel):
    """A PersistentVolumeClaim created per DAG run and shared by its node pods."""

    storageclass: StrictStr | None = Field(
        None, description="Storage class; empty uses the cluster's default."
    )
    size: StrictStr = Field("1Gi", description="Requested size of the volume.")
    access_modes: list[AccessMode] = Field(
        default_factory=lambda: list[AccessMode](["ReadWriteOnce"]),
        description="Access modes of the claim; ReadWriteMany where the storage supports it.",
    )
    skip_init: StrictBool = Field(
        False, description="Skip copying the image's data folder into the fresh volume."
    )
    owner: StrictInt = Field(
        0,
        ge=0,
        le=INT32_MAX,
        description="fsGroup of the node pods (group owning the volume).",
    )
    disabled: StrictBool = Field(False, description="Do not create the volume at all.")
    mount_path: StrictStr = Field(
        "/home/kedro_docker/data",
        description="The project's data folder inside the image (kedro-docker's layout by "
        "default): copied into the volume at the start, where every node pod mounts it.",
    )

    @field_validator("mount_path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        normal = posixpath.normpath(value)
        if not value.startswith("/") or normal in ("/", "//") or "/.." in normal or "\0" in value:
            raise ValueError(f"{value!r} must be an absolute path below /")
        return normal

    _size = field_validator("size")(check_quantity)

    @field_validator("storageclass")
    @classmethod
    def _storage_class(cls, value: str | None) -> str | None:
        return value if not value else check_object_name(value, "StorageClass")


_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
IN_MEMORY_ON_VOLUME = "volume"


class InMemoryConfig(ConfigModel):
    """Where in-memory datasets that cross pods are kept while a DAG run lasts.

    With this section, `compile` no longer refuses an in-memory dataset (no catalog entry, or a
    `MemoryDataset`) that one task writes and another reads: the plugin's Kedro hook in the pods
    saves it to the run's storage and loads it from there. The image needs kedro-airflow-k8s and
    kedro-datasets installed (see [in-memory data](grouping.md#in-memory-data)).
    """

    storage: StrictStr = Field(
        description="`volume` (the run's volume, see run_config.volume), an fsspec URL such as "
        "`gs://bucket/prefix` or `s3://bucket/prefix`, or an absolute folder every pod mounts; "
        "each dataset is kept at `<storage>/<dag id>/<run id>/<dataset>.pickle`."
    )

    @field_validator("storage")
    @classmethod
    def _storage(cls, value: str) -> str:
        if value == IN_MEMORY_ON_VOLUME:
            return value
        if not value.strip() or any(not ch.isprintable() for ch in value):
            raise ValueError(f"{value!r} must be `volume`, a URL or an absolute folder")
        scheme = _URL_SCHEME.match(value)
        if scheme is None:
            if not value.startswith("/"):
                raise ValueError(
                    f"{value!r} is a relative path: give `volume`, a URL such as "
                    "gs://bucket/prefix or an absolute folder every pod mounts"
                )
            return value.rstrip("/") or "/"
        from fsspec.registry import known_implementations

        protocol = scheme.group(1).lower()
        if protocol == "memory":
            raise ValueError(
                f"{value!r}: fsspec's memory:// lives inside one process; give storage every "
                "pod of the run reads"
            )
        if protocol not in known_implementations:
            raise ValueError(f"{value!r}: fsspec knows no protocol {protocol!r}")
        return value.rstrip("/")


class ExternalDependency(ConfigModel):
    """Another DAG (or one of its tasks) that must finish before this pipeline starts."""

    dag_id: StrictStr = Field(description="The DAG to wait for.")
    task_id: StrictStr | None = Field(
        None, description="A task of that DAG; the whole DAG if empty."
    )
    timeout: StrictInt = Field(
        1440, gt=0, le=MAX_MINUTES, description="Minutes to wait before failing."
    )
    check_existence: StrictBool = Field(
        True, description="Fail at once when the DAG (or task) does not exist."
    )
    execution_delta: StrictInt = Field(
        0,
        ge=0,
        le=MAX_MINUTES,
        description="Minutes between this run's logical date and the awaited run's.",
    )

    @field_validator("dag_id", "task_id")
    @classmethod
    def _ids(cls, value: str | None) -> str | None:
        if value is not None and not _AIRFLOW_ID.match(value):
            raise ValueError(f"{value!r} is not a valid Airflow id")
        if value is not None and len(value) > AIRFLOW_ID_MAX:
            raise ValueError(
                f"{value[:20]!r}... is {len(value)} characters: an Airflow id takes at most "
                f"{AIRFLOW_ID_MAX}"
            )
        return value


class Authentication(ConfigModel):
    """How the MLflow start-run task authenticates to the MLflow tracking server."""

    type: Literal["Null", "GoogleOAuth2", "Vars"] = Field(
        "Null",
        description="`Null` (none), `GoogleOAuth2` (ID token for GOOGLE_AUDIENCE from the "
        "service account) or `Vars` (Airflow Variables named in `params`).",
    )
    params: list[StrictStr] = Field(
        default_factory=list,
        description="With `Vars`: Airflow Variable names, exported under the same names "
        "(e.g. MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD).",
    )

    @field_validator("type", mode="before")
    @classmethod
    def _null(cls, value: object) -> object:
        return "Null" if value is None else value

    @model_validator(mode="after")
    def _vars_need_params(self) -> Authentication:
        if self.type == "Vars" and not self.params:
            raise ValueError("type Vars needs params: the Airflow Variable names to export")
        for name in self.params:
            if not _ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid environment variable name")
        return self


def parse_pod_template(text: str) -> dict[str, Any]:
    """A pod template's YAML as plain data; it is data, never evaluated."""
    import yaml

    if "PodGenerator." in text or "{self." in text:
        raise ValueError(
            "the template holds Python f-string expressions (0.8 syntax); write plain YAML: the "
            "plugin names pods and mounts the volume itself"
        )
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"the template is not valid YAML: {first}") from exc
    if not isinstance(value, dict):
        raise ValueError("the template must be a pod manifest (a mapping)")
    if value.get("kind", "Pod") != "Pod" or value.get("type", "Pod") != "Pod":
        raise ValueError("the template must describe a Pod")
    value.pop("type", None)  # the 0.8 documentation's `type: Pod`
    value.setdefault("apiVersion", "v1")
    value.setdefault("kind", "Pod")
    spec = value.setdefault("spec", {}) or {}
    if not isinstance(spec, dict):
        raise ValueError("the template's spec must be a mapping")
    value["spec"] = spec
    containers = spec.setdefault("containers", []) or []
    if not isinstance(containers, list) or not all(isinstance(c, dict) for c in containers):
        raise ValueError("the template's spec.containers must be a list of containers")
    if containers and not any(c.get("name") == "base" for c in containers):
        raise ValueError(
            "the template's node container must be named 'base' (the container the plugin runs "
            "kedro in)"
        )
    spec["containers"] = containers or [{"name": "base"}]
    return value


class PodTemplate(ConfigModel):
    """A custom pod template for the nodes tagged with its name (or all, `__default__`)."""

    template: StrictStr = Field(
        description="The pod manifest (YAML); the plugin's settings win where both set a value."
    )
    image: StrictStr | None = Field(
        None, description="Image for these pods instead of run_config.image."
    )

    @field_validator("template")
    @classmethod
    def _parses(cls, value: str) -> str:
        parse_pod_template(value)
        return value

    @field_validator("image")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        return None if value is None else check_image(value)


_SPARK_CLUSTER_BASE = re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")
_PYTHON_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


class SparkLocalStorage(ConfigModel):
    """An on-demand volume for Spark's local (spill) directory, on the driver and executors."""

    storage_class: StrictStr = Field(description="Storage class of the on-demand claims.")
    size: StrictStr = Field(description="Size of each claim, a Kubernetes quantity (`50Gi`).")
    mount_path: StrictStr = Field("/storage", description="Where the volume is mounted.")

    @field_validator("size")
    @classmethod
    def _quantity(cls, value: str) -> str:
        if not _QUANTITY.match(value):
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


class SparkConfig(ConfigModel):
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
            if not _ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid environment variable name")
        return value

    @field_validator("labels")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _LABEL_NAME.match(name.rsplit("/", 1)[-1]):
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
        if not _TAG_TEXT.match(value):
            raise ValueError(
                f"{value!r} cannot appear in a Kedro tag: use letters, digits, '-', '_' and '.'"
            )
        return value


Execution = Literal["kubernetes", "local"]
EXECUTION_KUBERNETES: Execution = "kubernetes"
EXECUTION_LOCAL: Execution = "local"


class LocalExecutionConfig(ConfigModel):
    """Where the Airflow worker finds the project and its interpreter with `execution: local`."""

    project_path: StrictStr | None = Field(
        None,
        description="The Kedro project's folder on the Airflow worker, the working directory "
        "of every `kedro run`; defaults to the folder of the project that compiles the DAG.",
    )
    python: StrictStr | None = Field(
        None,
        description="The Python interpreter with Kedro and the project's dependencies that runs "
        "`python -m kedro run`; defaults to the interpreter running `compile`.",
    )

    @field_validator("project_path", "python")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is not None and not posixpath.isabs(value):
            raise ValueError(f"{value!r} is a relative path: give an absolute one")
        return value


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
        f"{yyyymmdd(LATEST_START)}. Defaults to {DEFAULT_START_DATE}; runs are never backfilled "
        "(catchup is off).",
    )
    description: StrictStr | None = Field(None, description="DAG description shown in Airflow.")
    image_pull_secrets: list[StrictStr] = Field(
        default_factory=list,
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
    failure_handlers: list[FailureHandler] = Field(
        default_factory=list, description="Alerts sent when a task fails."
    )
    volume: VolumeConfig | None = Field(
        None,
        description="A volume created per DAG run and shared by the node pods; absent or "
        "`disabled: true` means none.",
    )
    in_memory: InMemoryConfig | None = Field(
        None,
        description="Keep in-memory datasets that cross pods in per-run storage instead of "
        "refusing them; absent: they are refused (after `group_by` fused what it can).",
    )
    secrets: list[SecretConfig] = Field(
        default_factory=list, description="Kubernetes Secrets exposed to every node pod."
    )
    macro_params: list[StrictStr] = Field(
        default_factory=list,
        description="Airflow context values passed to `kedro run --params` under their names.",
    )
    variables_params: list[StrictStr] = Field(
        default_factory=list,
        description="Airflow Variables passed to `kedro run --params` under their names.",
    )
    env_vars: list[StrictStr] = Field(
        default_factory=list,
        description="Airflow Variables exported to every node pod as environment variables "
        "of the same name.",
    )
    resources: dict[StrictStr, ResourceProfile] = Field(
        default_factory=dict,
        description="Resource profiles by name; `__default__` applies to nodes without a "
        "profile tag.",
    )
    external_dependencies: list[ExternalDependency] = Field(
        default_factory=list, description="DAGs that must finish before a scheduled run starts."
    )
    authentication: Authentication = Field(
        default_factory=lambda: Authentication(), description="Authentication to the MLflow API."
    )
    kubernetes_pod_templates: dict[StrictStr, PodTemplate] = Field(
        default_factory=dict,
        description="Custom pod templates by name; `__default__` applies to untagged nodes.",
    )
    spark: SparkConfig | None = Field(None, description="How spark node groups run.")
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
    local: LocalExecutionConfig = Field(
        default_factory=lambda: LocalExecutionConfig(),
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
        if len(value) > 63 or not _DNS_LABEL.match(value):
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
        if isinstance(value, (date, datetime)):
            value = value.strftime("%Y%m%d")
        if isinstance(value, str):
            # A YAML date (2021-07-21) read through Kedro's OmegaConf loader arrives as text.
            text = value.replace("-", "") if _ISO_DATE.match(value) else value
            try:
                # strptime alone would take "2021111" (January 11th or November 1st?).
                if not _YYYYMMDD.match(text):
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
        if self.cron_expression:
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
            if not _ENV_NAME.match(name):
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
        return None if value is None else airflow_base_url(value)
