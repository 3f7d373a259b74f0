"""Rendering: plan + config → SPEC → DAG file text (no Airflow needed here)."""

from __future__ import annotations

import ast
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kedro_airflow_k8s.config import parse_config
from kedro_airflow_k8s.errors import ConfigError
from kedro_airflow_k8s.names import dag_file_name
from kedro_airflow_k8s.names import dag_id as dag_id_for
from kedro_airflow_k8s.plan import PlanOptions, build_plan
from kedro_airflow_k8s.render import DagContext, build_spec, render_dag
from kedro_airflow_k8s.render.dag import runtime_source
from kedro_airflow_k8s.snapshot import DatasetSource, DatasetSpec, NodeSpec, PipelineSpec

CONTEXT = DagContext("Demo", "demo", "__default__", "local", "abc123")


def _chain(
    names: list[str], tags: list[tuple[str, ...]] | None = None
) -> tuple[PipelineSpec, dict[str, DatasetSpec]]:
    nodes = []
    for i, name in enumerate(names):
        nodes.append(
            NodeSpec(
                name=name,
                inputs=(f"d{i}",),
                outputs=(f"d{i + 1}",),
                tags=(tags[i] if tags else ()),
            )
        )
    datasets = {
        f"d{i}": DatasetSpec(f"d{i}", DatasetSource.ENTRY, "pickle.PickleDataset")
        for i in range(len(names) + 1)
    }
    return PipelineSpec("__default__", tuple(nodes)), datasets


def _render(
    config: dict[str, Any], names: list[str], context: DagContext = CONTEXT
) -> tuple[dict[str, Any], str]:
    run_config = parse_config(config).run_config
    pipeline, datasets = _chain(names)
    options = PlanOptions(
        resource_profiles=frozenset(run_config.resources),
        pod_templates=frozenset(run_config.kubernetes_pod_templates),
    )
    plan = build_plan(pipeline, datasets, options)
    spec = build_spec(plan, run_config, context)
    return spec, render_dag(spec)


BASE = {"run_config": {"image": "repo/img:1"}}


def _code_outside_spec(source: str) -> tuple[list[str], Any]:
    """The dumped AST of every statement except ``SPEC = ...``, and SPEC's value."""
    module = ast.parse(source)
    dumps, spec_value = [], None
    for statement in module.body:
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and statement.targets[0].id == "SPEC"
        ):
            spec_value = ast.literal_eval(statement.value)
            dumps.append("SPEC")
        else:
            dumps.append(ast.dump(statement))
    return dumps, spec_value


REFERENCE_CODE, _ = _code_outside_spec(_render(BASE, ["a", "b"])[1])


def test_file_is_builder_source_spec_and_call() -> None:
    spec, source = _render(BASE, ["a", "b"])
    assert runtime_source("dag_builder").rstrip("\n") in source
    assert source.rstrip("\n").endswith("\ndag = build_dag(SPEC)")
    dumps, value = _code_outside_spec(source)
    assert value == spec
    assert dumps.count("SPEC") == 1
    # Airflow's DAG processor skips files that do not mention both words.
    assert "airflow" in source and "dag" in source.lower()


def test_same_input_gives_byte_identical_file() -> None:
    assert _render(BASE, ["a", "b", "c"])[1] == _render(BASE, ["a", "b", "c"])[1]


def test_spec_of_a_chain() -> None:
    spec, _ = _render(BASE, ["first", "second"])
    tasks = spec["tasks"]
    assert [t["task_id"] for t in tasks] == ["first", "second"]
    assert tasks[1]["upstream"] == ["first"]
    assert tasks[1]["arguments"] == [
        "kedro",
        "run",
        "--env",
        "local",
        "--pipelines",
        "__default__",
        "--nodes",
        "second",
        {"jinja": "--params={{ kedro_params({}, {}, dag_run.conf) }}"},
    ]
    assert spec["final_task_id"] == "pipeline_complete"
    assert spec["dag"]["dag_id"] == "demo.__default__.local"
    assert spec["dag"]["schedule"] == "@daily"
    assert spec["dag"]["start_date"] == [2024, 1, 1]
    assert spec["dag"]["tags"][1:] == [
        "commit_sha:abc123",
        "experiment_name:demo",
        "kedro_pipeline:__default__",
        "kedro_env:local",
    ]


def test_final_task_id_never_collides_with_a_node_task() -> None:
    spec, _ = _render(BASE, ["pipeline_complete"])
    assert spec["final_task_id"] == "pipeline_complete_2"


def test_added_task_ids_never_collide_with_node_tasks() -> None:
    config = {
        "run_config": {
            "image": "i",
            "volume": {"size": "2Gi"},
            "external_dependencies": [{"dag_id": "up"}, {"dag_id": "up"}],
        }
    }
    spec, source = _render(config, ["data_volume_init", "wait_for_up", "data_volume_delete"])
    assert spec["volume"]["create_task_id"] == "data_volume_init_2"
    assert spec["volume"]["delete_task_id"] == "data_volume_delete_2"
    assert [e["task_id"] for e in spec["external_dependencies"]] == [
        "wait_for_up_2",
        "wait_for_up_3",
    ]
    assert source.rstrip("\n").endswith(
        "dag = build_dag(SPEC, extensions=[SensorsExtension, VolumeExtension(untemplated)])"
    )


