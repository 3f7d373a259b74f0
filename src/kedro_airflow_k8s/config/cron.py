"""Validation of DAG schedules: Airflow's presets, and cron expressions as Airflow reads them.

Airflow hands every cron expression to croniter (its timetables are built on it), so croniter
decides here too: ``L`` (last day of the month), ``W`` (nearest weekday), ``1#2`` (second Monday),
``?``, names and wrap-around ranges are accepted exactly when Airflow accepts them. Expressions
have five fields: croniter would read a sixth as seconds, which Airflow's timetables do not
describe or schedule reliably.
"""

from __future__ import annotations

import re
from datetime import datetime

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
# Presets without a cron expression behind them: they never compute a next run from a date.
_NOT_CRON = frozenset({"@once", "@continuous"})
# What Airflow turns into cron expressions itself; the others croniter reads as they are.
_AIRFLOW_PRESETS = {"@quarterly": "0 0 1 */3 *"}

# Any date will do to find out whether an expression matches a date at all.
_REFERENCE = datetime(2000, 1, 1)
_FIELDS = (
    "expected 5 fields (minute hour day-of-month month day-of-week) or a preset such as @daily"
)
_FIELD_NAMES = ("minute", "hour", "day of month", "month", "day of week")
# croniter starts its messages with the expression in brackets and "is not acceptable".
_CRONITER_PREFIX = re.compile(r"^\[[^\]]*\]\s*(is not acceptable[.,]?\s*)?")


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
        raise ValueError(f"{expression!r} is not a cron expression: {_FIELDS}")
    normal = " ".join(fields)
    from croniter import CroniterError, croniter

    try:
        croniter(normal)
    except (CroniterError, ValueError) as error:
        problem = _field_problem(fields) or _detail(error, normal)
        raise ValueError(f"{expression!r} is not a cron expression: {problem}") from error
    first_run_after(normal, _REFERENCE)  # a day that exists in no year (0 0 31 2 *)
    return normal


def _field_problem(fields: list[str]) -> str | None:
    """Which field croniter refuses, asking it about each field on its own."""
    from croniter import CroniterError, croniter

    for index, (name, value) in enumerate(zip(_FIELD_NAMES, fields, strict=True)):
        alone = ["*"] * len(fields)
        alone[index] = value
        text = " ".join(alone)
        try:
            croniter(text)
        except (CroniterError, ValueError) as error:
            return f"{name} field {value!r}: {_detail(error, text)}"
    return None


def _detail(error: Exception, expression: str) -> str:
    """croniter's message without the expression it repeats."""
    text = _CRONITER_PREFIX.sub("", str(error)).replace(expression, "").strip()
    return text.removeprefix("is ").strip() or "not acceptable"


def first_run_after(schedule: str, start: datetime) -> datetime | None:
    """The first time ``schedule`` (a validated expression or preset) fires after ``start``; None
    for the presets that do not fire on a calendar (``@once``, ``@continuous``).

    Raises ValueError when it never does (a day that does not exist, ``0 0 31 2 *``), or not
    before the last date Python can hold.
    """
    if schedule in _NOT_CRON:
        return None
    from croniter import CroniterError, croniter

    expression = _AIRFLOW_PRESETS.get(schedule, schedule)
    try:
        found = croniter(expression, start).get_next(datetime)
    except (CroniterError, ValueError, OverflowError) as error:
        when = "" if start == _REFERENCE else f" after {start:%Y-%m-%d}"
        raise ValueError(f"{schedule!r} never runs{when}: no date matches it") from error
    assert isinstance(found, datetime)
    return found
