"""The project's own code passes its linters: ruff (style, imports, bugbear) and mypy --strict.

mypy takes the longest of them (a cold run, no cache): when the session has its test, it starts
in the background as soon as collection is done (see tests/conftest.py) and the test collects its
result, so the check overlaps the tests that run first."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.helpers import REPO

BIN = Path(sys.executable).parent
CODE = ("src", "tests", "benchmarks", "scripts")
MYPY_TIMEOUT = 900  # seconds for the whole mypy run


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)


class MypyRun:
    """``mypy --no-incremental`` over the files of its config, in a process of its own; its
    output goes to a file (a pipe nobody reads could fill up and stall it)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="kak8s-mypy-"))
        with (self.folder / "mypy.log").open("w") as output:  # the process has its own copy
            self.process = subprocess.Popen(
                [str(BIN / "mypy"), "--no-incremental", "--cache-dir", "/dev/null"],
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def result(self, timeout: float) -> tuple[int, str]:
        """(exit code, output), once mypy has ended (within ``timeout`` s, else killed)."""
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"mypy did not end within {timeout} s") from None
        return code, (self.folder / "mypy.log").read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)
        shutil.rmtree(self.folder, ignore_errors=True)


_mypy: MypyRun | None = None


def start_mypy() -> MypyRun:
    """The session's mypy run, started on the first call."""
    global _mypy
    if _mypy is None:
        _mypy = MypyRun()
    return _mypy


def stop_mypy() -> None:
    """End the mypy run if it is still going (the session is over)."""
    if _mypy is not None:
        _mypy.stop()


def test_ruff() -> None:
    done = _run(str(BIN / "ruff"), "check", "--no-cache", *CODE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format() -> None:
    done = _run(str(BIN / "ruff"), "format", "--check", "--no-cache", *CODE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict() -> None:
    code, output = start_mypy().result(timeout=MYPY_TIMEOUT)
    assert code == 0, output
