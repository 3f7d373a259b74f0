"""The runtime builder as ordinary code, in a real Airflow 3."""

from __future__ import annotations

import ast
import copy
import functools
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import DUMMY_KUBECONFIG, handmade_spec, load_runtime, pod_task

RUNTIME = Path(__file__).resolve().parents[2] / "src" / "kedro_airflow_k8s" / "runtime"


@pytest.mark.parametrize("path", sorted(RUNTIME.glob("*.py")), ids=lambda p: p.name)
def test_runtime_modules_are_self_contained(path: Path) -> None:
    """Embedded into DAG files: no imports from the plugin, no ``from __future__``."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.module != "__future__", f"{path.name}: from __future__ cannot be embedded"
            assert not (node.module or "").startswith("kedro_airflow_k8s"), path.name
        if isinstance(node, ast.Import):
            assert not any(a.name.startswith("kedro_airflow_k8s") for a in node.names), path.name


SPEC: dict[str, Any] = handmade_spec(
    "demo.__default__.local",
    [
        pod_task(
            "a",
            full_task_id="outer.a",
            group=["outer"],
            profile="p",
            arguments=["kedro", "run", "--nodes", "{{ not rendered }}.json"],
        ),
        pod_task("b", full_task_id="outer.inner.b", group=["outer", "inner"], upstream=["outer.a"]),
    ],
    default_args={"retries": 2},
    pod={
        "image_pull_policy": "Always",
        "env_vars": {"FROM_VAR": {"jinja": "{{ var.value.FROM_VAR }}"}},
    },
    profiles={
        "p": {
            "requests": {"cpu": "1"},
            "limits": {},
            "node_selector": {},
            "labels": {"team": "x"},
            "annotations": {"note": "{{ 7 * 7 }} stays\n"},
            "tolerations": [],
            "affinity": {},
        }
    },
    task_groups=[["outer"], ["outer", "inner"]],
)


@pytest.fixture(scope="module")
def builder() -> Any:
    return load_runtime()


def test_builds_groups_tasks_and_final_task(builder: Any) -> None:
    import datetime

    dag = builder.build_dag(copy.deepcopy(SPEC))
    assert dag.dag_id == "demo.__default__.local"
    assert dag.start_date == datetime.datetime(2024, 5, 6, tzinfo=datetime.timezone.utc)
    assert dag.default_args["retry_delay"] == datetime.timedelta(seconds=60)
    assert set(dag.task_dict) == {"outer.a", "outer.inner.b", "pipeline_complete"}
    assert dag.get_task("outer.inner.b").upstream_task_ids == {"outer.a"}
    assert dag.get_task("pipeline_complete").upstream_task_ids == {"outer.inner.b"}
    assert (
        dag.task_group.get_child_by_label("outer").get_child_by_label("inner").group_id
        == "outer.inner"
    )


def test_only_marked_values_are_templates(builder: Any, tmp_path: Path) -> None:
    dag = builder.build_dag(copy.deepcopy(SPEC))
    task = dag.get_task("outer.a")
    ti = SimpleNamespace(
        dag_id=dag.dag_id, task_id=task.task_id, run_id="r", try_number=1, map_index=-1
    )
    context = {
        "ti": ti,
        "task_instance": ti,
        "run_id": "r",
        "dag": dag,
        "var": {"value": SimpleNamespace(FROM_VAR="from-variable")},
        "dag_run": SimpleNamespace(conf={}),
    }
    task.render_template_fields(context)
    assert task.arguments == ["kedro", "run", "--nodes", "{{ not rendered }}.json"]
    assert task.annotations == {"note": "{{ 7 * 7 }} stays\n"}
    assert {e.name: e.value for e in task.env_vars} == {"FROM_VAR": "from-variable"}
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(DUMMY_KUBECONFIG)
    task.config_file = str(kubeconfig)
    pod = task.build_pod_request_obj(context)
    assert pod.spec.containers[0].resources.requests == {"cpu": "1"}
    assert pod.metadata.labels["team"] == "x"


def test_untemplated_wraps_only_what_airflow_would_render(builder: Any) -> None:
    value = builder.untemplated(
        {
            "plain": "x",
            "list": ["y", 1, "{{ ds }}"],
            "block": "{% if x %}",
            "comment": "a {# b",
            "mark": {"jinja": "{{ ds }}"},
            "file": "run.sh",
        },
        (".sh", ".json"),
    )
    assert value["plain"] == "x" and type(value["plain"]) is str
    assert value["list"][:2] == ["y", 1]
    for wrapped, text in (
        (value["list"][2], "{{ ds }}"),
        (value["block"], "{% if x %}"),
        (value["comment"], "a {# b"),
        (value["file"], "run.sh"),  # ends in one of the operator's template extensions
    ):
        assert isinstance(wrapped, builder.VerbatimValue), text
        assert wrapped.value == text and str(wrapped) == text and wrapped.to_dict() == text
    assert value["mark"] == "{{ ds }}"  # the plugin's own template
    assert builder.untemplated("run.sh") == "run.sh"  # no template_ext: a plain string


TEMPLATE_EXT = (".sh", ".json", ".yaml")


@functools.cache
def _operator_with_template_files() -> Any:
    from airflow.sdk import BaseOperator

    class WithTemplateFiles(BaseOperator):
        template_fields = ("value",)
        template_ext = TEMPLATE_EXT

        def __init__(self, *, value: Any, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.value = value

    return WithTemplateFiles


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("ab {}%#\r\n-.é\u2028")), max_size=12),
    suffix=st.sampled_from(["", *TEMPLATE_EXT, ".yml"]),
)
def test_what_airflow_renders_is_what_was_given(builder: Any, text: str, suffix: str) -> None:
    """Through Airflow's own rendering (the DAG's Jinja environment, an operator with template
    file extensions), every string comes back exactly as it was given; only the ones rendering
    would change are wrapped."""
    import datetime

    from airflow.sdk import DAG

    value = text + suffix
    with DAG("render_probe", schedule=None, start_date=datetime.datetime(2024, 1, 1)):
        task = _operator_with_template_files()(
            value=builder.untemplated([value], TEMPLATE_EXT), task_id="t"
        )
    wrapped = not isinstance(task.value[0], str)
    assert wrapped == builder.needs_literal(value, TEMPLATE_EXT)
    task.render_template_fields({"ds": "2024-01-01"})
    assert task.value == [value]


def test_user_data_shaped_like_a_template_mark_stays_data(builder: Any) -> None:
    value = builder.untemplated({"jinja": "{{ ds }}"}, marks=False)
    assert set(value) == {"jinja"} and value["jinja"].value == "{{ ds }}"
