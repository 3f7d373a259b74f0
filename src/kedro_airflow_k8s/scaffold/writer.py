"""``kedro airflow-k8s init``: read the project, render the files, write them.

The names come from ``[tool.kedro]`` in ``pyproject.toml`` and the branch names from git. The
tags and namespaces come from the project's registered pipelines, loaded through Kedro as
``compile`` loads them; when that fails, from the string literals of the package's source, with
a note. Every check is made before the first file is written; each file is written whole or not
at all (``ship.write_local_files``).

Files are of three kinds: the plugin's own (the config, the workflows ``init`` wrote before),
replaced only with ``--force``; the Dockerfile and ``.dockerignore``, which the user may have
written and which are replaced only with ``--overwrite-dockerfile``; and files at the workflows'
paths that ``init`` did not write, which are never replaced.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from kedro_airflow_k8s import __version__, scaffold
from kedro_airflow_k8s.errors import PluginError, UsageProblem
from kedro_airflow_k8s.git import git_output
from kedro_airflow_k8s.snapshot import NodeSpec

if sys.version_info >= (3, 11):  # pragma: no cover - depends on the interpreter
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # Kedro's own dependency on Python 3.10

CONFIG_NAMES = ("kedro-airflow-k8s.yaml", "kedro-airflow-k8s.yml")
#: The config's old names: kedro-airflow's ``airflow*`` pattern reads them too.
LEGACY_CONFIG_NAMES = ("airflow-k8s.yaml", "airflow-k8s.yml")
_URL = re.compile(r"^https?://([^/?#]+)")
_TAG_LITERAL = re.compile(
    r"""(["'])((?:resources|machine|k8s_template)\.[A-Za-z0-9_][A-Za-z0-9_.-]*)\1"""
)
_MAX_SCANNED = 2**20


@dataclass(frozen=True)
class ProjectNames:
    """What ``[tool.kedro]`` says about the project."""

    project_name: str
    package_name: str
    source_dir: str = "src"


#: The first lines of every file ``init`` writes say so: it tells its own workflows apart.
INIT_MARKER = "Written by `kedro airflow-k8s init`"

Owner = Literal["plugin", "dockerfile", "user"]


@dataclass(frozen=True)
class PlannedFile:
    """A file to write. An existing one is replaced, by ``owner``: ``plugin`` with --force,
    ``dockerfile`` with --overwrite-dockerfile (else kept), ``user`` never (kept)."""

    path: Path
    text: str
    owner: Owner = "plugin"
    replaces: tuple[Path, ...] = ()  # files of the plugin's own that this one takes over


@dataclass(frozen=True)
class ProjectTags:
    """What the nodes' tags ask the config for, and the pipelines' top-level namespaces."""

    profiles: tuple[str, ...] = ()
    pod_templates: tuple[str, ...] = ()
    namespaces: tuple[str, ...] | None = None  # None: not known (the project was not loaded)
    note: str | None = None


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


def _asked(tags: Iterable[str], prefixes: Iterable[str]) -> tuple[str, ...]:
    """The names after any of ``prefixes`` in ``tags`` (sorted, without ``__default__``)."""
    found = {
        tag[len(prefix) :]
        for tag in tags
        for prefix in prefixes
        if tag.startswith(prefix) and len(tag) > len(prefix)
    }
    found.discard("__default__")
    return tuple(sorted(found))


def _tags_of(
    tags: Iterable[str], namespaces: tuple[str, ...] | None, note: str | None = None
) -> ProjectTags:
    from kedro_airflow_k8s.config.models import NodeTagsConfig

    prefixes = NodeTagsConfig()  # the config init writes keeps the default tag prefixes
    tags = list(tags)
    return ProjectTags(
        profiles=_asked(tags, (prefixes.resources_prefix, prefixes.machine_prefix)),
        pod_templates=_asked(tags, (prefixes.k8s_template_prefix,)),
        namespaces=namespaces,
        note=note,
    )


def registered_nodes(project_path: Path) -> list[NodeSpec]:
    """The nodes of every registered pipeline, loaded through Kedro as ``compile`` loads them
    (what the project prints meanwhile goes to stderr)."""
    from kedro.framework.project import pipelines
    from kedro.framework.startup import bootstrap_project

    from kedro_airflow_k8s.project import node_spec

    with contextlib.redirect_stdout(sys.stderr):
        bootstrap_project(project_path)
        return [node_spec(node) for name in list(pipelines) for node in pipelines[name].nodes]


def read_project_tags(project_path: Path, names: ProjectNames) -> ProjectTags:
    """The resource profiles and pod templates the nodes' tags ask for, and the top-level
    namespaces, from the registered pipelines; when the project cannot be loaded, the profiles
    and templates spelled as string literals in the package's source, with a note saying so."""
    try:
        nodes = registered_nodes(project_path)
    except Exception as exc:  # the project's own code: anything may go wrong in it
        reason = " ".join(str(exc).split())[:200]
        reason = f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__
        note = (
            f"Could not load the project's pipelines through Kedro ({reason}); the resource "
            "profiles and pod templates were taken from tag strings in its source, so tags built "
            "in code may be missing (compile names any profile or template it lacks)."
        )
        return _tags_of(scan_tag_literals(project_path, names), None, note)
    tags = [tag for node in nodes for tag in node.tags]
    namespaces = {node.namespace.split(".")[0] for node in nodes if node.namespace}
    return _tags_of(tags, tuple(sorted(namespaces)))


def scan_tag_literals(project_path: Path, names: ProjectNames) -> list[str]:
    """The ``resources.<name>``, ``machine.<name>`` and ``k8s_template.<name>`` string literals
    in the package's source, found without importing it."""
    package = project_path / names.source_dir / names.package_name
    found: set[str] = set()
    for source in sorted(package.rglob("*.py")) if package.is_dir() else []:
        try:
            if source.stat().st_size > _MAX_SCANNED:
                continue
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        found.update(m.group(2) for m in _TAG_LITERAL.finditer(text) if len(m.group(2)) <= 200)
    return sorted(found)


def check_airflow_url(url: str) -> str:
    """The Airflow URL as it goes into ``host``, or a one-line error."""
    from pydantic import ValidationError

    from kedro_airflow_k8s.config.models import PluginConfig

    match = _URL.match(url)
    if match is None:
        raise UsageProblem(f"AIRFLOW_URL {url!r}: it must start with http:// or https://")
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise UsageProblem(f"AIRFLOW_URL {url!r}: it must not hold spaces or control characters")
    if "@" in match.group(1):  # never echo it: it holds credentials
        raise UsageProblem(
            "AIRFLOW_URL must not hold credentials: set AIRFLOW_API_TOKEN, or AIRFLOW_USERNAME "
            "and AIRFLOW_PASSWORD, where the plugin runs"
        )
    try:
        host = PluginConfig.model_validate({"host": url}).host
    except ValidationError as exc:
        raise UsageProblem(f"AIRFLOW_URL {url!r}: not an http:// or https:// URL") from exc
    return str(host)


def check_output(output: str) -> str:
    """The DAG destination as it goes into ``output``, or a one-line error."""
    from kedro_airflow_k8s.ship import parse_destination

    parse_destination(output)  # a one-line PluginError when unsupported
    if any(not ch.isprintable() for ch in output):
        raise UsageProblem(f"-o/--output {output!r}: it must not hold control characters")
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


def _workflow_owner(path: Path) -> Owner:
    """A workflow file ``init`` wrote is the plugin's; anything else at its path is the user's."""
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:2000]
    except OSError:
        return "plugin"  # absent (or unreadable: writing it reports the problem)
    return "plugin" if INIT_MARKER in head else "user"


