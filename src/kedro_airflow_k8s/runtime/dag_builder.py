"""Build the Airflow DAG of a Kedro pipeline from its plain-data SPEC.

This module runs inside Airflow: the renderer embeds its source verbatim into every generated DAG
file, followed by the SPEC literal and ``dag = build_dag(SPEC)``. It imports only the standard
library, Airflow, its cncf-kubernetes provider and the kubernetes client, and works on Airflow 3
and Airflow 2.10. It must not use ``from __future__`` imports (it is not at the top of the file).
The params module (``kedro_params``, the ``--params`` of the node pods) comes before it.

Airflow renders the strings of an operator's template fields as Jinja templates. A string from
the user (node names, config values...) that rendering would change, one holding a Jinja
delimiter, ending in one of the operator's template file extensions or with line ends Jinja
rewrites, is passed wrapped in ``literal()`` (:class:`VerbatimValue`) so Airflow keeps it
verbatim; other strings are passed as they are, so the operators stay plain data for Airflow's
tools (``dry_run()``, ``airflow tasks render``). Only values the plugin marks as templates
(``{"jinja": "..."}``) are rendered.

Optional features live in other runtime modules, embedded after this one, as *extensions*: classes
with any of these static methods, called in order for each extension given to :func:`build_dag`:

* ``dag_arguments(spec, kwargs)``: change the keyword arguments of ``DAG(...)``;
* ``pod_arguments(spec, task, kwargs)``: change a node task's KubernetesPodOperator arguments
  (``task`` is its SPEC entry; ``env_vars`` values may be strings or ``{"jinja": ...}``);
* ``task_operator(spec, task, kwargs)``: return the operator of a node task instead of the
  KubernetesPodOperator (or None); called inside the task's TaskGroup, after ``pod_arguments``;
* ``add_tasks(dag, spec, roots, leaves)``: add tasks inside ``with dag:``; ``roots`` and
  ``leaves`` are the node tasks without upstream / downstream node tasks. It returns the
  dependencies to set, as ``(upstream, downstream)`` pairs of operators (or None); the builder
  sets them (see :func:`link`) before it calls the next extension.

An extension is a class with static methods, or an instance.

Every dependency goes through :func:`link`, and every kubernetes model the builder makes shares
one client configuration (:func:`k8s_configuration`): the work per task does not grow with the
size of the DAG.
"""

import datetime
from typing import TYPE_CHECKING, Any

from airflow.providers.cncf.kubernetes.backcompat.backwards_compat_converters import (
    convert_affinity,
    convert_toleration,
)
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.secret import Secret
from kubernetes.client import Configuration
from kubernetes.client import models as k8s

try:  # Airflow 3
    from airflow.sdk import DAG, TaskGroup
except ImportError:  # Airflow 2.10
    from airflow import DAG
    from airflow.utils.task_group import TaskGroup  # type: ignore[no-redef]
    from airflow.utils.template import literal  # type: ignore[no-redef]
else:
    # From its defining module: airflow.sdk lists `literal` but cannot import it before
    # task-sdk 1.1.8 (Airflow 3.0.0 to 3.1.7).
    from airflow.sdk.definitions.template import literal

try:  # Airflow 3 (and 2.x with the standard provider installed)
    from airflow.providers.standard.operators.empty import EmptyOperator
except ImportError:  # Airflow 2.10
    from airflow.operators.empty import EmptyOperator  # type: ignore[no-redef]

if TYPE_CHECKING:  # the SPEC's types; never imported inside Airflow (runtime/spec.py)
    from .spec import DagSpec, PodSection, ProfileSpec, SecretSpec, TaskSpec


def link(upstream: Any, downstream: Any) -> None:
    """Make ``downstream`` depend on ``upstream``: what ``upstream >> downstream`` does between
    two operators of the same DAG, in constant time.

    Airflow's ``>>`` (``_set_relatives``, the same on Airflow 2.10 and 3.x) puts the DAGs of both
    operators in a set to check that they share one, then adds each operator's id to the other's
    ``downstream_task_ids`` / ``upstream_task_ids``. Hashing a DAG walks all its task ids, so a
    DAG of T tasks and E dependencies cost T x E to wire. Here the DAG is checked by identity,
    and the two sets get the same ids.
    """
    dag = upstream.get_dag()
    if dag is None or downstream.get_dag() is not dag:
        raise ValueError(
            f"cannot set {upstream.node_id!r} >> {downstream.node_id!r}: "
            "both tasks must already belong to the same DAG"
        )
    upstream.downstream_task_ids.add(downstream.node_id)
    downstream.upstream_task_ids.add(upstream.node_id)


_K8S_CONFIGURATION: list[Any] = []


