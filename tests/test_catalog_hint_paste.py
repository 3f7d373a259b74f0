"""The catalog line that the in-memory crossing error suggests, pasted as printed into the real
example project's catalog.yml: compile accepts the project, and Kedro saves the dataset in one
``kedro run`` and loads it in another, as the task pods do."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import REPO, copy_example, kedro

QUIET = {"KEDRO_LOGGING_CONFIG": str(REPO / "scripts" / "quiet-logging.yml")}
PASTE_AFTER = "with this line in conf/base/catalog.yml: "


def _without_entries(catalog: Path, *names: str) -> None:
    text = catalog.read_text()
    for name in names:
        start = text.index(f"\n{name}:\n") + 1
        end = text.index("\n\n", start)
        text = text[:start] + text[end + 2 :]
    catalog.write_text(text)


def _suggested_line(project: Path) -> str:
    done = kedro(project, "airflow-k8s", "compile", "--group-by", "none", "--explain", env=QUIET)
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and PASTE_AFTER in errors[0], done.stderr[-2000:]
    return errors[0].split(PASTE_AFTER, 1)[1]


def _run(project: Path, *nodes: str) -> None:
    done = kedro(project, "run", "--nodes", ",".join(nodes), env=QUIET)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("removed", "expected_line", "writers", "readers", "files"),
    [
        (
            ("model_input_table",),
            "model_input_table: {type: pickle.PickleDataset, filepath: "
            "data/02_intermediate/model_input_table.pickle}",
            (
                "preprocess_companies_node",
                "preprocess_shuttles_node",
                "create_model_input_table_node",
            ),
            ("active_modelling_pipeline.split_data_node",),
            ("model_input_table",),
        ),
        (
            ("preprocessed_companies", "preprocessed_shuttles"),
            "'{default}': {type: pickle.PickleDataset, filepath: "
            '"data/02_intermediate/{default}.pickle"}',
            ("preprocess_companies_node", "preprocess_shuttles_node"),
            ("create_model_input_table_node",),
            ("preprocessed_companies", "preprocessed_shuttles"),
        ),
    ],
    ids=["one-dataset", "catch-all"],
)
def test_the_suggested_catalog_line_works_when_pasted(
    tmp_path: Path,
    removed: tuple[str, ...],
    expected_line: str,
    writers: tuple[str, ...],
    readers: tuple[str, ...],
    files: tuple[str, ...],
) -> None:
    project = copy_example(tmp_path, git=False)
    catalog = project / "conf" / "base" / "catalog.yml"
    _without_entries(catalog, *removed)
    line = _suggested_line(project)
    assert line == expected_line

    catalog.write_text(catalog.read_text() + line + "\n")
    compiled = kedro(
        project, "airflow-k8s", "compile", "--group-by", "none", "--explain", env=QUIET
    )
    assert compiled.returncode == 0, compiled.stderr[-2000:]

    _run(project, *writers)
    for name in files:
        assert (project / "data" / "02_intermediate" / f"{name}.pickle").is_file()
    _run(project, *readers)
