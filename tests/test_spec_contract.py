"""The SPEC real compiles write is exactly what runtime/spec.py declares: every key the types
require, no key they do not know, every value of its declared type.

mypy checks the renderer (``build_spec`` returns ``DagSpec``) and the runtime (``build_dag`` and
the extensions read ``DagSpec``) against the same TypedDicts; this test checks the data itself,
walking the TypedDicts (``typing.get_type_hints`` and the required / optional key sets) the way a
runtime type checker would. The SPECs come from the real command, read back from the written
files: the example project with every pod-side feature on (sensors, alerts, MLflow through
kedro-mlflow, the per-run volume, in-memory data kept on it, pod templates, secrets, resource
profiles), the same with ``execution: local`` (the local execution section), and the spark
project in its dataproc, k8s and custom environments.
"""

from __future__ import annotations

import shutil
import sys
import types
import typing
from pathlib import Path
from typing import Any

import pytest

from kedro_airflow_k8s.runtime import spec as contract
from tests.helpers import REPO, copy_example, copy_project, dag_spec, kedro
from tests.mlflow.overlay import apply_mlflow_overlay

ENV = "contract"
FEATURES_CONFIG = """\
run_config:
  group_by: none
  external_dependencies:
    - {dag_id: upstream, task_id: publish}
    - {dag_id: upstream}
  failure_handlers: [{type: slack}]
  volume: {size: 2Gi, storageclass: standard, access_modes: [ReadWriteMany]}
  in_memory: {storage: volume}
  secrets:
    - {secret: db, deploy_type: env, key: password, deploy_target: DB_PASSWORD}
    - {secret: certs, deploy_type: volume, deploy_target: /certs}
  env_vars: [API_TOKEN]
  image_pull_secrets: [registry]
  resources:
    __default__:
      requests: {cpu: "1", memory: 1Gi}
      tolerations: [{key: batch, operator: Exists, effect: NoSchedule}]
  kubernetes_pod_templates:
    __default__:
      template: |
        spec:
          priorityClassName: batch
      image: other/image:2
"""
# A dataset the next node reads from memory: kept in the run's storage (run_config.in_memory).
IN_MEMORY_CATALOG = "preprocessed_companies:\n  type: MemoryDataset\n"


def spec_problems(value: Any, annotation: Any, where: str = "SPEC") -> list[str]:
    """Where ``value`` is not of the type ``annotation`` (empty: it is)."""
    if annotation is Any:
        return []
    if annotation is type(None):
        return [] if value is None else [f"{where}: {value!r} is not None"]
    if typing.is_typeddict(annotation):
        return _dict_problems(value, annotation, where)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        found = [spec_problems(value, arg, where) for arg in args]
        if any(not problems for problems in found):
            return []
        return [f"{where}: {value!r} is none of {annotation}", *found[0]]
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: {value!r} is not a list"]
        return [
            p for i, item in enumerate(value) for p in spec_problems(item, args[0], f"{where}[{i}]")
        ]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not a dict"]
        out = []
        for key, item in value.items():
            out += spec_problems(key, args[0], f"{where} key {key!r}")
            out += spec_problems(item, args[1], f"{where}[{key!r}]")
        return out
    if annotation is int:  # a bool is an int to isinstance, not to the SPEC
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{where}: {value!r} is not an int"]
    if annotation is float:  # an int is a float to the type system
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else [f"{where}: {value!r} is not a float"]
    if annotation in (str, bool):
        ok = isinstance(value, annotation)
        return [] if ok else [f"{where}: {value!r} is not a {annotation.__name__}"]
    raise TypeError(f"{where}: the check does not know {annotation!r}")


