"""Names Airflow and Kubernetes accept: task ids, TaskGroup ids and pod names.

All functions are pure and deterministic: the same inputs give the same names on every run.
A name that had to be changed (unsafe characters, too long) gets a short hash of the original,
so two different names rarely end up equal; when they still do, :func:`unique` settles it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from functools import lru_cache

# Airflow's task ids: letters, digits, "_", "-" and "." (kept ASCII here), at most 250 chars
# for the full id (TaskGroup path included). TaskGroup ids: the same without ".", at most 200.
_TASK_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_GROUP_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_DNS_UNSAFE = re.compile(r"[^a-z0-9-]+")
FULL_TASK_ID_MAX = 250
TASK_ID_MAX = 200  # a task id on its own; the TaskGroup path may shorten it further
GROUP_ID_MAX = 50  # one TaskGroup id (one namespace level); Airflow allows 200
GROUP_PATH_MAX = 150  # a whole TaskGroup path, joined by "."
POD_NAME_MAX = 53  # the provider appends "-" and an 8 character suffix: 53 + 9 <= 63
_HASH_LENGTH = 6


def short_hash(text: str, length: int = _HASH_LENGTH) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def _marked(safe: str, original: str, max_length: int, hash_length: int, sep: str) -> str:
    """``safe`` cut to fit ``max_length`` with a hash of ``original`` appended."""
    suffix = short_hash(original, hash_length)
    head = safe[: max_length - len(suffix) - len(sep)].rstrip(sep)
    return f"{head}{sep}{suffix}" if head else suffix


def task_id_for(name: str, max_length: int = TASK_ID_MAX) -> str:
    """A valid Airflow task id for ``name``; a hash suffix marks any change made to it."""
    safe = _TASK_ID_UNSAFE.sub("_", name)
    if safe == name and 0 < len(safe) <= max_length:
        return safe
    return _marked(safe, name, max_length, _HASH_LENGTH, "_")


def group_id_for(segment: str, max_length: int = GROUP_ID_MAX) -> str:
    """A valid Airflow TaskGroup id (no dots) for one namespace level."""
    return _cached_group_id(segment, max_length)


@lru_cache(maxsize=4096)
def _cached_group_id(segment: str, max_length: int) -> str:
    safe = _GROUP_ID_UNSAFE.sub("_", segment)
    if safe == segment and 0 < len(safe) <= max_length:
        return safe
    return _marked(safe, segment, max_length, _HASH_LENGTH, "_")


def group_path_for(namespace: tuple[str, ...], max_length: int = GROUP_PATH_MAX) -> tuple[str, ...]:
    """TaskGroup ids for a namespace path, outermost first, dropping levels past ``max_length``."""
    return _cached_group_path(tuple(namespace), max_length)


@lru_cache(maxsize=4096)
def _cached_group_path(namespace: tuple[str, ...], max_length: int) -> tuple[str, ...]:
    path: list[str] = []
    used = -1  # the joined length so far, counting one "." per level
    for segment in namespace:
        group_id = group_id_for(segment)
        if used + 1 + len(group_id) > max_length:
            break
        path.append(group_id)
        used += 1 + len(group_id)
    return tuple(path)


def dns_label(text: str, max_length: int = POD_NAME_MAX) -> str:
    """A DNS-1123 label (lower case alphanumerics and "-", alphanumeric at both ends)."""
    label = _DNS_UNSAFE.sub("-", text.lower()).strip("-")
    if label == text and 0 < len(label) <= max_length:
        return label
    return _marked(label or "task", text, max_length, 8, "-")


def with_suffix(name: str, suffix: str, max_length: int | None = None) -> str:
    """``name`` + ``suffix``, cutting ``name`` so the result stays within ``max_length``."""
    if max_length is not None and len(name) + len(suffix) > max_length:
        name = name[: max(max_length - len(suffix), 0)].rstrip("-_.")
    return f"{name}{suffix}"


def unique(names: Iterable[str], max_length: int | None = None, sep: str = "-") -> list[str]:
    """Make names unique in order: a repeated name gets ``-2``, ``-3``... (deterministic).

    With ``max_length`` the name is shortened to make room for the suffix, so a name that fits
    still fits once suffixed.
    """
    seen: set[str] = set()
    last_suffix: dict[str, int] = {}
    out: list[str] = []
    for name in names:
        candidate, n = name, last_suffix.get(name, 1)
        while candidate in seen:
            n += 1
            candidate = with_suffix(name, f"{sep}{n}", max_length)
        last_suffix[name] = n
        seen.add(candidate)
        out.append(candidate)
    return out
