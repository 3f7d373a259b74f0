"""features/spark/scripts.py init_script_text: the cluster init action, read and run with bash."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from pathlib import Path

import pytest

from kedro_airflow_k8s.features.spark.project_files import project_archive
from kedro_airflow_k8s.features.spark.scripts import init_script_text

HOSTILE = 'x\'y "z" $(touch pwned) `touch pwned` ; touch pwned\nline2 \\ $HOME'
USER_INIT = 'printf "%s" "$PROJECT_HOME" > "$MARKS/init_home"\n'
USER_INIT += '[ -e "$PROJECT_HOME/pyproject.toml" ] && echo yes > "$MARKS/init_saw" || true\n'
USER_POST = '[ -s "$MARKS/python" ] && echo installed > "$MARKS/post" || true\n'


def _text(archive_url: str = "gs://bucket/demo.tar.gz", **overrides: str | None) -> str:
    values: dict[str, str | None] = {
        "project_name": "Demo",
        "commit": "abc123",
        "project_home": "/opt/kedro/demo",
        "archive_url": archive_url,
        **overrides,
    }
    return init_script_text(**values)  # type: ignore[arg-type]


def _executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _bash_syntax_ok(script: str, tmp_path: Path) -> None:
    path = tmp_path / "syntax.sh"
    path.write_text(script)
    done = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


# --- the text -----------------------------------------------------------------------------------


def test_order_of_the_parts() -> None:
    text = _text(user_init="echo USER-INIT", user_post_init="echo USER-POST\n\n")
    lines = text.splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert "set -euo pipefail" in lines
    export = lines.index("export PROJECT_HOME=/opt/kedro/demo")
    user = lines.index("echo USER-INIT")
    fetch = next(i for i, line in enumerate(lines) if line.startswith("gsutil "))
    install = next(i for i, line in enumerate(lines) if "-m pip install" in line)
    post = lines.index("echo USER-POST")
    assert lines.index("set -euo pipefail") < export < user < fetch < install < post
    assert text.endswith("echo USER-POST\n")


def test_without_user_parts() -> None:
    text = _text()
    assert "user_init_path" not in text and "user_post_init_path" not in text
    assert 'gsutil -q cp gs://bucket/demo.tar.gz "$archive"' in text


@pytest.mark.parametrize(
    ("url", "command"),
    [
        ("gs://b/p/x.tar.gz", 'gsutil -q cp gs://b/p/x.tar.gz "$archive"'),
        ("gcs://b/p/x.tar.gz", 'gsutil -q cp gs://b/p/x.tar.gz "$archive"'),
        ("s3://b/p/x.tar.gz", 'aws s3 cp --quiet s3://b/p/x.tar.gz "$archive"'),
        ("/srv/art/x.tar.gz", 'cp /srv/art/x.tar.gz "$archive"'),
        ("file:///srv/art/x.tar.gz", 'cp /srv/art/x.tar.gz "$archive"'),
    ],
)
def test_fetch_command_per_scheme(url: str, command: str) -> None:
    assert command in _text(url).splitlines()


def test_hostile_values_keep_the_script_valid(tmp_path: Path) -> None:
    text = _text(
        "gs://b/" + HOSTILE,
        project_name=HOSTILE,
        commit=HOSTILE,
        project_home="/opt/" + HOSTILE,
        user_init="true",
    )
    _bash_syntax_ok(text, tmp_path)
    # names and commit stay inside the comment line: no other line holds them
    comment = [line for line in text.splitlines() if "touch pwned" in line]
    assert all(
        line.startswith(("# Cluster init script", "export PROJECT_HOME=", "gsutil -q cp"))
        for line in comment
    ), comment
    start = text.index("\nexport PROJECT_HOME=") + len("\nexport ")
    export = text[start : text.index("\n# The Python", start)]
    assert shlex.split(export) == ["PROJECT_HOME=/opt/" + HOSTILE]


@pytest.mark.parametrize("url", ["gs://b/x", "s3://b/x", "/x", "file:///x", "gcs://b/x"])
def test_bash_syntax(url: str, tmp_path: Path) -> None:
    _bash_syntax_ok(_text(url, user_init="echo a", user_post_init="echo b"), tmp_path)


# --- running it ---------------------------------------------------------------------------------


def _project(root: Path) -> Path:
    project = root / "project"
    (project / "src" / "demo").mkdir(parents=True)
    (project / "conf" / "base").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    (project / "requirements.txt").write_text("kedro\n")
    (project / "src" / "demo" / "__init__.py").write_text("X = 1\n")
    (project / "conf" / "base" / "catalog.yml").write_text("{}\n")
    return project


def _run(tmp_path: Path, script: str, *, extra_path: Path | None = None) -> Path:
    """Run ``script`` with bash in a fresh working folder; the marks folder is returned."""
    marks = tmp_path / "marks"
    marks.mkdir(exist_ok=True)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    temp = tmp_path / "tmp"
    temp.mkdir(exist_ok=True)
    fake_python = _executable(
        tmp_path / "fake-python",
        '#!/bin/sh\nprintf "%s\\0" "$@" > "$MARKS/python"\n',
    )
    path = tmp_path / "init.sh"
    path.write_text(script)
    env = {
        "PATH": (f"{extra_path}:" if extra_path else "") + os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "MARKS": str(marks),
        "KEDRO_PYTHON": str(fake_python),
        "TMPDIR": str(temp),
    }
    done = subprocess.run(
        ["bash", str(path)], cwd=work, env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return marks


def _no_pwned(tmp_path: Path) -> None:
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith("pwned")]


def test_runs_and_unpacks_into_a_hostile_project_home(tmp_path: Path) -> None:
    archive = tmp_path / f"arch {HOSTILE}.tar.gz".replace("/", "_")
    archive.write_bytes(project_archive(_project(tmp_path), "base"))
    home = tmp_path / "homes" / HOSTILE.replace("/", "_")
    script = _text(
        str(archive),
        project_name=HOSTILE,
        commit=HOSTILE,
        project_home=str(home),
        user_init=USER_INIT,
        user_post_init=USER_POST,
    )
    marks = _run(tmp_path, script)
    assert (home / "pyproject.toml").read_text() == "[project]\nname = 'demo'\n"
    assert (home / "src" / "demo" / "__init__.py").read_text() == "X = 1\n"
    assert (home / "conf" / "base" / "catalog.yml").is_file()
    # PROJECT_HOME was exported before the user's part, which ran before the unpacking
    assert (marks / "init_home").read_text() == str(home)
    assert not (marks / "init_saw").exists()
    # the requirements were installed with $KEDRO_PYTHON, before the user's post part
    assert (marks / "python").read_text().split("\0")[:-1] == [
        "-m",
        "pip",
        "install",
        "-q",
        "-r",
        f"{home}/requirements.txt",
    ]
    assert (marks / "post").read_text() == "installed\n"
    _no_pwned(tmp_path)
    # nothing left behind: not in the working folder, not the downloaded archive
    assert not list((tmp_path / "work").iterdir())
    assert not list((tmp_path / "tmp").iterdir())


def test_runs_with_a_file_url_and_no_requirements(tmp_path: Path) -> None:
    project = _project(tmp_path)
    (project / "requirements.txt").unlink()
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(project_archive(project, "base"))
    home = tmp_path / "home"
    marks = _run(tmp_path, _text(f"file://{archive}", project_home=str(home)))
    assert (home / "pyproject.toml").is_file()
    assert not (marks / "python").exists()  # no requirements file: no pip


@pytest.mark.parametrize(
    ("url", "tool", "expected_args"),
    [
        (
            "gs://bucket/x $(touch pwned).tar.gz",
            "gsutil",
            ["-q", "cp", "gs://bucket/x $(touch pwned).tar.gz"],
        ),
        ("gcs://bucket/it's.tar.gz", "gsutil", ["-q", "cp", "gs://bucket/it's.tar.gz"]),
        (
            's3://bucket/a"b`touch pwned`.tar.gz',
            "aws",
            ["s3", "cp", "--quiet", 's3://bucket/a"b`touch pwned`.tar.gz'],
        ),
    ],
)
def test_remote_urls_reach_the_copy_tool_as_one_argument(
    tmp_path: Path, url: str, tool: str, expected_args: list[str]
) -> None:
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(project_archive(_project(tmp_path), "base"))
    tools = tmp_path / "bin"
    tools.mkdir()
    # a fake gsutil / aws: records its arguments and copies the local archive to the last one
    _executable(
        tools / tool,
        '#!/bin/bash\nprintf "%s\\n" "$@" > "$MARKS/tool"\n'
        f'cp {shlex.quote(str(archive))} "${{@: -1}}"\n',
    )
    home = tmp_path / "home"
    marks = _run(tmp_path, _text(url, project_home=str(home)), extra_path=tools)
    recorded = (marks / "tool").read_text().splitlines()
    assert recorded[:-1] == expected_args
    assert recorded[-1].startswith("/")  # the temporary file
    assert (home / "src" / "demo" / "__init__.py").is_file()
    assert not Path(recorded[-1]).exists()  # removed after unpacking
    _no_pwned(tmp_path)


def test_a_failing_fetch_fails_the_script(tmp_path: Path) -> None:
    script = tmp_path / "init.sh"
    script.write_text(_text(str(tmp_path / "missing.tar.gz"), project_home=str(tmp_path / "h")))
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        ["bash", str(script)], capture_output=True, text=True, check=False, env=env
    )
    assert done.returncode != 0
    assert not (tmp_path / "h" / "pyproject.toml").exists()
