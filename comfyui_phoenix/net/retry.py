"""Retry pacing shared by the engines, and link resolution that survives a busy source.

Resolving a link is a request of its own (the CivitAI API, a HuggingFace resolve
call): a single 429, 503 or dropped connection there must not end a transfer of
many gigabytes, neither at the start nor when a signed link expires midway.
"""

from __future__ import annotations

import asyncio
import logging
import random

import aiohttp

from ..errors import PhoenixError, TransientError
from .endpoint import Endpoint, EndpointProvider

log = logging.getLogger(__name__)

#: Failures worth another try; disk errors (OSError) are not among them.
RETRYABLE: tuple[type[BaseException], ...] = (
    TransientError,
    aiohttp.ClientError,
    asyncio.TimeoutError,
    ConnectionError,
)
#: The first wait; each further failure in a row doubles it, up to the caller's cap.
BACKOFF_BASE = 0.5
#: A Retry-After longer than this ends the transfer; the job can be retried later.
MAX_RETRY_AFTER = 600.0


def retry_after_of(exc: BaseException) -> float | None:
    """The wait the server asked for with ``exc``, if it asked."""
    return exc.retry_after if isinstance(exc, TransientError) else None


def worth_retrying(exc: BaseException, failures: int, max_retries: int) -> bool:
    """Whether failure number ``failures`` in a row may be followed by another try."""
    return failures <= max_retries and (retry_after_of(exc) or 0) <= MAX_RETRY_AFTER


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
    failures = 0
    while True:
        try:
            return await provider()
        except RETRYABLE as exc:
            failures += 1
            if not worth_retrying(exc, failures, max_retries):
                error = _gave_up(exc, label)
                raise error from (None if error is exc else exc)
            delay = backoff_delay(failures, cap=backoff_cap, retry_after=retry_after_of(exc))
            log.info(
                "%s: resolving the link failed (%s); trying again in %.1f s",
                label or "download",
                _describe(exc),
                delay,
            )
            await asyncio.sleep(delay)


def _describe(exc: BaseException) -> str:
    return exc.detail if isinstance(exc, PhoenixError) else type(exc).__name__


def _gave_up(exc: BaseException, label: str) -> PhoenixError:
    if isinstance(exc, TransientError):
        return exc
    return TransientError(
        f"The link for {label or 'the download'} could not be resolved ({type(exc).__name__}).",
        hint="Check the network; Phoenix resumes the download when it is retried.",
    )
