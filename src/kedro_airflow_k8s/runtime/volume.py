"""The per-run data volume: a PersistentVolumeClaim created for each DAG run and shared by its pods.

This module runs inside Airflow: the renderer embeds its source verbatim after the DAG builder's
(``dag_builder.py``) when the SPEC has a ``volume`` section, and the file ends with
``build_dag(SPEC, extensions=[..., VolumeExtension(untemplated)])`` (the builder's function that
keeps strings Airflow would render verbatim). It imports only the standard library,
Airflow, the cncf-kubernetes provider and the kubernetes client; no ``from __future__``. Its
private names start with ``_volume_``, its public ones with ``volume_``/``Volume``, so they never
clash with the other runtime modules in the same file.

What the extension does, with ``SPEC["volume"]``::

    {"storage_class": str | None, "size": "1Gi", "access_modes": ["ReadWriteOnce"],
     "skip_init": bool, "owner": int, "mount_path": "/home/kedro/data",
     "create_task_id": "data_volume_init", "delete_task_id": "data_volume_delete"}

* ``create_task_id`` creates the claim (through the provider's ``KubernetesHook``: the connection
  ``SPEC["pod"]["kubernetes_conn_id"]``, else the hook's default, i.e. in-cluster or KUBECONFIG)
  and, unless ``skip_init``, runs a pod of the project image with the claim mounted at a
  temporary path, copying the image's data folder into it (``cp -R <mount_path>/. <target>``);
  it runs after whatever already precedes the first node tasks (sensors) and before them;
* every node pod mounts the claim at ``mount_path`` and gets ``fsGroup: owner``;
* ``delete_task_id`` deletes the claim after the last node tasks, whatever their outcome
  (``trigger_rule="all_done"``). It is a leaf of its own: the builder's final task still fails
  the run when a node failed, and a failed delete fails the run too (a leaked volume is visible).

The claim's name is derived from the DAG id and the run id (:func:`volume_claim_name`); the pods
get it when Airflow renders their templates, through the DAG macro ``kedro_volume_claim_name``.
"""

import copy
import hashlib
import logging
import posixpath
import re
import time
from typing import TYPE_CHECKING, Any

from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import Configuration
from kubernetes.client import models as k8s
from kubernetes.client.exceptions import ApiException

try:  # Airflow 3 (and 2.x with the standard provider installed)
    from airflow.providers.standard.operators.python import PythonOperator
except ImportError:  # Airflow 2.10
    from airflow.operators.python import PythonOperator  # type: ignore[no-redef]

if TYPE_CHECKING:  # the SPEC's types; never imported inside Airflow (runtime/spec.py)
    from .spec import DagSpec, TaskSpec, VolumeSpec


VOLUME_MACRO = "kedro_volume_claim_name"
# What the pods' claim name is when Airflow renders their templates: the same function as the
# create and delete tasks call, on the same DAG id and run id.
VOLUME_CLAIM_TEMPLATE = "{{ " + VOLUME_MACRO + "(dag.dag_id, run_id) }}"
VOLUME_POD_VOLUME_NAME = "kedro-data-volume"
VOLUME_INIT_POD_NAME = "data-volume-init"
VOLUME_INIT_TARGETS = ("/mnt/kedro-data-volume", "/kedro-data-volume")
VOLUME_LABELS = {
    "app.kubernetes.io/managed-by": "kedro-airflow-k8s",
    "app.kubernetes.io/component": "data-volume",
}
VOLUME_DAG_ANNOTATION = "kedro-airflow-k8s/dag-id"
VOLUME_RUN_ANNOTATION = "kedro-airflow-k8s/run-id"

_VOLUME_NAME_UNSAFE = re.compile(r"[^a-z0-9]+")
_VOLUME_NAME_PREFIX = "kedro"
_VOLUME_HASH_LENGTH = 12  # 48 bits: collisions between runs are not a practical concern
_VOLUME_NAME_MAX = 63  # a DNS-1123 label, the strictest name rule of Kubernetes
_VOLUME_INCLUSTER_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
_volume_log = logging.getLogger("airflow.task")


