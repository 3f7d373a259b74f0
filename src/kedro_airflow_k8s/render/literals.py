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


def to_literal(value: Any, level: int = 0) -> str:
    parts: list[str] = []
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
            out.append(f"{inner}{key!r}: ")
            _emit(item, level + 1, out)
            out.append(",\n")
        out.append(_INDENT * level + "}")
    else:
        opening, closing = ("(", ")") if isinstance(value, tuple) else ("[", "]")
        out.append(opening + "\n")
        for item in value:
            out.append(inner)
            _emit(item, level + 1, out)
            out.append(",\n")
        out.append(_INDENT * level + closing)


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
            total += len(key) + 4 + _rough_size(item, limit - total)
            if total >= limit:
                return total
        return total
    if isinstance(value, (list, tuple)):
        total = 2
        for item in value:
            total += 2 + _rough_size(item, limit - total)
            if total >= limit:
                return total
        return total
    return 5
