"""Property test over generated real Kedro pipelines: the task graph keeps Kedro's graph.

Each example builds a real ``kedro.pipeline.Pipeline`` (transcoded datasets written in one form
and read in others, a modular pipeline reused under several namespaces, nested ones among them,
with ``inputs=``/``outputs=``/``parameters=`` mappings, shared inputs, free outputs, parameters,
lambda and ``functools.partial`` nodes), takes its snapshot with the project module's own
functions and a random catalog, and plans it with every ``group_by`` and with tag groups and
spark tags. Whenever a plan comes out, every edge of ``Pipeline.node_dependencies`` runs inside
one task or from a task to one of its transitive downstream tasks, and every node runs in
exactly one task. A refusal must name real dependencies.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from kedro.pipeline import Pipeline, node, pipeline

from kedro_airflow_k8s.plan import (
    GroupBy,
    GroupingCycleError,
    MemoryCrossingError,
    PlanOptions,
    TaskPlan,
    build_plan,
)
from kedro_airflow_k8s.project import describe_datasets, pipeline_spec
from tests.plan.plan_helpers import SPARK_TAG

WRITE_FORMS = ("spark", "pandas1")
READ_FORMS = ("spark", "pandas", "pandas1", "pandas2")
NAMESPACES = ("a", "b", "c.d", "nested")  # "nested" becomes outer.inner


def step(*values: Any) -> Any:
    return values


def _function(kind: str) -> Callable[..., Any]:
    if kind == "lambda":
        return lambda *values: values
    if kind == "partial":
        return functools.partial(step, "fixed")
    return step


@dataclass
class _Names:
    """Which datasets are transcoded, and the form each is written in."""

    written_form: dict[str, str | None]

    def write(self, base: str, form: str | None) -> str:
        self.written_form[base] = form
        return base if form is None else f"{base}@{form}"

    def read(self, draw: st.DrawFn, base: str) -> str:
        if self.written_form.get(base) is None:
            return base
        return f"{base}@{draw(st.sampled_from(READ_FORMS))}"


def _new_node(draw: st.DrawFn, inputs: list[str], outputs: list[str], name: str) -> Any:
    kind = draw(st.sampled_from(("named", "named", "lambda", "partial")))
    return node(_function(kind), inputs, outputs, name=name if kind == "named" else None)


@st.composite
def modules(draw: st.DrawFn) -> tuple[Pipeline, str | None, str | None, bool]:
    """A modular pipeline: free input ``src`` (maybe transcoded), outputs ``o0``... and maybe
    the parameter ``alpha``; returns it with the forms of ``src`` and of its last output and
    whether it reads the parameter."""
    names = _Names({})
    src_form = draw(st.sampled_from((None, *WRITE_FORMS)))
    names.written_form["src"] = src_form
    available = ["src"]
    nodes = []
    reads_alpha = False
    size = draw(st.integers(1, 3))
    for j in range(size):
        reads = draw(st.lists(st.sampled_from(available), min_size=1, max_size=2, unique=True))
        inputs = [names.read(draw, base) for base in reads]
        if draw(st.booleans()):
            inputs.append("params:alpha")
            reads_alpha = True
        form = draw(st.sampled_from((None, *WRITE_FORMS)))
        nodes.append(_new_node(draw, inputs, [names.write(f"o{j}", form)], f"m{j}"))
        available.append(f"o{j}")
    return Pipeline(nodes), src_form, names.written_form[f"o{size - 1}"], reads_alpha


@st.composite
def kedro_pipelines(draw: st.DrawFn) -> Pipeline:
    names = _Names({})
    produced: list[str] = []
    parts: list[Any] = []

    def top_nodes(prefix: str, count: int) -> None:
        for i in range(count):
            reads = (
                draw(st.lists(st.sampled_from(produced), max_size=3, unique=True))
                if produced
                else []
            )
            inputs = [names.read(draw, base) for base in reads]
            if not inputs or draw(st.booleans()):
                inputs.append(f"raw_{prefix}{i}")
            if draw(st.integers(0, 3)) == 0:
                inputs.append("params:alpha")
            outputs = []
            for k in range(draw(st.integers(1, 2))):
                base = f"{prefix}{i}_{k}"
                outputs.append(names.write(base, draw(st.sampled_from((None, *WRITE_FORMS)))))
                produced.append(base)
            parts.append(_new_node(draw, inputs, outputs, f"{prefix}{i}"))

    top_nodes("t", draw(st.integers(0, 4)))
    template, src_form, last_form, reads_alpha = draw(modules())
    chosen = draw(st.lists(st.sampled_from(NAMESPACES), max_size=3, unique=True))
    for k, namespace in enumerate(chosen):
        inputs: dict[str, str] = {}
        matching = [b for b in produced if names.written_form[b] == src_form]
        if matching and draw(st.booleans()):
            inputs["src"] = draw(st.sampled_from(matching))
        outputs: dict[str, str] = {}
        last = f"o{len(template.nodes) - 1}"
        if draw(st.booleans()):
            outputs[last] = f"mod{k}_out"
            names.written_form[f"mod{k}_out"] = last_form
        parameters = {"alpha": "beta"} if reads_alpha and draw(st.booleans()) else {}
        if namespace == "nested":
            inner = pipeline(template, namespace="inner")
            mapped_in = {f"inner.{key}": value for key, value in inputs.items()}
            mapped_out = {f"inner.{key}": value for key, value in outputs.items()}
            mapped_params = {f"inner.{key}": value for key, value in parameters.items()}
            module = pipeline(
                inner,
                namespace="outer",
                inputs=mapped_in,
                outputs=mapped_out,
                parameters=mapped_params,
            )
        else:
            module = pipeline(
                template,
                namespace=namespace,
                inputs=inputs,
                outputs=outputs,
                parameters=parameters,
            )
        parts.append(module)
        produced.extend(outputs.values())
    top_nodes("u", draw(st.integers(0, 3)))
    built = Pipeline(parts)
    return _tagged(draw, built)


def _tagged(draw: st.DrawFn, built: Pipeline) -> Pipeline:
    """Tag groups over runs of consecutive nodes in Kedro's order, and some spark tags."""
    nodes = built.nodes
    tagged = []
    group: str | None = None
    for position, one in enumerate(nodes):
        roll = draw(st.integers(0, 9))
        if roll == 0:
            group = f"airflow.g{position}"
        elif roll < 4:
            group = None
        tags = {group} if group else set()
        if draw(st.integers(0, 5)) == 0:
            tags.add(SPARK_TAG)
        tagged.append(one.tag(tags) if tags else one)
    return Pipeline(tagged)


