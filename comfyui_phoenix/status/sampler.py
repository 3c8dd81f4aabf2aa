"""A reading taken in a worker thread on a schedule, of which callers see the latest.

The samplers in this package share this loop: a status request must never wait on
NVML or on ``statvfs`` of a network volume, so those run in ``asyncio.to_thread`` and
the request copies whatever the last reading was.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class Sampler(Generic[T]):
    """Takes :meth:`read` every ``interval`` seconds in a worker thread, keeps the result.

    Subclasses implement :meth:`read` (blocking, runs in a thread) and may override
    :meth:`next_delay` to sample less often in some states.
    """

    def __init__(self, initial: T, *, interval: float) -> None:
        self.interval = interval
        self._value = initial
        self._samples = 0
        self._stored_at: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Event | None = None

    def read(self) -> T:
        """Take one reading. Runs in a worker thread; must not raise for expected states."""
        raise NotImplementedError

    def next_delay(self, value: T) -> float:
        """Seconds to wait after ``value`` before the next reading."""
        return self.interval

    def latest(self) -> T:
        """The most recent reading (or the initial value); never blocks."""
        return self._value

    @property
    def samples(self) -> int:
        """How many readings have been taken since construction."""
        return self._samples

    @property
    def age(self) -> float | None:
        """Seconds since the latest reading was stored, or None before the first."""
        return None if self._stored_at is None else time.monotonic() - self._stored_at

    @property
    def running(self) -> bool:
        """Whether the background loop is running."""
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start sampling in the background; returns at once, before the first reading."""
        if self.running:
            return
        self._ready = asyncio.Event()
        self._task = asyncio.create_task(self._loop(), name=f"phoenix-{type(self).__name__}")

    async def wait_ready(self, timeout: float | None = None) -> T:
        """Wait (at most ``timeout`` seconds) for the first reading after :meth:`start`."""
        if self._ready is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._ready.wait(), timeout)
        return self._value

    async def stop(self) -> None:
        """Stop the background loop; a reading already in its thread is left to finish."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def _store(self, value: T) -> None:
        self._value = value
        self._samples += 1
        self._stored_at = time.monotonic()

    async def _loop(self) -> None:
        while True:
            try:
                value = await asyncio.to_thread(self.read)
            except Exception:
                # A reading that fails in an unforeseen way must not end the loop: the
                # status would freeze on an old value with nothing to say why.
                log.exception("%s: a reading failed; keeping the previous one", type(self).__name__)
                await asyncio.sleep(self.interval)
                continue
            self._store(value)
            if self._ready is not None:
                self._ready.set()
            await asyncio.sleep(self.next_delay(value))
