"""The plugin's distributions, built once per test session from a copy of the working tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import REPO

PACKAGE = "kedro_airflow_k8s"
# Never part of a distribution: caches, virtualenvs, build output, VCS data.
_NOT_SOURCE = (
    ".git",
    ".venv",
    ".venv-*",
    ".cache",
    ".tox",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "__pycache__",
    "*.pyc",
    "*.egg-info",
    "build",
    "dist",
    "site",
)


@dataclass(frozen=True)
class Dists:
    wheel: Path
    sdist: Path

    def wheel_names(self) -> set[str]:
        with zipfile.ZipFile(self.wheel) as archive:
            return set(archive.namelist())


def package_files() -> list[str]:
    """Every file of the package's source tree that an installation needs, relative to src/:
    modules, templates, py.typed... (not caches, not hidden files)."""
    root = REPO / "src"
    found = []
    for path in sorted((root / PACKAGE).rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or "__pycache__" in relative.parts:
            continue
        if path.suffix in (".pyc", ".pyo") or any(p.startswith(".") for p in relative.parts):
            continue
        found.append(relative.as_posix())
    return found


@pytest.fixture(scope="session")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    """sdist, then the wheel built from that sdist (what ``python -m build`` does by default),
    from a copy of the working tree so that nothing is written into the repository."""
    work = tmp_path_factory.mktemp("build")
    source = work / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*_NOT_SOURCE), symlinks=True)
    out = work / "dist"
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    wheels = list(out.glob("*.whl"))
    sdists = list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in out.iterdir())
    return Dists(wheel=wheels[0], sdist=sdists[0])
