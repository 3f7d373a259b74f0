"""Emit plain data as Python source that evaluates to exactly that data.

Only ``None``, booleans, integers, finite floats, strings, lists, tuples and dicts with string
keys are accepted; anything else is a programming error. Strings go through ``repr``, so quotes,
newlines, backslashes, ``{{`` or ``'''`` can never end the literal or inject code. The output is
deterministic (dict order is kept, nothing depends on ids or time) and ``ast.literal_eval``-able.
"""

from __future__ import annotations

import math
from typing import Any

_INDENT = "    "
_SHORT = 88  # a list or dict whose one-line form fits stays on one line


_SIMPLE = frozenset({str, int, bool, type(None)})  # repr is their literal (floats: finite only)
_CONTAINERS = frozenset({list, tuple, dict})  # empty, repr is their literal too


class _NotPlain(Exception):
    """Raised by :func:`_emit_plain` on a part it leaves to :func:`_emit`: a type other than the
    built-in ones (a subclass included), a float that is not finite or a key that is not a
    string."""


def to_literal(value: Any, level: int = 0) -> str:
    parts: list[str] = []
    try:
        _emit_plain(value, level, parts)
    except _NotPlain:
        parts = []
        _emit(value, level, parts)
    return "".join(parts)


def _scalar(value: Any) -> str | None:
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot emit the float {value!r} as a literal")
        return repr(value)
    return None


def _one_line(value: Any) -> str | None:
    scalar = _scalar(value)
    if scalar is not None:
        return scalar
    if isinstance(value, (list, tuple)):
        items = [_one_line(item) for item in value]
        if any(item is None for item in items):
            return None
        body = ", ".join(items)  # type: ignore[arg-type]
        if isinstance(value, tuple):
            return f"({body},)" if len(items) == 1 else f"({body})"
        return f"[{body}]"
    if isinstance(value, dict):
        pairs = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"dict keys must be strings, got {key!r}")
            text = _one_line(item)
            if text is None:
                return None
            pairs.append(f"{key!r}: {text}")
        return "{" + ", ".join(pairs) + "}"
    raise TypeError(f"cannot emit {type(value).__name__} as a literal")


def _emit(value: Any, level: int, out: list[str]) -> None:
    flat = _one_line_if_short(value, level)
    if flat is not None:
        out.append(flat)
        return
    inner = _INDENT * (level + 1)
    if isinstance(value, dict):
        out.append("{\n")
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"dict keys must be strings, got {key!r}")
            kind = type(item)
            if kind in _SIMPLE or (kind in _CONTAINERS and not item):  # as _emit would write it
                out.append(f"{inner}{key!r}: {item!r}")
            else:
                out.append(f"{inner}{key!r}: ")
                _emit(item, level + 1, out)
            out.append(",\n")
        out.append(_INDENT * level + "}")
    else:
        opening, closing = ("(", ")") if isinstance(value, tuple) else ("[", "]")
        out.append(opening + "\n")
        for item in value:
            kind = type(item)
            if kind in _SIMPLE or (kind in _CONTAINERS and not item):  # as _emit would write it
                out.append(f"{inner}{item!r},\n")
                continue
            out.append(inner)
            _emit(item, level + 1, out)
            out.append(",\n")
        out.append(_INDENT * level + closing)


def _emit_plain(value: Any, level: int, out: list[str]) -> None:
    """:func:`_emit` for plain data (the built-in types only, floats finite, dict keys strings),
    where ``repr`` writes every one-line part: the same text with fewer checks (it writes most of
    a large DAG's SPEC). Raises :class:`_NotPlain` on other data, checked on the way: each part
    is either sized whole by :func:`_plain_size` before ``repr`` writes it, or written item by
    item."""
    text = _plain_one_line(value, level)
    if text is None:
        _emit_plain_lines(value, level, out)
    else:
        out.append(text)


def _plain_one_line(value: Any, level: int) -> str | None:
    """The text of ``value`` if :func:`_emit` writes it on one line at ``level``, else None."""
    kind = type(value)
    if kind in _SIMPLE:
        return repr(value)
    if kind not in _CONTAINERS:
        if kind is float and math.isfinite(value):
            return repr(value)
        raise _NotPlain
    if not value:
        return repr(value)
    if _plain_size(value, _SHORT) < _SHORT:
        text = repr(value)
        if len(text) + len(_INDENT) * level <= _SHORT + 12:
            return text
    return None


def _emit_plain_lines(value: Any, level: int, out: list[str]) -> None:
    """A non-empty container, one item a line."""
    inner = _INDENT * (level + 1)
    if type(value) is dict:
        out.append("{\n")
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlain
            kind = type(item)
            text = (
                repr(item)
                if kind in _SIMPLE or (kind in _CONTAINERS and not item)
                else _plain_one_line(item, level + 1)
            )
            if text is not None:
                out.append(f"{inner}{key!r}: {text},\n")
            else:
                out.append(f"{inner}{key!r}: ")
                _emit_plain_lines(item, level + 1, out)
                out.append(",\n")
        out.append(_INDENT * level + "}")
        return
    is_tuple = type(value) is tuple
    out.append("(\n" if is_tuple else "[\n")
    for item in value:
        kind = type(item)
        text = (
            repr(item)
            if kind in _SIMPLE or (kind in _CONTAINERS and not item)
            else _plain_one_line(item, level + 1)
        )
        if text is not None:
            out.append(f"{inner}{text},\n")
        else:
            out.append(inner)
            _emit_plain_lines(item, level + 1, out)
            out.append(",\n")
    out.append(_INDENT * level + (")" if is_tuple else "]"))


def _one_line_if_short(value: Any, level: int) -> str | None:
    scalar = _scalar(value)
    if scalar is not None:
        return scalar
    if isinstance(value, (list, tuple, dict)) and not value:
        return _one_line(value)
    if _rough_size(value, _SHORT) >= _SHORT:
        return None
    text = _one_line(value)
    if text is not None and len(text) + len(_INDENT) * level <= _SHORT + 12:
        return text
    return None


def _rough_size(value: Any, limit: int) -> int:
    """A cheap lower bound of the one-line length, stopping once past ``limit``."""
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, dict):
        total = 2
        for key, item in value.items():
            # texts inline: most items are, and this runs for every dict and list emitted
            total += len(key) + (
                len(item) + 6 if type(item) is str else 4 + _rough_size(item, limit - total)
            )
            if total >= limit:
                return total
        return total
    if isinstance(value, (list, tuple)):
        total = 2
        for item in value:
            total += len(item) + 4 if type(item) is str else 2 + _rough_size(item, limit - total)
            if total >= limit:
                return total
        return total
    return 5


def _plain_size(value: Any, limit: int) -> int:
    """:func:`_rough_size` of plain data, raising :class:`_NotPlain` on a part that is not plain
    (every part is looked at when the size is under ``limit``)."""
    kind = type(value)
    if kind is str:
        return len(value) + 2
    if kind is dict:
        total = 2
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlain
            total += len(key) + (
                len(item) + 6 if type(item) is str else 4 + _plain_size(item, limit - total)
            )
            if total >= limit:
                return total
        return total
    if kind is list or kind is tuple:
        total = 2
        for item in value:
            total += len(item) + 4 if type(item) is str else 2 + _plain_size(item, limit - total)
            if total >= limit:
                return total
        return total
    if kind in _SIMPLE or (kind is float and math.isfinite(value)):
        return 5
    raise _NotPlain