def _dict_problems(value: Any, shape: Any, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: {value!r} is not a dict ({shape.__name__})"]
    hints = typing.get_type_hints(shape)
    out = [
        f"{where}: no key {key!r} ({shape.__name__})"
        for key in sorted(shape.__required_keys__ - set(value))
    ]
    out += [
        f"{where}: unknown key {key!r} ({shape.__name__})"
        for key in sorted(set(value) - set(hints))
    ]
    for key, item in value.items():
        if key in hints:
            out += spec_problems(item, hints[key], f"{where}[{key!r}]")
    return out


# --- the check itself --------------------------------------------------------------------------


def _task(**changes: Any) -> dict[str, Any]:
    task: dict[str, Any] = {
        "task_id": "a",
        "full_task_id": "a",
        "group": [],
        "pod_name": "a",
        "kind": "pod",
        "nodes": ["a"],
        "profile": None,
        "pod_template": None,
        "arguments": ["kedro", "run", {"jinja": "--params={{ x }}"}],
        "upstream": [],
    }
    return {**task, **changes}


def test_the_check_takes_a_task_as_the_renderer_writes_it() -> None:
    assert spec_problems(_task(), contract.TaskSpec) == []
    assert spec_problems(_task(memory_datasets=["m"]), contract.TaskSpec) == []


@pytest.mark.parametrize(
    ("task", "problem"),
    [
        (_task(pod_name=None), "SPEC['pod_name']: None is not a str"),
        (_task(upstream="a"), "SPEC['upstream']: 'a' is not a list"),
        (_task(arguments=["kedro", {"jinja": 1}]), "SPEC['arguments'][1]: {'jinja': 1} is none of"),
        (_task(nodes=[True]), "SPEC['nodes'][0]: True is not a str"),
        (_task(extra=1), "SPEC: unknown key 'extra' (TaskSpec)"),
        ({k: v for k, v in _task().items() if k != "kind"}, "SPEC: no key 'kind' (TaskSpec)"),
    ],
)
def test_the_check_names_what_is_wrong_and_where(task: dict[str, Any], problem: str) -> None:
    assert spec_problems(task, contract.TaskSpec)[0].startswith(problem)


def test_an_int_is_not_a_bool_nor_the_other_way() -> None:
    sensor = {
        "task_id": "w",
        "dag_id": "d",
        "external_task_id": None,
        "timeout_minutes": True,
        "check_existence": 1,
        "execution_delta_minutes": 0,
    }
    assert spec_problems(sensor, contract.SensorSpec) == [
        "SPEC['timeout_minutes']: True is not an int",
        "SPEC['check_existence']: 1 is not a bool",
    ]


def test_the_contract_module_uses_the_standard_library_only() -> None:
    """runtime/spec.py is read by the runtime's type annotations; it must never need more."""
    import ast

    tree = ast.parse(Path(contract.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert imported <= set(sys.stdlib_module_names), imported


# --- real compiles ------------------------------------------------------------------------------


def _compile(project: Path, env: str, folder: Path, **environ: str) -> dict[str, Any]:
    done = kedro(project, "airflow-k8s", "-e", env, "compile", "-o", str(folder), env=environ)
    assert done.returncode == 0, done.stderr[-3000:]
    (dag_file,) = sorted(folder.glob("*.py"))
    return dag_spec(dag_file)  # ast.literal_eval of the SPEC literal


@pytest.fixture(scope="module")
def compiled_specs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    base = tmp_path_factory.mktemp("contract")
    example = copy_example(base, git=False)
    apply_mlflow_overlay(example, ENV, "http://127.0.0.1:9")  # read, never contacted
    conf = example / "conf" / ENV
    (conf / "kedro-airflow-k8s.yaml").write_text(FEATURES_CONFIG)
    catalog = conf / "catalog.yml"
    catalog.write_text((catalog.read_text() if catalog.exists() else "") + IN_MEMORY_CATALOG)
    specs = {"example": _compile(example, ENV, base / "dags-example")}
    # the same features executed locally: the local section, the pod settings left out
    local = example / "conf" / f"{ENV}_local"
    shutil.copytree(conf, local)  # the same catalog and MLflow settings
    (local / "kedro-airflow-k8s.yaml").write_text(
        FEATURES_CONFIG.replace("run_config:\n", "run_config:\n  execution: local\n", 1)
    )
    specs["local"] = _compile(example, f"{ENV}_local", base / "dags-example-local")
    assert specs["local"]["local"]["warnings"], "Kubernetes-only settings are named"
    spark = copy_project(REPO / "tests" / "data" / "spark_project", base, "spark_demo", git=False)
    for env in ("local", "k8s", "custom"):
        artifacts = {"KEDRO_CONFIG_SPARK_ARTIFACTS": str(base / "artifacts")}
        specs[f"spark-{env}"] = _compile(spark, env, base / f"dags-{env}", **artifacts)
    return specs


def test_the_spec_of_real_compiles_matches_the_typed_contract(
    compiled_specs: dict[str, dict[str, Any]],
) -> None:
    for name, spec in compiled_specs.items():
        assert spec_problems(spec, contract.DagSpec, name) == []


def test_the_compiles_leave_no_part_of_the_contract_unchecked(
    compiled_specs: dict[str, dict[str, Any]],
) -> None:
    """Not vacuous: every section of the contract was written with a value, every spark type."""
    written = {key for spec in compiled_specs.values() for key, value in spec.items() if value}
    assert written == set(typing.get_type_hints(contract.DagSpec)), written
    example = compiled_specs["example"]
    assert {key for key, value in example.items() if value} >= {
        "external_dependencies",
        "failure_handlers",
        "mlflow",
        "volume",
        "memory",
        "pod_templates",
    }
    assert any("memory_datasets" in task for task in example["tasks"])
    assert {"deploy_target", "key"} <= set(example["pod"]["secrets"][0])
    assert example["profiles"]["__default__"]["tolerations"]
    assert example["pod"]["env_vars"]["API_TOKEN"] == {"jinja": "{{ var.value.API_TOKEN }}"}
    spark_types = {spec["spark"]["type"] for spec in compiled_specs.values() if spec["spark"]}
    assert spark_types == {"dataproc", "k8s", "custom"}
    optional = {key for spec in compiled_specs.values() if spec["spark"] for key in spec["spark"]}
    assert optional == set(typing.get_type_hints(contract.SparkSpec))


def test_a_spec_that_drifts_from_the_contract_is_caught(
    compiled_specs: dict[str, dict[str, Any]],
) -> None:
    """What a renderer drifting from the runtime would write: a renamed key, a wrong type."""
    spec = compiled_specs["example"]
    renamed = {**spec, "volume": {**spec["volume"], "mountPath": spec["volume"]["mount_path"]}}
    del renamed["volume"]["mount_path"]
    problems = spec_problems(renamed, contract.DagSpec)
    assert problems[1:] == [
        "SPEC['volume']: no key 'mount_path' (VolumeSpec)",
        "SPEC['volume']: unknown key 'mountPath' (VolumeSpec)",
    ]
    assert problems[0].startswith("SPEC['volume']: {") and "is none of" in problems[0]
    retyped = {**spec, "dag": {**spec["dag"], "start_date": "2024-01-01"}}
    assert spec_problems(retyped, contract.DagSpec) == [
        "SPEC['dag']['start_date']: '2024-01-01' is not a list"
    ]


def test_both_sides_are_declared_with_the_contract() -> None:
    """What mypy checks: the renderer returns the contract and the runtime reads it."""
    import inspect

    from kedro_airflow_k8s.render.dag import build_spec, render_dag
    from kedro_airflow_k8s.runtime import dag_builder, local, memory, mlflow_run, spark, volume

    assert inspect.signature(build_spec).return_annotation == "DagSpec"
    assert inspect.signature(render_dag).parameters["spec"].annotation == "DagSpec"
    assert inspect.signature(dag_builder.build_dag).parameters["spec"].annotation == "DagSpec"
    for extension in (
        local.LocalExtension,
        memory.MemoryExtension,
        mlflow_run.MlflowExtension,
        spark.SparkExtension,
        volume.VolumeExtension,
    ):
        for hook in ("dag_arguments", "pod_arguments", "task_operator", "add_tasks"):
            method = getattr(extension, hook, None)
            if method is not None:
                annotation = inspect.signature(method).parameters["spec"].annotation
                assert annotation == "DagSpec", (extension.__name__, hook)
