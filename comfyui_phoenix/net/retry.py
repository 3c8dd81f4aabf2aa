"""The one retry policy: which failures earn another try, and how long to wait first.

Every request Phoenix makes goes through it: a source's API call, a link probe or
redirect chain, a header read, the link an engine resolves before (and during) a
transfer, and the transfer's own reads. A single 429, 503 or dropped connection
must not end a plan, nor a transfer of many gigabytes. The server's Retry-After
is honoured; otherwise the wait doubles per failure up to a cap, with jitter.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import aiohttp

from ..errors import PhoenixError, TransientError
from .endpoint import Endpoint, EndpointProvider

T = TypeVar("T")
log = logging.getLogger(__name__)

#: Failures worth another try; disk errors (OSError) are not among them.
RETRYABLE: tuple[type[BaseException], ...] = (
    TransientError,
    aiohttp.ClientError,
    asyncio.TimeoutError,
    ConnectionError,
)
#: The first wait; each further failure in a row doubles it, up to the policy's cap.
BACKOFF_BASE = 0.5
#: A Retry-After longer than this ends the transfer; the job can be retried later.
MAX_RETRY_AFTER = 600.0
#: Waits longer than this are logged as warnings: somebody is waiting on them.
NOTICEABLE_WAIT = 10.0


@dataclass(frozen=True)
class RetryPolicy:
    """How many failures in a row are retried, and the longest waits between them.

    Args:
        max_retries: failures in a row after which the last one is raised.
        backoff_cap: longest wait between tries, unless the server asks for longer.
        max_retry_after: a longer Retry-After ends the tries at once.
    """

    max_retries: int = 5
    backoff_cap: float = 30.0
    max_retry_after: float = MAX_RETRY_AFTER

    def allows(self, exc: BaseException, failures: int) -> bool:
        """Whether failure number ``failures`` in a row may be followed by another try."""
        return failures <= self.max_retries and (retry_after_of(exc) or 0) <= self.max_retry_after

    def delay(self, exc: BaseException, failures: int) -> float:
        """Seconds to wait after failure number ``failures`` in a row."""
        return backoff_delay(failures, cap=self.backoff_cap, retry_after=retry_after_of(exc))


#: Requests made while a plan is drawn up: somebody is waiting for the answer.
PLANNING = RetryPolicy(max_retries=5, backoff_cap=8.0, max_retry_after=120.0)
#: Requests whose answer only improves a plan (a header that tells the folder).
BEST_EFFORT = RetryPolicy(max_retries=2, backoff_cap=2.0, max_retry_after=10.0)


def retry_after_of(exc: BaseException) -> float | None:
    """The wait the server asked for with ``exc``, if it asked."""
    return exc.retry_after if isinstance(exc, TransientError) else None


def backoff_delay(failures: int, *, cap: float, retry_after: float | None = None) -> float:
    """Seconds to wait after failure number ``failures`` in a row (1 for the first).

    The server's Retry-After wins when it gave one; otherwise the wait doubles per
    failure up to ``cap``. Either way a random part keeps many clients that failed
    together from coming back together.
    """
    if retry_after is not None:
        return retry_after + random.uniform(0, 0.1 * retry_after + 0.05)  # noqa: S311 - jitter, not security
    ceiling = min(cap, BACKOFF_BASE * 2.0 ** (failures - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not security


class Backoff:
    """One run of failures in a row under a policy: each is waited out, until the policy ends it.

    A transfer starts the run over whenever bytes flowed since its last failure, so
    a long download is not failed by the sum of many short outages.

    Args:
        policy: how often and how long to wait.
        what: what is being asked for, for the log and the final error.
    """

    def __init__(self, policy: RetryPolicy, what: str) -> None:
        self.policy = policy
        self.what = what
        self.failures = 0
        self._began = time.monotonic()

    def reset(self) -> None:
        """Bytes flowed: the next failure is the first of a new run."""
        self.failures = 0
        self._began = time.monotonic()

    async def wait(self, exc: BaseException) -> None:
        """Count ``exc`` as the next failure in a row, and wait before the next try.

        Raises:
            PhoenixError: the policy allows no further try; :func:`gave_up`'s error,
                whose hint says how often Phoenix tried.
        """
        self.failures += 1
        policy = self.policy
        if not policy.allows(exc, self.failures):
            too_long = (retry_after_of(exc) or 0) > policy.max_retry_after
            elapsed = time.monotonic() - self._began
            error = gave_up(exc, self.what, self.failures, elapsed, too_long=too_long)
            raise error from (None if error is exc else exc)
        delay = policy.delay(exc, self.failures)
        level = logging.WARNING if delay >= NOTICEABLE_WAIT else logging.INFO
        log.log(level, "%s: %s; trying again in %.1f s", self.what, _describe(exc), delay)
        await asyncio.sleep(delay)


async def with_retries(
    call: Callable[[], Awaitable[T]], *, policy: RetryPolicy = PLANNING, what: str
) -> T:
    """Await ``call()``, trying again after transient and network failures.

    Args:
        call: makes the request anew on each try.
        policy: how often and how long to wait.
        what: what is being asked for, for the log ("the plan of civitai:123").

    Raises:
        TransientError: the failures went on beyond the policy; its hint says so.
        PhoenixError: any other refusal (not found, no access), at once.
    """
    backoff = Backoff(policy, what)
    while True:
        try:
            return await call()
        except RETRYABLE as exc:
            await backoff.wait(exc)


async def resolve_with_retry(
    provider: EndpointProvider, *, max_retries: int, backoff_cap: float, label: str = ""
) -> Endpoint:
    """Ask ``provider`` for an endpoint, retrying transient and network failures.

    Args:
        provider: The request's endpoint provider.
        max_retries: Failures in a row after which the last one is raised.
        backoff_cap: Longest wait between tries, unless the source asks for longer.
        label: The file's name, for the messages.

    Raises:
        TransientError: the source kept failing beyond ``max_retries``.
        PhoenixError: any other refusal (not found, no access), at once.
    """
    policy = RetryPolicy(max_retries=max_retries, backoff_cap=backoff_cap)
    return await with_retries(
        provider, policy=policy, what=f"the link for {label or 'the download'}"
    )


def gave_up(
    exc: BaseException, what: str, failures: int, elapsed: float, *, too_long: bool = False
) -> PhoenixError:
    """The error to raise once the tries are over, with a hint that says they are.

    Args:
        exc: the last failure.
        what: what was asked for.
        failures: how many tries failed.
        elapsed: seconds since the first try.
        too_long: the server asked to wait longer than the policy allows.
    """
    if isinstance(exc, TransientError):
        error = exc
    else:
        error = TransientError(f"Could not get {what} ({type(exc).__name__}).")
    if too_long:
        error.hint = f"The server asks to wait {retry_after_of(exc):.0f} s; try again after that."
    else:
        error.hint = (
            f"Phoenix tried {failures} times over {elapsed:.0f} s. Check the network "
            "connection, or try again later."
        )
    return error


def _describe(exc: BaseException) -> str:
    return exc.detail if isinstance(exc, PhoenixError) else type(exc).__name__
