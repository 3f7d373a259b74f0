"""``kedro airflow-k8s init``: read the project's metadata, render the files, write them.

Nothing of the project is imported or run: the names come from ``[tool.kedro]`` in
``pyproject.toml`` and the branch names from git. Every check is made before the first file is
written; each file is written whole or not at all (``ship.write_local_files``).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from kedro_airflow_k8s import __version__, scaffold
from kedro_airflow_k8s.errors import PluginError
from kedro_airflow_k8s.git import git_output

if sys.version_info >= (3, 11):  # pragma: no cover - depends on the interpreter
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # Kedro's own dependency on Python 3.10

CONFIG_NAMES = ("airflow-k8s.yaml", "airflow-k8s.yml")
_URL = re.compile(r"^https?://([^/?#]+)")
_PROFILE_TAG = re.compile(r"""(["'])(?:resources|machine)\.([A-Za-z0-9_][A-Za-z0-9_.-]*)\1""")
_MAX_SCANNED = 2**20


@dataclass(frozen=True)
class ProjectNames:
    """What ``[tool.kedro]`` says about the project."""

    project_name: str
    package_name: str
    source_dir: str = "src"


@dataclass(frozen=True)
class PlannedFile:
    """A file to write; ``keep_existing``: an existing one is kept (reported) unless forced."""

    path: Path
    text: str
    keep_existing: bool = False


@dataclass
class InitResult:
    """The files written, the existing ones kept, and what to tell the user."""

    written: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_project_names(project_path: Path) -> ProjectNames:
    """``project_name`` and ``package_name`` from ``[tool.kedro]`` of ``pyproject.toml``."""
    pyproject = project_path / "pyproject.toml"
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PluginError(
            f"no pyproject.toml in {project_path}: run init in a Kedro project"
        ) from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PluginError(f"{pyproject}: cannot be read: {exc}") from exc
    tool = data.get("tool")
    kedro = tool.get("kedro") if isinstance(tool, dict) else None
    if not isinstance(kedro, dict):
        raise PluginError(f"{pyproject}: no [tool.kedro] section: run init in a Kedro project")
    values: dict[str, str] = {}
    for key in ("package_name", "project_name"):
        value = kedro.get(key)
        if not isinstance(value, str) or not value.strip():
            raise PluginError(f"{pyproject}: [tool.kedro] {key} must be a non-empty string")
        values[key] = value.strip()
    source_dir = kedro.get("source_dir", "src")
    return ProjectNames(
        project_name=values["project_name"],
        package_name=values["package_name"],
        source_dir=source_dir if isinstance(source_dir, str) else "src",
    )


def find_profile_tags(project_path: Path, names: ProjectNames) -> list[str]:
    """The resource profiles the nodes' tags ask for (``"resources.<name>"`` and
    ``"machine.<name>"`` string literals in the package's source), found without importing it.

    Tags built at run time are not seen: ``compile`` names any profile still missing."""
    package = project_path / names.source_dir / names.package_name
    found: set[str] = set()
    for source in sorted(package.rglob("*.py")) if package.is_dir() else []:
        try:
            if source.stat().st_size > _MAX_SCANNED:
                continue
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        found.update(m.group(2) for m in _PROFILE_TAG.finditer(text) if len(m.group(2)) <= 200)
    return sorted(found)


def check_airflow_url(url: str) -> str:
    """The Airflow URL as it goes into ``host``, or a one-line error."""
    from pydantic import ValidationError

    from kedro_airflow_k8s.config.models import PluginConfig

    match = _URL.match(url)
    if match is None:
        raise PluginError(f"AIRFLOW_URL {url!r}: it must start with http:// or https://")
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise PluginError(f"AIRFLOW_URL {url!r}: it must not hold spaces or control characters")
    if "@" in match.group(1):  # never echo it: it holds credentials
        raise PluginError(
            "AIRFLOW_URL must not hold credentials: set AIRFLOW_API_TOKEN, or AIRFLOW_USERNAME "
            "and AIRFLOW_PASSWORD, where the plugin runs"
        )
    try:
        host = PluginConfig.model_validate({"host": url}).host
    except ValidationError as exc:
        raise PluginError(f"AIRFLOW_URL {url!r}: not an http:// or https:// URL") from exc
    return str(host)


def check_output(output: str) -> str:
    """The DAG destination as it goes into ``output``, or a one-line error."""
    from kedro_airflow_k8s.ship import parse_destination

    parse_destination(output)  # a one-line PluginError when unsupported
    if any(not ch.isprintable() for ch in output):
        raise PluginError(f"-o/--output {output!r}: it must not hold control characters")
    return output


def repository_root(project_path: Path) -> Path:
    """Where ``.github/workflows`` belongs: the git checkout's top folder, else the project."""
    top = git_output(project_path, "rev-parse", "--show-toplevel")
    if top:
        root = Path(top).resolve()
        if project_path.resolve().is_relative_to(root):
            return root
    return project_path.resolve()


def main_branch(project_path: Path) -> str:
    """The branch a merge goes to: origin's default branch, else main, else master."""
    remote_head = git_output(
        project_path, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"
    )
    if remote_head and "/" in remote_head:
        return remote_head.split("/", 1)[1]
    for name in ("main", "master"):
        if git_output(project_path, "rev-parse", "--verify", "--quiet", f"refs/heads/{name}"):
            return name
    return "main"


def plan_files(
    project_path: Path, airflow_url: str, *, output: str, with_github_actions: bool
) -> tuple[list[PlannedFile], list[str]]:
    """The files ``init`` writes (nothing is written here) and notes for the user."""
    host = check_airflow_url(airflow_url)
    output = check_output(output)
    names = read_project_names(project_path)
    conf_base = project_path / "conf" / "base"
    existing = [conf_base / name for name in CONFIG_NAMES if (conf_base / name).exists()]
    config_path = existing[0] if existing else conf_base / CONFIG_NAMES[0]
    config = PlannedFile(
        config_path,
        scaffold.render_config(
            host=host,
            output=output,
            project_name=names.project_name,
            package_name=names.package_name,
            profiles=find_profile_tags(project_path, names),
        ),
    )
    notes: list[str] = []
    if not with_github_actions:
        return [config], notes
    has_requirements = (project_path / "requirements.txt").is_file()
    root = repository_root(project_path)
    relative = project_path.resolve().relative_to(root).as_posix()
    slug = scaffold.project_slug(names.project_name, names.package_name)
    try:
        workflows = scaffold.render_workflows(
            project_name=names.project_name,
            run_name=scaffold.default_run_name(names.package_name, slug),
            output=output,
            requirement=scaffold.plugin_requirement(__version__, output),
            main_branch=main_branch(project_path),
            working_directory=relative,
            has_requirements=has_requirements,
        )
    except ValueError as exc:
        raise PluginError(f"cannot write the GitHub workflows: {exc}") from exc
    dockerfile = scaffold.render_dockerfile(
        project_name=names.project_name, has_requirements=has_requirements
    )
    files = [
        PlannedFile(project_path / "Dockerfile", dockerfile, keep_existing=True),
        PlannedFile(
            project_path / ".dockerignore", scaffold.render_dockerignore(), keep_existing=True
        ),
        *(PlannedFile(root / ".github" / "workflows" / n, t) for n, t in workflows.items()),
        config,  # last: once it exists, the project counts as set up
    ]
    if root != project_path.resolve():
        notes.append(f"The workflows go to the git repository's top folder {root}.")
    notes.append(
        "GitHub secrets the workflows read: IMAGE_REPOSITORY, REGISTRY_USERNAME, "
        "REGISTRY_PASSWORD, AIRFLOW_API_TOKEN (or AIRFLOW_USERNAME and AIRFLOW_PASSWORD)"
        + {
            "s3": ", AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION.",
            "gcs": ", GCP_CREDENTIALS_JSON.",
            "local": ". Set output to the bucket Airflow reads DAGs from.",
        }[scaffold.storage_kind(output)]
    )
    return files, notes


def _shown(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return str(path)


def write_files(files: list[PlannedFile], *, force: bool, base: Path) -> InitResult:
    """Write ``files``; without ``force`` an existing file is an error (checked for every file
    before any is written) or, for ``keep_existing`` files, kept."""
    result = InitResult()
    taken = [f.path for f in files if f.path.exists() or f.path.is_symlink()]
    if not force:
        refused = [f.path for f in files if f.path in taken and not f.keep_existing]
        if refused:
            shown = ", ".join(_shown(p, base) for p in refused)
            them, verb = ("it", "exists") if len(refused) == 1 else ("them", "exist")
            raise PluginError(f"{shown} already {verb}: pass --force to overwrite {them}")
    for planned in files:
        if planned.path.is_dir() and (force or not planned.keep_existing):
            raise PluginError(f"{planned.path} is a folder: move it away to write the file")
    from kedro_airflow_k8s.ship import write_local_files

    for planned in files:
        if planned.keep_existing and not force and planned.path in taken:
            result.kept.append(planned.path)
            continue
        write_local_files(planned.path.parent, {planned.path.name: planned.text})
        result.written.append(planned.path)
    return result


def init_project(
    project_path: Path,
    airflow_url: str,
    *,
    output: str = "dag",
    with_github_actions: bool = False,
    force: bool = False,
) -> InitResult:
    """Plan, check and write the files of ``init``."""
    files, notes = plan_files(
        project_path, airflow_url, output=output, with_github_actions=with_github_actions
    )
    result = write_files(files, force=force, base=project_path)
    kept = [
        f"Kept the existing {_shown(p, project_path)} (--force overwrites it)." for p in result.kept
    ]
    result.notes = [*kept, *notes]
    return result
