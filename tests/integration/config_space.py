"""Configs from the models' value space, and the check that Airflow 3 takes the DAG of each.

:data:`configs` draws ``kedro-airflow-k8s.yaml`` documents by walking the config models:
integers over the whole range each field declares (its bounds, and unbounded fields far beyond
any C integer),
literals and booleans over their values, strings from a pool of valid values for the keys that
check their text and, for free text, strings that look like Jinja templates or template files.
Spark settings are left out (their DAGs need spark artifacts: tests/integration/test_spark_dags).

:func:`airflow_takes` writes the DAG file of a config, loads it with a real DagBag and then does
what Airflow does later with it: serialize it (the DAG processor), compute the first run (the
scheduler), the date a sensor looks back to and the date of a retry, and print every pod with
``dry_run()``.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import types
import typing
from pathlib import Path
from typing import Any, Literal

import annotated_types
from hypothesis import strategies as st
from pydantic import BaseModel

from kedro_airflow_k8s import stages
from kedro_airflow_k8s.config import PluginConfig
from kedro_airflow_k8s.config.base import EARLIEST_START, LATEST_START, declared_type, yyyymmdd
from kedro_airflow_k8s.config.kubernetes import ResourceProfile
from kedro_airflow_k8s.config.models import AIRFLOW_MACROS, RunConfig
from kedro_airflow_k8s.names import dag_file_name
from kedro_airflow_k8s.plan import build_plan
from kedro_airflow_k8s.render import DagContext, build_spec, render_dag
from kedro_airflow_k8s.snapshot import DatasetSource, DatasetSpec, NodeSpec, PipelineSpec

CONTEXT = DagContext("Demo", "demo", "__default__", "local", "abc123")

# Free text as a user may write it: Jinja delimiters, template file names, line ends Jinja
# rewrites, quotes, non-ASCII, YAML and OmegaConf syntax.
TRICKY = [
    "{{ var.value.secret }}",
    "{% if true %}x{% endif %}",
    "{# note #}",
    "run.sh",
    "conf.json",
    "values.yaml",
    "two\nlines\n",
    "a\r\nb",
    'it\'s "quoted"',
    "é日本\u2028",
    "${oc.env:HOME} $5",
    "key: value, [x]",
    " padded ",
]
free_text = st.one_of(st.sampled_from(TRICKY), st.text(min_size=1, max_size=12))


def pick(*choices: Any) -> st.SearchStrategy[Any]:
    return st.sampled_from(choices)


def some(strategy: st.SearchStrategy[Any], max_size: int = 3) -> st.SearchStrategy[list[Any]]:
    return st.lists(strategy, max_size=max_size)


label_keys = pick("team", "app.kubernetes.io/name", "example.com/x", "a" * 63)
label_values = pick("ml", "", "v1.0", "b" * 63)
variables = pick("A", "MY_VAR", "MLFLOW_TRACKING_URI")
quantities = st.dictionaries(
    pick("cpu", "memory", "nvidia.com/gpu", "ephemeral-storage", "hugepages-2Mi"),
    st.one_of(pick("500m", "1Gi", "2", ".5", "1e3"), st.integers(0, 64), st.floats(0, 8)),
    max_size=3,
)
POD_TEMPLATES = [
    "kind: Pod",
    "metadata:\n  annotations:\n    a: '{{ run_id }}'\n    b: values.yaml\n",
    "spec:\n  containers:\n  - name: base\n    env:\n    - name: X\n      value: '{% raw %}'\n"
    "  - name: sidecar\n    image: busybox\n",
]
AFFINITY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["a"]}]}
            ]
        }
    }
}

# Values for the keys whose text is checked (by key, or by "Model.key" where names repeat).
KNOWN: dict[str, st.SearchStrategy[Any]] = {
    "host": pick("https://airflow.example.com", "http://localhost:8080/"),
    "output": pick("dags", "gs://bucket/dags", "s3://b/p"),
    "RunConfig.image": pick("repo/image:1.0", "registry:5000/a/b@sha256:ab12", "img"),
    "PodTemplate.image": st.one_of(st.none(), pick("repo/other:2")),
    "namespace": pick("default", "ml-pipelines", "n" * 63),
    "run_name": st.one_of(st.none(), free_text.filter(str.strip)),
    "cron_expression": st.one_of(
        st.none(),
        pick(
            "@daily",
            "@once",
            "@continuous",
            "@quarterly",
            "@annually",
            "0 5 * * MON-FRI",
            "0 0 L * *",
            "0 0 * * 1#1",
            "0 0 15W * *",
            "*/15 0-6 1,15 JAN-JUN ?",
        ),
    ),
    "start_date": st.one_of(
        st.none(),
        pick(EARLIEST_START, LATEST_START).map(yyyymmdd),
        st.dates(EARLIEST_START, LATEST_START).map(yyyymmdd),
    ),
    "image_pull_secrets": some(pick("regcred", "a.b-c", "s" * 253)),
    "service_account_name": st.one_of(st.none(), pick("runner", "a.b")),
    "macro_params": st.lists(st.sampled_from(sorted(AIRFLOW_MACROS)), max_size=3, unique=True),
    "variables_params": some(variables),
    "env_vars": some(variables),
    "secrets": some(
        st.one_of(
            st.fixed_dictionaries({"secret": pick("s", "db-creds")}),
            st.fixed_dictionaries(
                {"secret": pick("s"), "key": pick("password"), "deploy_target": variables}
            ),
            st.fixed_dictionaries(
                {"secret": pick("s"), "deploy_type": pick("volume"), "deploy_target": pick("/s")}
            ),
        )
    ),
    "authentication": st.one_of(
        st.fixed_dictionaries({"type": pick("Null", "GoogleOAuth2")}),
        st.fixed_dictionaries({"type": pick("Vars"), "params": st.lists(variables, min_size=1)}),
    ),
    "resources": st.dictionaries(pick("__default__", "gpu", "big"), st.deferred(lambda: _profile)),
    "requests": quantities,
    "limits": quantities,
    "node_selectors": st.dictionaries(label_keys, label_values, max_size=2),
    "labels": st.dictionaries(label_keys, label_values, max_size=2),
    "annotations": st.dictionaries(label_keys, free_text, max_size=3),
    "affinity": pick({}, AFFINITY),
    "Toleration.key": st.one_of(st.none(), label_keys),
    "Toleration.value": st.none(),  # only with operator Equal: set below
    "kubernetes_pod_templates": st.dictionaries(
        pick("__default__", "gpu"),
        st.fixed_dictionaries(
            {"template": st.sampled_from(POD_TEMPLATES)},
            optional={"image": pick("repo/other:2")},
        ),
        max_size=2,
    ),
    "ExternalDependency.dag_id": pick("upstream", "a.b-c_d", "d" * 250),
    "ExternalDependency.task_id": st.one_of(st.none(), pick("publish", "t" * 250)),
    "message_template": pick(
        "{task} of {dag} failed {{ ds }}", "{url}\n", "plain.sh", "{execution_time}"
    ),
    "VolumeConfig.storageclass": st.one_of(st.none(), pick("fast-ssd", "standard")),
    "size": pick("1Gi", "500Mi", "2"),
    "VolumeConfig.mount_path": pick("/home/kedro/data", "/data/{{ ds }}", "/x/run.sh"),
    "spark": st.none(),
    "resources_prefix": pick("resources.", "res-"),
    "machine_prefix": pick("machine.", "m_"),
    "k8s_template_prefix": pick("k8s_template.", "tpl."),
    "group_prefix": pick("airflow.", "group."),
    "pyspark": pick("kedro-airflow-k8s.group.pyspark", "spark"),
}
ALWAYS = {"PluginConfig.run_config", "RunConfig.image"}  # no image, no DAG to check


def integers(metadata: list[Any]) -> st.SearchStrategy[int]:
    """The whole range a field declares, its ends included; unbounded: far beyond any C int."""
    low, high = -(2**80), 2**80
    for item in metadata:
        if isinstance(item, annotated_types.Ge):
            low = int(item.ge)  # type: ignore[call-overload]
        elif isinstance(item, annotated_types.Gt):
            low = int(item.gt) + 1  # type: ignore[call-overload]
        elif isinstance(item, annotated_types.Le):
            high = int(item.le)  # type: ignore[call-overload]
        elif isinstance(item, annotated_types.Lt):
            high = int(item.lt) - 1  # type: ignore[call-overload]
    return st.one_of(st.sampled_from([low, high]), st.integers(low, high))


def for_annotation(annotation: Any, metadata: list[Any]) -> st.SearchStrategy[Any]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return for_model(annotation)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return for_annotation(args[0], [*metadata, *args[1:]])
    if origin is Literal:
        return st.sampled_from(args)
    if origin in (typing.Union, types.UnionType):
        return st.one_of([for_annotation(arg, metadata) for arg in args])
    if origin is list:
        return some(for_annotation(args[0], []))
    if origin is dict:
        return st.dictionaries(free_text, for_annotation(args[1], []), max_size=2)
    if annotation is type(None):
        return st.none()
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return integers(metadata)
    if annotation is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    if annotation is str:
        return free_text
    return st.none()  # Any


def for_model(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        qualified = f"{model.__name__}.{name}"
        strategy = KNOWN.get(qualified, KNOWN.get(key))
        if strategy is None:
            strategy = for_annotation(declared_type(field.annotation), list(field.metadata))
        target = required if field.is_required() or qualified in ALWAYS else optional
        target[key] = strategy
    return st.fixed_dictionaries(required, optional=optional)


def _toleration(document: dict[str, Any]) -> dict[str, Any]:
    if document.get("operator", "Equal") == "Equal" and document.get("key"):
        return {**document, "value": "v"}
    return document


_profile = for_model(ResourceProfile).map(
    lambda p: {**p, "tolerations": [_toleration(t) for t in p.get("tolerations", [])]}
)

configs = for_model(PluginConfig)


# --- config -> DAG file -> Airflow ---------------------------------------------------------------


def pipeline_for(run_config: RunConfig) -> tuple[PipelineSpec, dict[str, DatasetSpec]]:
    """A pipeline whose nodes use every resource profile and pod template of the config, one
    of them with a name that looks like a template."""
    tags = run_config.node_tags
    chosen = [("{{ 7 * 7 }}.sh", ())]
    chosen += [
        (f"uses_{i}", (tags.resources_prefix + p,)) for i, p in enumerate(run_config.resources)
    ]
    chosen += [
        (f"templated_{i}", (tags.k8s_template_prefix + t,))
        for i, t in enumerate(run_config.kubernetes_pod_templates)
    ]
    nodes = [
        NodeSpec(name=name, inputs=(f"d{i}",), outputs=(f"d{i + 1}",), tags=tuple(node_tags))
        for i, (name, node_tags) in enumerate(chosen)
    ]
    datasets = {
        f"d{i}": DatasetSpec(f"d{i}", DatasetSource.ENTRY, "pickle.PickleDataset")
        for i in range(len(nodes) + 1)
    }
    return PipelineSpec("__default__", tuple(nodes)), datasets


def dag_source(config: PluginConfig) -> str:
    run_config = config.run_config
    pipeline, datasets = pipeline_for(run_config)
    plan = build_plan(pipeline, datasets, stages.plan_options(run_config))
    spec = build_spec(plan, run_config, CONTEXT)
    return render_dag(spec)


def airflow_takes(config: PluginConfig, folder: Path) -> Any:
    """Load the config's DAG in Airflow 3 and do what Airflow does with it later; the DAG."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.timetables.base import TimeRestriction

    source = dag_source(config)
    (folder / dag_file_name("demo")).write_text(source)
    bag = DagBag(dag_folder=str(folder))
    assert bag.import_errors == {}, next(iter(bag.import_errors.values()))[-1500:]
    (dag,) = bag.dags.values()
    # The DAG processor serializes it; the scheduler works on the deserialized DAG.
    scheduled = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    restriction = TimeRestriction(earliest=dag.start_date, latest=None, catchup=False)
    info = scheduled.timetable.next_dagrun_info(
        last_automated_data_interval=None, restriction=restriction
    )
    when = info.logical_date if info is not None else dag.start_date
    for task in dag.tasks:
        assert 0 <= task.retries <= 2**31 - 1  # Airflow counts tries in 32-bit columns
        assert when + task.retry_delay <= datetime.datetime.max.replace(tzinfo=when.tzinfo)
        delta = getattr(task, "execution_delta", None)
        if delta is not None:
            assert when - delta >= datetime.datetime.min.replace(tzinfo=when.tzinfo)
        if isinstance(task, KubernetesPodOperator):
            with contextlib.redirect_stdout(io.StringIO()):
                task.dry_run()
    return dag
