"""Custom operator factories: custom_operators_source and SparkOperatorFactoryBase.call."""

from __future__ import annotations

import ast
import importlib
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kedro_airflow_k8s.errors import ConfigError
from kedro_airflow_k8s.features.spark.artifacts import SparkArtifacts
from kedro_airflow_k8s.features.spark.custom import CLUSTER_NAME_TEMPLATE, custom_operators_source
from kedro_airflow_k8s.features.spark.project_files import load_operator_factory
from kedro_airflow_k8s.render import DagContext, build_spec, render_dag
from kedro_airflow_k8s.spark import SparkCluster, SparkJob, SparkOperatorFactoryBase
from tests.spark.common import CUSTOM, PARAMS, plan, run_config, spec_for, task, urls

HOSTILE = ["it's", 'say "hi"', "two\nlines", "{{ ds }}", "'''", '"""', "\\", "{% raw %}", ""]
WHERE = "run_config.spark.operator_factory"


class Factory(SparkOperatorFactoryBase):
    """Operators as SimpleNamespaces holding everything the factory was given."""

    @property
    def imports_statement(self) -> str:
        return "from types import SimpleNamespace as Op\nimport types"

    def create_cluster_operator(self, cluster: SparkCluster) -> str:
        return self.call(
            "Op",
            task_id=cluster.create_task_id,
            name=cluster.name,
            init=cluster.init_script_url,
            archive=cluster.project_archive_url,
            config=cluster.cluster_config,
            region=cluster.region,
            project_id=cluster.project_id,
            project_name=cluster.project_name,
        )

    def delete_cluster_operator(self, cluster: SparkCluster) -> str:
        return f"types.SimpleNamespace(task_id={cluster.delete_task_id!r})  # a comment"

    def submit_operator(self, job: SparkJob) -> str:
        return self.call(
            "Op",
            task_id=job.task_id,
            full_task_id=job.full_task_id,
            nodes=job.nodes,
            arguments=job.arguments,
            script=job.run_script_url,
            env=job.env,
            pipeline=job.pipeline,
            cluster=job.cluster.name,
        )


PLAN = plan(
    task("prep"),
    task("s1", spark=True, nodes=tuple(HOSTILE), upstream=("prep",), group=("ns",)),
    task("s2", spark=True, nodes=("n",), upstream=("ns.s1",)),
)


def _source(factory: SparkOperatorFactoryBase, the_plan: Any = PLAN, **overrides: Any) -> str:
    config = run_config({**CUSTOM, "region": "eu", "project_id": "proj"})
    spec = spec_for(the_plan, config)
    assert spec is not None
    values: dict[str, Any] = {
        "project_name": "Demo 'project'",
        "env": "prod",
        "pipeline": "__default__",
        "urls": urls(the_plan),
        "params": PARAMS,
        "runner": "ThreadRunner",
        "cluster_config": {"workers": 2, "labels": {"a": "b"}},
        **overrides,
    }
    return custom_operators_source(factory, spec, the_plan, **values)


def _operators(source: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(source, "custom.py", "exec"), namespace)
    return namespace["CUSTOM_SPARK_OPERATORS"]


def test_source_compiles_with_one_lambda_per_spark_task() -> None:
    source = _source(Factory())
    tree = ast.parse(source)
    assert [type(s).__name__ for s in tree.body] == ["ImportFrom", "Import", "Assign"]
    value = tree.body[-1].value  # type: ignore[attr-defined]
    keys = [ast.literal_eval(k) for k in value.keys]
    assert keys == ["create", "delete", "submit"]
    assert all(isinstance(v, ast.Lambda) for v in value.values[:2])
    submit = value.values[2]
    assert [ast.literal_eval(k) for k in submit.keys] == ["ns.s1", "s2"]
    assert all(isinstance(v, ast.Lambda) for v in submit.values)


def test_operators_get_the_factorys_values() -> None:
    operators = _operators(_source(Factory()))
    create = operators["create"]()
    assert vars(create) == {
        "task_id": "create_spark_cluster",
        "name": CLUSTER_NAME_TEMPLATE,
        "init": "gs://bucket/spark/demo-init.sh",
        "archive": "gs://bucket/spark/demo.tar.gz",
        "config": {"workers": 2, "labels": {"a": "b"}},
        "region": "eu",
        "project_id": "proj",
        "project_name": "Demo 'project'",
    }
    assert vars(operators["delete"]()) == {"task_id": "delete_spark_cluster"}
    first = operators["submit"]["ns.s1"]()
    assert vars(first) == {
        "task_id": "s1",
        "full_task_id": "ns.s1",
        "nodes": HOSTILE,
        "arguments": [
            "run",
            "--env",
            "prod",
            "--pipeline",
            "__default__",
            "--node",
            ",".join(HOSTILE),
            "--runner",
            "ThreadRunner",
            PARAMS["jinja"],
        ],
        "script": "gs://bucket/spark/ns.s1.py",
        "env": "prod",
        "pipeline": "__default__",
        "cluster": CLUSTER_NAME_TEMPLATE,
    }
    assert operators["submit"]["s2"]().task_id == "s2"


