"""Random config documents: parse_config returns a PluginConfig or a one-line ConfigError.

The documents are biased towards the real shape of kedro-airflow-k8s.yaml (real keys at their real
places, with plausible and nearly-plausible values) with random junk mixed in at every level.
"""

from __future__ import annotations

import copy
import types
import typing
from datetime import date
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from kedro_airflow_k8s.config import PluginConfig, parse_config
from kedro_airflow_k8s.config.base import declared_type
from kedro_airflow_k8s.errors import ConfigError

PREFIX = "airflow-k8s config: "
FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _models(model: type[BaseModel], seen: dict[str, type[BaseModel]]) -> dict[str, type[BaseModel]]:
    seen[model.__name__] = model
    for field in model.model_fields.values():
        for inner in _flatten(declared_type(field.annotation)):
            if (
                isinstance(inner, type)
                and issubclass(inner, BaseModel)
                and inner.__name__ not in seen
            ):
                _models(inner, seen)
    return seen


def _flatten(annotation: Any) -> list[Any]:
    args = typing.get_args(annotation)
    if not args:
        return [annotation]
    return [leaf for arg in args for leaf in _flatten(arg)]


MODELS = _models(PluginConfig, {})
FIELD_NAMES = sorted(
    {
        alias
        for m in MODELS.values()
        for n, f in m.model_fields.items()
        for alias in (n, f.alias)
        if alias
    }
)
REQUIRED = sorted(
    {f.alias or n for m in MODELS.values() for n, f in m.model_fields.items() if f.is_required()}
)

# Values that are valid somewhere in the document, or one typo away from it.
PLAUSIBLE_STRINGS = [
    "",
    " ",
    "x",
    "default",
    "My_NS",
    "ns-",
    "repo/image:1.0",
    "bad image",
    "https://airflow.example.com/",
    "ftp://x",
    "gs://bucket/dags",
    "IfNotPresent",
    "Always",
    "always",
    "@daily",
    "@fortnightly",
    "0 5 * * MON-FRI",
    "*/0 * * * *",
    "61 * * * *",
    "* * *",
    "20210721",
    "2021-07-21",
    "2021111",
    "500m",
    "1Gi",
    "1 core",
    "2",
    "regcred, other",
    "env",
    "volume",
    "/var/secrets",
    "relative/path",
    "DB_PASSWORD",
    "1VAR",
    "Equal",
    "Exists",
    "NoSchedule",
    "slack",
    "{task} {dag} {url}",
    "{unknown}",
    "Null",
    "Vars",
    "GoogleOAuth2",
    "dataproc",
    "k8s",
    "custom",
    "emr",
    "ds",
    "prev_ds",
    "logical_date",
    "airflow.",
    "airflow:",
    "none",
    "memory",
    "namespace",
    "ReadWriteOnce",
    "RWO",
    "kind: Pod",
    "a\nb",
]
PLAUSIBLE_KEYS = [
    "__default__",
    "gpu",
    "p",
    "cpu",
    "cpuu",
    "memory",
    "nvidia.com/gpu",
    "hugepages-2Mi",
    "ephemeral-storage",
    "app.kubernetes.io/name",
    "-bad",
    "a/b/c",
    "nodeAffinity",
    "nodeAfinity",
    "",
    "run_confg",
    "imagee",
    "limts",
    "tolerationSecond",
]

texts = st.text(max_size=8)
strings = st.one_of(st.sampled_from(PLAUSIBLE_STRINGS), texts)
keys = st.one_of(
    st.sampled_from(FIELD_NAMES + PLAUSIBLE_KEYS),
    texts,
    st.integers(-2, 5),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, width=16),
    st.dates(),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([0, 1, -1, 600, 20210721, 20211345]),
    st.floats(),
    strings,
    st.dates(),
)
junk = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(keys, children, max_size=3)
    ),
    max_leaves=8,
)


def pick(*choices: Any) -> st.SearchStrategy[Any]:
    return st.sampled_from(choices)


def some(strategy: st.SearchStrategy[Any], max_size: int = 3) -> st.SearchStrategy[list[Any]]:
    return st.lists(strategy, max_size=max_size)


names = pick("a", "spaceflights", "team-ml", "x.y_z")
variables = pick("A", "MY_VAR", "MLFLOW_TRACKING_URI")
quantities = st.dictionaries(
    pick("cpu", "memory", "nvidia.com/gpu", "ephemeral-storage"),
    st.one_of(pick("500m", "1Gi", "2", ".5", "1e3"), st.integers(0, 64), st.floats(0, 8)),
    max_size=3,
)
label_keys = pick("team", "app.kubernetes.io/name", "example.com/x", "a")


