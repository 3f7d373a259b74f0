"""The wheel and the sdist carry every file the package needs, and nothing else."""

from __future__ import annotations

import tarfile

import pytest

from kedro_airflow_k8s import __version__
from tests.packaging.conftest import PACKAGE, Dists, package_files

pytestmark = pytest.mark.slow


def test_the_source_tree_has_modules_and_templates() -> None:
    files = package_files()
    assert f"{PACKAGE}/cli.py" in files
    assert f"{PACKAGE}/py.typed" in files
    assert f"{PACKAGE}/render/templates/dag.py.j2" in files


def test_the_wheel_holds_every_file_of_the_package(dists: Dists) -> None:
    names = dists.wheel_names()
    missing = [name for name in package_files() if name not in names]
    assert not missing, (
        f"missing from {dists.wheel.name}: {missing} (package data is listed under "
        "[tool.setuptools.package-data] in pyproject.toml)"
    )


def test_the_wheel_holds_only_the_package_and_its_metadata(dists: Dists) -> None:
    tops = {name.split("/", 1)[0] for name in dists.wheel_names()}
    assert tops == {PACKAGE, f"{PACKAGE}-{__version__}.dist-info"}
    stray = [n for n in dists.wheel_names() if "__pycache__" in n or n.endswith(".pyc")]
    assert not stray


def test_the_wheel_registers_the_kedro_command_group_and_hook(dists: Dists) -> None:
    import configparser
    import zipfile

    with zipfile.ZipFile(dists.wheel) as archive:
        entry_points = archive.read(f"{PACKAGE}-{__version__}.dist-info/entry_points.txt")
    parser = configparser.ConfigParser()
    parser.read_string(entry_points.decode())
    assert dict(parser["kedro.project_commands"]) == {
        "airflow_k8s": "kedro_airflow_k8s.cli:commands"
    }
    assert dict(parser["kedro.hooks"]) == {
        "airflow_k8s_in_memory": "kedro_airflow_k8s.hooks:in_memory_storage_hooks"
    }


def test_the_sdist_holds_every_file_of_the_package_and_the_build_files(dists: Dists) -> None:
    with tarfile.open(dists.sdist) as archive:
        names = set(archive.getnames())
    top = f"kedro_airflow_k8s-{__version__}"
    missing = [name for name in package_files() if f"{top}/src/{name}" not in names]
    assert not missing, f"missing from {dists.sdist.name}: {missing}"
    for needed in ("pyproject.toml", "README.md", "PKG-INFO"):
        assert f"{top}/{needed}" in names, needed
