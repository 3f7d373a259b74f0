"""Pure text out: the files ``kedro airflow-k8s init`` writes into a Kedro project.

Every function takes plain values and returns file texts; reading the project and writing the
files is :mod:`kedro_airflow_k8s.scaffold.writer`'s job.

Values that come from the user or the project (URLs, names, paths) are never pasted into a file
as they are: they go through :func:`yaml_scalar` (a one-line YAML scalar), after
:func:`omegaconf_literal` in ``kedro-airflow-k8s.yaml`` (which Kedro reads through OmegaConf, where
``${`` starts an interpolation), or through :func:`one_line` in comments.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import jinja2

from kedro_airflow_k8s.names import readable_dns_label, readable_run_name
from kedro_airflow_k8s.yaml_text import omegaconf_literal, yaml_scalar

#: ``${kedro_config:NAME,...}`` values the written ``kedro-airflow-k8s.yaml`` reads, so the
#: workflows export ``KEDRO_CONFIG_<NAME>`` for each.
CONFIG_VARIABLES = ("image_repository", "commit_id", "branch_name")

DEFAULT_CRON = "@daily"
PYTHON_VERSION = "3.11"
RUN_ONCE_WORKFLOW = "airflow-k8s-on-push.yml"
SCHEDULE_WORKFLOW = "airflow-k8s-on-merge.yml"
#: The project folder inside the image; the data volume's default ``mount_path`` is its data/.
IMAGE_WORKDIR = "/home/kedro_docker"

_PYTHON_VERSION = re.compile(r"[0-9]+\.[0-9]+")
_REQUIREMENT = re.compile(r"[A-Za-z0-9_.\-\[\],<>=!~ ]+")


def one_line(text: str) -> str:
    """``text`` fit for a comment: one line, no control characters."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(cleaned.split())


@dataclass(frozen=True)
class DerivedNames:
    """The names ``init`` writes, all made from the package name (one source)."""

    run_name: str  # base of the DAG ids: letters, digits, ``_``, ``.``, ``-``
    slug: str  # image repository and Kubernetes namespace: a DNS-1123 label


def names_from_package(package_name: str) -> DerivedNames:
    """The run name, and the image and namespace name, from the package name: each valid for
    its use (accents dropped, other characters replaced; a fallback when nothing is left)."""
    run_name = readable_run_name(package_name)
    return DerivedNames(run_name=run_name, slug=readable_dns_label(run_name))


def plugin_requirement(version: str, output: str) -> str:
    """The pip requirement of this plugin for CI: the extra the output needs, this version up
    to the next major one."""
    scheme = output.split("://", 1)[0].lower() if "://" in output else ""
    extra = {"s3": "[aws]", "gs": "[gcp]", "gcs": "[gcp]"}.get(scheme, "")
    major = int(version.split(".", 1)[0])
    return f"kedro-airflow-k8s{extra}>={version},<{major + 1}"


def storage_kind(output: str) -> str:
    """``s3``, ``gcs`` or ``local``: which credentials uploading to ``output`` needs."""
    scheme = output.split("://", 1)[0].lower() if "://" in output else ""
    return {"s3": "s3", "gs": "gcs", "gcs": "gcs"}.get(scheme, "local")


@cache
def _environment() -> jinja2.Environment:
    # YAML, shell and Dockerfiles out: "{{" belongs to GitHub expressions and "{#" to shell,
    # so the templates use "{= value =}" and "{#= comment =#}". A missing value is an error.
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("kedro_airflow_k8s.scaffold", "templates"),
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        variable_start_string="{=",
        variable_end_string="=}",
        comment_start_string="{#=",
        comment_end_string="=#}",
    )
    environment.filters["yaml"] = yaml_scalar
    environment.filters["comment"] = one_line
    return environment


def _render(template: str, **values: Any) -> str:
    return _environment().get_template(template).render(**values)