def volume_claim_name(dag_id: str, run_id: str) -> str:
    """The claim of the run ``run_id`` of ``dag_id``: ``kedro-<dag id, readable>-<hash>``.

    A valid DNS-1123 label (lowercase letters, digits and ``-``, at most 63 characters) for any
    inputs; the same inputs give the same name, different ones practically never the same (the
    hash covers both ids exactly, the readable part is only there for people).
    """
    key = f"{len(dag_id)}:{dag_id}:{run_id}".encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(key).hexdigest()[:_VOLUME_HASH_LENGTH]
    room = _VOLUME_NAME_MAX - len(_VOLUME_NAME_PREFIX) - len(digest) - 2
    readable = _VOLUME_NAME_UNSAFE.sub("-", dag_id.lower()).strip("-")[:room].strip("-")
    parts = [_VOLUME_NAME_PREFIX, readable, digest] if readable else [_VOLUME_NAME_PREFIX, digest]
    return "-".join(parts)


def volume_claim_body(
    name: str, volume: dict[str, Any], dag_id: str, run_id: str
) -> dict[str, Any]:
    """The PersistentVolumeClaim manifest; no storage class (or an empty one) means the cluster's
    default class, so ``storageClassName`` is left out."""
    spec: dict[str, Any] = {
        "accessModes": list(volume.get("access_modes") or ["ReadWriteOnce"]),
        "resources": {"requests": {"storage": str(volume.get("size") or "1Gi")}},
    }
    if volume.get("storage_class"):
        spec["storageClassName"] = volume["storage_class"]
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": name,
            "labels": dict(VOLUME_LABELS),
            "annotations": {VOLUME_DAG_ANNOTATION: dag_id, VOLUME_RUN_ANNOTATION: run_id},
        },
        "spec": spec,
    }


def _volume_read(core_v1: Any, name: str, namespace: str) -> Any:
    try:
        return core_v1.read_namespaced_persistent_volume_claim(name, namespace)
    except ApiException as error:
        if error.status == 404:
            return None
        raise


def volume_create_claim(
    core_v1: Any,
    namespace: str,
    body: dict[str, Any],
    *,
    wait_seconds: float = 300.0,
    poll_seconds: float = 2.0,
) -> str:
    """Create the claim; ``"created"``, or ``"exists"`` when it is already there (a retry).

    A claim of the same name that is still being deleted (a cleared run whose previous volume
    waits for its finalizers) is waited for, up to ``wait_seconds``, then created anew.
    """
    name = body["metadata"]["name"]
    body = {**body, "metadata": {**body["metadata"], "namespace": namespace}}
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            core_v1.create_namespaced_persistent_volume_claim(namespace, body)
        except ApiException as error:
            if error.status != 409:
                raise
        else:
            _volume_log.info("Created the PersistentVolumeClaim %s/%s", namespace, name)
            return "created"
        existing = _volume_read(core_v1, name, namespace)
        if existing is not None and not existing.metadata.deletion_timestamp:
            _volume_log.info("The PersistentVolumeClaim %s/%s exists already", namespace, name)
            return "exists"
        if time.monotonic() >= deadline:
            raise RuntimeError(
                f"the PersistentVolumeClaim {namespace}/{name} is still being deleted after "
                f"{wait_seconds:.0f} s; a pod may still use it"
            )
        _volume_log.info("Waiting for the old PersistentVolumeClaim %s/%s to go", namespace, name)
        time.sleep(poll_seconds)


def volume_delete_claim(core_v1: Any, namespace: str, name: str) -> bool:
    """Delete the claim; ``False`` when there was none (never created, or deleted already)."""
    try:
        core_v1.delete_namespaced_persistent_volume_claim(name, namespace)
    except ApiException as error:
        if error.status != 404:
            raise
        _volume_log.info("No PersistentVolumeClaim %s/%s to delete", namespace, name)
        return False
    _volume_log.info("Deleted the PersistentVolumeClaim %s/%s", namespace, name)
    return True


