"""Projects written the way real Kedro 1.x projects are, made ready with nothing but
``kedro airflow-k8s init`` and compiled with the real CLI for every registered pipeline, then
loaded in a real Airflow 3: the Airflow graph keeps every dependency of Kedro's own
``Pipeline.node_dependencies`` and runs every node in exactly one task.

* ``transcoding_project``: spark and pandas nodes sharing datasets through transcoding
  (``spark.SparkDatasetV2`` written, ``pandas.ParquetDataset`` read and back) and a
  ``@pandas1`` -> ``@pandas2`` pair; in-memory intermediates (no catalog entry), a lambda and a
  ``functools.partial`` node, a tag made by a function; pipelines found by ``find_pipelines()``.
* ``modular_project``: one modelling pipeline reused under two namespaces with ``inputs=``,
  ``outputs=`` and ``parameters=`` mappings and nested namespaces, reading across namespaces a
  table written as ``@pandas1`` and read as ``@pandas2``; dataset factories with a catch-all;
  tags built from constants; lambda and partial nodes.
* the bundled example and the grouping and spark test projects, with their own plugin config
  taken away first, as a project that never had one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import EXAMPLE, REPO, copy_project, kedro

pytestmark = pytest.mark.airflow

# fixture name -> (source folder, package name)
PROJECTS = {
    "transcoding": (REPO / "tests" / "data" / "transcoding_project", "transcoding_demo"),
    "modular": (REPO / "tests" / "data" / "modular_project", "modular_demo"),
    "example": (EXAMPLE, "spaceflights"),
    "grouping": (REPO / "tests" / "data" / "grouping_project", "grouping_demo"),
    "spark": (REPO / "tests" / "data" / "spark_project", "spark_demo"),
}
REGISTERED = {
    "transcoding": ("ingest", "science", "reporting", "__default__"),
    "modular": ("data_processing", "modelling", "reporting", "__default__"),
}
NAMESPACES = ("active", "candidate")
QUIET = {"KEDRO_LOGGING_CONFIG": str(REPO / "scripts" / "quiet-logging.yml")}
PLUGIN_CONFIG = ("kedro-airflow-k8s.yaml", "kedro-airflow-k8s.yml", "airflow-k8s.yaml")

# Kedro's own view of each registered pipeline, read in a process of its own.
DEPENDENCIES = """
import json, sys
from pathlib import Path
from kedro.framework.project import pipelines
from kedro.framework.startup import bootstrap_project

