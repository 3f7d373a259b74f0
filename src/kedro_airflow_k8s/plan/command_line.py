"""Names a pod's command line must carry intact: ``kedro run --pipelines P --nodes a,b``.

Kedro accepts more in names than that command line can carry. Explicit node names are limited
to letters, digits, ``_``, ``-`` and ``.`` (a trailing newline slips through), but namespaces
are not checked at all and a node without a name is named after its function. Kedro's CLI
splits ``--nodes`` (and ``--pipelines``) at commas and strips the whitespace around each item;
in ``--nodes`` a comma between square brackets does not split. So a comma, whitespace at either
end, a control character or an unmatched square bracket would make the pod run other nodes than
planned, or none. These are refused before anything is written.
"""

from __future__ import annotations

import re

from kedro_airflow_k8s.errors import PlanError
from kedro_airflow_k8s.snapshot import PipelineSpec

_SEPARATOR = "which `kedro run` reads as a separator between names"


def check_command_line_names(pipeline: PipelineSpec) -> None:
    """Refuse the first pipeline, namespace or node name the pod command line cannot carry."""
    problem = _name_problem(pipeline.name, brackets=False)
    if problem:
        raise PlanError(f"pipeline {pipeline.name!r}: its name {problem}; rename the pipeline")
    seen: set[str] = set()
    for node in pipeline.nodes:
        namespace = node.namespace
        if namespace and namespace not in seen:
            seen.add(namespace)
            problem = _namespace_problem(namespace)
            if problem:
                raise PlanError(
                    f"namespace {namespace!r} (node {node.name!r}) {problem}; rename the namespace"
                )
        problem = _name_problem(node.name, brackets=True)
        if problem:
            raise PlanError(
                f"node {node.name!r} in pipeline {pipeline.name!r}: its name {problem}; give "
                "the node a name= of letters, digits, '_', '-' and '.'"
            )


def _namespace_problem(namespace: str) -> str | None:
    if "," in namespace:
        return f"contains a comma, {_SEPARATOR}"
    control = _control_character(namespace)
    if control is not None:
        return f"contains the control character {control!r}, which a pod command line cannot carry"
    if namespace[:1].isspace():
        return "starts with whitespace, which `kedro run --nodes` strips from node names"
    return None


def _name_problem(name: str, *, brackets: bool) -> str | None:
    if "," in name:
        return f"contains a comma, {_SEPARATOR}"
    control = _control_character(name)
    if control is not None:
        return f"contains the control character {control!r}, which a pod command line cannot carry"
    if name != name.strip():
        return "starts or ends with whitespace, which `kedro run` strips"
    if brackets and not _balanced(name):
        return (
            "has an unmatched square bracket, which makes `kedro run --nodes` read the names "
            "after it as one"
        )
    return None


def _control_character(text: str) -> str | None:
    found = _CONTROL.search(text)
    return None if found is None else found.group()


# Unicode's control characters (category Cc): C0, DEL and C1, fixed by the standard
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _balanced(text: str) -> bool:
    if "[" not in text and "]" not in text:  # most names
        return True
    depth = 0
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0