def test_cluster_ids_follow_the_spec() -> None:
    the_plan = plan(task("create_spark_cluster"), task("s", spark=True))
    operators = _operators(_source(Factory(), the_plan))
    assert operators["create"]().task_id == "create_spark_cluster_2"
    assert list(operators["submit"]) == ["s"]


def test_the_demo_projects_factory(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.helpers import REPO

    monkeypatch.syspath_prepend(str(REPO / "tests" / "data" / "spark_project" / "src"))
    factory = load_operator_factory("spark_demo.spark_factory.DemoFactory")
    source = _source(factory)
    tree = ast.parse(source)
    assert ast.unparse(tree.body[0]) == (
        "from airflow.providers.standard.operators.bash import BashOperator"
    )
    compile(source, "custom.py", "exec")


# --- errors -------------------------------------------------------------------------------------


def _with(**methods: Any) -> SparkOperatorFactoryBase:
    """A Factory with some members replaced (``imports_statement`` given as a plain value or a
    callable raising)."""
    attributes: dict[str, Any] = {}
    for name, value in methods.items():
        if name == "imports_statement":
            attributes[name] = property(value if callable(value) else lambda self, v=value: v)
        else:
            attributes[name] = value
    return type("Broken", (Factory,), attributes)()


def _raise(error: Exception) -> Any:
    def method(self: Any, *args: Any) -> Any:
        raise error

    return method


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (
            _with(create_cluster_operator=lambda self, c: "x = 1"),
            f"{WHERE} Broken.create is not one Python expression: invalid syntax",
        ),
        (
            _with(delete_cluster_operator=lambda self, c: "Op(task_id='d'"),
            f"{WHERE} Broken.delete is not one Python expression: '(' was never closed",
        ),
        (
            _with(submit_operator=lambda self, j: "Op()\nOp()"),
            f"{WHERE} Broken.submit_operator is not one Python expression: invalid syntax",
        ),
        (
            _with(submit_operator=lambda self, j: ""),
            f"{WHERE} Broken.submit_operator is not one Python expression: invalid syntax",
        ),
        (
            _with(imports_statement="import os; os.system('x')"),
            f"{WHERE} Broken may hold import statements only",
        ),
        (
            _with(imports_statement="import os\nprint(os)"),
            f"{WHERE} Broken may hold import statements only",
        ),
        (
            _with(imports_statement="from x import ("),
            f"{WHERE} Broken does not parse: '(' was never closed",
        ),
        (
            _with(submit_operator=_raise(RuntimeError("boom\nsecond line"))),
            f"{WHERE} Broken.submit_operator failed: RuntimeError: boom second line",
        ),
        (
            _with(create_cluster_operator=_raise(KeyError("k"))),
            f"{WHERE} Broken.create_cluster_operator failed: KeyError: 'k'",
        ),
        (
            _with(imports_statement=_raise(ValueError("no imports"))),
            f"{WHERE} Broken.imports_statement failed: ValueError: no imports",
        ),
        (
            _with(create_cluster_operator=lambda self, c: None),
            f"{WHERE} Broken.create returned NoneType, not Python source text",
        ),
        (
            _with(submit_operator=lambda self, j: 42),
            f"{WHERE} Broken.submit_operator returned int, not Python source text",
        ),
        (
            _with(imports_statement=["import os"]),
            f"{WHERE} Broken returned list, not Python source text",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else type(value).__name__,
)
def test_errors_are_one_line_config_errors(factory: SparkOperatorFactoryBase, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        _source(factory)
    assert error.value.message == message
    assert "\n" not in str(error.value)


def test_config_error_of_the_factory_passes_through() -> None:
    factory = _with(submit_operator=_raise(ConfigError("my own message")))
    with pytest.raises(ConfigError) as error:
        _source(factory)
    assert error.value.message == "my own message"


def _dag_source(factory: SparkOperatorFactoryBase) -> str:
    """The DAG file a custom factory gives (custom_operators_source raises ConfigError when it
    refuses the factory's code)."""
    config = run_config({**CUSTOM, "region": "eu", "project_id": "proj"})
    context = DagContext("Demo", "demo", "__default__", "local", "abc123")
    spec = build_spec(
        PLAN, config, context, artifacts={"spark": SparkArtifacts("", urls=urls(PLAN))}
    )
    custom = custom_operators_source(
        factory,
        spec["spark"],
        PLAN,
        project_name="Demo",
        env="local",
        pipeline="__default__",
        urls=urls(PLAN),
        params=PARAMS,
        runner="ThreadRunner",
        cluster_config={},
    )
    return render_dag(spec, {"spark": custom})


def test_a_good_factory_gives_a_dag_that_compiles() -> None:
    source = _dag_source(Factory())
    compile(source, "dag.py", "exec")
    assert "CUSTOM_SPARK_OPERATORS = {" in source


@pytest.mark.parametrize(
    ("factory", "reason"),
    [
        (
            _with(imports_statement="from __future__ import annotations\nimport types"),
            "from __future__ imports must occur at the beginning of the file",
        ),
        (
            _with(create_cluster_operator=lambda self, c: "await types.SimpleNamespace()"),
            "'await' outside async function",
        ),
    ],
    ids=["future-import", "await"],
)
def test_factory_source_that_parses_alone_but_not_in_the_dag_is_refused(
    factory: SparkOperatorFactoryBase, reason: str
) -> None:
    """Each piece parses on its own; placed in the DAG file it does not compile."""
    with pytest.raises(ConfigError) as error:
        _dag_source(factory)
    assert error.value.message == f"{WHERE} Broken gives code that does not compile: {reason}"


# --- SparkOperatorFactoryBase.call -------------------------------------------------------------


def _call_keywords(code: str, path: str) -> dict[str, Any]:
    tree = ast.parse(code, mode="eval")
    call = tree.body
    assert isinstance(call, ast.Call)
    assert ast.unparse(call.func) == path
    assert call.args == []
    # exactly one call: the values are plain literals, with no call (nor anything else) inside
    assert sum(isinstance(node, ast.Call) for node in ast.walk(tree)) == 1
    return {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}  # type: ignore[misc]


def test_call_with_hostile_values() -> None:
    values = {f"k{i}": value for i, value in enumerate(HOSTILE)}
    code = SparkOperatorFactoryBase.call("pkg.mod.Operator", **values)
    assert _call_keywords(code, "pkg.mod.Operator") == values


def test_call_with_jinja_values() -> None:
    code = SparkOperatorFactoryBase.call(
        "Op",
        arguments=("run", {"jinja": "--params={{ x }}"}),
        nested={"a": [{"jinja": "{{ ds }}"}], "b": {"jinja": "t", "other": 1}},
        template={"jinja": "'''\n{{ y }}"},
        plain=None,
        number=1.5,
        flag=True,
    )
    assert _call_keywords(code, "Op") == {
        "arguments": ["run", "--params={{ x }}"],
        "nested": {"a": ["{{ ds }}"], "b": {"jinja": "t", "other": 1}},
        "template": "'''\n{{ y }}",
        "plain": None,
        "number": 1.5,
        "flag": True,
    }


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=8,
    )
)
def test_call_round_trips_any_value(value: Any) -> None:
    if isinstance(value, dict) and set(value) == {"jinja"}:
        expected = value["jinja"]
    else:
        expected = _without_jinja(value)
    assert _call_keywords(SparkOperatorFactoryBase.call("f", value=value), "f") == {
        "value": expected
    }


