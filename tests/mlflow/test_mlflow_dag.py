"""MlflowExtension in a DAG built the way a generated file builds it: the DAG builder's source and
this module's, executed together in one namespace, in a real Airflow 3."""

from __future__ import annotations

import ast
import copy
import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.helpers import DUMMY_KUBECONFIG, handmade_spec, load_runtime, pod_task

RUNTIME = Path(__file__).resolve().parents[2] / "src" / "kedro_airflow_k8s" / "runtime"
START, END = "start_mlflow_run", "end_mlflow_run"

SPEC: dict[str, Any] = handmade_spec(
    "demo.__default__.prod",
    [
        pod_task(task_id, full_task_id=full, group=group, upstream=upstream)
        for task_id, full, group, upstream in [
            ("a", "a", [], []),
            ("b", "g.b", ["g"], []),
            ("c", "c", [], ["a", "g.b"]),
            ("d", "d", [], ["a"]),
        ]
    ],
    default_args={"retries": 1},
    pod={
        "image_pull_policy": "Always",
        "env_vars": {"FROM_VAR": {"jinja": "{{ var.value.FROM_VAR }}"}},
    },
    task_groups=[["g"]],
    mlflow={
        "tracking_uri": "http://127.0.0.1:9",
        "experiment_name": "demo",
        "auth": {"type": "Null", "params": []},
        "task_id": START,
        "end_task_id": END,
        "run_name": "demo.__default__.prod",
        "image": "img:1",
    },
)


@pytest.fixture(scope="module")
def generated() -> Any:
    """The names a generated DAG file defines before its ``dag = build_dag(...)`` line."""
    return load_runtime("mlflow_run")


def _dag(generated: Any, **mlflow: Any) -> Any:
    spec = copy.deepcopy(SPEC)
    spec["mlflow"].update(mlflow)
    return generated.build_dag(spec, extensions=[generated.MlflowExtension])


def _render(task: Any, xcom: str = "the-run-id") -> Any:
    ti = SimpleNamespace(
        dag_id=task.dag_id,
        task_id=task.task_id,
        run_id="r",
        try_number=1,
        map_index=-1,
        xcom_pull=lambda task_ids: xcom if task_ids == START else None,
    )
    context = {
        "ti": ti,
        "task_instance": ti,
        "run_id": "r",
        "dag": task.dag,
        "var": {"value": SimpleNamespace(FROM_VAR="v", MLFLOW_TRACKING_PASSWORD="pw")},
        "dag_run": SimpleNamespace(conf={}),
    }
    task.render_template_fields(context)
    return context


def test_top_level_names_do_not_clash_with_other_runtime_modules() -> None:
    def defined(path: Path) -> set[str]:
        names = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        return names

    ours = defined(RUNTIME / "mlflow_run.py")
    assert all(name.lower().lstrip("_").startswith("mlflow") for name in ours), ours
    for other in RUNTIME.glob("*.py"):
        if other.name != "mlflow_run.py":
            assert not ours & defined(other), other.name


def test_start_task_before_the_roots_end_task_after_the_leaves(generated: Any) -> None:
    dag = _dag(generated)
    start, end = dag.get_task(START), dag.get_task(END)
    assert start.upstream_task_ids == set()
    assert start.downstream_task_ids == {"a", "g.b", END}
    assert dag.get_task("c").upstream_task_ids == {"a", "g.b"}  # not the start task
    assert end.upstream_task_ids == {"c", "d", START}
    assert end.trigger_rule == "all_done"
    assert dag.get_task("pipeline_complete").upstream_task_ids == {"c", "d"}
    assert end.node_task_ids == ["a", "g.b", "c", "d"]
    assert dag.default_args["retries"] == 1 and start.retries == 1


