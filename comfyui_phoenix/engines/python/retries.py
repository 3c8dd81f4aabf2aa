"""Retries for one transfer: capped backoff on transient failures, a fresh link on refusal.

Signed links expire, sometimes midway through a large file. The source is asked
for a new one once per run of refusals, shared by all the transfer's
connections; a refusal of the fresh link, before it moved a byte, ends the
transfer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from ...errors import LinkExpiredError
from ...net.endpoint import Endpoint
from ...net.retry import (
    RETRYABLE,
    backoff_delay,
    resolve_with_retry,
    retry_after_of,
    worth_retrying,
)
from .http_errors import gave_up, refused
from .transfer_state import Transfer

T = TypeVar("T")


@dataclass(frozen=True)
class Retries:
    """How patiently a transfer's requests are tried again.

    Attributes:
        max_retries: Failures in a row (per piece) before the transfer fails.
        backoff_cap: Longest wait between retries, unless the server asks for longer.
    """

    max_retries: int
    backoff_cap: float

    async def run(
        self, t: Transfer, attempt: Callable[[], Awaitable[T]], moved: Callable[[], int]
    ) -> T:
        """Run ``attempt`` until it succeeds, retrying transient failures with backoff.

        The failure count resets whenever an attempt moved bytes (``moved`` grew).
        A refused link is refreshed once per run of refusals.

        Raises:
            TransientError: the failures in a row went past ``max_retries``.
            PhoenixError: a fresh link was refused too (:func:`.http_errors.refused`),
                or ``attempt`` failed in a way no retry mends.
        """
        failures = 0
        while True:
            generation, before = t.generation, moved()
            try:
                return await attempt()
            except LinkExpiredError as exc:
                await self._refresh(t, generation, exc)
            except RETRYABLE as exc:
                failures = 1 if moved() > before else failures + 1
                await self._back_off(t, exc, failures)

    async def resolve(self, t: Transfer) -> Endpoint:
        """A link for ``t`` from its source, retried while the source is busy."""
        return await resolve_with_retry(
            t.request.endpoint,
            max_retries=self.max_retries,
            backoff_cap=self.backoff_cap,
            label=t.label,
        )

    async def _refresh(self, t: Transfer, generation: int, exc: LinkExpiredError) -> None:
        """Ask the source for a fresh link once per run of refusals; then give up."""
        async with t.refresh_lock:
            if generation != t.generation:
                return
            if t.refreshed:
                raise refused(t, exc) from exc
            t.endpoint = await self.resolve(t)
            t.generation += 1
            t.refreshed = True

    async def _back_off(self, t: Transfer, exc: BaseException, failures: int) -> None:
        if not worth_retrying(exc, failures, self.max_retries):
            error = gave_up(t, exc)
            raise error from (None if error is exc else exc)
        retry_after = retry_after_of(exc)
        await asyncio.sleep(backoff_delay(failures, cap=self.backoff_cap, retry_after=retry_after))
