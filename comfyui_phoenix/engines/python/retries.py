"""Retries for one transfer: the engine's retry policy on transient failures, a fresh link on refusal.

Signed links expire, sometimes midway through a large file. The source is asked
for a new one once per run of refusals, shared by all the transfer's
connections; a refusal of the fresh link, before it moved a byte, ends the
transfer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from ...errors import LinkExpiredError
from ...net.answers import Answer
from ...net.endpoint import Endpoint
from ...net.retry import RETRYABLE, Backoff, RetryPolicy, with_retries
from ..transfer_answers import TransferWording
from .transfer_state import Transfer

T = TypeVar("T")


@dataclass(frozen=True)
class Retries:
    """How patiently a transfer's requests are tried again.

    Attributes:
        policy: The engine's policy: failures in a row (per piece) before the
            transfer fails, and the longest wait between tries.
    """

    policy: RetryPolicy

    async def run(
        self, t: Transfer, attempt: Callable[[], Awaitable[T]], moved: Callable[[], int]
    ) -> T:
        """Run ``attempt`` until it succeeds, retrying transient failures with backoff.

        The failure count resets whenever an attempt moved bytes (``moved`` grew).
        A refused link is refreshed once per run of refusals.

        Raises:
            TransientError: the failures in a row went past the policy; the hint says so.
            PhoenixError: a fresh link was refused too (as :class:`TransferWording`
                says it), or ``attempt`` failed in a way no retry mends.
        """
        backoff = Backoff(self.policy, f"{t.label} from {t.host}")
        while True:
            generation, before = t.generation, moved()
            try:
                return await attempt()
            except LinkExpiredError as exc:
                await self._refresh(t, generation, exc)
            except RETRYABLE as exc:
                if moved() > before:
                    backoff.reset()
                await backoff.wait(exc)

    async def resolve(self, t: Transfer) -> Endpoint:
        """A link for ``t`` from its source, retried while the source is busy."""
        return await with_retries(
            t.request.endpoint, policy=self.policy, what=f"the link for {t.label}"
        )

    async def _refresh(self, t: Transfer, generation: int, exc: LinkExpiredError) -> None:
        """Ask the source for a fresh link once per run of refusals; then give up."""
        async with t.refresh_lock:
            if generation != t.generation:
                return
            if t.refreshed:
                answer = Answer(exc.status or 0, t.endpoint.url)
                raise TransferWording(t.label, t.host).error(answer) from exc
            t.endpoint = await self.resolve(t)
            t.generation += 1
            t.refreshed = True
