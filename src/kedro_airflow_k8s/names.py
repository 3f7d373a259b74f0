"""Names made from user text that Airflow, Kubernetes and object stores accept: the one owner of
slugging and of making names unique.

Every kind of name follows one rule. A text that is already a valid name is kept as it is.
Otherwise the characters the kind does not allow are replaced, the result is cut to fit, and a
short hash of the original text is appended (:func:`marked`), so two different texts rarely end
up as one name. When they still do, or when a name is taken already, :class:`Names` settles it
the one way there is: ``<sep>2``, ``<sep>3``... appended, the name cut to keep within its limit.

All functions are pure and deterministic: the same inputs give the same names on every run.
(Names made inside Airflow from the run id, such as the per-run volume claim, are made by the
runtime module that needs them: the generated DAG file cannot import this module.)
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

# Airflow's task ids: letters, digits, "_", "-" and "." (kept ASCII here), at most 250 chars
# for the full id (TaskGroup path included). TaskGroup ids: the same without ".", at most 200.
# One pattern serves every Airflow-style id (tasks, run names, spark artifacts) and one every
# DNS label (pods, clusters).
AIRFLOW_ID_CHARS = "A-Za-z0-9_.-"  # as a regex character class; config checks ids with it
_AIRFLOW_ID_UNSAFE = re.compile(f"[^{AIRFLOW_ID_CHARS}]+")
_GROUP_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_DNS_UNSAFE = re.compile(r"[^a-z0-9-]+")
_DAG_ID_UNSAFE = re.compile(f"[^{AIRFLOW_ID_CHARS}]")  # one "_" per character replaced
_FILE_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
_SLUG_UNSAFE = re.compile(r"[^a-z0-9]+")

FULL_TASK_ID_MAX = 250  # Airflow's longest task id (TaskGroup path included) and DAG id
TASK_ID_MAX = 200  # a task id on its own; the TaskGroup path may shorten it further
GROUP_ID_MAX = 50  # one TaskGroup id (one namespace level); Airflow allows 200
GROUP_PATH_MAX = 150  # a whole TaskGroup path, joined by "."
POD_NAME_MAX = 53  # the provider appends "-" and an 8 character suffix: 53 + 9 <= 63
DAG_ID_MAX = 240  # room left for the file name's ".py" and Airflow's own suffixes
CLUSTER_BASE_MAX = 40  # a Dataproc cluster name is at most 51: the base, "-", 10 hex digits
DNS_LABEL_MAX = 63
HASH_LENGTH = 6


def short_hash(text: str, length: int = HASH_LENGTH) -> str:
    """The first ``length`` hex digits of the SHA-256 of ``text``."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def marked(
    safe: str,
    original: str,
    max_length: int,
    *,
    sep: str = "_",
    hash_length: int = HASH_LENGTH,
    trim: bool = True,
) -> str:
    """``safe`` cut to fit ``max_length`` with ``sep`` and a hash of ``original`` appended
    (``trim``: separators at the end of the cut part are dropped)."""
    suffix = short_hash(original, hash_length)
    head = safe[: max_length - len(suffix) - len(sep)]
    head = head.rstrip(sep) if trim else head
    return f"{head}{sep}{suffix}" if head else suffix


def _slug(text: str, unsafe: re.Pattern[str], max_length: int) -> str:
    """``text`` when it is valid (nothing ``unsafe``, not empty, within ``max_length``), else
    its unsafe runs replaced by ``_`` and :func:`marked`."""
    safe = unsafe.sub("_", text)
    if safe == text and 0 < len(safe) <= max_length:
        return safe
    return marked(safe, text, max_length)


def task_id(name: str, max_length: int = TASK_ID_MAX) -> str:
    """A valid Airflow task id for ``name``."""
    return _slug(name, _AIRFLOW_ID_UNSAFE, max_length)


@lru_cache(maxsize=4096)
def group_id(segment: str, max_length: int = GROUP_ID_MAX) -> str:
    """A valid Airflow TaskGroup id (no dots) for one namespace level."""
    return _slug(segment, _GROUP_ID_UNSAFE, max_length)


def group_path(namespace: tuple[str, ...], max_length: int = GROUP_PATH_MAX) -> tuple[str, ...]:
    """TaskGroup ids for a namespace path, outermost first, dropping levels past ``max_length``."""
    return _group_path(tuple(namespace), max_length)


@lru_cache(maxsize=4096)
def _group_path(namespace: tuple[str, ...], max_length: int) -> tuple[str, ...]:
    path: list[str] = []
    used = -1  # the joined length so far, counting one "." per level
    for segment in namespace:
        one = group_id(segment)
        if used + 1 + len(one) > max_length:
            break
        path.append(one)
        used += 1 + len(one)
    return tuple(path)


