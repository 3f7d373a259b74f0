"""The same generated DAG imports on Airflow 2.10, in a virtualenv of its own.

The virtualenv is made from requirements/airflow2.txt the first time (or taken from
$KAK8S_AIRFLOW2_VENV) and reused afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO

pytestmark = [pytest.mark.airflow2, pytest.mark.slow]

REQUIREMENTS = REPO / "requirements" / "airflow2.txt"

PROBE = """
import json, sys
from airflow.models.dagbag import DagBag
bag = DagBag(sys.argv[1], include_examples=False)
print(json.dumps({
    "version": __import__("airflow").__version__,
    "errors": {k: str(v) for k, v in bag.import_errors.items()},
    "dags": {
        d.dag_id: {t.task_id: sorted(t.upstream_task_ids) for t in d.tasks}
        for d in bag.dags.values()
    },
}))
"""


def _airflow2_python() -> Path:
    venv = Path(os.environ.get("KAK8S_AIRFLOW2_VENV") or REPO / ".cache" / "venv-airflow2")
    python = venv / "bin" / "python"
    marker = venv / ".requirements-sha256"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)],
        check=True,
        timeout=1200,
    )
    marker.write_text(wanted)
    return python


@pytest.fixture(scope="session")
def airflow2_python() -> Path:
    return _airflow2_python()


def test_dag_imports_on_airflow_2_10(
    airflow2_python: Path, compiled_example: Any, example_dag: Any, tmp_path: Path
) -> None:
    env = {
        "PATH": f"{airflow2_python.parent}:{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "HOME": str(tmp_path),
    }
    done = subprocess.run(
        [str(airflow2_python), "-c", PROBE, str(compiled_example.dags_folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["version"].startswith("2.10.")
    assert result["errors"] == {}
    airflow3 = {t.task_id: sorted(t.upstream_task_ids) for t in example_dag.tasks}
    assert result["dags"] == {example_dag.dag_id: airflow3}
