"""The project snapshot, taken from a real Kedro 1.x project (a copy of the bundled example)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from kedro_airflow_k8s.project import (
    GitInfo,
    describe_annotations,
    describe_datasets,
    load_project,
)
from kedro_airflow_k8s.snapshot import DatasetSource
from tests.helpers import copy_example, kedro


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Any:
    project = copy_example(tmp_path_factory.mktemp("snapshot"))
    return load_project(project, "local", ["__default__", "data_processing"])


def test_pipelines_and_nodes(loaded: Any) -> None:
    snapshot = loaded.snapshot
    assert set(snapshot.pipelines) == {"__default__", "data_processing"}
    nodes = {n.name: n for n in snapshot.pipelines["__default__"].nodes}
    assert len(nodes) == 9
    train = nodes["active_modelling_pipeline.train_model_node"]
    assert train.namespace == "active_modelling_pipeline"
    assert train.tags == ("resources.gpu",)
    assert train.inputs == (
        "active_modelling_pipeline.X_train",
        "active_modelling_pipeline.y_train",
    )
    assert train.func == "spaceflights.pipelines.data_science.nodes.train_model"
    assert nodes["preprocess_companies_node"].tags == ("airflow.preprocessing",)
    assert [n.name for n in snapshot.pipelines["data_processing"].nodes][-1] == (
        "create_model_input_table_node"
    )


def test_project_facts(loaded: Any) -> None:
    snapshot = loaded.snapshot
    assert (snapshot.project_name, snapshot.package_name, snapshot.env) == (
        "Spaceflights",
        "spaceflights",
        "local",
    )
    assert snapshot.kedro_version.startswith("1.")
    assert snapshot.commit_sha is not None and len(snapshot.commit_sha) == 40
    assert snapshot.branch == "main"


def test_dataset_kinds(loaded: Any) -> None:
    datasets = loaded.snapshot.datasets
    assert datasets["companies"].source is DatasetSource.ENTRY
    assert datasets["companies"].type == "pandas.CSVDataset"
    x_train = datasets["active_modelling_pipeline.X_train"]
    assert (x_train.source, x_train.type, x_train.pattern) == (
        DatasetSource.FACTORY,
        "pickle.PickleDataset",
        "{namespace}.X_train",
    )
    assert datasets["params:active_modelling_pipeline.model_options"].source is DatasetSource.PARAMS
    assert not any(d.is_memory for d in datasets.values())


def test_config_is_loaded_with_the_snapshot(loaded: Any) -> None:
    run_config = loaded.config.run_config
    assert run_config.namespace == "kedro"
    assert run_config.image == f"spaceflights:{loaded.snapshot.commit_sha}"
    assert set(run_config.resources) == {"__default__", "high_memory", "gpu"}


def test_describe_datasets_without_instantiating() -> None:
    catalog = {
        "a": {"type": "pandas.CSVDataset", "filepath": "nowhere/a.csv", "credentials": "missing"},
        "{name}_spark": {"type": "spark.SparkDataset", "filepath": "s3://x/{name}"},
        "m": {"type": "MemoryDataset"},
        "_anchor": {"type": "ignored"},
    }
    found = describe_datasets(["a", "x_spark", "m", "free", "parameters"], catalog)
    assert found["a"].type == "pandas.CSVDataset"
    assert (found["x_spark"].source, found["x_spark"].type) == (
        DatasetSource.FACTORY,
        "spark.SparkDataset",
    )
    assert found["m"].is_memory
    assert found["free"].source is DatasetSource.NONE and found["free"].is_memory
    assert found["parameters"].source is DatasetSource.PARAMS


def test_annotations_are_qualified_without_importing_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "spark_nodes.py").write_text(
        textwrap.dedent(
            """
            from __future__ import annotations
            from typing import TYPE_CHECKING, Optional
            import pandas as pd
            if TYPE_CHECKING:
                from pyspark.sql import DataFrame
                import pyspark.sql as ps

            def f(a: DataFrame, b: Optional[ps.DataFrame], c: pd.DataFrame) -> list[DataFrame]:
                return []
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import spark_nodes  # type: ignore[import-not-found]

    pyspark_loaded = "pyspark" in sys.modules
    described = dict(describe_annotations(spark_nodes.f))
    assert ("pyspark" in sys.modules) == pyspark_loaded
    assert described == {
        "a": "pyspark.sql.DataFrame",
        "b": "typing.Optional[pyspark.sql.DataFrame]",
        "c": "pandas.DataFrame",
        "return": "list[pyspark.sql.DataFrame]",
    }