def dns_label(text: str, max_length: int = POD_NAME_MAX) -> str:
    """A DNS-1123 label (lower case alphanumerics and "-", alphanumeric at both ends)."""
    label = _DNS_UNSAFE.sub("-", text.lower()).strip("-")
    if label == text and 0 < len(label) <= max_length:
        return label
    return marked(label or "task", text, max_length, sep="-", hash_length=8)


def dag_id(run_name: str, pipeline: str, env: str) -> str:
    """``<run_name>.<pipeline>.<env>``: unique per pipeline and environment, valid for Airflow."""
    raw = f"{run_name}.{pipeline}.{env}"
    safe = _DAG_ID_UNSAFE.sub("_", raw)
    if safe != raw or len(safe) > DAG_ID_MAX:
        return marked(safe, raw, DAG_ID_MAX - 1, trim=False)
    return safe


def dag_file_name(dag_id: str) -> str:
    """The file a DAG is written to: its id, every character but letters, digits and ``_``
    replaced (ids that differ only there are refused together, see the compile stage)."""
    return _FILE_UNSAFE.sub("_", dag_id) + ".py"


def sensor_id(dag_id: str, task_id: str | None) -> str:
    """The wanted id of the sensor waiting for ``dag_id`` (or one of its tasks), with room left
    for :class:`Names`' suffix."""
    base = f"wait_for_{dag_id}" + (f".{task_id}" if task_id else "")
    if len(base) > FULL_TASK_ID_MAX - 8:
        return marked(base, base, FULL_TASK_ID_MAX - 9, trim=False)
    return base


def artifact_name(text: str) -> str:
    """A file name part for an uploaded artifact (letters, digits, ``_``, ``.``, ``-``)."""
    slug = _AIRFLOW_ID_UNSAFE.sub("_", text).strip("._") or "task"
    return slug if slug == text else marked(slug, text, 67, sep="-", trim=False)


def cluster_name_base(run_name: str) -> str:
    """A cluster base name from the run name: lowercase letters, digits and ``-``, starting
    with a letter, at most 40 characters (Dataproc's rules, with room for a per-run suffix)."""
    base = _DNS_UNSAFE.sub("-", run_name.lower()).strip("-")
    if not base or not base[0].isalpha():
        base = f"kedro-{base}".rstrip("-")
    return base[:CLUSTER_BASE_MAX].rstrip("-")


def readable_run_name(text: str) -> str:
    """A run name (base of DAG ids) from a package name: accents dropped, other characters
    replaced, no hash (a person reads and edits it)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _AIRFLOW_ID_UNSAFE.sub("_", ascii_text).strip("_.-") or "kedro_project"


def readable_dns_label(text: str) -> str:
    """An image repository or Kubernetes namespace name from a run name, no hash."""
    label = _SLUG_UNSAFE.sub("-", text.lower()).strip("-")[:DNS_LABEL_MAX].strip("-")
    return label or "kedro-project"


def with_suffix(name: str, suffix: str, max_length: int | None = None) -> str:
    """``name`` + ``suffix``, cutting ``name`` so the result stays within ``max_length``."""
    if max_length is not None and len(name) + len(suffix) > max_length:
        name = name[: max(max_length - len(suffix), 0)].rstrip("-_.")
    return f"{name}{suffix}"


class Names:
    """Names in use, and the one way of giving out a free one.

    :meth:`claim` returns the wanted name when it is free, else the first of ``<sep>2``,
    ``<sep>3``... appended to it that is free (cut to stay within ``max_length``), and takes it.
    A name claimed again starts counting where the last claim of it stopped, so claiming N equal
    names costs N steps, not N squared.
    """

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self._taken = set(taken)
        self._last: dict[str, int] = {}

    def __contains__(self, name: object) -> bool:
        return name in self._taken

    def take(self, name: str) -> None:
        """Mark ``name`` as used (whether it was free or not)."""
        self._taken.add(name)

    def claim(
        self, wanted: str, max_length: int | None = None, *, sep: str = "_", prefix: str = ""
    ) -> str:
        """A free name for ``wanted``; ``prefix`` is part of the name in use (a TaskGroup path)
        but not of the name returned."""
        candidate, number = wanted, self._last.get(prefix + wanted, 1)
        while prefix + candidate in self._taken:
            number += 1
            candidate = with_suffix(wanted, f"{sep}{number}", max_length)
        self._last[prefix + wanted] = number
        self._taken.add(prefix + candidate)
        return candidate


def unique(names: Iterable[str], max_length: int | None = None, sep: str = "-") -> list[str]:
    """``names`` made unique in order (see :class:`Names`)."""
    used = Names()
    return [used.claim(name, max_length, sep=sep) for name in names]
