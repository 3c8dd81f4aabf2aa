"""The bandwidth cap: a token bucket that readers sleep on before they write.

The engine keeps one for all its transfers together and each transfer may have
its own; a chunk waits on both.
"""

from __future__ import annotations

import asyncio
import time


class TokenBucket:
    """A token bucket (kept as a theoretical arrival time) shared by every caller.

    It allows a burst of a tenth of a second's worth, so readers sleeping on it
    keep the long-run rate at ``rate`` bytes per second.
    """

    def __init__(self, rate: int) -> None:
        self.rate = float(rate)
        self._burst = 0.1
        self._due = 0.0

    async def take(self, amount: int) -> None:
        """Wait until ``amount`` more bytes fit under the rate."""
        now = time.monotonic()
        self._due = max(self._due, now) + amount / self.rate
        wait = self._due - now - self._burst
        if wait > 0:
            await asyncio.sleep(wait)