def k8s_configuration() -> Any:
    """The kubernetes client configuration the builder's kubernetes models share.

    A model made without one takes a fresh copy of the default configuration, whose set-up
    (logging levels) costs about a tenth of a millisecond: more than the rest of the model,
    paid for each model of each task. The configuration only decides whether the models check
    their fields, so one copy of the default serves them all."""
    if not _K8S_CONFIGURATION:
        _K8S_CONFIGURATION.append(Configuration.get_default_copy())
    return _K8S_CONFIGURATION[0]


_JINJA_DELIMITERS = ("{{", "{%", "{#")


class VerbatimValue(type(literal(""))):  # type: ignore[misc]
    """Airflow's ``literal()``: a string Airflow renders as itself. It also reads as its text
    where Airflow does not render first: when the Kubernetes client turns a pod into a dict
    (``KubernetesPodOperator.dry_run()``) and in ``str()``."""

    def to_dict(self) -> Any:
        return self.value

    def __str__(self) -> str:
        return str(self.value)


def needs_literal(text: str, template_ext: Any = ()) -> bool:
    """Whether Airflow's rendering would not give ``text`` back as it is: it holds a Jinja
    delimiter, ends in one of ``template_ext`` (Airflow then reads the file of that name as the
    template), or has line ends Jinja rewrites (``\r`` becomes ``\n``, a final ``\n`` is
    dropped)."""
    if any(delimiter in text for delimiter in _JINJA_DELIMITERS):
        return True
    if "\r" in text or text.endswith("\n"):
        return True
    return bool(template_ext) and text.endswith(tuple(template_ext))


def untemplated(value: Any, template_ext: Any = (), *, marks: bool = True) -> Any:
    """``value`` (also inside lists and dicts) as Airflow must take it: the strings its rendering
    would change (:func:`needs_literal`, with the operator's ``template_ext``) wrapped in
    :class:`VerbatimValue`, other strings as they are; ``{"jinja": s}`` is the plugin's template
    ``s`` unless ``marks`` is false (user data, where such a dict is data like any other)."""
    if isinstance(value, str):
        return VerbatimValue(value) if needs_literal(value, template_ext) else value
    if isinstance(value, dict):
        if marks and set(value) == {"jinja"}:
            return value["jinja"]
        return {key: untemplated(item, template_ext, marks=marks) for key, item in value.items()}
    if isinstance(value, list):
        return [untemplated(item, template_ext, marks=marks) for item in value]
    return value


def _pod_untemplated(value: Any, *, marks: bool = True) -> Any:
    return untemplated(value, KubernetesPodOperator.template_ext, marks=marks)


def _params_macro() -> Any:
    """``kedro_params`` of the params module (runtime/params.py), which a DAG file holds before
    this module: the one place the rules for ``kedro run --params`` live."""
    return globals()["kedro_params"]


def build_secret(spec: "SecretSpec") -> Secret:
    return Secret(
        deploy_type=spec["deploy_type"],
        deploy_target=spec.get("deploy_target"),
        secret=spec["secret"],
        key=spec.get("key"),
    )


def build_pod_arguments(pod: "PodSection", profile: "ProfileSpec | None") -> dict[str, Any]:
    """Keyword arguments of KubernetesPodOperator shared by every node task of a profile."""
    kwargs: dict[str, Any] = {
        "image": _pod_untemplated(pod["image"], marks=False),
        "image_pull_policy": pod["image_pull_policy"],
        "namespace": pod["namespace"],
        "startup_timeout_seconds": pod["startup_timeout_seconds"],
        "get_logs": True,
        "on_finish_action": "delete_pod",
        "do_xcom_push": False,
    }
    if pod.get("service_account_name"):
        kwargs["service_account_name"] = pod["service_account_name"]
    if pod.get("kubernetes_conn_id"):
        kwargs["kubernetes_conn_id"] = _pod_untemplated(pod["kubernetes_conn_id"], marks=False)
    if pod.get("image_pull_secrets"):
        kwargs["image_pull_secrets"] = [
            k8s.V1LocalObjectReference(name=name, local_vars_configuration=k8s_configuration())
            for name in pod["image_pull_secrets"]
        ]
    if pod.get("secrets"):
        kwargs["secrets"] = [build_secret(secret) for secret in pod["secrets"]]
    if profile:
        if profile.get("requests") or profile.get("limits"):
            kwargs["container_resources"] = k8s.V1ResourceRequirements(
                requests=profile.get("requests") or None,
                limits=profile.get("limits") or None,
                local_vars_configuration=k8s_configuration(),
            )
        for key in ("node_selector", "labels", "annotations"):
            if profile.get(key):
                kwargs[key] = _pod_untemplated(profile[key], marks=False)
        if profile.get("tolerations"):
            kwargs["tolerations"] = list(profile["tolerations"])
        if profile.get("affinity"):
            kwargs["affinity"] = profile["affinity"]
    return kwargs