def _without_jinja(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"jinja"}:
            return value["jinja"]
        return {key: _without_jinja(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_jinja(item) for item in value]
    return value


@pytest.mark.parametrize(
    "path",
    ["", "1Op", "a..b", "a.", ".a", "a b", "os.system('x')", "Op()", "a-b", "Op\nx", "Op;x"],
)
def test_call_rejects_bad_callable_paths(path: str) -> None:
    with pytest.raises(ValueError, match="is not a name or dotted path"):
        SparkOperatorFactoryBase.call(path, x=1)


def test_call_rejects_a_path_with_a_trailing_newline() -> None:
    with pytest.raises(ValueError, match="is not a name or dotted path"):
        SparkOperatorFactoryBase.call("Op\n", x=1)


def test_spark_module_can_be_imported_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a fresh process: the user's factory module is the first to import the plugin."""

    def ours() -> list[str]:
        return [
            n for n in sys.modules if n == "kedro_airflow_k8s" or n.startswith("kedro_airflow_k8s.")
        ]

    for name in ours():
        monkeypatch.delitem(sys.modules, name)  # restored after the test
    try:
        module = importlib.import_module("kedro_airflow_k8s.spark")
        assert module.SparkOperatorFactoryBase.call("Op", x=1) == "Op(x=1)"
    finally:
        for name in ours():  # the fresh copies go; monkeypatch puts the originals back
            del sys.modules[name]


def test_call_without_keywords() -> None:
    assert SparkOperatorFactoryBase.call("a.b_1.C") == "a.b_1.C()"
