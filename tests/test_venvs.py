"""The helper virtualenvs' installer (tests/venvs.py): uv gets the package indexes pip is
configured with, and the virtualenvs are built once per session, in the background or on demand."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests import venvs

THIS_MACHINE_STYLE = """\
global.cert='/etc/ssl/certs/ca.crt'
global.constraint='/etc/pip/constraints.txt'
global.extra-index-url='file:///srv/simple file:///srv/more/simple'
global.find-links='/srv/wheels'
install.find-links='/srv/install-wheels'
:env:.default-timeout='180'
:env:.disable-pip-version-check='1'
:env:.find-links='/srv/env-wheels'
"""


def test_pip_settings_later_sections_win() -> None:
    settings = venvs.parse_pip_config(THIS_MACHINE_STYLE)
    assert settings == {
        "cert": "/etc/ssl/certs/ca.crt",
        "constraint": "/etc/pip/constraints.txt",
        "extra-index-url": "file:///srv/simple file:///srv/more/simple",
        "find-links": "/srv/env-wheels",  # PIP_FIND_LINKS over install over global
        "default-timeout": "180",
        "disable-pip-version-check": "1",
    }


def test_uv_gets_the_indexes_pip_uses() -> None:
    env = venvs.uv_environment(venvs.parse_pip_config(THIS_MACHINE_STYLE), {})
    assert env == {
        "UV_EXTRA_INDEX_URL": "file:///srv/simple file:///srv/more/simple",
        "UV_FIND_LINKS": "/srv/env-wheels",
        "UV_CONSTRAINT": "/etc/pip/constraints.txt",
        "UV_HTTP_TIMEOUT": "180",
        "SSL_CERT_FILE": "/etc/ssl/certs/ca.crt",
        # pip picks the best version across its indexes; uv must not stop at the first one.
        "UV_INDEX_STRATEGY": "unsafe-best-match",
    }


def test_what_the_user_set_for_uv_is_kept() -> None:
    settings = {"index-url": "https://mirror.invalid/simple", "cert": "/a.crt"}
    environ = {"UV_INDEX_URL": "https://other.invalid/simple", "SSL_CERT_FILE": "/b.crt"}
    assert venvs.uv_environment(settings, environ) == {}


def test_a_machine_without_pip_configuration_gives_uv_nothing() -> None:
    """uv then uses PyPI, as pip does (PIP_CONFIG_FILE=os.devnull: pip reads no file)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    listing = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"],
        env={**env, "PIP_CONFIG_FILE": os.devnull},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert venvs.uv_environment(venvs.parse_pip_config(listing), {}) == {}


