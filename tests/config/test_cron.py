"""Schedules: Airflow presets and 5-field cron expressions, as Airflow (croniter) reads them."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

import pytest

from kedro_airflow_k8s.config.base import LATEST_START
from kedro_airflow_k8s.config.cron import PRESETS, first_run_after, validate_schedule

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
QUESTION = "Question mark can only used in day_of_month or day_of_week"
FIELDS = "expected 5 fields (minute hour day-of-month month day-of-week) or a preset such as @daily"


def test_the_preset_list():
    assert sorted(PRESETS) == ALL_PRESETS


@pytest.mark.parametrize("preset", ALL_PRESETS)
def test_presets(preset):
    assert validate_schedule(preset) == preset


def test_preset_is_stripped():
    assert validate_schedule("  @daily \n") == "@daily"


VALID = [
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
    # what Airflow accepts beyond the classic fields: last day, nearest weekday, nth
    # weekday of the month, ranges that wrap around
    "0 0 L * *",
    "0 0 1,L * *",
    "0 0 15W * *",
    "0 0 * * 1#1",
    "0 0 * * MON#2",
    "30-10 * * * *",
    "0 0 * * FRI-MON",
    "0 0 29 2 1",
]


@pytest.mark.parametrize("expression", VALID)
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


INVALID = [
    # field count
    ("", FIELDS),
    ("* * * *", FIELDS),
    ("* * * * * *", FIELDS),
    ("0 0 * * * 2024", FIELDS),
    ("daily", FIELDS),
    # out of range, and the field that is
    ("60 * * * *", "minute field '60': out of range"),
    ("* 24 * * *", "hour field '24': out of range"),
    ("* * 0 * *", "day of month field '0': out of range"),
    ("* * 32 * *", "day of month field '32': out of range"),
    ("* * * 0 *", "month field '0': out of range"),
    ("* * * 13 *", "month field '13': out of range"),
    ("* * * * 8", "day of week field '8': out of range"),
    ("0-60 * * * *", "minute field '0-60': out of bands"),
    ("0,5,99 * * * *", "minute field '0,5,99': out of range"),
    ("0 0 * * 1#6", "day of week field '1#6': Invalid day_of_week value: '6'"),
    # zero steps
    ("*/0 * * * *", "minute field '*/0': step '0' in field 0 is not acceptable"),
    ("* 1-5/0 * * *", "hour field '1-5/0': step '0' in field 1 is not acceptable"),
    # not numbers, names in the wrong field, bad syntax
    ("x * * * *", "minute field 'x': not acceptable"),
    ("MON * * * *", "minute field 'MON': not acceptable"),
    ("* * * MON *", "month field 'MON': not acceptable"),
    ("* * * * JAN", "day of week field 'JAN': not acceptable"),
    ("* * * * MONDAY", "day of week field 'MONDAY': not acceptable"),
    ("1,,2 * * * *", "minute field '1,,2': not acceptable"),
    ("1-2-3 * * * *", "minute field '1-2-3': not acceptable"),
    ("*/x * * * *", "minute field '*/x': not acceptable"),
    ("-5 * * * *", "minute field '-5': negative numbers not allowed"),
    ("* * L-2 * *", "day of month field 'L-2': bands 'l-2' in field 2 are not acceptable"),
    # Jenkins' hashed fields need a hash Airflow does not give
    ("H * * * *", "minute field 'H': Hashed definitions must include hash_id"),
    # '?' only for the day fields
    ("? * * * *", "minute field '?': " + QUESTION),
    ("* ? * * *", "hour field '?': " + QUESTION),
    ("* * * ? *", "month field '?': " + QUESTION),
]


@pytest.mark.parametrize(("expression", "problem"), INVALID)
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


@pytest.mark.parametrize("expression", ["0 0 31 2 *", "0 0 30 2 *", "0 0 31 4,6,9,11 *"])
def test_a_day_that_never_comes_is_refused(expression):
    # croniter takes these, Airflow imports them, and its scheduler then finds no next run.
    with pytest.raises(ValueError) as caught:
        validate_schedule(expression)
    assert str(caught.value) == f"{expression!r} never runs: no date matches it"


def test_the_first_run_after_a_date():
    start = datetime(2026, 1, 1)
    assert first_run_after("@daily", start) == datetime(2026, 1, 2)
    assert first_run_after("@quarterly", start) == datetime(2026, 4, 1)
    assert first_run_after("0 0 L * *", start) == datetime(2026, 1, 31)
    assert first_run_after("@once", start) is None
    assert first_run_after("@continuous", start) is None


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_runs_after_the_latest_start_date(preset):
    """The config models check only cron expressions for a first run (not the presets): a
    preset runs after every start date they take."""
    start = datetime.combine(LATEST_START, datetime.min.time())
    found = first_run_after(preset, start)
    assert found is None if preset in {"@once", "@continuous"} else found > start


def test_a_preset_schedule_does_not_import_croniter():
    """croniter's import is spared for the presets (it also runs ``file`` on the interpreter)."""
    code = (
        "import sys\n"
        "from kedro_airflow_k8s.config import parse_config\n"
        "parse_config({'run_config': {'image': 'i', 'cron_expression': '@daily'}})\n"
        "assert 'croniter' not in sys.modules, 'imported for a preset'\n"
        "parse_config({'run_config': {'image': 'i', 'cron_expression': '0 5 * * *'}})\n"
        "assert 'croniter' in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr


def test_no_run_after_the_last_year_python_holds():
    with pytest.raises(ValueError) as caught:
        first_run_after("@yearly", datetime(9999, 6, 1))
    assert str(caught.value) == "'@yearly' never runs after 9999-06-01: no date matches it"


@pytest.mark.airflow
def test_airflow_takes_what_is_accepted_and_refuses_what_is_refused():
    """The same verdict as Airflow's own cron timetable (validate() and its next run)."""
    from airflow.exceptions import AirflowTimetableInvalid
    from airflow.timetables.base import TimeRestriction
    from airflow.timetables.trigger import CronTriggerTimetable
    from pendulum import DateTime

    start = DateTime(2026, 1, 1, tzinfo=DateTime.now("UTC").tzinfo)
    restriction = TimeRestriction(earliest=start, latest=None, catchup=True)
    for expression in VALID:
        timetable = CronTriggerTimetable(expression, timezone="UTC")
        timetable.validate()
        assert timetable.next_dagrun_info(
            last_automated_data_interval=None, restriction=restriction
        ), expression
    for expression, _ in INVALID:
        if len(expression.split()) == 5:
            with pytest.raises(AirflowTimetableInvalid):
                CronTriggerTimetable(expression, timezone="UTC").validate()
