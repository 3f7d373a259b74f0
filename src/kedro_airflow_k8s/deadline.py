"""One time limit per command for everything it waits on over the network.

The user sets it with the group's ``--timeout SECONDS`` option or ``KEDRO_AIRFLOW_K8S_TIMEOUT``;
every request, retry, ``Retry-After`` pause and storage write takes at most what is left of it.
The explicit waits of ``run-once`` (``--parse-timeout``, ``--wait-for-completion``) are limits
of their own; inside them the time limit is how long Airflow may stay unreachable
(:mod:`kedro_airflow_k8s.operate.patience`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kedro_airflow_k8s.errors import TimedOut

TIMEOUT_ENV = "KEDRO_AIRFLOW_K8S_TIMEOUT"
DEFAULT_TIMEOUT = 300.0


@dataclass
class Deadline:
    """A point in time ``seconds`` after it was made, on a monotonic clock."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    start: float = field(default=-1.0)

    def __post_init__(self) -> None:
        if not self.seconds > 0:
            raise ValueError(f"a time limit must be more than 0 s, got {self.seconds!r}")
        if self.start < 0:
            self.start = self.clock()

    def remaining(self) -> float:
        """Seconds left (0 once passed)."""
        return max(0.0, self.start + self.seconds - self.clock())

    def expired(self) -> bool:
        return self.remaining() <= 0

    def bound(self, wanted: float) -> float:
        """``wanted`` seconds, or what is left when that is less."""
        return min(wanted, self.remaining())

    def check(self, what: str) -> None:
        """Raise :class:`TimedOut` naming ``what`` was being done once the time is up."""
        if self.expired():
            raise TimedOut(self.message(what))

    def message(self, what: str) -> str:
        return (
            f"{what}: gave up after {self.seconds:g} s, the command's time limit "
            f"(--timeout or {TIMEOUT_ENV})"
        )
