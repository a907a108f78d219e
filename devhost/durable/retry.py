"""Host-side retry semantics for ``call_*_with_retry``.

Retries are performed by DTFx's ``RetryInterceptor`` on the host, not by the SDK: after *each*
failed attempt, including the last, the host creates a timer; when it fires it either schedules
the next attempt (a new task id) or, once attempts are exhausted, lets the failure surface. The
SDK's ``RetryAbleTask`` mirrors exactly this, so the ids must line up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


def retry_delay(
    first_retry_interval_ms: int,
    attempt_index: int,
    backoff_coefficient: float = 1.0,
    max_retry_interval: timedelta | None = None,
) -> timedelta:
    """Delay after failed attempt ``attempt_index`` (0-based), as DTFx ``ComputeNextDelay``.

    The Python SDK only sends ``firstRetryIntervalInMilliseconds`` and ``maxNumberOfAttempts``,
    so the extension's defaults apply: back-off coefficient 1 and no maximum interval.
    """
    delay_ms = first_retry_interval_ms * (backoff_coefficient**attempt_index)
    delay = timedelta(milliseconds=delay_ms)
    if max_retry_interval is not None and delay > max_retry_interval:
        return max_retry_interval
    return delay


@dataclass
class RetryTracker:
    """One ``*_with_retry`` call across its attempts."""

    kind: str  # "activity" | "sub_orchestration"
    name: str
    input: str | None
    first_retry_interval_ms: int
    max_attempts: int
    instance_id: str | None = None
    version: str = ""
    attempt: int = 1

    @property
    def exhausted(self) -> bool:
        return self.attempt >= self.max_attempts

    def next_delay(self) -> timedelta:
        return retry_delay(self.first_retry_interval_ms, self.attempt - 1)