def _wheel(folder: Path, name: str) -> Path:
    """A minimal pure-Python wheel of ``name`` 1.0."""
    module = name.replace("-", "_")
    path = folder / f"{module}-1.0-py3-none-any.whl"
    info = f"{module}-1.0.dist-info"
    files = {
        f"{module}/__init__.py": "",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = []
    for file, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{file},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = "\n".join(record) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for file, text in files.items():
            archive.writestr(file, text)
    return path


def test_uv_resolves_from_the_index_and_wheel_folder_pip_is_configured_with(
    tmp_path: Path,
) -> None:
    """A package only in a local simple index (index-url) and one only in a wheel folder
    (find-links), as pip is configured: uv finds both through the mirrored settings alone."""
    uv = venvs.find_uv()
    if uv is None:
        pytest.fail("uv is not installed: pip install -r requirements/test.txt")
    indexed = _wheel(tmp_path / "files", "kak8s-indexed-demo")
    project = tmp_path / "simple" / "kak8s-indexed-demo"
    project.mkdir(parents=True)
    (project / "index.html").write_text(
        f'<html><body><a href="{indexed.as_uri()}">{indexed.name}</a></body></html>'
    )
    _wheel(tmp_path / "wheels", "kak8s-linked-demo")
    config = tmp_path / "pip.conf"
    config.write_text(
        f"[global]\nindex-url = {(tmp_path / 'simple').as_uri()}\n"
        f"find-links = {tmp_path / 'wheels'}\n"
    )
    pip_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))},
        "PIP_CONFIG_FILE": str(config),
    }
    listing = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"],
        env=pip_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    requirements = tmp_path / "requirements.in"
    requirements.write_text("kak8s-indexed-demo\nkak8s-linked-demo\n")
    base = {
        **{k: v for k, v in os.environ.items() if not k.startswith("UV_")},
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
    }
    command = [uv, "pip", "compile", "--quiet", "--no-header", str(requirements)]
    mirrored = {**base, **venvs.uv_environment(venvs.parse_pip_config(listing), base)}
    done = subprocess.run(
        command, env=mirrored, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "kak8s-indexed-demo==1.0" in done.stdout
    assert "kak8s-linked-demo==1.0" in done.stdout
    # Without the mirrored settings uv would look on its default index instead.
    offline = {**base, "UV_OFFLINE": "1"}
    missed = subprocess.run(
        command, env=offline, capture_output=True, text=True, timeout=120, check=False
    )
    assert missed.returncode != 0


def test_one_build_per_virtualenv_whoever_asks_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The background thread and a test asking for the same virtualenv share one build."""
    built: list[str] = []
    requirements = tmp_path / "req.txt"
    requirements.write_text("")
    demo = venvs.HelperVenv("kak8s-demo", requirements)

    def fake_build(venv: venvs.HelperVenv) -> Path:
        built.append(venv.name)
        return tmp_path / venv.name / "bin" / "python"

    monkeypatch.setattr(venvs, "registry", lambda: {"kak8s-demo": demo})
    monkeypatch.setattr(venvs, "build", fake_build)
    monkeypatch.setattr(venvs, "_futures", {})
    thread = venvs.prefetch(["kak8s-demo", "unknown", "kak8s-demo"])
    assert thread is not None
    thread.join(timeout=60)
    assert venvs.venv_python("kak8s-demo") == tmp_path / "kak8s-demo" / "bin" / "python"
    assert built == ["kak8s-demo"]
    assert venvs.prefetch(["unknown"]) is None


def test_a_virtualenv_is_made_once_and_remade_when_its_requirements_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = _wheel(tmp_path / "wheels", "kak8s-linked-demo")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"{wheel}\n")
    monkeypatch.setattr(venvs, "CACHE", tmp_path / "cache")
    monkeypatch.delenv("UV_CACHE_DIR", raising=False)
    demo = venvs.HelperVenv("demo", requirements)
    python = venvs.build(demo)
    assert python == tmp_path / "cache" / "venv-demo" / "bin" / "python"
    if venvs.find_uv():
        assert (tmp_path / "cache" / "uv" / "CACHEDIR.TAG").exists()  # uv's cache, beside it
    done = subprocess.run(
        [str(python), "-c", "import kak8s_linked_demo, pip"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr  # the package, and pip as `python -m venv` has it
    steps: list[list[str]] = []
    monkeypatch.setattr(venvs, "_run", lambda command, env=None, **_: steps.append(command))
    assert venvs.build(demo) == python
    assert steps == []  # reused
    requirements.write_text(f"{wheel}\n# changed\n")
    venvs.build(demo)
    assert steps and "venv" in steps[0]  # made again


def _recorded_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_prune: bool = False
) -> list[tuple[list[str], dict[str, str], float | None]]:
    """The steps of one uv build of a demo virtualenv, as ``_run`` is handed them."""
    steps: list[tuple[list[str], dict[str, str], float | None]] = []

    def record(
        command: list[str], env: dict[str, str] | None = None, timeout: float | None = None
    ) -> None:
        steps.append((command, dict(env or {}), timeout))
        if command[1] == "venv":
            Path(command[-1]).mkdir(parents=True)
        if fail_prune and command[1:3] == ["cache", "prune"]:
            raise venvs.VenvBuildError("timed out after 300 s: uv cache prune")

    requirements = tmp_path / "requirements.txt"
    requirements.write_text("")
    monkeypatch.setattr(venvs, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(venvs, "find_uv", lambda: "/bin/uv-demo")
    monkeypatch.setattr(venvs, "pip_config_listing", lambda python=None: "")
    monkeypatch.setattr(venvs, "_run", record)
    python = venvs.build(venvs.HelperVenv("demo", requirements))
    assert python == tmp_path / "cache" / "venv-demo" / "bin" / "python"
    return steps


def test_uv_builds_in_a_cache_beside_the_virtualenvs_and_prunes_it_after_each_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UV_CACHE_DIR", raising=False)
    monkeypatch.delenv("UV_LOCK_TIMEOUT", raising=False)
    steps = _recorded_build(tmp_path, monkeypatch)
    commands = [command[1:3] for command, _, _ in steps]
    assert commands == [["venv", "--quiet"], ["pip", "install"], ["cache", "prune"]]
    assert {env["UV_CACHE_DIR"] for _, env, _ in steps} == {str(tmp_path / "cache" / "uv")}
    assert steps[-1][2] == venvs.PRUNE_TIMEOUT  # bounded
    # only the prune gives up waiting for the other uv runs on the cache
    assert [env.get("UV_LOCK_TIMEOUT") for _, env, _ in steps] == [
        None,
        None,
        str(venvs.PRUNE_LOCK_WAIT),
    ]


@pytest.mark.skipif(venvs.find_uv() is None, reason="uv is not installed")
def test_a_prune_gives_up_while_another_uv_run_holds_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A prune after a build, while another build still uses the cache, gives up after
    PRUNE_LOCK_WAIT (the other build prunes when it ends) instead of holding the virtualenv
    just made back from the tests until PRUNE_TIMEOUT. The other build is a stand-in: a shared
    lock on the cache's lock file, which is what a uv install holds."""
    import fcntl

    cache = tmp_path / "uv"
    cache.mkdir()
    failures: list[str] = []
    run = venvs._run

    def recorded(command: list[str], env: dict[str, str] | None = None, **options: float) -> None:
        try:
            run(command, env, **options)
        except venvs.VenvBuildError as error:
            failures.append(str(error))
            raise

    monkeypatch.setattr(venvs, "_run", recorded)
    monkeypatch.setattr(venvs, "PRUNE_LOCK_WAIT", 1)
    monkeypatch.setattr(venvs, "PRUNE_TIMEOUT", 120)
    with (cache / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        venvs._prune(str(venvs.find_uv()), {**os.environ, "UV_CACHE_DIR": str(cache)})
    assert len(failures) == 1
    assert failures[0].startswith("exit code"), failures[0]  # uv gave up, it was not stopped


def test_a_cache_the_user_chose_is_used_and_never_pruned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "mine"))
    steps = _recorded_build(tmp_path, monkeypatch)
    assert [command[1] for command, _, _ in steps] == ["venv", "pip"]
    assert {env["UV_CACHE_DIR"] for _, env, _ in steps} == {str(tmp_path / "mine")}


def test_a_prune_that_fails_costs_disk_space_not_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UV_CACHE_DIR", raising=False)
    steps = _recorded_build(tmp_path, monkeypatch, fail_prune=True)
    assert steps[-1][0][1:3] == ["cache", "prune"]
    assert (tmp_path / "cache" / "venv-demo" / ".requirements-sha256").exists()  # recorded as made