def volume_namespace(hook: Any, namespace: str | None) -> str:
    """Where the pods go, as KubernetesPodOperator decides it: the given namespace, else the
    connection's, else the in-cluster service account's, else ``default``."""
    if namespace:
        return namespace
    from_connection = hook.get_namespace()
    if from_connection:
        return str(from_connection)
    try:
        with open(_VOLUME_INCLUSTER_NAMESPACE, encoding="utf-8") as file:
            return file.read().strip() or "default"
    except OSError:
        return "default"


def volume_claim_task(action: str, settings: dict[str, Any], **context: Any) -> None:
    """The python_callable of the create (with ``skip_init``) and delete tasks."""
    dag_id, run_id = context["dag"].dag_id, context["run_id"]
    name = volume_claim_name(dag_id, run_id)
    hook = KubernetesHook(conn_id=settings.get("kubernetes_conn_id"))
    namespace = volume_namespace(hook, settings.get("namespace"))
    if action == "create":
        body = volume_claim_body(name, settings["volume"], dag_id, run_id)
        volume_create_claim(hook.core_v1_client, namespace, body)
    elif action == "delete":
        volume_delete_claim(hook.core_v1_client, namespace, name)
    else:
        raise ValueError(f"unknown volume action {action!r}")


_VOLUME_K8S_CONFIGURATION: list[Any] = []


def _volume_k8s_configuration() -> Any:
    """One kubernetes client configuration for the models made for every node task (a model
    made without one sets up a fresh copy of the default, which costs more than the model)."""
    if not _VOLUME_K8S_CONFIGURATION:
        _VOLUME_K8S_CONFIGURATION.append(Configuration.get_default_copy())
    return _VOLUME_K8S_CONFIGURATION[0]


def volume_pod_volume() -> k8s.V1Volume:
    """The pod volume of the run's claim (its name is rendered by Airflow per run)."""
    configuration = _volume_k8s_configuration()
    return k8s.V1Volume(
        name=VOLUME_POD_VOLUME_NAME,
        persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(
            claim_name=VOLUME_CLAIM_TEMPLATE, local_vars_configuration=configuration
        ),
        local_vars_configuration=configuration,
    )


def volume_check_mount_path(mount_path: Any) -> str:
    if not isinstance(mount_path, str) or not mount_path.startswith("/"):
        raise ValueError(f"the data volume's mount_path must be an absolute path: {mount_path!r}")
    normal = posixpath.normpath(mount_path)
    if normal == "/" or normal.startswith("//"):
        raise ValueError(f"the data volume cannot be mounted at {mount_path!r}")
    return normal


def volume_init_target(mount_path: str) -> str:
    """Where the init pod mounts the claim: a fixed path that is neither the data folder nor
    inside it nor around it (two candidates: no folder but ``/`` is related to both)."""
    source = volume_check_mount_path(mount_path)
    for target in VOLUME_INIT_TARGETS:
        if target != source and not (
            target.startswith(source + "/") or source.startswith(target + "/")
        ):
            return target
    raise ValueError(f"no mount path for the init pod next to {mount_path!r}")  # unreachable


def volume_init_command(mount_path: str) -> list[str]:
    """The init container's command: copy the image's data folder into the fresh volume.

    ``cp -R <data>/. <target>``: no shell (no quoting, no glob), hidden files included, works
    with GNU and busybox cp. Not ``cp -a``: as a non-root user it cannot set the times of the
    volume's root (owned by root; fsGroup only makes it group-writable) and exits 1; without
    preserving, new files take the fsGroup group (setgid root) and the pod user as owner.
    """
    source = volume_check_mount_path(mount_path)
    return ["cp", "-R", source + "/.", volume_init_target(source)]


