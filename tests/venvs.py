"""Virtualenvs of their own for tools that cannot share the test venv (other Airflow versions,
moto, pyspark), made on first use under ``.cache/venv-<name>`` and reused while their
requirements and interpreter stay the same.

They are made with uv when it is installed (requirements/test.txt brings it), else with pip.
uv does not read pip's configuration, so the package index settings pip would use on this
machine (``pip config list``: index-url, extra-index-url, find-links, constraint, cert,
trusted-host, timeout) are handed to uv as its environment variables; without any pip
configuration uv uses PyPI, as pip would.

uv keeps the cache of these builds in ``.cache/uv`` (unless $UV_CACHE_DIR names another): beside
the virtualenvs, whose files are hard links into it rather than copies (a virtualenv put on
another file system by its $KAK8S_*_VENV variable gets copies), and gone with the checkout
instead of kept in the user's home. After each build, uv prunes it of what no install reads
again, unless another build still uses the cache (that one prunes when it ends). pyspark has no
wheel on PyPI, and a fresh test run builds it from source more than once, each build leaving
about 1.4 GB of source tree and wheel in the cache; pruning keeps the newest only (a fresh run's
cache: 6.8 GB before, 4.0 GB after). A cache the user chose is never pruned.

The test session starts building the virtualenvs its selected tests need (tests marked
``@pytest.mark.venv("name")``) in a background thread as soon as collection is done, so the
installs overlap with the tests that run first; a test that needs one waits for it (bounded).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache"
MATRIX = REPO / "requirements" / "airflow-matrix"
#: The Airflow 2.10 cell with the newest providers for it: where 2.10 itself runs in the tests.
AIRFLOW2 = "airflow-2.10.5-newest"
INSTALL_TIMEOUT = 1200  # seconds for one virtualenv's install
PRUNE_TIMEOUT = 300  # seconds for pruning uv's cache after a build
# seconds a prune waits for the other uv runs on the cache (another build, in the background or
# on demand) to end: past it the prune gives up, and the build still running prunes when it ends
PRUNE_LOCK_WAIT = 10
WAIT_TIMEOUT = 2400  # seconds a test waits for a virtualenv being built in the background


@dataclass(frozen=True)
class HelperVenv:
    name: str
    requirements: Path
    env_var: str | None = None  # a variable naming a ready-made virtualenv to use instead
    interpreter: str | None = None  # another Python than the test venv's

    @property
    def python(self) -> str:
        return self.interpreter or sys.executable

    @property
    def path(self) -> Path:
        given = os.environ.get(self.env_var) if self.env_var else None
        if given:
            return Path(given)
        if self.interpreter:
            tag = hashlib.sha256(self.interpreter.encode()).hexdigest()[:8]
            return CACHE / f"venv-{self.name}-{tag}"
        return CACHE / f"venv-{self.name}"


def registry() -> dict[str, HelperVenv]:
    """Every helper virtualenv by name: the tools', and one per Airflow matrix cell (the name
    of its lock file in requirements/airflow-matrix), made with $KAK8S_MATRIX_PYTHON when set."""
    venvs = [
        HelperVenv("moto", REPO / "requirements" / "moto.txt", "KAK8S_MOTO_VENV"),
        HelperVenv("spark", REPO / "requirements" / "spark-run.txt", "KAK8S_SPARK_VENV"),
        HelperVenv(
            "kedro-airflow", REPO / "requirements" / "kedro-airflow.txt", "KAK8S_KEDRO_AIRFLOW_VENV"
        ),
        HelperVenv("airflow-3.0-server", REPO / "requirements" / "airflow-3.0-server.txt"),
    ]
    interpreter = os.environ.get("KAK8S_MATRIX_PYTHON") or None
    venvs += [
        HelperVenv(lock.stem, lock, interpreter=interpreter)
        for lock in sorted(MATRIX.glob("*.txt"))
    ]
    return {venv.name: venv for venv in venvs}


# --- uv and pip's configuration ----------------------------------------------------------------

# pip setting -> uv environment variable (lists are space-separated in both)
_UV_VARIABLES = {
    "index-url": "UV_INDEX_URL",
    "extra-index-url": "UV_EXTRA_INDEX_URL",
    "find-links": "UV_FIND_LINKS",
    "constraint": "UV_CONSTRAINT",
    "trusted-host": "UV_INSECURE_HOST",
    "timeout": "UV_HTTP_TIMEOUT",
    "default-timeout": "UV_HTTP_TIMEOUT",
    "cert": "SSL_CERT_FILE",
    "proxy": "HTTPS_PROXY",
}
# Later sections win, as in pip: configuration files, then the install command's, then PIP_*.
_SECTION_ORDER = {"global": 0, "install": 1, ":env:": 2}


def parse_pip_config(listing: str) -> dict[str, str]:
    """The effective install settings of ``pip config list`` output
    (``section.key='value'`` lines)."""
    found: dict[str, tuple[int, str]] = {}
    for line in listing.splitlines():
        name, sep, value = line.partition("=")
        section, dot, key = name.rpartition(".")
        if not sep or not dot or section not in _SECTION_ORDER:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        rank = _SECTION_ORDER[section]
        if key not in found or found[key][0] <= rank:
            found[key] = (rank, value)
    return {key: value for key, (_, value) in found.items()}


def uv_environment(pip_settings: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    """The variables that make uv use the package indexes pip is configured with. Variables
    already set in ``environ`` are kept (they are the user's choice for uv)."""
    out: dict[str, str] = {}
    for key, variable in _UV_VARIABLES.items():
        value = " ".join(pip_settings.get(key, "").split())
        if value and variable not in environ and variable not in out:
            out[variable] = value
    if "UV_EXTRA_INDEX_URL" in out and "UV_INDEX_STRATEGY" not in environ:
        # pip takes the best version from all its indexes; uv by default stops at the first
        # index that has the package at all.
        out["UV_INDEX_STRATEGY"] = "unsafe-best-match"
    return out


def pip_config_listing(python: str = sys.executable) -> str:
    done = subprocess.run(
        [python, "-m", "pip", "config", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.stdout if done.returncode == 0 else ""


def find_uv() -> str | None:
    """The uv of this virtualenv (requirements/test.txt), else one on PATH, else None."""
    beside = Path(sys.executable).parent / "uv"
    if beside.exists():
        return str(beside)
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found]

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


# --- building ----------------------------------------------------------------------------------


class VenvBuildError(RuntimeError):
    pass


def _run(
    command: list[str], env: Mapping[str, str] | None = None, timeout: float = INSTALL_TIMEOUT
) -> None:
    """Run an install step at a low CPU priority: it mostly runs beside other tests."""
    nice = shutil.which("nice")
    with _children_lock:
        if _stopping.is_set():
            raise VenvBuildError("the test session is ending")
        process = subprocess.Popen(
            [nice, "-n", "10", *command] if nice else command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=dict(env) if env is not None else None,
        )
        _children.add(process)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise VenvBuildError(f"timed out after {timeout} s: {' '.join(command)}") from None
    finally:
        with _children_lock:
            _children.discard(process)
    if process.returncode != 0:
        raise VenvBuildError(
            f"exit code {process.returncode}: {' '.join(command)}\n{output[-4000:]}"
        )


def _prune(uv: str, env: Mapping[str, str]) -> None:
    """Drop what uv's own cache holds that no install reads again (superseded builds from
    source, unused entries); the virtualenvs keep their files, which are hard links. A prune
    needs the cache to itself: it waits PRUNE_LOCK_WAIT seconds at most for another uv run (a
    build that has not ended, which prunes when it does) rather than keep the virtualenv just
    made from the tests. Best effort: a prune that fails or does not end within PRUNE_TIMEOUT
    costs disk space, not the build."""
    env = {**env, "UV_LOCK_TIMEOUT": str(PRUNE_LOCK_WAIT)}
    with contextlib.suppress(VenvBuildError):
        _run([uv, "cache", "prune", "--quiet"], env, timeout=PRUNE_TIMEOUT)


def _wanted(venv: HelperVenv, installer: str) -> str:
    digest = hashlib.sha256(venv.requirements.read_bytes())
    version = sys.version if venv.interpreter is None else ""
    digest.update(f"\n{version}\n{venv.python}\n{installer}".encode())
    return digest.hexdigest()


def build(venv: HelperVenv) -> Path:
    """Make (or reuse) the virtualenv; return its python."""
    uv = find_uv()
    installer = "uv venv --seed" if uv else "pip"
    path = venv.path
    python = path / "bin" / "python"
    marker = path / ".requirements-sha256"
    wanted = _wanted(venv, installer)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    path.parent.mkdir(parents=True, exist_ok=True)
    if uv:
        env = {**os.environ, **uv_environment(parse_pip_config(pip_config_listing()), os.environ)}
        env["UV_PYTHON_DOWNLOADS"] = "never"  # only this interpreter, never a download
        env.pop("VIRTUAL_ENV", None)
        own_cache = not env.get("UV_CACHE_DIR")
        if own_cache:
            env["UV_CACHE_DIR"] = str(CACHE / "uv")
        # --seed: pip in the venv, as `python -m venv` gives (scripts run in them use it).
        _run([uv, "venv", "--quiet", "--clear", "--seed", "--python", venv.python, str(path)], env)
        install = [uv, "pip", "install", "--quiet", "--python", str(python)]
        _run([*install, "-r", str(venv.requirements)], env)
        if own_cache:
            _prune(uv, env)
    else:
        _run([venv.python, "-m", "venv", "--clear", str(path)])
        _run([str(python), "-m", "pip", "install", "-q", "-r", str(venv.requirements)])
    marker.write_text(wanted)
    return python


# --- one build per virtualenv per session, in the background or on demand ------------------------

_lock = threading.Lock()
_futures: dict[str, Future[Path]] = {}
_children_lock = threading.Lock()
_children: set[subprocess.Popen[str]] = set()
_stopping = threading.Event()


def _claim(name: str) -> tuple[Future[Path], bool]:
    with _lock:
        future = _futures.get(name)
        if future is not None:
            return future, False
        future = Future()
        _futures[name] = future
        return future, True


def _build_into(future: Future[Path], venv: HelperVenv) -> None:
    try:
        future.set_result(build(venv))
    except BaseException as error:  # handed to the test that waits for it
        future.set_exception(error)


def venv_python(name: str) -> Path:
    """The python of helper virtualenv ``name``, built now unless the background has it."""
    venv = registry()[name]
    future, mine = _claim(name)
    if mine:
        _build_into(future, venv)
    return future.result(timeout=WAIT_TIMEOUT)


def prefetch(names: Iterable[str]) -> threading.Thread | None:
    """Start building ``names`` (in this order) in a daemon thread."""
    known = registry()
    wanted = [known[name] for name in dict.fromkeys(names) if name in known]
    if not wanted:
        return None

    def work() -> None:
        for venv in wanted:
            if _stopping.is_set():
                return
            future, mine = _claim(venv.name)
            if mine:
                _build_into(future, venv)

    thread = threading.Thread(target=work, name="helper-venvs", daemon=True)
    thread.start()
    return thread


def stop() -> None:
    """End the installs still running (the session is over)."""
    _stopping.set()
    with _children_lock:
        for process in list(_children):
            process.kill()
