"""The documentation: generated references are current, and the site builds with MkDocs in strict
mode (broken links, anchors and pages left out of the navigation are errors)."""

from __future__ import annotations

import html
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from tests.helpers import REPO, VENV_BIN, load_script

config_reference = load_script("config_reference").config_reference
command_reference = load_script("command_reference").command_reference

DOCS = REPO / "docs"
MKDOCS_YML = REPO / "mkdocs.yml"


def test_configuration_reference_is_current() -> None:
    committed = (REPO / "docs" / "configuration.md").read_text()
    assert committed == config_reference(), (
        "docs/configuration.md is stale: run "
        "`python scripts/config_reference.py > docs/configuration.md`"
    )


def _config_models() -> Iterator[type[Any]]:
    """Every model a key of the config file is read with, from PluginConfig down."""
    import types
    import typing

    from pydantic import BaseModel

    from kedro_airflow_k8s.config import PluginConfig
    from kedro_airflow_k8s.config.base import declared_type

    todo: list[Any] = [PluginConfig]
    seen: set[type[Any]] = set()
    while todo:
        annotation = todo.pop()
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in seen:
                seen.add(annotation)
                todo += [declared_type(f.annotation) for f in annotation.model_fields.values()]
        elif typing.get_origin(annotation) is not None or isinstance(annotation, types.UnionType):
            todo += list(typing.get_args(annotation))
    return iter(sorted(seen, key=lambda model: model.__name__))


def test_every_key_is_in_the_reference() -> None:
    text = config_reference()
    models = list(_config_models())
    assert {"RunConfig", "SparkConfig", "VolumeConfig", "Affinity"} <= {m.__name__ for m in models}
    for model in models:
        for name, field in model.model_fields.items():
            assert f"| `{field.alias or name}` |" in text, (model.__name__, name)


# --- the command reference --------------------------------------------------------------------


def _cli_commands() -> Iterator[tuple[str, click.Command, click.Context]]:
    """Every command of ``kedro airflow-k8s`` (the group itself first) with its context."""
    from kedro_airflow_k8s.cli import commands

    root = click.Context(commands, info_name="kedro")
    group = commands.get_command(root, "airflow-k8s")
    assert group is not None
    todo = [("airflow-k8s", group, click.Context(group, info_name="airflow-k8s", parent=root))]
    while todo:
        name, command, ctx = todo.pop(0)
        yield name, command, ctx
        if isinstance(command, click.Group):
            for sub_name in command.list_commands(ctx):
                sub = command.get_command(ctx, sub_name)
                assert sub is not None
                todo.append((sub_name, sub, click.Context(sub, info_name=sub_name, parent=ctx)))


def test_command_reference_is_current() -> None:
    committed = (DOCS / "commands.md").read_text()
    assert committed == command_reference(), (
        "docs/commands.md is stale: run `python scripts/command_reference.py > docs/commands.md`"
    )


def test_every_command_and_option_is_in_the_command_reference() -> None:
    text = command_reference()
    sections = text.split("\n## ")[1:]
    by_title = {section.split("\n", 1)[0]: section for section in sections}
    names = []
    for name, command, ctx in _cli_commands():
        title = "kedro airflow-k8s" if name == "airflow-k8s" else ctx.command_path.split(" ", 2)[2]
        assert title in by_title, f"no section for {ctx.command_path}"
        section = by_title[title]
        assert f"```text\n{ctx.command_path} " in section, f"no usage line for {ctx.command_path}"
        first_line = (command.help or "").strip().splitlines()[0]
        assert html.escape(first_line, quote=False) in section, (
            f"help of {ctx.command_path} missing"
        )
        for param in command.params:
            if isinstance(param, click.Option):
                for opt in [*param.opts, *param.secondary_opts]:
                    assert f"`{opt}`" in section, f"{opt} of {ctx.command_path} missing"
                if param.help:
                    meaning = " ".join(param.help.split("  [")[0].split())
                    assert html.escape(meaning, quote=False) in section, (opt, meaning)
            else:
                assert f"| `{param.make_metavar(ctx)}` |" in section, (ctx.command_path, param)
        names.append(name)
    assert {"compile", "upload-pipeline", "schedule", "run-once", "list-pipelines", "ui"} <= set(
        names
    )