def valid_values(clean: bool) -> dict[str, st.SearchStrategy[Any]]:
    """Values valid at a key (by key name), so that deep documents often parse."""

    def model(name: str) -> st.SearchStrategy[dict[Any, Any]]:
        return st.deferred(lambda: for_model(MODELS[name], clean))

    return {
        "host": pick("https://airflow.example.com", "http://localhost:8080/"),
        "output": pick("gs://bucket/dags", "/tmp/dags", "s3://b/p"),
        "image": st.one_of(st.none(), pick("repo/image:1.0", "registry:5000/a/b@sha256:ab12")),
        "startup_time": st.integers(1, 5000),
        "namespace": pick("default", "ml-pipelines", "a1"),
        "cron_expression": st.one_of(
            st.none(), pick("@daily", "@once", "0 5 * * MON-FRI", "*/15 0-6 1,15 JAN-JUN ?")
        ),
        "start_date": pick("20210721", 20240229, date(2021, 7, 21), "2021-07-21"),
        "image_pull_secrets": st.one_of(pick("regcred", "a, b", ""), some(names)),
        "retries": st.integers(0, 10),
        "retry_delay": st.integers(0, 600),
        "timeout": st.integers(1, 5000),
        "execution_delta": st.integers(0, 600),
        "tolerationSeconds": st.integers(0, 600),
        "toleration_seconds": st.integers(0, 600),
        "owner": names,
        "VolumeConfig.owner": st.integers(0, 2000),
        "size": pick("1Gi", "10Gi", "500Mi"),
        "run_name": st.one_of(st.none(), names),
        "macro_params": some(pick("ds", "logical_date", "run_id", "ts_nodash")),
        "variables_params": some(variables),
        "env_vars": some(variables),
        "params": st.lists(variables, min_size=1, max_size=2),
        "authentication": st.one_of(
            st.fixed_dictionaries({"type": pick(None, "Null", "GoogleOAuth2")}),
            st.fixed_dictionaries(
                {"type": pick("Vars"), "params": st.lists(variables, min_size=1)}
            ),
            model("Authentication"),
        ),
        "secrets": some(
            st.one_of(
                st.fixed_dictionaries({"secret": pick("s", "db-creds")}),
                st.fixed_dictionaries(
                    {"secret": pick("s"), "key": pick("password"), "deploy_target": variables}
                ),
                st.fixed_dictionaries(
                    {
                        "secret": pick("s"),
                        "deploy_type": pick("volume"),
                        "deploy_target": pick("/s"),
                    }
                ),
                model("SecretConfig"),
            )
        ),
        "resources": st.dictionaries(
            pick("__default__", "gpu", "big"), model("ResourceProfile"), max_size=2
        ),
        "requests": quantities,
        "limits": quantities,
        "node_selectors": st.dictionaries(label_keys, pick("ml", "", "pool-1"), max_size=2),
        "labels": st.dictionaries(label_keys, pick("ml", "", "v1.0"), max_size=2),
        "annotations": st.dictionaries(label_keys, st.text(max_size=8), max_size=2),
        "affinity": st.dictionaries(pick("nodeAffinity", "podAntiAffinity"), junk, max_size=1),
        "tolerations": some(
            st.one_of(
                st.fixed_dictionaries({"key": names, "operator": pick("Equal"), "value": names}),
                st.fixed_dictionaries(
                    {"operator": pick("Exists")}, optional={"tolerationSeconds": st.integers(0, 9)}
                ),
                model("Toleration"),
            ),
            max_size=2,
        ),
        "value": st.none(),  # a Toleration value only goes with operator Equal
        "kubernetes_pod_templates": st.dictionaries(
            pick("__default__", "gpu"), model("PodTemplate"), max_size=2
        ),
        "template": pick("kind: Pod", "spec: {}"),
        "external_dependencies": some(model("ExternalDependency"), max_size=2),
        "dag_id": pick("upstream", "a.b-c_d"),
        "task_id": st.one_of(st.none(), pick("publish")),
        "failure_handlers": some(model("FailureHandler"), max_size=2),
        "message_template": pick("{task} of {dag} failed", "{url} {{x}}", "plain"),
        "spark": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {
                    "type": pick("dataproc"),
                    "region": pick("europe-west1"),
                    "project_id": pick("p"),
                    "artifacts_path": pick("gs://b/spark", "/tmp/spark"),
                }
            ),
            st.fixed_dictionaries(
                {"type": pick("k8s", "kubernetes"), "run_script": pick("local:///r.py")}
            ),
            st.fixed_dictionaries(
                {
                    "type": pick("custom"),
                    "operator_factory": pick("pkg.Factory"),
                    "artifacts_path": pick("s3://b/p"),
                }
            ),
            model("SparkConfig"),
        ),
        "operator_factory": pick("pkg.Factory"),
        "cluster_config": st.dictionaries(names, scalars, max_size=2),
        "volume": st.one_of(st.none(), model("VolumeConfig")),
        "node_tags": st.one_of(st.just({}), model("NodeTagsConfig")),
        "resources_prefix": pick("resources.", "res-"),
        "machine_prefix": pick("machine.", "m_"),
        "k8s_template_prefix": pick("k8s_template.", "tpl."),
        "group_prefix": pick("airflow.", "group."),
        "pyspark": pick("kedro-airflow-k8s.group.pyspark", "spark"),
    }


