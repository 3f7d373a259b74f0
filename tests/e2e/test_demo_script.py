"""scripts/demo.sh for real, from a clean checkout of this commit (``git clone`` into a temporary
folder): it compiles the example for Kubernetes, starts ``kedro airflow-k8s dev``, runs the example
through it with ``run-once --wait-for-completion`` (local execution), shows what the pipeline wrote
and stops Airflow, leaving no process behind.

The installation step is skipped (``DEMO_SKIP_INSTALL=1``): the checkout's ``.venv`` is a link to
this test's virtualenv, and ``PYTHONPATH`` puts the checkout's own ``src`` first, so the demo runs
the checkout's code without reinstalling anything (nor repointing the shared editable install).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DEMO_TIMEOUT = 900  # seconds: the whole script (Airflow's start, the run, the stop)


def _clean_checkout(target: Path) -> Path:
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    checkout = target / "checkout"
    run = {"capture_output": True, "check": True, "timeout": 300}
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(REPO), str(checkout)], **run)  # type: ignore[call-overload]
    subprocess.run(["git", "-C", str(checkout), "checkout", "-q", head], **run)  # type: ignore[call-overload]
    (checkout / ".venv").symlink_to(Path(sys.prefix).resolve(), target_is_directory=True)
    return checkout


def _processes_mentioning(text: str) -> list[int]:
    """Live processes (not zombies) whose command line or environment mentions ``text``."""
    found, marker = [], text.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if "\nState:\tZ" in (entry / "status").read_text():
                continue
            seen = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in seen:
            found.append(int(entry.name))
    return found


def test_the_demo_runs_the_example_from_a_clean_checkout_and_leaves_nothing_running(
    tmp_path: Path,
) -> None:
    checkout = _clean_checkout(tmp_path)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW", "KEDRO_", "PYTEST_", "DEMO_"))
    }
    env.update({"DEMO_SKIP_INSTALL": "1", "PYTHONPATH": str(checkout / "src")})
    demo = subprocess.Popen(
        ["bash", "scripts/demo.sh"],
        cwd=checkout,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = demo.communicate(timeout=DEMO_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(demo.pid, signal.SIGTERM)  # the script's trap stops Airflow
        output, _ = demo.communicate(timeout=90)
        pytest.fail(f"demo.sh did not end within {DEMO_TIMEOUT} s:\n{output[-6000:]}")
    assert demo.returncode == 0, output[-6000:]

    project = checkout / "examples" / "spaceflights"
    assert "DEMO_SKIP_INSTALL=1: using .venv as it is" in output
    assert "DAG spaceflights.__default__.local\n" in output  # the Kubernetes DAG, summarised
    assert (project / "dag" / "spaceflights___default___local.py").is_file()
    assert (
        "Run manual__" in output
        and "of spaceflights.__default__.airflow_local succeeded." in output
    )
    assert "  pipeline_complete: success" in output
    for namespace in ("active_modelling_pipeline", "candidate_modelling_pipeline"):
        metrics = f"data/08_reporting/{namespace}/metrics.json"
        assert f'data/08_reporting/{namespace}/metrics.json: {{"r2_score"' in output, output[-3000:]
        assert (project / metrics).is_file()
    assert "Airflow stopped (" in output

    # Nothing of the demo is left: no Airflow process, no task process.
    deadline = time.monotonic() + 30
    while (left := _processes_mentioning(str(checkout))) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left, [Path(f"/proc/{pid}/cmdline").read_bytes()[:200] for pid in left]
