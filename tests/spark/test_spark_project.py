"""features/spark/project_files.py: the project archive, the user's init scripts, the factory."""

from __future__ import annotations

import gzip
import io
import os
import sys
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kedro_airflow_k8s.errors import ConfigError
from kedro_airflow_k8s.features.spark.project_files import (
    archive_members,
    load_operator_factory,
    project_archive,
    read_user_script,
)
from kedro_airflow_k8s.spark import SparkOperatorFactoryBase

KEPT = [
    "README.md",
    "pyproject.toml",
    "requirements-dev.txt",
    "requirements.txt",
    "conf/base/catalog.yml",
    "conf/base/nested/deep.yml",
    "conf/prod/parameters.yml",
    "src/pkg/__init__.py",
    "src/pkg/pipelines/p.py",
    "src/pkg/script.sh",
]
DROPPED = [
    ".git/config",
    ".git/objects/ab/cd",
    ".venv/lib/site.py",
    ".env",
    "Dockerfile",
    "data/01_raw/x.csv",
    "notebooks/n.ipynb",
    "logs/run.log",
    "src/pkg/__pycache__/x.cpython-311.pyc",
    "src/pkg/mod.pyc",
    "src/pkg/mod.pyo",
    "src/pkg.egg-info/PKG-INFO",
    "src/pkg/.ipynb_checkpoints/n.ipynb",
    "src/.DS_Store",
    "conf/base/.git/HEAD",
    "docs/index.md",
    "tests/test_x.py",
]
LOCAL = ["conf/local/credentials.yml", "conf/local/parameters.yml"]


def _project(root: Path) -> Path:
    project = root / "project"
    for name in [*KEPT, *DROPPED, *LOCAL]:
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"content of {name}\n")
    return project


# --- archive_members / project_archive ----------------------------------------------------------


def test_archive_members(tmp_path: Path) -> None:
    project = _project(tmp_path)
    top, conf, src = KEPT[:4], KEPT[4:7], KEPT[7:]
    assert archive_members(project, "base") == [*top, *src, *conf]
    assert archive_members(project, "prod") == archive_members(project, "base")


def test_conf_local_only_with_the_local_env(tmp_path: Path) -> None:
    members = archive_members(_project(tmp_path), "local")
    assert [m for m in members if m.startswith("conf/local/")] == LOCAL
    assert sorted(members) == sorted([*KEPT, *LOCAL])


