"""The volume extension as code: claim manifest, pod arguments, init command and the tasks it adds
to a DAG built by the real builder (real Airflow 3 objects, nothing contacted)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.helpers import load_runtime
from tests.volume.conftest import MOUNT_PATH, RUN_ID, SPEC, make_spec, task_context

NODES = {"a", "b", "c", "d"}


# --- the claim ------------------------------------------------------------------------------------


def test_claim_body(runtime: Any) -> None:
    body = runtime.volume_claim_body("kedro-x-0123", SPEC["volume"], "x.y", RUN_ID)
    assert body == {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": "kedro-x-0123",
            "labels": {
                "app.kubernetes.io/managed-by": "kedro-airflow-k8s",
                "app.kubernetes.io/component": "data-volume",
            },
            "annotations": {"kedro-airflow-k8s/dag-id": "x.y", "kedro-airflow-k8s/run-id": RUN_ID},
        },
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "resources": {"requests": {"storage": "5Gi"}},
            "storageClassName": "fast-ssd",
        },
    }


@pytest.mark.parametrize("storage_class", [None, ""])
def test_no_storage_class_means_the_cluster_default(runtime: Any, storage_class: Any) -> None:
    volume = {**SPEC["volume"], "storage_class": storage_class}
    body = runtime.volume_claim_body("n", volume, "d", "r")
    assert "storageClassName" not in body["spec"]


def test_claim_body_is_a_valid_manifest(runtime: Any) -> None:
    import kubernetes_validate

    body = runtime.volume_claim_body("kedro-x-0123", SPEC["volume"], "x.y", RUN_ID)
    body["metadata"]["namespace"] = "kedro"
    kubernetes_validate.validate(body, "1.30.0", strict=True)


# --- node pods ------------------------------------------------------------------------------------


def test_pod_arguments_add_the_claim_the_mount_and_fs_group(runtime: Any) -> None:
    from kubernetes.client import models as k8s

    existing_volume = k8s.V1Volume(name="other", empty_dir=k8s.V1EmptyDirVolumeSource())
    existing_mount = k8s.V1VolumeMount(name="other", mount_path="/tmp/other")
    kwargs: dict[str, Any] = {"volumes": [existing_volume], "volume_mounts": [existing_mount]}
    runtime.VolumeExtension(runtime.untemplated).pod_arguments(SPEC, SPEC["tasks"][0], kwargs)
    assert kwargs["volumes"][0] is existing_volume
    assert kwargs["volume_mounts"][0] is existing_mount
    volume, mount = kwargs["volumes"][1], kwargs["volume_mounts"][1]
    assert volume.name == mount.name == "kedro-data-volume"
    assert volume.persistent_volume_claim.claim_name == (
        "{{ kedro_volume_claim_name(dag.dag_id, run_id) }}"
    )
    assert mount.mount_path == MOUNT_PATH
    assert kwargs["security_context"] == k8s.V1PodSecurityContext(fs_group=1000)


def test_fs_group_joins_an_existing_security_context(runtime: Any) -> None:
    from kubernetes.client import models as k8s

    given = k8s.V1PodSecurityContext(run_as_user=1000)
    kwargs: dict[str, Any] = {"security_context": given}
    runtime.volume_set_fs_group(kwargs, 2000)
    assert kwargs["security_context"] == k8s.V1PodSecurityContext(run_as_user=1000, fs_group=2000)
    assert given.fs_group is None  # a copy: shared objects of other tasks stay as they were
    as_dict: dict[str, Any] = {"security_context": {"runAsUser": 1000}}
    runtime.volume_set_fs_group(as_dict, 0)
    assert as_dict["security_context"] == {"runAsUser": 1000, "fsGroup": 0}


def test_fs_group_goes_into_a_pod_templates_security_context(runtime: Any) -> None:
    """The operator's security_context would replace the template's whole securityContext."""
    template = {"spec": {"securityContext": {"runAsUser": 1000}, "containers": []}}
    kwargs: dict[str, Any] = {"pod_template_dict": template}
    runtime.volume_set_fs_group(kwargs, 3000)
    assert "security_context" not in kwargs
    assert kwargs["pod_template_dict"]["spec"]["securityContext"] == {
        "runAsUser": 1000,
        "fsGroup": 3000,
    }
    assert template["spec"]["securityContext"] == {"runAsUser": 1000}  # shared: not changed
    # A template without a securityContext: the operator's own is set.
    plain: dict[str, Any] = {"pod_template_dict": {"spec": {"containers": []}}}
    runtime.volume_set_fs_group(plain, 3000)
    assert plain["security_context"].fs_group == 3000


def test_no_owner_means_no_fs_group(runtime: Any) -> None:
    kwargs: dict[str, Any] = {}
    runtime.volume_set_fs_group(kwargs, None)
    assert kwargs == {}


def test_every_node_mounts_the_claim_of_the_run(build: Any, runtime: Any) -> None:
    dag = build()
    expected = runtime.volume_claim_name(dag.dag_id, RUN_ID)
    for task_id in [*sorted(NODES), "data_volume_init"]:
        task = dag.get_task(task_id)
        task.render_template_fields(task_context(dag, task))
        (volume,) = (v for v in task.volumes if v.name == "kedro-data-volume")
        assert volume.persistent_volume_claim.claim_name == expected
    assert expected == "kedro-demo-default-local-" + expected.rsplit("-", 1)[1]


def test_the_builders_own_macros_are_kept(build: Any, runtime: Any) -> None:
    macros = build().user_defined_macros
    assert macros["kedro_volume_claim_name"] is runtime.volume_claim_name
    assert "kedro_params" in macros


# --- the init pod ---------------------------------------------------------------------------------


def test_init_command(runtime: Any) -> None:
    assert runtime.volume_init_command("/home/kedro/data/") == [
        "cp",
        "-R",
        "/home/kedro/data/.",
        "/mnt/kedro-data-volume",
    ]


@pytest.mark.parametrize(
    ("mount_path", "target"),
    [
        ("/srv/data", "/mnt/kedro-data-volume"),
        ("/mnt/kedro-data-volume", "/kedro-data-volume"),
        ("/mnt", "/kedro-data-volume"),
        ("/mnt/kedro-data-volume/data", "/kedro-data-volume"),
        ("/kedro-data-volume", "/mnt/kedro-data-volume"),
        ("/mnt/kedro-data-volume-2", "/mnt/kedro-data-volume"),
    ],
)
def test_the_init_target_is_never_the_data_folder_nor_related(
    runtime: Any, mount_path: str, target: str
) -> None:
    assert runtime.volume_init_target(mount_path) == target


@pytest.mark.parametrize("mount_path", ["data", "", "/", "//data", "/..", None])
def test_bad_mount_paths_are_refused(runtime: Any, mount_path: Any) -> None:
    with pytest.raises(ValueError, match="mount"):
        runtime.volume_check_mount_path(mount_path)


def test_init_pod_arguments(runtime: Any) -> None:
    kwargs = runtime.volume_init_pod_arguments(copy.deepcopy(SPEC), runtime.untemplated)
    assert kwargs["image"] == "registry.example.com/demo:1"
    assert kwargs["namespace"] == "kedro"
    assert kwargs["service_account_name"] == "runner"
    assert [s.name for s in kwargs["image_pull_secrets"]] == ["regcred"]
    assert "kubernetes_conn_id" not in kwargs  # None: the hook's default connection
    assert kwargs["cmds"] == ["cp"]  # plain strings: Airflow renders them to themselves
    assert kwargs["arguments"] == ["-R", "/home/kedro/data/.", "/mnt/kedro-data-volume"]
    assert kwargs["volume_mounts"][0].mount_path == "/mnt/kedro-data-volume"
    assert kwargs["security_context"].fs_group == 1000
    # The __default__ profile applies to the init pod as to any node pod.
    assert kwargs["container_resources"].requests == {"cpu": "250m", "memory": "256Mi"}
    assert kwargs["tolerations"][0]["key"] == "kedro"
    assert kwargs["annotations"]["sidecar.istio.io/inject"] == "false"


def test_init_pod_uses_the_default_pod_template_and_its_image(runtime: Any) -> None:
    spec = make_spec()
    spec["pod"]["kubernetes_conn_id"] = "k8s_prod"
    spec["pod_templates"] = {
        "__default__": {
            "template": {"spec": {"securityContext": {"runAsUser": 999}}},
            "image": "other/image:2",
        }
    }
    kwargs = runtime.volume_init_pod_arguments(spec, runtime.untemplated)
    assert kwargs["image"] == "other/image:2"
    assert kwargs["kubernetes_conn_id"] == "k8s_prod"
    assert kwargs["pod_template_dict"]["spec"]["securityContext"] == {
        "runAsUser": 999,
        "fsGroup": 1000,
    }


# --- the tasks ------------------------------------------------------------------------------------


def test_create_before_the_first_nodes_delete_after_the_last_whatever_happens(build: Any) -> None:
    dag = build()
    create, delete = dag.get_task("data_volume_init"), dag.get_task("data_volume_delete")
    assert type(create).__name__ == "VolumeInitPodOperator"
    assert create.upstream_task_ids == set()
    assert create.downstream_task_ids == {"a", "d", "data_volume_delete"}
    assert delete.upstream_task_ids == {"b", "c", "d", "data_volume_init"}
    assert delete.downstream_task_ids == set()
    assert delete.trigger_rule == "all_done"
    assert delete.retries == 0  # the DAG's default_args apply
    # The builder's final task still decides the run: only the nodes' success counts.
    final = dag.get_task("pipeline_complete")
    assert final.upstream_task_ids == {"b", "c", "d"}
    assert final.trigger_rule == "all_success"
    assert {t.task_id for t in dag.tasks if not t.downstream_task_ids} == {
        "pipeline_complete",
        "data_volume_delete",
    }


def test_sensors_wait_before_the_volume_is_created() -> None:
    runtime = load_runtime("sensors", "volume")  # the renderer's order of the two extensions
    spec = make_spec()
    spec["external_dependencies"] = [
        {
            "task_id": "wait_for_upstream",
            "dag_id": "upstream",
            "external_task_id": None,
            "timeout_minutes": 60,
            "check_existence": True,
            "execution_delta_minutes": 0,
        }
    ]
    extensions = [runtime.SensorsExtension, runtime.VolumeExtension(runtime.untemplated)]
    dag = runtime.build_dag(spec, extensions=extensions)
    assert dag.get_task("data_volume_init").upstream_task_ids == {"wait_for_upstream"}
    assert dag.get_task("a").upstream_task_ids == {"data_volume_init", "wait_for_upstream"}


def test_skip_init_creates_the_claim_without_a_pod(build: Any) -> None:
    dag = build(make_spec(skip_init=True))
    create = dag.get_task("data_volume_init")
    assert type(create).__name__ == "PythonOperator"
    assert create.downstream_task_ids == {"a", "d", "data_volume_delete"}
    assert create.op_kwargs["action"] == "create"


def test_a_pipeline_without_nodes_still_deletes_after_creating(runtime: Any) -> None:
    spec = make_spec()
    spec["tasks"] = []
    dag = runtime.build_dag(spec, extensions=[runtime.VolumeExtension(runtime.untemplated)])
    assert dag.get_task("data_volume_delete").upstream_task_ids == {"data_volume_init"}


def test_python_tasks_get_plain_settings_never_templates(build: Any) -> None:
    spec = make_spec(storage_class="{{ 7 * 7 }}")
    spec["pod"]["namespace"] = "{{ ds }}"
    dag = build(spec)
    delete = dag.get_task("data_volume_delete")
    delete.render_template_fields(task_context(dag, delete))
    assert delete.op_kwargs == {
        "action": "delete",
        "settings": {
            "volume": {
                "storage_class": "{{ 7 * 7 }}",
                "size": "5Gi",
                "access_modes": ["ReadWriteMany"],
            },
            "namespace": "{{ ds }}",
            "kubernetes_conn_id": None,
        },
    }


def test_unknown_action_is_an_error(runtime: Any) -> None:
    from types import SimpleNamespace

    context = {"dag": SimpleNamespace(dag_id="d"), "run_id": "r"}
    with pytest.raises(ValueError, match="unknown volume action"):
        runtime.volume_claim_task("resize", {"namespace": "n"}, **context)


def test_rendered_file_embeds_the_module_and_loads_in_airflow(tmp_path: Any) -> None:
    """The renderer's file for a SPEC with a volume section, in a real DagBag."""
    from airflow.dag_processing.dagbag import DagBag

    from kedro_airflow_k8s.render.dag import render_dag

    source = render_dag(copy.deepcopy(SPEC))
    assert "class VolumeExtension" in source
    assert source.rstrip().endswith("extensions=[VolumeExtension(untemplated)])")
    (tmp_path / "volume_dag.py").write_text(source)
    bag = DagBag(dag_folder=str(tmp_path))
    assert bag.import_errors == {}
    dag = bag.dags["demo.__default__.local"]
    assert {"data_volume_init", "data_volume_delete"} <= set(dag.task_dict)
