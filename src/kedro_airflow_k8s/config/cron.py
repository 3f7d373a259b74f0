"""Validation of DAG schedules: Airflow presets and standard 5-field cron expressions."""

from __future__ import annotations

import re

PRESETS = frozenset(
    {
        "@once",
        "@continuous",
        "@hourly",
        "@daily",
        "@weekly",
        "@monthly",
        "@quarterly",
        "@yearly",
        "@annually",
        "@midnight",
    }
)

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# (name, lowest, highest, names usable instead of numbers)
_FIELDS: tuple[tuple[str, int, int, list[str]], ...] = (
    ("minute", 0, 59, []),
    ("hour", 0, 23, []),
    ("day of month", 1, 31, []),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
_PART = re.compile(r"^(?P<range>\*|\?|[0-9a-z]+(-[0-9a-z]+)?)(/(?P<step>[0-9]+))?$")


def _number(text: str, names: list[str], offset: int) -> int | None:
    if text.isdigit():
        return int(text)
    if text in names:
        return names.index(text) + offset
    return None


def _check_field(text: str, name: str, low: int, high: int, names: list[str]) -> str | None:
    offset = 1 if names is _MONTHS else 0
    for part in text.lower().split(","):
        match = _PART.match(part)
        if not match:
            return f"{name} field {text!r} is not valid"
        if match.group("step") is not None and int(match.group("step")) == 0:
            return f"{name} field {text!r} has a step of 0"
        bounds = match.group("range")
        if bounds in ("*", "?"):
            if bounds == "?" and name not in ("day of month", "day of week"):
                return f"{name} field cannot be '?'"
            continue
        ends = bounds.split("-")
        values = [_number(end, names, offset) for end in ends]
        if any(v is None for v in values):
            return f"{name} field {text!r} is not valid"
        for v in values:
            assert v is not None
            if not low <= v <= high:
                return f"{name} value {v} is outside {low}-{high}"
        first, last = values[0], values[-1]
        if first is not None and last is not None and first > last:
            return f"{name} range {bounds!r} runs backwards"
    return None


def validate_schedule(expression: str) -> str:
    """Return ``expression`` stripped if Airflow accepts it as a schedule, else raise ValueError."""
    text = expression.strip()
    if text.startswith("@"):
        if text not in PRESETS:
            raise ValueError(
                f"{expression!r} is not an Airflow preset; use one of {', '.join(sorted(PRESETS))}"
            )
        return text
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(
            f"{expression!r} is not a cron expression: expected 5 fields "
            "(minute hour day-of-month month day-of-week) or a preset such as @daily"
        )
    for field_text, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
        problem = _check_field(field_text, name, low, high, names)
        if problem:
            raise ValueError(f"{expression!r} is not a cron expression: {problem}")
    return " ".join(fields)