def test_symlinks_are_not_archived(tmp_path: Path) -> None:
    project = _project(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cr3t")
    (project / "src" / "pkg" / "link.py").symlink_to(secret)
    (project / "src" / "outside").symlink_to(tmp_path, target_is_directory=True)
    (project / "requirements-link.txt").symlink_to(secret)
    members = archive_members(project, "base")
    assert not [m for m in members if "link" in m or m.startswith("src/outside")]
    assert b"s3cr3t" not in gzip.decompress(project_archive(project, "base"))


def test_missing_folders(tmp_path: Path) -> None:
    project = tmp_path / "bare"
    project.mkdir()
    (project / "pyproject.toml").write_text("")
    assert archive_members(project, "base") == ["pyproject.toml"]


def test_archive_content_and_metadata(tmp_path: Path) -> None:
    project = _project(tmp_path)
    data = project_archive(project, "base")
    assert data[:2] == b"\x1f\x8b"
    assert data[4:8] == b"\0\0\0\0"  # gzip header mtime
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        infos = tar.getmembers()
        assert [info.name for info in infos] == archive_members(project, "base")
        for info in infos:
            assert info.isfile()
            assert info.mtime == 0
            assert info.mode == 0o644
            assert (info.uid, info.gid, info.uname, info.gname) == (0, 0, "", "")
            extracted = tar.extractfile(info)
            assert extracted is not None
            assert extracted.read() == f"content of {info.name}\n".encode()


def test_archive_is_reproducible(tmp_path: Path) -> None:
    project = _project(tmp_path)
    first = project_archive(project, "base")
    assert project_archive(project, "base") == first
    for path in project.rglob("*"):  # other times, other permissions: same bytes
        if path.is_file():
            os.utime(path, (1_700_000_000, 1_700_000_000))
            path.chmod(0o755)
    assert project_archive(project, "base") == first
    # and a copy of the project elsewhere gives the same bytes too
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in archive_members(project, "base"):
        target = copy / "project" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((project / name).read_bytes())
    assert project_archive(copy / "project", "base") == first
    # a changed file changes the archive
    (project / "src" / "pkg" / "__init__.py").write_text("changed\n")
    assert project_archive(project, "base") != first


# --- read_user_script ---------------------------------------------------------------------------

KEY = "run_config.spark.user_init_path"


def _src(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "src" / "pkg").mkdir(parents=True)
    (project / "src" / "pkg" / "init.sh").write_text("echo init\n")
    (tmp_path / "outside.sh").write_text("echo outside\n")
    return project


def test_read_user_script(tmp_path: Path) -> None:
    project = _src(tmp_path)
    assert read_user_script(project, "pkg/init.sh", KEY) == "echo init\n"
    assert read_user_script(project, "pkg/../pkg/init.sh", KEY) == "echo init\n"
    assert read_user_script(project, None, KEY) is None
    assert read_user_script(project, "", KEY) is None


@pytest.mark.parametrize(
    ("relative", "message"),
    [
        ("pkg/missing.sh", "no file src/pkg/missing.sh"),
        ("../outside.sh", "'../outside.sh' is outside the src folder"),
        ("pkg/../../outside.sh", "'pkg/../../outside.sh' is outside the src folder"),
        ("pkg", "cannot read src/pkg: "),
    ],
)
def test_read_user_script_errors(tmp_path: Path, relative: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        read_user_script(_src(tmp_path), relative, KEY)
    assert error.value.message.startswith(f"airflow-k8s config: {KEY}: {message}")
    assert "\n" not in str(error.value)


def test_read_user_script_absolute_and_symlinked_paths_escape(tmp_path: Path) -> None:
    project = _src(tmp_path)
    outside = str(tmp_path / "outside.sh")
    (project / "src" / "pkg" / "link.sh").symlink_to(outside)
    for relative in (outside, "pkg/link.sh"):
        with pytest.raises(ConfigError) as error:
            read_user_script(project, relative, KEY)
        assert error.value.message == (
            f"airflow-k8s config: {KEY}: {relative!r} is outside the src folder"
        )


def test_read_user_script_not_utf8(tmp_path: Path) -> None:
    project = _src(tmp_path)
    (project / "src" / "pkg" / "latin.sh").write_bytes(b"echo caf\xe9\n")
    key = "run_config.spark.user_post_init_path"
    with pytest.raises(ConfigError) as error:
        read_user_script(project, "pkg/latin.sh", key)
    message = error.value.message
    assert message.startswith(f"airflow-k8s config: {key}: cannot read src/pkg/latin.sh: ")
    assert "utf-8" in message and "\n" not in message


# --- load_operator_factory ----------------------------------------------------------------------

GOOD = """
from kedro_airflow_k8s.spark import SparkOperatorFactoryBase


class Base(SparkOperatorFactoryBase):
    @property
    def imports_statement(self):
        return "import os"

    def create_cluster_operator(self, cluster):
        return "os.getcwd()"


class Good(Base):
    def delete_cluster_operator(self, cluster):
        return "os.getcwd()"

    def submit_operator(self, job):
        return "os.getcwd()"


class Raising(Good):
    def __init__(self):
        raise RuntimeError("no credentials\\nsecond line")


class NotAFactory:
    pass


def function():
    pass


NOTHING = None
"""
KEY_FACTORY = "airflow-k8s config: run_config.spark.operator_factory"


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A module of factories under tmp_path (a fresh name each time), on sys.path."""
    name = f"kak8s_spark_factories_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(GOOD)
    (tmp_path / f"{name}_broken.py").write_text("import os\n1 / 0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for loaded in (name, f"{name}_broken"):
        sys.modules.pop(loaded, None)


def test_load_operator_factory(module: str) -> None:
    factory = load_operator_factory(f"{module}.Good")
    assert isinstance(factory, SparkOperatorFactoryBase)
    assert type(factory).__name__ == "Good"
    assert factory.imports_statement == "import os"


@pytest.mark.parametrize(
    ("attribute", "message"),
    [
        ("Missing", "module '{m}' has no 'Missing'"),
        ("NOTHING", "module '{m}' has no 'NOTHING'"),
        (
            "NotAFactory",
            "{m}.NotAFactory is not a subclass of kedro_airflow_k8s.spark.SparkOperatorFactoryBase",
        ),
        (
            "function",
            "{m}.function is not a subclass of kedro_airflow_k8s.spark.SparkOperatorFactoryBase",
        ),
        ("Base", "{m}.Base does not implement delete_cluster_operator, submit_operator"),
        ("Raising", "{m}.Raising() failed: RuntimeError: no credentials second line"),
    ],
)
def test_load_operator_factory_errors(module: str, attribute: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_operator_factory(f"{module}.{attribute}")
    assert error.value.message == f"{KEY_FACTORY}: {message.format(m=module)}"
    assert "\n" not in str(error.value)


def test_load_operator_factory_import_errors(module: str) -> None:
    missing = f"{module}_nowhere"
    with pytest.raises(ConfigError) as error:
        load_operator_factory(f"{missing}.Factory")
    assert error.value.message == (
        f"{KEY_FACTORY}: cannot import '{missing}': ModuleNotFoundError: No module named "
        f"'{missing}'"
    )
    with pytest.raises(ConfigError) as error:
        load_operator_factory(f"{module}_broken.Factory")
    assert error.value.message == (
        f"{KEY_FACTORY}: cannot import '{module}_broken': ZeroDivisionError: division by zero"
    )
    with pytest.raises(ConfigError) as error:
        load_operator_factory(f"{module}.Good.Inner")
    assert error.value.message.startswith(f"{KEY_FACTORY}: cannot import '{module}.Good': ")