@st.composite
def catalogs(draw: st.DrawFn, used: list[str]) -> dict[str, Any]:
    """Catalog config: entries, memory datasets and absent names; maybe factories."""
    config: dict[str, Any] = {}
    for name in used:
        if name.startswith("params:"):
            continue
        kind = draw(st.sampled_from(("entry", "entry", "entry", "memory", "absent")))
        if kind == "entry":
            spark = name.endswith("@spark")
            config[name] = {
                "type": "spark.SparkDatasetV2" if spark else "pandas.ParquetDataset",
                "filepath": f"data/{name}",
            }
        elif kind == "memory":
            config[name] = {"type": "MemoryDataset"}
    if draw(st.booleans()):
        config["{name}@pandas2"] = {"type": "pickle.PickleDataset", "filepath": "data/{name}"}
    if draw(st.integers(0, 4)) == 0:
        config["{default}"] = {"type": "pickle.PickleDataset", "filepath": "data/{default}"}
    return config


def upstream_closure(plan: TaskPlan) -> dict[str, set[str]]:
    """Every task's transitive upstream tasks (the plan lists tasks in topological order)."""
    closure: dict[str, set[str]] = {}
    for task in plan.tasks:
        above: set[str] = set()
        for up in task.upstream:
            above.add(up)
            above |= closure[up]
        closure[task.full_task_id] = above
    return closure