def volume_set_fs_group(kwargs: dict[str, Any], owner: int | None) -> None:
    """Give the pod ``fsGroup: owner`` without losing its other pod security settings.

    KubernetesPodOperator's ``security_context`` replaces a pod template's whole
    ``securityContext``, so with a template (and no operator-level setting) fsGroup goes into a
    copy of the template instead.
    """
    if owner is None:
        return
    current = kwargs.get("security_context")
    if isinstance(current, dict) and current:
        kwargs["security_context"] = {**current, "fsGroup": owner}
        return
    if isinstance(current, k8s.V1PodSecurityContext):
        current = copy.copy(current)
        current.fs_group = owner
        kwargs["security_context"] = current
        return
    template = kwargs.get("pod_template_dict")
    spec = template.get("spec") if isinstance(template, dict) else None
    if isinstance(template, dict) and isinstance(spec, dict) and spec.get("securityContext"):
        changed = copy.deepcopy(template)
        changed["spec"]["securityContext"] = {**spec["securityContext"], "fsGroup": owner}
        kwargs["pod_template_dict"] = changed
        return
    kwargs["security_context"] = k8s.V1PodSecurityContext(
        fs_group=owner, local_vars_configuration=_volume_k8s_configuration()
    )


def volume_section(spec: "DagSpec") -> "VolumeSpec":
    """``SPEC["volume"]``, which a DAG given the volume extension has."""
    volume = spec.get("volume")
    if volume is None:
        raise ValueError("VolumeExtension needs the SPEC's volume section")
    return volume


def volume_init_pod_arguments(spec: "DagSpec", protect: Any) -> dict[str, Any]:
    """KubernetesPodOperator arguments of the init pod: the node pods' image, namespace,
    connection, pull settings and service account, the ``__default__`` resource profile and pod
    template when the SPEC has them (quotas, node selectors, tolerations, sidecar annotations
    apply to it as to a node), the claim at a temporary path and fsGroup. ``protect`` is the
    builder's ``untemplated``: user strings Airflow would render stay verbatim."""
    pod, volume = spec["pod"], volume_section(spec)
    command = volume_init_command(volume["mount_path"])
    ext = KubernetesPodOperator.template_ext

    def verbatim(value: Any) -> Any:
        return protect(value, ext, marks=False)

    kwargs: dict[str, Any] = {
        "name": VOLUME_INIT_POD_NAME,
        "image": verbatim(pod["image"]),
        "image_pull_policy": pod.get("image_pull_policy"),
        "namespace": pod.get("namespace"),
        "startup_timeout_seconds": pod.get("startup_timeout_seconds", 120),
        "get_logs": True,
        "on_finish_action": "delete_pod",
        "do_xcom_push": False,
        "cmds": verbatim(command[:1]),
        "arguments": verbatim(command[1:]),
        "volumes": [volume_pod_volume()],
        "volume_mounts": [k8s.V1VolumeMount(name=VOLUME_POD_VOLUME_NAME, mount_path=command[-1])],
    }
    if pod.get("service_account_name"):
        kwargs["service_account_name"] = pod["service_account_name"]
    if pod.get("kubernetes_conn_id"):
        kwargs["kubernetes_conn_id"] = verbatim(pod["kubernetes_conn_id"])
    if pod.get("image_pull_secrets"):
        kwargs["image_pull_secrets"] = [
            k8s.V1LocalObjectReference(name=name) for name in pod["image_pull_secrets"]
        ]
    profile: Any = (spec.get("profiles") or {}).get("__default__") or {}
    if profile.get("requests") or profile.get("limits"):
        kwargs["container_resources"] = k8s.V1ResourceRequirements(
            requests=profile.get("requests") or None, limits=profile.get("limits") or None
        )
    for key in ("node_selector", "labels", "annotations"):
        if profile.get(key):
            kwargs[key] = verbatim(profile[key])
    if profile.get("tolerations"):
        kwargs["tolerations"] = list(profile["tolerations"])
    if profile.get("affinity"):
        kwargs["affinity"] = profile["affinity"]
    template: Any = (spec.get("pod_templates") or {}).get("__default__") or {}
    if template.get("template"):
        kwargs["pod_template_dict"] = verbatim(template["template"])
    if template.get("image"):
        kwargs["image"] = verbatim(template["image"])
    volume_set_fs_group(kwargs, volume.get("owner"))
    return kwargs