def mostly(good: st.SearchStrategy[Any], one_in: int = 8) -> st.SearchStrategy[Any]:
    """``good`` most of the time, random junk once in ``one_in`` draws."""
    return st.integers(0, one_in - 1).flatmap(lambda i: junk if i == 0 else good)


def for_annotation(annotation: Any, clean: bool) -> st.SearchStrategy[Any]:
    """Plausible (often valid, sometimes nearly valid) values for a place typed ``annotation``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return for_model(annotation, clean)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:  # StrictStr, StrictInt, ...
        return for_annotation(args[0], clean)
    if origin is Literal:
        if clean:
            return st.sampled_from(args)
        return st.integers(0, 3).flatmap(lambda i: strings if i == 0 else st.sampled_from(args))
    if origin in (typing.Union, types.UnionType):
        return st.one_of([for_annotation(arg, clean) for arg in args])
    if origin is list:
        item = for_annotation(args[0], clean)
        return st.lists(item if clean else mostly(item), max_size=3)
    if origin is dict:
        value = for_annotation(args[1], clean)
        if clean:
            return st.dictionaries(names, value, max_size=3)
        return st.dictionaries(keys, mostly(value), max_size=3)
    if annotation is type(None):
        return st.none()
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        if clean:
            return st.integers(0, 3000)
        return st.one_of(st.integers(-3, 3000), st.sampled_from([20210721, 20211345]))
    if annotation is float:
        return st.floats()
    if annotation is str:
        return names if clean else strings
    return scalars if clean else junk  # Any


def for_field(owner: str, key: str, annotation: Any, clean: bool) -> st.SearchStrategy[Any]:
    """Noisy: a valid value for ``key`` most of the time, else one for its type, rarely junk.

    Clean: a valid value where the key has a table of them, else one of its type.
    """
    table = VALID_CLEAN if clean else VALID_NOISY
    valid = table.get(f"{owner}.{key}", table.get(key))
    if clean:
        return valid if valid is not None else for_annotation(annotation, clean)
    generic = for_annotation(annotation, clean)
    if valid is None:
        return mostly(generic)
    return st.integers(0, 9).flatmap(
        lambda i: junk if i == 0 else generic if i < 3 else valid  # type: ignore[return-value]
    )


def for_model(model: type[BaseModel], clean: bool = False) -> st.SearchStrategy[dict[Any, Any]]:
    required, optional = {}, {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        value = for_field(model.__name__, key, declared_type(field.annotation), clean)
        (required if clean and field.is_required() else optional)[key] = value
    known = st.fixed_dictionaries(required, optional=optional)
    if clean:
        return known
    extra = st.dictionaries(keys, junk, max_size=2)
    return st.tuples(known, st.integers(0, 9), extra).map(
        lambda parts: {**parts[0], **parts[2]} if parts[1] == 0 else parts[0]
    )


VALID_NOISY = valid_values(clean=False)
VALID_CLEAN = valid_values(clean=True)
clean_documents = for_model(PluginConfig, clean=True)
noisy_documents = mostly(for_model(PluginConfig), one_in=10)
documents = st.one_of(noisy_documents, clean_documents)


# --- the expected form of errors ----------------------------------------------------------------


def paths_of(node: Any, prefix: str = "") -> set[str]:
    """Every key path of a document, written as the messages write them."""
    found = {prefix}
    if isinstance(node, dict):
        children = node.items()
    elif isinstance(node, list):
        children = enumerate(node)
    else:
        return found
    for key, child in children:
        if isinstance(key, str) and not isinstance(node, list):
            path = f"{prefix}.{key}" if prefix else key
        else:
            path = f"{prefix}[{key}]"
        found |= paths_of(child, path)
    return found


def one_line(text: str) -> str:
    return " ".join(text.split("\n"))


def check_message(message: str, document: Any) -> None:
    assert "\n" not in message, message
    assert message.startswith(PREFIX), message
    rest = message[len(PREFIX) :]
    if rest.startswith("(top level): "):
        return
    paths = {one_line(path) for path in paths_of(document) if path}
    if any(rest.startswith(path + ": ") for path in paths):
        return
    # A required key names where it is missing: an existing path plus the key.
    missing = [
        one_line(f"{path}.{name}" if path else name) for path in paths | {""} for name in REQUIRED
    ]
    assert any(rest.startswith(path + ": is required") for path in missing), (
        f"{message!r} names no key path of {document!r}"
    )


def parse(document: Any) -> PluginConfig | None:
    try:
        return parse_config(document)
    except ConfigError as error:
        check_message(error.message, document)
        return None


# --- properties ---------------------------------------------------------------------------------


@FUZZ
@given(documents)
def test_parse_returns_a_config_or_a_one_line_config_error(document):
    config = parse(document)
    assert config is None or isinstance(config, PluginConfig)


@FUZZ
@given(documents)
def test_parse_leaves_the_document_alone_and_round_trips(document):
    before = copy.deepcopy(document)
    config = parse(document)
    assert repr(document) == repr(before)
    if config is not None:
        again = parse_config(config.model_dump(by_alias=True))
        assert repr(again.model_dump()) == repr(config.model_dump())


@FUZZ
@given(junk)
def test_pure_junk(document):
    parse(document)


# --- the checker itself -------------------------------------------------------------------------


def test_paths_of():
    document = {"a": {"b": [1, {"c": 2}]}, 5: {"d": 1}, None: 1}
    assert paths_of(document) == {
        "",
        "a",
        "a.b",
        "a.b[0]",
        "a.b[1]",
        "a.b[1].c",
        "[5]",
        "[5].d",
        "[None]",
    }


@pytest.mark.parametrize(
    ("message", "document"),
    [
        ("run_config.imagee: unknown key", {"run_config": {"imagee": 1}}),
        ("run_config.spark.type: is required", {"run_config": {"spark": {}}}),
        ("(top level): must be a mapping of keys, not list", []),
    ],
)
def test_check_message_accepts(message, document):
    check_message(PREFIX + message, document)


@pytest.mark.parametrize(
    ("message", "document"),
    [
        ("run_config.image.str: bad", {"run_config": {"image": 1}}),
        ("run_config.spark.kind: is required", {"run_config": {"spark": {}}}),
        ("run_config: two\nlines", {"run_config": {}}),
        ("airflow-k8s.yaml is broken", {}),
    ],
)
def test_check_message_rejects(message, document):
    with pytest.raises(AssertionError):
        check_message(PREFIX + message, document)


def _has_toleration(document: Any) -> bool:
    run_config = document.get("run_config") if isinstance(document, dict) else None
    resources = run_config.get("resources") if isinstance(run_config, dict) else None
    if not isinstance(resources, dict):
        return False
    return any(
        isinstance(profile, dict)
        and isinstance(profile.get("tolerations"), list)
        and any(isinstance(t, dict) and t for t in profile["tolerations"])
        for profile in resources.values()
    )


def test_the_generator_reaches_deep_real_places():
    """Documents are not only junk: many parse, and some carry tolerations inside profiles."""
    assert {"tolerationSeconds", "run_config", "resources", "tolerations"} <= set(FIELD_NAMES)
    assert {"secret", "type", "dag_id", "template"} <= set(REQUIRED)
    parsed: list[PluginConfig | None] = []
    deep: list[bool] = []

    @settings(
        max_examples=200, database=None, deadline=None, derandomize=True, phases=[Phase.generate]
    )
    @given(documents)
    def collect(document: Any) -> None:
        parsed.append(parse(document))
        deep.append(_has_toleration(document))

    collect()
    valid = [config for config in parsed if config is not None]
    assert len(valid) > len(parsed) // 4
    assert len(valid) < len(parsed)
    assert any(deep)
    assert any(config.run_config.secrets for config in valid)
    assert any(config.run_config.resources for config in valid)
