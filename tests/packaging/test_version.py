"""One version: ``kedro_airflow_k8s.__version__``, which the distributions' metadata takes over and
the changelog has a section for (or an Unreleased one)."""

from __future__ import annotations

import re
import tarfile
import zipfile
from email.parser import Parser

import pytest
from packaging.version import Version

from kedro_airflow_k8s import __version__
from tests.helpers import REPO
from tests.packaging.conftest import PACKAGE, Dists


def _metadata_version(text: str) -> str:
    return str(Parser().parsestr(text)["Version"])


def test_the_version_is_a_valid_normalized_version() -> None:
    assert str(Version(__version__)) == __version__


@pytest.mark.slow
def test_the_distributions_carry_the_package_version(dists: Dists) -> None:
    with zipfile.ZipFile(dists.wheel) as archive:
        wheel_meta = archive.read(f"{PACKAGE}-{__version__}.dist-info/METADATA").decode()
    with tarfile.open(dists.sdist) as archive:
        member = archive.extractfile(f"{PACKAGE}-{__version__}/PKG-INFO")
        assert member is not None
        sdist_meta = member.read().decode()
    assert _metadata_version(wheel_meta) == __version__
    assert _metadata_version(sdist_meta) == __version__
    assert dists.wheel.name.startswith(f"{PACKAGE}-{__version__}-")


def test_the_changelog_has_a_section_for_this_version_or_an_unreleased_one() -> None:
    changelog = (REPO / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[([^\]]+)\]", changelog, flags=re.MULTILINE)
    assert "Unreleased" in headings or __version__ in headings, (
        f"CHANGELOG.md needs a '## [Unreleased]' or '## [{__version__}]' section; it has {headings}"
    )