def test_the_command_reference_shows_defaults_and_choices() -> None:
    compile_section = command_reference().split("\n## compile\n")[1].split("\n## ")[0]
    assert "| `-o`, `--output` | path | `<project>/dag` | Folder to write the DAG files to. |" in (
        compile_section
    )
    assert "`table` \\| `json` \\| `mermaid`; alone: `table`" in compile_section
    run_once = command_reference().split("\n## run-once\n")[1].split("\n## ")[0]
    assert "| `--parse-timeout` | number > 0 | `360.0` |" in run_once
    assert "| `--param` | text (repeatable) |" in run_once
    # the upload commands' -o falls back to the config's key, named with its file
    assert "| `-o`, `--output` | text | `output in kedro-airflow-k8s.yaml` |" in run_once
    group = command_reference().split("\n## kedro airflow-k8s\n")[1].split("\n## ")[0]
    assert "| `-e`, `--env` | text | `$KEDRO_ENV, else local` |" in group
    assert "| [`run-once`](#run-once) |" in group


# --- the site ---------------------------------------------------------------------------------


def _mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    mkdocs = VENV_BIN / "mkdocs"
    assert mkdocs.exists(), "mkdocs is missing: pip install -r requirements/docs.txt"
    return subprocess.run(
        [str(mkdocs), "build", "--strict", "-f", str(config), "-d", str(site)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _nav_pages(nav: Any) -> Iterator[str]:
    if isinstance(nav, str):
        yield nav
    elif isinstance(nav, list):
        for item in nav:
            yield from _nav_pages(item)
    elif isinstance(nav, dict):
        for value in nav.values():
            yield from _nav_pages(value)


def test_the_site_is_strict_and_lists_every_page_in_its_navigation() -> None:
    config = yaml.safe_load(MKDOCS_YML.read_text())
    assert config["strict"] is True
    assert config["docs_dir"] == "docs"
    pages = list(_nav_pages(config["nav"]))
    assert sorted(pages) == sorted(p.name for p in DOCS.glob("*.md"))
    assert len(pages) == len(set(pages))
    for kind in ("not_found", "anchors", "absolute_links", "unrecognized_links"):
        assert config["validation"]["links"][kind] == "warn", kind  # strict: warnings fail
    for kind in ("omitted_files", "not_found"):
        assert config["validation"]["nav"][kind] == "warn", kind


def test_the_docs_build_strictly(tmp_path: Path) -> None:
    site = tmp_path / "site"
    done = _mkdocs_build(MKDOCS_YML, site)
    assert done.returncode == 0, done.stdout + done.stderr
    config = yaml.safe_load(MKDOCS_YML.read_text())
    for page in _nav_pages(config["nav"]):
        html = site / ("index.html" if page == "index.md" else f"{page[:-3]}/index.html")
        assert html.is_file(), page
    commands = (site / "commands" / "index.html").read_text()
    assert 'id="run-once"' in commands
    assert "--parse-timeout" in commands


@pytest.mark.parametrize(
    ("link", "complaint"),
    [
        ("[a page that does not exist](no-such-page.md)", "no-such-page.md"),
        ("[an anchor that does not exist](commands.md#no-such-command)", "#no-such-command"),
        ("[an absolute link](/commands.md)", "/commands.md"),
    ],
)
def test_a_broken_link_fails_the_strict_build(tmp_path: Path, link: str, complaint: str) -> None:
    shutil.copytree(DOCS, tmp_path / "docs")
    shutil.copy(MKDOCS_YML, tmp_path / "mkdocs.yml")
    index = tmp_path / "docs" / "index.md"
    index.write_text(index.read_text() + f"\n{link}\n")
    done = _mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert done.returncode != 0
    assert complaint in done.stdout + done.stderr


def test_a_page_left_out_of_the_navigation_fails_the_strict_build(tmp_path: Path) -> None:
    shutil.copytree(DOCS, tmp_path / "docs")
    shutil.copy(MKDOCS_YML, tmp_path / "mkdocs.yml")
    (tmp_path / "docs" / "forgotten.md").write_text("# Forgotten\n")
    done = _mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert done.returncode != 0
    assert "forgotten.md" in done.stdout + done.stderr
