"""Measuring helpers for e2e tests: a peak-RSS sampler."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path


def process_rss_bytes(pid: int | None = None) -> int:
    """Resident memory of one process (this one by default), 0 when it is gone."""
    path = Path(f"/proc/{pid or 'self'}/status")
    try:
        for line in path.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class PeakRssSampler:
    """Samples ``measure()`` every ``interval`` s in a daemon thread and keeps the peak (bytes)."""

    def __init__(self, measure: Callable[[], int], interval: float = 0.5) -> None:
        self.measure = measure
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):  # measuring must never break a test
                self.peak = max(self.peak, self.measure())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(5)

    @property
    def peak_mb(self) -> float:
        return self.peak / 1e6