def _call(extensions: Any, hook: str, *args: Any) -> None:
    for extension in extensions:
        method = getattr(extension, hook, None)
        if method is not None:
            method(*args)


def _profile_models(kwargs: dict[str, Any], models: dict[str, Any]) -> None:
    """Tolerations and affinity as kubernetes models, converted once per resource profile
    (``models``, given for the profile) and shared by its tasks, by the provider's own
    converters. KubernetesPodOperator would convert them again for every task; neither is a
    template field, so Airflow never changes them in place."""
    if kwargs.get("tolerations"):
        if "tolerations" not in models:
            models["tolerations"] = [convert_toleration(t) for t in kwargs["tolerations"]]
        kwargs["tolerations"] = list(models["tolerations"])
    if kwargs.get("affinity"):
        if "affinity" not in models:
            models["affinity"] = convert_affinity(kwargs["affinity"])
        kwargs["affinity"] = models["affinity"]


def _extension_operator(
    extensions: Any, spec: "DagSpec", task: "TaskSpec", kwargs: Any, group: Any
) -> Any:
    """The first operator an extension's ``task_operator`` makes for ``task``, or None."""
    for extension in extensions:
        method = getattr(extension, "task_operator", None)
        if method is None:
            continue
        if group is not None:
            with group:
                operator = method(spec, task, kwargs)
        else:
            operator = method(spec, task, kwargs)
        if operator is not None:
            return operator
    return None


def build_dag(spec: "DagSpec", extensions: Any = ()) -> DAG:
    """Create the DAG, its TaskGroups, one task per planned task and the final task."""
    dag_spec = spec["dag"]
    given = dag_spec["default_args"]
    default_args: dict[str, Any] = {
        key: value for key, value in given.items() if key != "retry_delay_seconds"
    }
    default_args["retry_delay"] = datetime.timedelta(seconds=given["retry_delay_seconds"])
    year, month, day = dag_spec["start_date"]
    dag_kwargs: dict[str, Any] = {
        "dag_id": dag_spec["dag_id"],
        "description": dag_spec.get("description"),
        "doc_md": dag_spec.get("doc_md"),
        "schedule": dag_spec.get("schedule"),
        "start_date": datetime.datetime(year, month, day, tzinfo=datetime.timezone.utc),
        "catchup": False,
        "max_active_runs": dag_spec.get("max_active_runs", 1),
        "default_args": default_args,
        "tags": list(dag_spec["tags"]),
        "user_defined_macros": {"kedro_params": _params_macro()},
    }
    _call(extensions, "dag_arguments", spec, dag_kwargs)
    dag = DAG(schedule=dag_kwargs.pop("schedule"), **dag_kwargs)
    with dag:
        groups: dict[tuple[str, ...], TaskGroup] = {}
        for path in spec.get("task_groups", []):
            parent = groups.get(tuple(path[:-1]))
            groups[tuple(path)] = TaskGroup(group_id=path[-1], parent_group=parent)
        tasks: dict[str, Any] = {}
        templates = spec.get("pod_templates", {})
        profile_models: dict[str, dict[str, Any]] = {}
        for task in spec["tasks"]:
            name = task.get("profile")
            profile = spec["profiles"].get(name) if name else None
            kwargs = build_pod_arguments(spec["pod"], profile)
            _profile_models(kwargs, profile_models.setdefault(name or "", {}))
            kwargs["env_vars"] = dict(spec["pod"].get("env_vars") or {})
            template = templates.get(task.get("pod_template") or "")
            if template:
                kwargs["pod_template_dict"] = _pod_untemplated(template["template"], marks=False)
                if template.get("image"):
                    kwargs["image"] = _pod_untemplated(template["image"], marks=False)
            _call(extensions, "pod_arguments", spec, task, kwargs)
            group = groups.get(tuple(task.get("group", [])))
            operator = _extension_operator(extensions, spec, task, kwargs, group)
            if operator is None:
                kwargs["env_vars"] = _pod_untemplated(kwargs["env_vars"]) or None
                operator = KubernetesPodOperator(
                    task_id=task["task_id"],
                    name=task["pod_name"],
                    arguments=_pod_untemplated(task["arguments"]),
                    task_group=group,
                    **kwargs,
                )
            tasks[operator.task_id] = operator
        for task in spec["tasks"]:
            this = tasks[task["full_task_id"]]
            for upstream in task["upstream"]:
                link(tasks[upstream], this)
        roots = [t for t in tasks.values() if not t.upstream_task_ids]
        leaves = [t for t in tasks.values() if not t.downstream_task_ids]
        final = EmptyOperator(task_id=spec["final_task_id"], trigger_rule="all_success")
        for leaf in leaves:
            link(leaf, final)
        for extension in extensions:
            method = getattr(extension, "add_tasks", None)
            if method is not None:
                for upstream, downstream in method(dag, spec, roots, leaves) or ():
                    link(upstream, downstream)
    return dag
