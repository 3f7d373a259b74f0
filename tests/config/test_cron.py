"""Schedules: Airflow presets and standard 5-field cron expressions."""

from __future__ import annotations

import pytest

from kedro_airflow_k8s.config.cron import PRESETS, validate_schedule

ALL_PRESETS = [
    "@annually",
    "@continuous",
    "@daily",
    "@hourly",
    "@midnight",
    "@monthly",
    "@once",
    "@quarterly",
    "@weekly",
    "@yearly",
]
FIELDS = "expected 5 fields (minute hour day-of-month month day-of-week) or a preset such as @daily"


def test_the_preset_list():
    assert sorted(PRESETS) == ALL_PRESETS


@pytest.mark.parametrize("preset", ALL_PRESETS)
def test_presets(preset):
    assert validate_schedule(preset) == preset


def test_preset_is_stripped():
    assert validate_schedule("  @daily \n") == "@daily"


@pytest.mark.parametrize(
    "expression",
    [
        "* * * * *",
        "0 0 * * *",
        "59 23 31 12 7",
        "0 0 1 1 0",
        # ranges
        "0-59 0-23 1-31 1-12 0-7",
        "0 9-17 * * 1-5",
        "5-5 * * * *",
        # steps
        "*/15 * * * *",
        "0 */2 * * *",
        "0-30/10 * * * *",
        "5/15 * * * *",
        "0 0 */3 */2 *",
        # lists
        "0,15,30,45 * * * *",
        "0 8,12,18 * * *",
        "0 0 1,15 * 1,3,5",
        "0,30 1-5,10-12/2 * * *",
        # names, any case
        "0 5 * * MON-FRI",
        "0 5 * * mon-fri",
        "0 5 * * Sun",
        "0 5 * * SAT,SUN",
        "0 0 1 JAN *",
        "0 0 1 jan-jun *",
        "0 0 1 JAN,JUL *",
        "0 0 1 FEB-DEC/2 MON",
        # '?' for day of month / day of week
        "0 0 ? * MON",
        "0 0 1 * ?",
    ],
)
def test_valid_expressions(expression):
    assert validate_schedule(expression) == expression


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("  0 5  * *\t1-5 ", "0 5 * * 1-5"),
        ("\n*/5 * * * *\n", "*/5 * * * *"),
    ],
)
def test_whitespace_is_normalised(expression, expected):
    assert validate_schedule(expression) == expected


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        # field count
        ("", FIELDS),
        ("* * * *", FIELDS),
        ("* * * * * *", FIELDS),
        ("0 0 * * * 2024", FIELDS),
        ("daily", FIELDS),
        # out of range
        ("60 * * * *", "minute value 60 is outside 0-59"),
        ("* 24 * * *", "hour value 24 is outside 0-23"),
        ("* * 0 * *", "day of month value 0 is outside 1-31"),
        ("* * 32 * *", "day of month value 32 is outside 1-31"),
        ("* * * 0 *", "month value 0 is outside 1-12"),
        ("* * * 13 *", "month value 13 is outside 1-12"),
        ("* * * * 8", "day of week value 8 is outside 0-7"),
        ("0-60 * * * *", "minute value 60 is outside 0-59"),
        ("0,5,99 * * * *", "minute value 99 is outside 0-59"),
        # backwards ranges, zero steps
        ("30-10 * * * *", "minute range '30-10' runs backwards"),
        ("* * * * FRI-MON", "day of week range 'fri-mon' runs backwards"),
        ("*/0 * * * *", "minute field '*/0' has a step of 0"),
        ("* 1-5/0 * * *", "hour field '1-5/0' has a step of 0"),
        # not numbers, names in the wrong field, bad syntax
        ("x * * * *", "minute field 'x' is not valid"),
        ("MON * * * *", "minute field 'MON' is not valid"),
        ("* * * MON *", "month field 'MON' is not valid"),
        ("* * * * JAN", "day of week field 'JAN' is not valid"),
        ("* * * * MONDAY", "day of week field 'MONDAY' is not valid"),
        ("1,,2 * * * *", "minute field '1,,2' is not valid"),
        ("1-2-3 * * * *", "minute field '1-2-3' is not valid"),
        ("*/x * * * *", "minute field '*/x' is not valid"),
        ("-5 * * * *", "minute field '-5' is not valid"),
        ("* * L * *", "day of month field 'L' is not valid"),
        ("* * * * 5#3", "day of week field '5#3' is not valid"),
        # '?' only for the day fields
        ("? * * * *", "minute field cannot be '?'"),
        ("* ? * * *", "hour field cannot be '?'"),
        ("* * * ? *", "month field cannot be '?'"),
    ],
)
def test_invalid_expressions(expression, problem):
    with pytest.raises(ValueError) as caught:
        validate_schedule(expression)
    assert str(caught.value) == f"{expression!r} is not a cron expression: {problem}"


@pytest.mark.parametrize("preset", ["@fortnightly", "@Daily", "@", "@every 5m"])
def test_unknown_presets(preset):
    with pytest.raises(ValueError) as caught:
        validate_schedule(preset)
    assert str(caught.value) == (
        f"{preset!r} is not an Airflow preset; use one of {', '.join(ALL_PRESETS)}"
    )