def test_every_pod_gets_the_run_id_of_this_dag_run(generated: Any, tmp_path: Path) -> None:
    dag = _dag(generated)
    for task_id in ("a", "g.b", "c", "d"):
        task = dag.get_task(task_id)
        context = _render(task)
        env = {e.name: e.value for e in task.env_vars}
        assert env == {"FROM_VAR": "v", "MLFLOW_RUN_ID": "the-run-id"}
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(DUMMY_KUBECONFIG)
    task.config_file = str(kubeconfig)
    pod = task.build_pod_request_obj(context)
    assert {"name": "MLFLOW_RUN_ID", "value": "the-run-id"} in [
        {"name": e.name, "value": e.value} for e in pod.spec.containers[0].env
    ]


def test_vars_auth_also_gives_the_pods_the_variables(generated: Any) -> None:
    dag = _dag(generated, auth={"type": "Vars", "params": ["MLFLOW_TRACKING_PASSWORD"]})
    task = dag.get_task("a")
    _render(task)
    env = {e.name: e.value for e in task.env_vars}
    assert env["MLFLOW_TRACKING_PASSWORD"] == "pw"


def test_a_variable_name_that_cannot_be_an_environment_variable_is_refused(
    generated: Any,
) -> None:
    with pytest.raises(ValueError, match="'A-B' is not a valid name"):
        _dag(generated, auth={"type": "Vars", "params": ["A-B"]})


def test_no_end_task_when_the_spec_says_so(generated: Any) -> None:
    dag = _dag(generated, end_task_id=None)
    assert END not in dag.task_dict and START in dag.task_dict


def test_without_an_mlflow_section_the_extension_does_nothing(generated: Any) -> None:
    spec = copy.deepcopy(SPEC)
    del spec["mlflow"]
    dag = generated.build_dag(spec, extensions=[generated.MlflowExtension])
    assert START not in dag.task_dict
    _render(dag.get_task("a"))
    assert [e.name for e in dag.get_task("a").env_vars] == ["FROM_VAR"]


def test_spec_strings_are_never_rendered_as_templates(generated: Any) -> None:
    dag = _dag(generated, experiment_name="{{ 7 * 7 }}")
    start = dag.get_task(START)
    _render(start)
    assert start.mlflow_spec["experiment_name"] == "{{ 7 * 7 }}"


def test_the_dag_serializes_for_airflow3(generated: Any) -> None:
    from airflow.serialization.serialized_objects import DagSerialization

    dag = _dag(generated)
    data = DagSerialization.to_dict(dag)
    restored = DagSerialization.from_dict(data)
    assert restored.get_task(END).trigger_rule == "all_done"
    assert restored.get_task(START).downstream_task_ids == {"a", "g.b", END}


def test_the_operators_run_against_a_real_server_with_stand_in_context(
    generated: Any, mlflow_server: Any, mlflow_client: Any
) -> None:
    """execute() of both tasks; Airflow's context is stood in for by plain objects."""
    dag = _dag(generated, tracking_uri=mlflow_server.url, experiment_name="operators")
    run_after = datetime.datetime(2026, 6, 1, tzinfo=datetime.timezone.utc)
    dag_run = SimpleNamespace(logical_date=None, run_after=run_after)
    context = {"run_id": "manual__x", "dag_run": dag_run}
    run_id = dag.get_task(START).execute(context)
    assert dag.get_task(START).execute(context) == run_id  # a retry
    run = mlflow_client.get_run(run_id)
    assert run.data.tags["airflow.dag_id"] == "demo.__default__.prod"
    ti = SimpleNamespace(
        dag_id="demo.__default__.prod",
        run_id="manual__x",
        xcom_pull=lambda task_ids: run_id if task_ids == START else None,
        get_task_states=lambda **_: {"manual__x": {"a": "success", "c": "upstream_failed"}},
    )
    assert dag.get_task(END).execute({"ti": ti, "dag_run": dag_run}) == "FAILED"
    assert mlflow_client.get_run(run_id).info.status == "FAILED"
    nothing_started = SimpleNamespace(xcom_pull=lambda task_ids: None)
    assert dag.get_task(END).execute({"ti": nothing_started}) is None