def test_unknown_pipeline_is_a_clear_error(tmp_path: Path) -> None:
    from kedro_airflow_k8s.errors import PluginError

    project = copy_example(tmp_path, git=False)
    with pytest.raises(PluginError) as error:
        load_project(project, "local", ["nope"])
    assert error.value.message == (
        "pipeline 'nope' is not registered (known: __default__, data_processing, data_science)"
    )


EXPLODING_HOOKS = '''

from kedro.framework.hooks import hook_impl


def _resolve_kind(name):
    return f"pandas.{name}"


class ExplodingHooks:
    """Fails loudly whenever Kedro runs it (as the pyspark starter's hook, which starts a
    SparkSession, fails without Java)."""

    @hook_impl
    def after_context_created(self, context):
        raise RuntimeError("project hook ran: after_context_created")

    @hook_impl
    def after_catalog_created(self, catalog):
        raise RuntimeError("project hook ran: after_catalog_created")


HOOKS = (ExplodingHooks(),)
CONF_SOURCE = "configuration"
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "custom_resolvers": {"kind": _resolve_kind},
    "config_patterns": {"catalog": ["catalog*", "catalog*/**", "**/catalog*", "datasets*"]},
}
'''


@pytest.fixture(scope="module")
def hooked_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example with a hook that raises, its configuration in ``configuration/``, a catalog
    pattern of its own (``datasets*``) and a resolver; environment ``resolved`` gives
    ``model_input_table`` its type through that resolver."""
    project = copy_example(tmp_path_factory.mktemp("hooked"), git=False)
    settings = project / "src" / "spaceflights" / "settings.py"
    settings.write_text(settings.read_text() + EXPLODING_HOOKS)
    (project / "conf").rename(project / "configuration")
    base = project / "configuration" / "base"
    catalog = (base / "catalog.yml").read_text()
    entry = "model_input_table:\n  type: pandas.ParquetDataset\n"
    assert entry in catalog
    (base / "catalog.yml").write_text(
        catalog.replace(entry, "model_input_table_unused:\n  type: x\n")
    )
    (base / "datasets.yml").write_text(entry + "  filepath: data/model_input_table.parquet\n")
    (project / "configuration" / "resolved").mkdir()
    (project / "configuration" / "resolved" / "datasets.yml").write_text(
        'model_input_table:\n  type: "${kind:ParquetDataset}"\n  filepath: data/x.parquet\n'
    )
    return project


@pytest.mark.parametrize("env", ["local", "resolved"])
def test_compile_runs_no_project_hook_and_keeps_the_settings(
    hooked_project: Path, env: str
) -> None:
    """Compile reads the configuration through settings.py's loader (its folder, catalog
    patterns and resolvers) and never starts a session, so the project's hooks never run:
    with group_by none a model_input_table the catalog did not give a type would be refused
    as in-memory data between pods."""
    done = kedro(
        hooked_project, "airflow-k8s", "-e", env, "compile", "--group-by", "none", "--explain"
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "project hook ran" not in done.stdout + done.stderr
    assert "pipeline '__default__': 8 tasks (0 spark) from 9 nodes" in done.stdout


def test_the_hooks_of_that_project_do_run_in_kedro(hooked_project: Path) -> None:
    """The hook is live: ``kedro run`` fails on it before any node runs."""
    done = kedro(hooked_project, "run", "-p", "data_processing")
    assert done.returncode != 0
    assert "project hook ran: after_context_created" in done.stdout + done.stderr


def test_a_project_kedros_cli_bootstrapped_is_not_bootstrapped_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kedro.framework import startup

    project = copy_example(tmp_path, git=False)
    metadata = startup.bootstrap_project(project)

    def again(path: Path) -> None:
        raise AssertionError(f"bootstrapped again: {path}")

    monkeypatch.setattr(startup, "bootstrap_project", again)
    loaded = load_project(project, "local", ["data_processing"], metadata)
    assert list(loaded.snapshot.pipelines) == ["data_processing"]
    other = copy_example(tmp_path / "other", git=False)  # another project: bootstrapped
    with pytest.raises(AssertionError, match="bootstrapped again"):
        load_project(other, "local", ["data_processing"], metadata)


def test_metadata_without_a_package_is_bootstrapped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a caller other than Kedro's CLI passes (only the path): the project is bootstrapped,
    even in a process where Kedro has configured no package yet."""
    from types import SimpleNamespace

    from kedro.framework import project as kedro_project

    project = copy_example(tmp_path, git=False)
    monkeypatch.setattr(kedro_project, "PACKAGE_NAME", None)
    loaded = load_project(
        project, "local", ["data_processing"], SimpleNamespace(project_path=project)
    )
    assert loaded.snapshot.package_name == "spaceflights"


