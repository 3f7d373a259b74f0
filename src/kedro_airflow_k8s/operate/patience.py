"""Polls of a long wait that outlive an Airflow API restart.

During ``run-once``'s waits (for the parse, for the run) Airflow may go away for a while: an API
server restarted, a deployment rolled. :class:`Patience` makes each poll with the command's time
limit as its own budget; when Airflow does not answer (refused, no answer, 5xx after every
retry), the wait goes on and says so, until Airflow answers again (its verdict is then read as
usual: the transport logs in again when the old token is refused) or has been gone longer than
the command's time limit, which ends the wait with :class:`~kedro_airflow_k8s.errors.TimedOut`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from kedro_airflow_k8s.airflow_api import AirflowApi, Unavailable
from kedro_airflow_k8s.airflow_api.messages import LIMIT_HINT
from kedro_airflow_k8s.airflow_api.transport import OutOfTime
from kedro_airflow_k8s.deadline import Deadline
from kedro_airflow_k8s.errors import TimedOut

T = TypeVar("T")

#: A poll is retried once at once (a dropped connection); the wait's next poll is the retry
#: after that, so that an Airflow that went away is said at once, not after a long backoff.
POLL_RETRIES = 1


class WaitOver(Exception):
    """The wait's own limit passed during a poll (the caller reports it in its words)."""


class Patience:
    """See the module docstring. ``allowance``: seconds Airflow may stay unreachable in a row
    (the command's ``--timeout``); ``limit``: the wait's own deadline."""

    def __init__(
        self,
        api: AirflowApi,
        *,
        allowance: float,
        limit: Deadline,
        doing: str,
        echo: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api, self.allowance, self.limit, self.doing = api, allowance, limit, doing
        self.echo, self.clock = echo, clock
        self.gone_since: float | None = None
        self.problem = ""

    def poll(self, call: Callable[[], T], consequence: str = "") -> T | None:
        """``call()``, or None when Airflow did not answer (the caller polls again later).

        Raises :class:`WaitOver` when the wait's limit passed, and TimedOut when Airflow has
        been gone for longer than the allowance (``consequence`` ends that message)."""
        if self.limit.expired():
            raise WaitOver
        started = self.clock()
        if self.gone_since is not None and started - self.gone_since >= self.allowance:
            self._lost(started, self.problem, consequence, None, final=True)
        budget = Deadline(self._budget(started), clock=self.clock)
        try:
            with self.api.bounded(budget, retries=POLL_RETRIES):
                result = call()
        except Unavailable as exc:
            self._lost(started, exc.problem or "no answer", consequence, exc)
            return None
        except TimedOut as exc:
            if self.limit.expired():
                raise WaitOver from exc
            problem = exc.problem if isinstance(exc, OutOfTime) else ""
            self._lost(started, problem or self.problem or "no answer", consequence, exc, True)
            return None
        if self.gone_since is not None:
            self.echo(
                f"Airflow at {self.api.host} answers again after "
                f"{self.clock() - self.gone_since:.0f} s; {self.doing} goes on."
            )
            self.gone_since, self.problem = None, ""
        return result

    def _budget(self, now: float) -> float:
        since = now if self.gone_since is None else self.gone_since
        return max(min(since + self.allowance - now, self.limit.remaining()), 1e-3)

    def _lost(
        self,
        started: float,
        problem: str,
        consequence: str,
        cause: BaseException | None,
        final: bool = False,
    ) -> None:
        now = self.clock()
        if self.gone_since is None:
            self.gone_since = started
            self.echo(
                f"Airflow at {self.api.host} does not answer ({problem}) while {self.doing}; "
                f"trying again for up to {self.allowance:g} s."
            )
        self.problem = problem
        if final or now - self.gone_since >= self.allowance:
            raise TimedOut(
                f"lost Airflow at {self.api.host} while {self.doing}: no answer for "
                f"{now - self.gone_since:.0f} s (last: {problem}); gave up after "
                f"{self.allowance:g} s, {LIMIT_HINT}{consequence}"
            ) from cause