def plan_files(
    project_path: Path,
    airflow_url: str,
    *,
    output: str,
    with_github_actions: bool,
    tags: ProjectTags | None = None,
) -> tuple[list[PlannedFile], list[str]]:
    """The files ``init`` writes (nothing is written here) and notes for the user.

    ``tags``: what the nodes ask for (default: read from the project, see
    :func:`read_project_tags`)."""
    host = check_airflow_url(airflow_url)
    output = check_output(output)
    names = read_project_names(project_path)
    if tags is None:
        tags = read_project_tags(project_path, names)
    conf_base = project_path / "conf" / "base"
    existing = [conf_base / name for name in CONFIG_NAMES if (conf_base / name).exists()]
    config_path = existing[0] if existing else conf_base / CONFIG_NAMES[0]
    legacy = [conf_base / n for n in LEGACY_CONFIG_NAMES if (conf_base / n).is_file()]
    config = PlannedFile(
        config_path,
        scaffold.render_config(
            host=host,
            output=output,
            project_name=names.project_name,
            package_name=names.package_name,
            profiles=tags.profiles,
            pod_templates=tags.pod_templates,
            namespaces=tags.namespaces,
        ),
        replaces=tuple(legacy),
    )
    notes: list[str] = [tags.note] if tags.note else []
    if not with_github_actions:
        return [config], notes
    has_requirements = (project_path / "requirements.txt").is_file()
    root = repository_root(project_path)
    relative = project_path.resolve().relative_to(root).as_posix()
    try:
        workflows = scaffold.render_workflows(
            project_name=names.project_name,
            run_name=scaffold.names_from_package(names.package_name).run_name,
            output=output,
            requirement=scaffold.plugin_requirement(__version__, output),
            main_branch=main_branch(project_path),
            working_directory=relative,
            has_requirements=has_requirements,
        )
    except ValueError as exc:
        raise PluginError(f"cannot write the GitHub workflows: {exc}") from exc
    dockerfile = scaffold.render_dockerfile(
        project_name=names.project_name,
        plugin_requirement=scaffold.plugin_requirement(__version__, ""),
        has_requirements=has_requirements,
    )
    workflow_paths = [root / ".github" / "workflows" / name for name in workflows]
    files = [
        PlannedFile(project_path / "Dockerfile", dockerfile, owner="dockerfile"),
        PlannedFile(
            project_path / ".dockerignore", scaffold.render_dockerignore(), owner="dockerfile"
        ),
        *(
            PlannedFile(path, text, owner=_workflow_owner(path))
            for path, text in zip(workflow_paths, workflows.values(), strict=True)
        ),
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


def _replaced(planned: PlannedFile, *, force: bool, overwrite_dockerfile: bool) -> bool:
    """Whether an existing file at ``planned.path`` is replaced."""
    if planned.owner == "plugin":
        return force
    return planned.owner == "dockerfile" and overwrite_dockerfile


def write_files(
    files: list[PlannedFile], *, force: bool, base: Path, overwrite_dockerfile: bool = False
) -> InitResult:
    """Write ``files``. An existing file of the plugin's own is an error without ``force``
    (checked for every file before any is written); an existing Dockerfile or .dockerignore is
    kept without ``overwrite_dockerfile``; a file of the user's is always kept."""
    result = InitResult()
    taken = [f.path for f in files if f.path.exists() or f.path.is_symlink()]
    if not force:
        refused = [f.path for f in files if f.path in taken and f.owner == "plugin"]
        refused += [old for f in files for old in f.replaces]
        if refused:
            shown = ", ".join(_shown(p, base) for p in refused)
            them, verb = ("it", "exists") if len(refused) == 1 else ("them", "exist")
            raise PluginError(f"{shown} already {verb}: pass --force to overwrite {them}")
    chosen = {"force": force, "overwrite_dockerfile": overwrite_dockerfile}
    for planned in files:
        replaced = planned.path not in taken or _replaced(planned, **chosen)
        if planned.path.is_dir() and replaced:
            raise PluginError(f"{planned.path} is a folder: move it away to write the file")
    from kedro_airflow_k8s.ship import write_local_files

    for planned in files:
        if planned.path in taken and not _replaced(planned, **chosen):
            result.kept.append(planned.path)
            shown = _shown(planned.path, base)
            if planned.owner == "dockerfile":
                result.notes.append(
                    f"Kept the existing {shown} (--overwrite-dockerfile replaces it)."
                )
            else:
                result.notes.append(
                    f"Kept {shown}: init did not write it (delete it to have init write its own)."
                )
            continue
        write_local_files(planned.path.parent, {planned.path.name: planned.text})
        result.written.append(planned.path)
        for old in planned.replaces:
            try:
                old.unlink()
            except OSError as exc:
                raise PluginError(
                    f"cannot remove {old} ({exc.strerror or exc}): remove it by hand, "
                    f"{planned.path} replaces it"
                ) from exc
            result.notes.append(
                f"Replaced {_shown(old, base)} by {_shown(planned.path, base)}: "
                "kedro-airflow's airflow* config pattern reads the old name too."
            )
    return result


def init_project(
    project_path: Path,
    airflow_url: str,
    *,
    output: str = "dag",
    with_github_actions: bool = False,
    force: bool = False,
    overwrite_dockerfile: bool = False,
) -> InitResult:
    """Plan, check and write the files of ``init``."""
    if overwrite_dockerfile and not with_github_actions:
        raise UsageProblem(
            "--overwrite-dockerfile: init writes a Dockerfile only with --with-github-actions"
        )
    files, notes = plan_files(
        project_path, airflow_url, output=output, with_github_actions=with_github_actions
    )
    result = write_files(
        files, force=force, base=project_path, overwrite_dockerfile=overwrite_dockerfile
    )
    result.notes = [*result.notes, *notes]
    return result