@pytest.fixture(scope="module")
def broken_module_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose registry uses find_pipelines(), with a pipeline module that fails to
    import (find_pipelines() only warns about it)."""
    from tests.helpers import REPO, copy_project

    project = copy_project(
        REPO / "tests" / "data" / "transcoding_project",
        tmp_path_factory.mktemp("broken"),
        "transcoding_demo",
        git=False,
    )
    init = kedro(project, "airflow-k8s", "init", "https://airflow.example.com")
    assert init.returncode == 0, init.stderr[-2000:]
    module = project / "src" / "transcoding_demo" / "pipelines" / "reporting" / "pipeline.py"
    module.write_text(module.read_text() + "\nimport not_installed_here  # noqa: E402, F401\n")
    return project


def test_a_pipeline_whose_module_fails_to_import_is_an_error_with_the_cause(
    broken_module_project: Path,
) -> None:
    done = kedro(broken_module_project, "airflow-k8s", "-p", "reporting", "compile", "--explain")
    assert done.returncode == 4, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
    assert errors == [
        "Error: pipeline 'reporting' is not registered: transcoding_demo.pipelines.reporting "
        "failed to import (ModuleNotFoundError: No module named 'not_installed_here') "
        "(known: __default__, ingest, science)"
    ]
    assert "Traceback" not in done.stdout + done.stderr


def test_a_module_find_pipelines_left_out_is_a_warning(broken_module_project: Path) -> None:
    """``__default__`` sums what find_pipelines() found: the reporting nodes are missing, which
    compile says; a pipeline of another module is compiled without a word about it."""
    default = kedro(broken_module_project, "airflow-k8s", "compile", "--explain")
    assert default.returncode == 0, default.stderr[-2000:]
    assert (
        "Warning: Kedro's find_pipelines() left out module transcoding_demo.pipelines.reporting, "
        "which failed to import (ModuleNotFoundError: No module named 'not_installed_here'): its "
        "nodes are in no pipeline"
    ) in default.stderr
    assert "publish_node" not in default.stdout
    ingest = kedro(broken_module_project, "airflow-k8s", "-p", "ingest", "compile", "--explain")
    assert ingest.returncode == 0, ingest.stderr[-2000:]
    assert "reporting" not in ingest.stderr  # as kedro run -p ingest, only ingest is imported


def test_commit_and_branch_of_the_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read from real git checkouts: on a branch, detached, without a commit, and outside any
    checkout (each its own folder: the answer is read once per folder)."""

    def git(folder: str, *args: str) -> str:
        (tmp_path / folder).mkdir(exist_ok=True)
        done = subprocess.run(
            ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
            cwd=tmp_path / folder,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout.strip()

    def read(folder: str) -> tuple[str | None, str | None]:
        info = GitInfo(tmp_path / folder)
        return info.commit(), info.branch()

    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # "plain" is in no checkout
    for folder in ("branch", "detached", "empty"):
        git(folder, "init", "-q", "-b", "feature/x")
    for folder in ("branch", "detached"):
        git(folder, "commit", "-q", "--allow-empty", "-m", "first")
    git("detached", "checkout", "-q", "--detach")
    (tmp_path / "plain").mkdir()
    assert read("branch") == (git("branch", "rev-parse", "HEAD"), "feature/x")
    assert read("detached") == (git("detached", "rev-parse", "HEAD"), None)
    assert read("empty") == (None, None)
    assert read("plain") == (None, None)