def kedro_edges(built: Pipeline) -> set[tuple[str, str]]:
    return {
        (parent.name, child.name)
        for child, parents in built.node_dependencies.items()
        for parent in parents
    }


def assert_keeps_kedro_graph(built: Pipeline, plan: TaskPlan) -> None:
    names = sorted(n.name for n in built.nodes)
    planned = sorted(n for task in plan.tasks for n in task.nodes)
    assert planned == names, "every node runs in exactly one task"
    where = {n: task.full_task_id for task in plan.tasks for n in task.nodes}
    closure = upstream_closure(plan)
    for producer, consumer in kedro_edges(built):
        same = where[producer] == where[consumer]
        assert same or where[producer] in closure[where[consumer]], (producer, consumer)


def assert_real_refusal(built: Pipeline, error: GroupingCycleError | MemoryCrossingError) -> None:
    edges = kedro_edges(built)
    if isinstance(error, GroupingCycleError):
        assert error.cycle and all(hop in edges for hop in error.cycle)
    else:
        assert error.crossings
        for crossing in error.crossings:
            assert (crossing.producer_node, crossing.consumer_node) in edges


STRATEGIES = [
    *({strategy} for strategy in GroupBy),
    {GroupBy.MEMORY, GroupBy.CHAIN},
    {GroupBy.NAMESPACE, GroupBy.CHAIN},
    {GroupBy.MEMORY, GroupBy.NAMESPACE, GroupBy.CHAIN},
]
OPTIONS = [
    PlanOptions(group_by=frozenset(group_by), group_spark_nodes=spark)
    for group_by in STRATEGIES
    for spark in (True, False)
]


def label(options: PlanOptions) -> str:
    return ",".join(sorted(g.value for g in options.group_by)) or "none"  # type: ignore[union-attr]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_every_kedro_dependency_is_kept_by_every_grouping(data: st.DataObject) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Kedro warns about dots in namespaced dataset names
        built = data.draw(kedro_pipelines())
    spec = pipeline_spec("generated", built)
    used = sorted(built.datasets())
    datasets = describe_datasets(used, data.draw(catalogs(used)))
    transcoded = any("@" in name for name in used)
    for options in OPTIONS:
        try:
            plan = build_plan(spec, datasets, options)
        except (GroupingCycleError, MemoryCrossingError) as error:
            event(f"{label(options)}: {type(error).__name__}")
            assert_real_refusal(built, error)
            continue
        event(f"{label(options)}: planned{' (transcoded)' if transcoded else ''}")
        assert_keeps_kedro_graph(built, plan)


def test_a_transcoded_dataset_links_its_writer_to_every_reader() -> None:
    """The case the graph used to lose: written as @spark, read as @pandas (and a pandas1 ->
    pandas2 pair); each reader runs after its writer even with every dataset persisted."""
    built = Pipeline(
        [
            node(step, "raw", "table@spark", name="write_spark"),
            node(step, "table@pandas", "report", name="read_pandas"),
            node(step, "raw", "frame@pandas1", name="write_pandas1"),
            node(step, "frame@pandas2", "summary", name="read_pandas2"),
        ]
    )
    spec = pipeline_spec("transcoded", built)
    assert spec.transcoded == {
        "table@spark": "table",
        "table@pandas": "table",
        "frame@pandas1": "frame",
        "frame@pandas2": "frame",
    }
    assert spec.dependencies is not None and spec.dependencies["read_pandas"] == ("write_spark",)
    config: Mapping[str, Any] = {
        name: {"type": "pandas.ParquetDataset", "filepath": name}
        for name in ("raw", "table@spark", "table@pandas", "frame@pandas1", "frame@pandas2")
    }
    datasets = describe_datasets(sorted(built.datasets()), config)
    plan = build_plan(spec, datasets, PlanOptions(group_by=GroupBy.NONE))
    by_task = {task.nodes[0]: task for task in plan.tasks}
    assert by_task["read_pandas"].upstream == ("write_spark",)
    assert by_task["read_pandas2"].upstream == ("write_pandas1",)
    assert plan.warnings == ()
