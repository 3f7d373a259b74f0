"""What each node asks for through its tags: group, resource profile, pod template, spark."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from kedro_airflow_k8s.errors import PlanError
from kedro_airflow_k8s.plan.model import PlanOptions
from kedro_airflow_k8s.plan.spark import spark_datasets, spark_reason
from kedro_airflow_k8s.snapshot import DatasetSpec, NodeSpec

DEFAULT = "__default__"


class NodeTraits(NamedTuple):
    """The planning-relevant facts about one node (explicit asks only, no defaults)."""

    group: str | None  # from a group tag, e.g. "airflow.train" -> "train"
    profile: str | None  # from a resources./machine. tag
    template: str | None  # from a k8s_template. tag
    spark: bool
    namespace: tuple[str, ...]  # the Kedro namespace split on "."


class TraitReader:
    """Reads :class:`NodeTraits` for the nodes of one pipeline."""

    def __init__(self, datasets: Mapping[str, DatasetSpec], options: PlanOptions) -> None:
        self.options = options
        self.spark_data = spark_datasets(datasets)

    def read(self, node: NodeSpec) -> NodeTraits:
        options = self.options
        tagged = bool(node.tags)
        return NodeTraits(
            group=_group_of(node, options) if tagged else None,
            profile=_profile_of(node, options) if tagged else None,
            template=_template_of(node, options) if tagged else None,
            spark=spark_reason(node, self.spark_data, options) is not None,
            namespace=tuple(node.namespace.split(".")) if node.namespace else (),
        )


def _suffixes(node: NodeSpec, prefixes: tuple[str, ...], skip: str = "") -> list[str]:
    """The distinct tag suffixes after any of ``prefixes`` (empty prefixes are switched off)."""
    found = {
        tag[len(prefix) :]
        for tag in node.tags
        for prefix in prefixes
        if prefix and tag.startswith(prefix) and tag != skip
    }
    return sorted(found)


def _group_of(node: NodeSpec, options: PlanOptions) -> str | None:
    prefix = options.group_tag_prefix
    groups = _suffixes(node, (prefix,), skip=options.spark_tag)
    if len(groups) > 1:
        tags = " and ".join(prefix + g for g in groups)
        raise PlanError(
            f"node {node.name!r} has two group tags, {tags}: a node runs in one task, "
            "so keep one of them"
        )
    if groups and not groups[0]:
        raise PlanError(f"node {node.name!r} has tag {prefix!r} without a group name after it")
    return groups[0] if groups else None


def _profile_of(node: NodeSpec, options: PlanOptions) -> str | None:
    prefixes = (options.resources_tag_prefix, options.machine_tag_prefix)
    return _one_asked(
        node, prefixes, options.resource_profiles, "resource profile", "run_config.resources"
    )


def _template_of(node: NodeSpec, options: PlanOptions) -> str | None:
    return _one_asked(
        node,
        (options.k8s_template_tag_prefix,),
        options.pod_templates,
        "pod template",
        "run_config.kubernetes_pod_templates",
    )


def _one_asked(
    node: NodeSpec,
    prefixes: tuple[str, ...],
    configured: frozenset[str],
    what: str,
    key: str,
) -> str | None:
    """The one ``what`` the node's tags ask for (None without such a tag); asking for several,
    or for one that is not configured under ``key``, is a PlanError."""
    asked = _suffixes(node, prefixes)
    if len(asked) > 1:
        raise PlanError(
            f"node {node.name!r} asks for {what}s {', '.join(asked)}: tag it with only one"
        )
    if not asked:
        return None
    if asked[0] not in configured:
        known = ", ".join(sorted(configured)) or "none configured"
        raise PlanError(
            f"node {node.name!r} asks for {what} {asked[0]!r}, which is not under "
            f"{key} (known: {known})"
        )
    return asked[0]


def asked_or_default(asked: str | None, configured: frozenset[str]) -> str | None:
    """The profile (or template) a task uses: the one asked for, else a configured default."""
    if asked is not None:
        return asked
    return DEFAULT if DEFAULT in configured else None