class VolumeInitPodOperator(KubernetesPodOperator):
    """Creates the run's claim, then runs the pod that fills it from the image's data folder."""

    def __init__(self, *, volume_settings: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.volume_settings = volume_settings

    def execute(self, context: Any) -> Any:
        dag_id, run_id = context["dag"].dag_id, context["run_id"]
        name = volume_claim_name(dag_id, run_id)
        namespace = volume_namespace(self.hook, self.namespace)
        body = volume_claim_body(name, self.volume_settings["volume"], dag_id, run_id)
        volume_create_claim(self.hook.core_v1_client, namespace, body)
        return super().execute(context)


def _volume_settings(spec: "DagSpec") -> dict[str, Any]:
    volume, pod = volume_section(spec), spec["pod"]
    return {
        "volume": {
            "storage_class": volume.get("storage_class"),
            "size": volume.get("size") or "1Gi",
            "access_modes": list(volume.get("access_modes") or ["ReadWriteOnce"]),
        },
        "namespace": pod.get("namespace"),
        "kubernetes_conn_id": pod.get("kubernetes_conn_id"),
    }


def _volume_python_task(
    task_id: str, action: str, spec: "DagSpec", protect: Any, **kwargs: Any
) -> Any:
    settings = {"action": action, "settings": _volume_settings(spec)}
    return PythonOperator(
        task_id=task_id,
        python_callable=volume_claim_task,
        op_kwargs=protect(settings, PythonOperator.template_ext, marks=False),
        do_xcom_push=False,
        **kwargs,
    )


class VolumeExtension:
    """The DAG builder extension of the per-run data volume (see the module's documentation).

    ``protect`` is the builder's ``untemplated``."""

    def __init__(self, protect: Any) -> None:
        self.protect = protect

    @staticmethod
    def dag_arguments(spec: "DagSpec", kwargs: dict[str, Any]) -> None:
        macros = dict(kwargs.get("user_defined_macros") or {})
        macros[VOLUME_MACRO] = volume_claim_name
        kwargs["user_defined_macros"] = macros

    @staticmethod
    def pod_arguments(spec: "DagSpec", task: "TaskSpec", kwargs: dict[str, Any]) -> None:
        volume = volume_section(spec)
        mount = k8s.V1VolumeMount(
            name=VOLUME_POD_VOLUME_NAME,
            mount_path=volume_check_mount_path(volume["mount_path"]),
            local_vars_configuration=_volume_k8s_configuration(),
        )
        kwargs["volumes"] = [*(kwargs.get("volumes") or []), volume_pod_volume()]
        kwargs["volume_mounts"] = [*(kwargs.get("volume_mounts") or []), mount]
        volume_set_fs_group(kwargs, volume.get("owner"))

    def add_tasks(
        self, dag: Any, spec: "DagSpec", roots: list[Any], leaves: list[Any]
    ) -> list[tuple[Any, Any]]:
        volume = volume_section(spec)
        if volume.get("skip_init"):
            create = _volume_python_task(volume["create_task_id"], "create", spec, self.protect)
        else:
            create = VolumeInitPodOperator(
                task_id=volume["create_task_id"],
                volume_settings=_volume_settings(spec),
                **volume_init_pod_arguments(spec, self.protect),
            )
        delete = _volume_python_task(
            volume["delete_task_id"], "delete", spec, self.protect, trigger_rule="all_done"
        )
        # What already waits before the first nodes (external sensors...) waits before the
        # volume too: no claim is held while a sensor waits for hours.
        before = {t.task_id: t for root in roots for t in root.upstream_list}
        return [
            *((task, create) for task in before.values()),
            *((create, root) for root in roots),
            *((leaf, delete) for leaf in leaves),
            (create, delete),
        ]
