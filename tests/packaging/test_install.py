"""The wheel works on its own: installed into a clean virtualenv (no system site packages, not the
test virtualenv), its ``kedro airflow-k8s compile`` writes a valid DAG for the bundled example."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kedro_airflow_k8s import __version__
from tests.helpers import EXAMPLE, copy_example
from tests.packaging.conftest import PACKAGE, Dists

pytestmark = pytest.mark.slow

# What loading the example's pipelines imports: Kedro, and pandas and numpy in its node modules.
# kedro-datasets (also in its requirements.txt) is left out on purpose: compiling reads dataset
# types from the catalog's configuration and never instantiates a dataset.
EXAMPLE_NEEDS = {"kedro", "pandas", "numpy"}


def _example_requirements() -> list[str]:
    """The lines of the example's requirements.txt that name what loading it needs."""
    wanted, names = [], set()
    for line in (EXAMPLE / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        match = re.match(r"[A-Za-z0-9._-]+", line)
        if not match:
            continue
        name = match.group(0).lower().replace("_", "-")
        names.add(name)
        if name in EXAMPLE_NEEDS:
            wanted.append(line)
    missing = EXAMPLE_NEEDS - names
    assert not missing, f"examples/spaceflights/requirements.txt lacks {missing}"
    return wanted


def _clean_env(venv: Path) -> dict[str, str]:
    """The environment of a user of that virtualenv: nothing of the test run leaks in."""
    dropped = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    env = {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("KEDRO_")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["KEDRO_DISABLE_TELEMETRY"] = "true"
    env["DO_NOT_TRACK"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )


def test_the_wheel_compiles_the_example_in_a_clean_virtualenv(dists: Dists, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    # No pip inside (quicker to create): the test run's pip installs into it with --python.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = _clean_env(venv)
    install = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-compile",
            str(dists.wheel),
            *_example_requirements(),
        ],
        env,
        tmp_path,
    )
    assert install.returncode == 0, install.stdout[-4000:] + install.stderr[-4000:]

    where = _run([str(python), "-c", f"import {PACKAGE}; print({PACKAGE}.__file__)"], env, tmp_path)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout

    project = copy_example(tmp_path)
    done = _run([str(venv / "bin" / "kedro"), "airflow-k8s", "compile"], env, project)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    dag_file = Path(done.stdout.strip().splitlines()[-1])
    assert dag_file == project / "dag" / "spaceflights___default___local.py"
    source = dag_file.read_text()
    tree = ast.parse(source, filename=str(dag_file))  # valid Python...
    compile(tree, str(dag_file), "exec")  # ...that compiles to byte code
    assert f"generated_with_kedro_airflow_k8s:{__version__}" in source
    assert source.rstrip().endswith(")") and "build_dag(SPEC" in source.splitlines()[-1]