def render_config(
    *,
    host: str,
    output: str,
    project_name: str,
    package_name: str,
    profiles: Sequence[str] = (),
    pod_templates: Sequence[str] = (),
    namespaces: Sequence[str] | None = None,
    cron_expression: str = DEFAULT_CRON,
    uncomment_examples: bool = False,
) -> str:
    """The text of ``conf/base/kedro-airflow-k8s.yaml``.

    ``profiles`` and ``pod_templates``: the resource profiles and pod templates the nodes' tags
    ask for, written (empty) under ``resources`` and ``kubernetes_pod_templates`` so the
    pipelines compile at once. ``namespaces``: the pipelines' top-level Kedro namespaces, named
    in the comment on ``group_by`` (None: not known). The optional sections are commented-out
    examples; ``uncomment_examples`` writes them active instead (to check that they are valid)."""
    names = names_from_package(package_name)
    slug, run_name = names.slug, names.run_name
    name = omegaconf_literal(one_line(project_name) or run_name)
    if namespaces is None:
        namespace_note = ""
    elif namespaces:
        namespace_note = " " + one_line(f"(here: {', '.join(sorted(set(namespaces)))})")
    else:
        namespace_note = " (this project has none)"
    return _render(
        "kedro-airflow-k8s.yaml.j2",
        project_name=project_name,
        host=omegaconf_literal(host.rstrip("/")),
        output=omegaconf_literal(output),
        # slug is [a-z0-9-]; quoted, since OmegaConf reads a bare null, true or 1e3 as no text.
        image=f"${{kedro_config:image_repository,'{slug}'}}:${{kedro_config:commit_id,latest}}",
        namespace=slug,
        run_name=run_name,
        experiment_name=run_name,
        cron_expression=cron_expression,
        description=f"{name} (branch ${{kedro_config:branch_name,unknown}})",
        workdir=IMAGE_WORKDIR,
        with_resources=bool(profiles),
        profiles=[p for p in dict.fromkeys(profiles) if p != "__default__"],
        pod_templates=[t for t in dict.fromkeys(pod_templates) if t != "__default__"],
        namespace_note=namespace_note,
        c="" if uncomment_examples else "# ",
    )


def _check_python_version(version: str) -> None:
    if not _PYTHON_VERSION.fullmatch(version):
        raise ValueError(f"python version {version!r}: write MAJOR.MINOR, e.g. 3.11")


def _no_expression(name: str, value: str) -> str:
    if "${{" in value:
        raise ValueError(f"{name} {value!r} holds '${{{{', which GitHub Actions would evaluate")
    return value


def render_workflows(
    *,
    project_name: str,
    run_name: str,
    output: str,
    requirement: str,
    main_branch: str = "main",
    working_directory: str = ".",
    has_requirements: bool = True,
    python_version: str = PYTHON_VERSION,
) -> dict[str, str]:
    """The GitHub Actions workflows, by file name: run once on a push to any other branch than
    ``main_branch``, schedule on a push (merge) to it."""
    _check_python_version(python_version)
    values = {
        "project_name": project_name,
        "run_name": _no_expression("run_name", run_name),
        "requirement": _no_expression("requirement", requirement),
        "main_branch": _no_expression("branch", main_branch),
        "working_directory": _no_expression("project folder", working_directory),
        "has_requirements": has_requirements,
        "python_version": python_version,
        "storage": storage_kind(output),
    }
    return {
        RUN_ONCE_WORKFLOW: _render("airflow-k8s-on-push.yml.j2", **values),
        SCHEDULE_WORKFLOW: _render("airflow-k8s-on-merge.yml.j2", **values),
    }


def render_dockerfile(
    *,
    project_name: str,
    plugin_requirement: str,
    has_requirements: bool = True,
    python_version: str = PYTHON_VERSION,
) -> str:
    """A Dockerfile that installs the project so ``kedro run`` works in its WORKDIR, and this
    plugin (``plugin_requirement``), whose Kedro hook the pods need for ``in_memory``."""
    _check_python_version(python_version)
    if not _REQUIREMENT.fullmatch(plugin_requirement):
        raise ValueError(f"plugin requirement {plugin_requirement!r} is not a pip requirement")
    return _render(
        "Dockerfile.j2",
        project_name=project_name,
        plugin_requirement=shlex.quote(plugin_requirement),
        has_requirements=has_requirements,
        python_version=python_version,
        workdir=IMAGE_WORKDIR,
    )


def render_dockerignore() -> str:
    """What stays out of the image: git data, virtualenvs, caches, local config and secrets."""
    return _render("dockerignore.j2")
