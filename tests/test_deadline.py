"""The command's time limit, on a clock the test moves."""

from __future__ import annotations

import pytest

from kedro_airflow_k8s.deadline import Deadline
from kedro_airflow_k8s.errors import EXIT_TIMEOUT, TimedOut


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_remaining_time_counts_down_to_zero() -> None:
    clock = Clock()
    deadline = Deadline(10, clock=clock)
    assert (deadline.remaining(), deadline.bound(3), deadline.bound(30)) == (10, 3, 10)
    clock.now += 7.5
    assert (deadline.remaining(), deadline.bound(3), deadline.expired()) == (2.5, 2.5, False)
    clock.now += 5
    assert (deadline.remaining(), deadline.bound(3), deadline.expired()) == (0, 0, True)


def test_check_raises_a_timeout_naming_what_was_being_done() -> None:
    clock = Clock()
    deadline = Deadline(2, clock=clock)
    deadline.check("uploading the DAG")  # time left: nothing happens
    clock.now += 2
    with pytest.raises(TimedOut) as info:
        deadline.check("uploading the DAG")
    assert info.value.exit_code == EXIT_TIMEOUT
    assert info.value.message == (
        "uploading the DAG: gave up after 2 s, the command's time limit (--timeout or "
        "KEDRO_AIRFLOW_K8S_TIMEOUT)"
    )


@pytest.mark.parametrize("seconds", [0, -1, float("nan")])
def test_a_limit_must_be_positive(seconds: float) -> None:
    with pytest.raises(ValueError, match="must be more than 0 s"):
        Deadline(seconds)
