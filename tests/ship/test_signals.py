"""Signals during a local write: the real CLI in a subprocess, stopped while it writes the DAG.

No slow disk can be had here, so the write is made to stall by a stand-in: a ``sitecustomize``
module put on the child's PYTHONPATH replaces ``os.fsync`` for files in the DAG folder only (it
writes a marker file, then sleeps). Everything else is the real command.
"""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from tests.helpers import VENV_BIN, copy_example

pytestmark = pytest.mark.slow

DAG_FILE = "spaceflights___default___local.py"
OLD_DAG = "# the DAG Airflow runs now\n"

STALL = textwrap.dedent(
    """
    import os
    import pathlib
    import time

    _folder = os.environ["KAK8S_STALL_FOLDER"]
    _marker = pathlib.Path(os.environ["KAK8S_STALL_MARKER"])
    _fsync = os.fsync


    def _stalling_fsync(fd):
        if os.readlink(f"/proc/self/fd/{fd}").startswith(_folder + os.sep):
            _marker.write_text("writing")
            time.sleep(600)
        return _fsync(fd)


    os.fsync = _stalling_fsync
    """
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_example(tmp_path_factory.mktemp("signals"), git=False)


def _start(project: Path, tmp_path: Path, command: str, folder: Path) -> subprocess.Popen[str]:
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(STALL)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEDRO_")}
    env.update(
        KEDRO_DISABLE_TELEMETRY="true",
        PYTHONPATH=os.pathsep.join([str(hook), *filter(None, [os.environ.get("PYTHONPATH")])]),
        KAK8S_STALL_FOLDER=str(folder),
        KAK8S_STALL_MARKER=str(tmp_path / "marker"),
    )
    return subprocess.Popen(
        [str(VENV_BIN / "kedro"), "airflow-k8s", command, "-o", str(folder)],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_signals,
    )


def _default_signals() -> None:
    """The command starts with the default handling of the signals sent here, whatever the test
    run inherited: under ``nohup`` SIGHUP is ignored, and a process started ignoring a signal
    rightly keeps ignoring it."""
    for signum in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)


def _wait_for(path: Path, process: subprocess.Popen[str], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            _, err = process.communicate(timeout=30)
            pytest.fail(f"the write never started (exit {process.returncode}): {err[-2000:]}")
        time.sleep(0.1)


@pytest.mark.parametrize(
    ("command", "signum"),
    [
        ("compile", signal.SIGTERM),
        ("upload-pipeline", signal.SIGTERM),
        ("compile", signal.SIGHUP),
        ("compile", signal.SIGINT),
    ],
    ids=["compile-SIGTERM", "upload-SIGTERM", "compile-SIGHUP", "compile-SIGINT"],
)
def test_a_signal_during_the_write_leaves_the_old_dag_and_no_temporary_file(
    project: Path, tmp_path: Path, command: str, signum: signal.Signals
) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / DAG_FILE).write_text(OLD_DAG)
    process = _start(project, tmp_path, command, folder)
    try:
        _wait_for(tmp_path / "marker", process, 180)
        # Stalled inside the write: the temporary file is there, beside the old DAG.
        assert sorted(p.name for p in folder.iterdir())[0].endswith(".tmp")
        process.send_signal(signum)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)
    if signum == signal.SIGINT:
        assert process.returncode == 1, err[-2000:]  # click's "Aborted!"
        assert "Aborted!" in err
    else:
        # Cleaned up, then ended by the same signal, as a process without handlers would be.
        assert process.returncode == -signum, err[-2000:]
    assert "Traceback" not in err
    assert sorted(p.name for p in folder.iterdir()) == [DAG_FILE]
    assert (folder / DAG_FILE).read_text() == OLD_DAG