def test_image_option_overrides_config_and_a_missing_image_is_an_error() -> None:
    run_config = parse_config({}).run_config
    pipeline, datasets = _chain(["a"])
    plan = build_plan(pipeline, datasets, PlanOptions())
    assert build_spec(plan, run_config, CONTEXT, image="x:1")["pod"]["image"] == "x:1"
    with pytest.raises(ConfigError) as error:
        build_spec(plan, run_config, CONTEXT)
    assert error.value.message == (
        "airflow-k8s config: run_config.image: no image to run the nodes in; set it or pass --image"
    )


def test_env_vars_come_from_airflow_variables_as_templates() -> None:
    spec, _ = _render({"run_config": {"image": "i", "env_vars": ["REGION", "TOKEN"]}}, ["a"])
    assert spec["pod"]["env_vars"] == {
        "REGION": {"jinja": "{{ var.value.REGION }}"},
        "TOKEN": {"jinja": "{{ var.value.TOKEN }}"},
    }


@pytest.mark.parametrize(
    ("run_name", "pipeline", "env", "expected"),
    [
        ("demo", "__default__", "local", "demo.__default__.local"),
        ("demo", "data science", "prod", "demo.data_science.prod_"),
        ("démo", "p", "e", "d_mo.p.e_"),
    ],
)
def test_dag_ids_are_valid_and_keep_inputs_apart(
    run_name: str, pipeline: str, env: str, expected: str
) -> None:
    dag_id = dag_id_for(run_name, pipeline, env)
    assert dag_id.startswith(expected)
    assert all(c.isascii() and (c.isalnum() or c in "_.-") for c in dag_id)
    assert dag_file_name(dag_id).endswith(".py")


def test_sanitised_dag_ids_differ_when_inputs_differ() -> None:
    assert dag_id_for("a b", "p", "e") != dag_id_for("a_b", "p", "e")
    assert dag_id_for("a", "x/y", "e") != dag_id_for("a", "x:y", "e")


def test_long_tags_are_cut_to_airflows_limit() -> None:
    spec, _ = _render({"run_config": {"image": "i", "experiment_name": "e" * 300}}, ["a"])
    assert all(len(tag) <= 100 for tag in spec["dag"]["tags"])


NASTY = st.sampled_from(
    [
        "'",
        '"',
        "'''",
        '"""',
        "\\",
        "\n",
        "{{ conn.x.password }}",
        "{% raw %}",
        "#",
        "\r\n",
        "\x00",
        "'); __import__('os').system('id'); ('",
        "\u2028",
        "é",
    ]
)
FREE_TEXT = st.lists(NASTY | st.text(max_size=12), min_size=1, max_size=4).map("".join)


@given(
    names=st.lists(FREE_TEXT, min_size=1, max_size=4, unique=True),
    description=FREE_TEXT,
    run_name=FREE_TEXT.filter(lambda s: s.strip() != ""),
    experiment=FREE_TEXT,
    annotation=FREE_TEXT,
    pipeline=FREE_TEXT,
    env=FREE_TEXT,
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_strings_leave_the_generated_code_unchanged(
    names: list[str],
    description: str,
    run_name: str,
    experiment: str,
    annotation: str,
    pipeline: str,
    env: str,
) -> None:
    config = {
        "run_config": {
            "image": "repo/img:1",
            "description": description,
            "run_name": run_name,
            "experiment_name": experiment,
            "resources": {"__default__": {"annotations": {"example.com/note": annotation}}},
        }
    }
    context = DagContext(
        project_name=description,
        package_name="p",
        pipeline=pipeline,
        env=env,
        commit_sha=annotation,
    )
    # Planning refuses node names a pod command line cannot carry; the renderer must still
    # keep any text it is given inside the SPEC literal.
    run_config = parse_config(config).run_config
    pipe, datasets = _chain([f"n{i}" for i in range(len(names))])
    planned = build_plan(pipe, datasets, PlanOptions(resource_profiles=frozenset({"__default__"})))
    plan = planned._replace(
        tasks=tuple(t._replace(nodes=(n,)) for t, n in zip(planned.tasks, names, strict=True)),
    )
    spec = build_spec(plan, run_config, context)
    source = render_dag(spec)
    compile(source, "<generated>", "exec")
    dumps, value = _code_outside_spec(source)
    assert value == spec
    assert dumps == REFERENCE_CODE


def test_a_pod_template_is_parsed_once_and_carried_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The config parses the YAML when it is read; the SPEC takes the parsed manifest."""
    import yaml

    text = "kind: Pod\nspec:\n  priorityClassName: parsed-once-" + str(id(monkeypatch))
    calls: list[str] = []
    real = yaml.safe_load

    def counting(stream: Any) -> Any:
        calls.append(stream)
        return real(stream)

    monkeypatch.setattr(yaml, "safe_load", counting)
    config = {
        "run_config": {
            "image": "i",
            "kubernetes_pod_templates": {"__default__": {"template": text}},
        }
    }
    spec, _ = _render(config, ["a"])
    assert calls == [text]
    manifest = spec["pod_templates"]["__default__"]["template"]
    assert manifest["spec"] == {
        "priorityClassName": text.rsplit(": ", 1)[1],
        "containers": [{"name": "base"}],
    }
