"""kedro-airflow and kedro-airflow-k8s in one project: both plugins installed side by side in a
virtualenv of their own (.cache/venv-kedro-airflow, requirements/kedro-airflow.txt),
kedro-airflow-k8s from this working tree, and the bundled example project.

kedro-airflow reads its config with the pattern ``airflow*``. The plugin's config is
``kedro-airflow-k8s.yaml``, which that pattern does not match, so ``kedro airflow create`` and
``kedro airflow-k8s compile`` both work. Under the old name, ``airflow-k8s.yaml``, kedro-airflow
reads the plugin's file too and fails on its ``${kedro_config:...}`` values, which is why the
plugin warns about that name.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO, copy_example
from tests.venvs import venv_python

pytestmark = [pytest.mark.slow, pytest.mark.venv("kedro-airflow")]

QUIET = str(REPO / "scripts" / "quiet-logging.yml")


@pytest.fixture(scope="module")
def venv_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    python = venv_python("kedro-airflow")
    source = tmp_path_factory.mktemp("plugin") / "source"
    source.mkdir()
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "setup.cfg"):
        shutil.copy2(REPO / name, source / name)
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps", str(source)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    missing = subprocess.run(  # the plugin's own dependencies, once per virtualenv
        [str(python), "-m", "pip", "install", "-q", str(source)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert missing.returncode == 0, missing.stderr[-3000:]
    return python.parent


def _kedro(venv_bin: Path, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The virtualenv's ``kedro`` (its own packages only: no PYTHONPATH from the test run)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEDRO_", "PYTHON"))}
    env.update({"KEDRO_DISABLE_TELEMETRY": "true", "KEDRO_LOGGING_CONFIG": QUIET})
    return subprocess.run(
        [str(venv_bin / "kedro"), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_kedro_airflow_create_and_compile_work_in_one_project(
    venv_bin: Path, tmp_path: Path
) -> None:
    project = copy_example(tmp_path, git=False)
    assert (project / "conf" / "base" / "kedro-airflow-k8s.yaml").is_file()
    (project / "conf" / "base" / "airflow.yml").write_text("default:\n  owner: data-team\n")

    created = _kedro(venv_bin, project, "airflow", "create", "-t", str(tmp_path / "airflow"))
    assert created.returncode == 0, created.stdout[-3000:] + created.stderr[-3000:]
    kedro_airflow_dag = (tmp_path / "airflow" / "spaceflights_dag.py").read_text()
    assert "data-team" in kedro_airflow_dag  # kedro-airflow read its own config, and only that

    compiled = _kedro(venv_bin, project, "airflow-k8s", "compile", "-o", str(tmp_path / "k8s"))
    assert compiled.returncode == 0, compiled.stderr[-3000:]
    assert (tmp_path / "k8s" / "spaceflights___default___local.py").is_file()
    assert "Warning" not in compiled.stderr


def test_the_old_name_breaks_kedro_airflow_and_the_plugin_says_so(
    venv_bin: Path, tmp_path: Path
) -> None:
    project = copy_example(tmp_path, git=False)
    base = project / "conf" / "base"
    (base / "kedro-airflow-k8s.yaml").rename(base / "airflow-k8s.yaml")

    created = _kedro(venv_bin, project, "airflow", "create", "-t", str(tmp_path / "airflow"))
    assert "Unsupported interpolation type kedro_config" in created.stdout + created.stderr
    assert not (tmp_path / "airflow" / "spaceflights_dag.py").exists()

    compiled = _kedro(venv_bin, project, "airflow-k8s", "compile", "--explain")
    assert compiled.returncode == 0, compiled.stderr[-3000:]
    warnings = [line for line in compiled.stderr.splitlines() if line.startswith("Warning: ")]
    assert warnings == [
        "Warning: conf/base/airflow-k8s.yaml: rename it to kedro-airflow-k8s.yaml; the old name "
        "is still read, but kedro-airflow's `airflow*` config pattern reads it too and fails on "
        "its ${kedro_config:...} values"
    ]