bootstrap_project(Path(sys.argv[1]))
print(json.dumps({
    name: {
        node.name: sorted(parent.name for parent in parents)
        for node, parents in pipelines[name].node_dependencies.items()
    }
    for name in pipelines
}))
"""


@dataclass(frozen=True)
class Compiled:
    name: str
    dags: dict[str, Any]  # pipeline -> the Airflow DAG
    dependencies: dict[str, dict[str, list[str]]]  # pipeline -> node -> the nodes it needs


def _without_plugin_config(project: Path) -> None:
    for path in (project / "conf").rglob("*"):
        if path.is_file() and path.name in PLUGIN_CONFIG:
            path.unlink()


def _compile(name: str, base: Path, *options: str) -> Compiled:
    """Compile every pipeline of the project after init (``options``: of compile), load the DAGs."""
    from airflow.dag_processing.dagbag import DagBag

    source, package = PROJECTS[name]
    project = copy_project(source, base, package, git=False)
    _without_plugin_config(project)
    kedro_view = subprocess.run(
        [sys.executable, "-c", DEPENDENCIES, str(project)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    dependencies = json.loads(kedro_view.stdout.strip().splitlines()[-1])
    init = kedro(project, "airflow-k8s", "init", "https://airflow.example.com", env=QUIET)
    assert init.returncode == 0, init.stderr[-3000:]
    done = kedro(
        project,
        "airflow-k8s",
        "-p",
        ",".join(dependencies),
        "compile",
        *options,
        "-o",
        str(base / "dags"),
        env=QUIET,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    bag = DagBag(dag_folder=str(base / "dags"))
    assert bag.import_errors == {}
    dags = {_pipeline_of(dag): dag for dag in bag.dags.values()}
    return Compiled(name, dags, dependencies)


def _pipeline_of(dag: Any) -> str:
    (tag,) = [t for t in dag.tags if t.startswith("kedro_pipeline:")]
    return str(tag).removeprefix("kedro_pipeline:")


@pytest.fixture(scope="module")
def transcoding(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    return _compile("transcoding", tmp_path_factory.mktemp("transcoding"))


@pytest.fixture(scope="module")
def modular(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    return _compile("modular", tmp_path_factory.mktemp("modular"))


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    return _compile("example", tmp_path_factory.mktemp("example"))


@pytest.fixture(scope="module")
def grouping(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    return _compile("grouping", tmp_path_factory.mktemp("grouping"))


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    return _compile("spark", tmp_path_factory.mktemp("spark"))


@pytest.fixture(scope="module")
def transcoding_chained(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    return _compile(
        "transcoding", tmp_path_factory.mktemp("transcoding"), "--group-by", "memory,chain"
    )


@pytest.fixture(scope="module")
def modular_chained(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    return _compile("modular", tmp_path_factory.mktemp("modular"), "--group-by", "memory,chain")


EVERY = pytest.mark.parametrize("project", sorted(PROJECTS))
BOTH = pytest.mark.parametrize("project", ["transcoding", "modular"])


def nodes_of(task: Any) -> list[str]:
    """The Kedro nodes a pod task runs (its ``kedro run --nodes`` argument)."""
    arguments = [getattr(a, "value", a) for a in getattr(task, "arguments", None) or []]
    if "--nodes" not in arguments:
        return []
    return str(arguments[arguments.index("--nodes") + 1]).split(",")


def assert_keeps_kedro_graph(dag: Any, dependencies: Mapping[str, list[str]]) -> None:
    where: dict[str, list[str]] = {}
    for task in dag.tasks:
        for node in nodes_of(task):
            where.setdefault(node, []).append(task.task_id)
    assert sorted(where) == sorted(dependencies), "the DAG runs exactly the pipeline's nodes"
    assert all(len(tasks) == 1 for tasks in where.values()), "each node runs in one task"
    for node, parents in dependencies.items():
        task = dag.get_task(where[node][0])
        above = task.get_flat_relative_ids(upstream=True)
        for parent in parents:
            (source,) = where[parent]
            assert source == task.task_id or source in above, (parent, node)


@EVERY
def test_every_registered_pipeline_compiles_to_a_dag(
    project: str, request: pytest.FixtureRequest
) -> None:
    compiled: Compiled = request.getfixturevalue(project)
    assert sorted(compiled.dags) == sorted(compiled.dependencies)
    if compiled.name in REGISTERED:
        assert sorted(compiled.dags) == sorted(REGISTERED[compiled.name])


@EVERY
def test_each_airflow_graph_keeps_every_kedro_dependency(
    project: str, request: pytest.FixtureRequest
) -> None:
    compiled: Compiled = request.getfixturevalue(project)
    assert any(parents for d in compiled.dependencies.values() for parents in d.values())
    for pipeline, dag in compiled.dags.items():
        assert_keeps_kedro_graph(dag, compiled.dependencies[pipeline])


def _task_of(dag: Any, node: str) -> Any:
    (task,) = [t for t in dag.tasks if node in nodes_of(t)]
    return task


def _upstream(dag: Any, node: str) -> set[str]:
    return set(_task_of(dag, node).get_flat_relative_ids(upstream=True))


def test_transcoded_readers_wait_for_their_writers(transcoding: Compiled) -> None:
    dag = transcoding.dags["__default__"]
    writer = _task_of(dag, "preprocess_companies_node").task_id  # writes @pandas
    assert writer in _upstream(dag, "join_tables_node")  # reads @spark
    spark = _task_of(dag, "join_tables_node").task_id  # writes model_input_table@spark
    assert spark in _upstream(dag, "split_data_node")  # reads @pandas
    assert _task_of(dag, "summarise_node").task_id in _upstream(dag, "publish_node")
    # In-memory splits keep the split, the partial and the lambda node in one task.
    fused = nodes_of(_task_of(dag, "split_data_node"))
    assert len(fused) == 3 and any(n.startswith("partial(train_model)__") for n in fused)
    assert any(n.startswith("<lambda>__") for n in fused)


def test_namespaced_modules_read_across_namespaces(modular: Compiled) -> None:
    dag = modular.dags["__default__"]
    prepare = _task_of(dag, "prepare_node").task_id  # writes model_input@pandas1
    for namespace in NAMESPACES:
        nodes = modular.dependencies["__default__"]
        (split,) = [n for n in nodes if n.startswith(f"{namespace}.split")]
        assert prepare in _upstream(dag, split)  # reads model_input@pandas2
        check = f"{namespace}.evaluation.diagnostics.check_node"
        assert _task_of(dag, check).task_id == check
    nested = dag.task_group.get_child_by_label("active").get_child_by_label("evaluation")
    assert nested.get_child_by_label("diagnostics").group_id == "active.evaluation.diagnostics"
    evaluations = {_task_of(dag, f"{n}.evaluation.evaluate_node").task_id for n in NAMESPACES}
    assert evaluations <= _upstream(dag, "compare")


@BOTH
def test_chain_fusion_keeps_every_kedro_dependency_with_fewer_pods(
    project: str, request: pytest.FixtureRequest
) -> None:
    """``--group-by memory,chain``: fewer pod tasks than ``memory`` alone, every dependency kept."""
    compiled: Compiled = request.getfixturevalue(project)
    chained: Compiled = request.getfixturevalue(f"{project}_chained")
    assert sorted(chained.dags) == sorted(compiled.dags)
    fewer = False
    for pipeline, dag in chained.dags.items():
        assert_keeps_kedro_graph(dag, chained.dependencies[pipeline])
        pods = [t for t in dag.tasks if nodes_of(t)]
        before = [t for t in compiled.dags[pipeline].tasks if nodes_of(t)]
        assert len(pods) <= len(before)
        fewer = fewer or len(pods) < len(before)
    assert fewer
