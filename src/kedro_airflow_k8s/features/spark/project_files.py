"""What spark jobs need from the Kedro project: its archive, the user's init script parts and
the custom operator factory class.

The archive holds what a Kedro 1.x project needs to run: ``pyproject.toml``, requirements files,
``src/`` and ``conf/`` (``conf/local`` only when the DAG runs with the ``local`` environment, as
it usually holds machine-local settings and credentials). Never ``.git``, data, virtualenvs,
caches or compiled files. The archive is reproducible: the same files give the same bytes.
"""

from __future__ import annotations

import gzip
import importlib
import inspect
import io
import re
import tarfile
from pathlib import Path

from kedro_airflow_k8s.errors import PluginConfigError
from kedro_airflow_k8s.features.spark.factory import SparkOperatorFactoryBase

_TOP_FILES = re.compile(r"^(pyproject\.toml|setup\.py|setup\.cfg|requirements.*\.txt|README.*)$")
_TOP_FOLDERS = ("src", "conf")
_SKIPPED_NAMES = frozenset(
    {"__pycache__", ".ipynb_checkpoints", ".DS_Store", ".pytest_cache", ".mypy_cache", ".git"}
)
_SKIPPED_SUFFIXES = (".pyc", ".pyo", ".egg-info")


def archive_members(project_path: Path, env: str) -> list[str]:
    """The project's files that go into the archive (POSIX paths relative to the project)."""
    members: list[str] = []
    for path in sorted(project_path.iterdir()):
        if path.is_file() and not path.is_symlink() and _TOP_FILES.match(path.name):
            members.append(path.name)
    for folder in _TOP_FOLDERS:
        root = project_path / folder
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(project_path)
            parts = relative.parts
            if any(p in _SKIPPED_NAMES or p.endswith(_SKIPPED_SUFFIXES) for p in parts):
                continue
            if parts[:2] == ("conf", "local") and env != "local":
                continue
            if path.is_file() and not path.is_symlink():
                members.append(relative.as_posix())
    return members


def project_archive(project_path: Path, env: str) -> bytes:
    """A reproducible ``.tar.gz`` of the project's runnable files."""
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=6) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name in archive_members(project_path, env):
            data = (project_path / name).read_bytes()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def read_user_script(project_path: Path, relative: str | None, key: str) -> str | None:
    """A user init script part, relative to the project's ``src/``; None when not configured."""
    if not relative:
        return None
    source = (project_path / "src").resolve()
    path = (source / relative).resolve()
    if not path.is_relative_to(source):
        raise PluginConfigError(f"{key}: {relative!r} is outside the src folder")
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise PluginConfigError(f"{key}: no file src/{relative}") from error
    except (OSError, UnicodeDecodeError) as error:
        raise PluginConfigError(f"{key}: cannot read src/{relative}: {error}") from error


def load_operator_factory(dotted: str) -> SparkOperatorFactoryBase:
    """An instance of the class ``dotted`` names (the project's ``src`` is on the path)."""
    key = "run_config.spark.operator_factory"
    module_name, _, class_name = dotted.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # the user's module: any failure is reported in one line
        raise PluginConfigError(
            f"{key}: cannot import {module_name!r}: {type(error).__name__}: {error}"
        ) from error
    factory_class = getattr(module, class_name, None)
    if factory_class is None:
        raise PluginConfigError(f"{key}: module {module_name!r} has no {class_name!r}")
    if not (inspect.isclass(factory_class) and issubclass(factory_class, SparkOperatorFactoryBase)):
        raise PluginConfigError(
            f"{key}: {dotted} is not a subclass of kedro_airflow_k8s.spark.SparkOperatorFactoryBase"
        )
    missing = sorted(getattr(factory_class, "__abstractmethods__", ()))
    if missing:
        raise PluginConfigError(f"{key}: {dotted} does not implement {', '.join(missing)}")
    try:
        return factory_class()
    except Exception as error:
        raise PluginConfigError(
            f"{key}: {dotted}() failed: {type(error).__name__}: {error}"
        ) from error
