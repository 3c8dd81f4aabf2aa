"""The brute-force throttle: failed logins and wrong API tokens, counted per client.

Each client gets a few free attempts, then an exponential delay, then a lockout; a ceiling
on failures from everyone together makes every login wait. An attempt counts as failed
from the moment it is checked until it succeeds, so a burst of parallel guesses gets no
more tries than the same guesses one by one. Who "the client" is behind a proxy is
:func:`~.client.client_address`'s answer.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from .config import GateConfig


@dataclass
class _Failures:
    count: int
    last: float
    blocked_until: float


class LoginThrottle:
    """Failed logins per client, with exponential delay and lockout, and a ceiling for all.

    Callers check with :meth:`begin`, which counts the attempt as failed until
    :meth:`succeeded` says otherwise: between the two the check may take a while (a
    password hash in a thread), and parallel attempts must already see it.
    """

    MAX_CLIENTS = 10_000

    def __init__(self, config: GateConfig, clock: Callable[[], float]) -> None:
        self._config = config
        self._clock = clock
        self._clients: OrderedDict[str, _Failures] = OrderedDict()
        self._recent: deque[float] = deque()

    def wait(self, client: str) -> float:
        """Seconds ``client`` must wait before its next attempt (0: go ahead)."""
        now = self._clock()
        self._forget_old(now)
        waits = [0.0]
        record = self._clients.get(client)
        if record is not None:
            waits.append(record.blocked_until - now)
        if len(self._recent) >= self._config.global_failures:
            waits.append(self._recent[0] + self._config.failure_window - now)
        return max(waits)

    def begin(self, client: str) -> float:
        """Start an attempt: 0 when it may go ahead (it counts as failed meanwhile), or the
        seconds ``client`` must wait (nothing is counted then)."""
        wait = self.wait(client)
        if wait > 0:
            return wait
        self.failed(client)
        return 0.0

    def failed(self, client: str) -> float:
        """Count a failure; return how long the client must now wait."""
        now = self._clock()
        self._recent.append(now)
        record = self._clients.pop(client, None) or _Failures(0, now, now)
        record.count += 1
        record.last = now
        record.blocked_until = now + self._delay(record.count)
        self._clients[client] = record
        while len(self._clients) > self.MAX_CLIENTS:
            self._clients.popitem(last=False)
        return record.blocked_until - now

    def succeeded(self, client: str) -> None:
        """An attempt :meth:`begin` let through was right: forget the client's failures,
        and take that attempt back out of the count for everyone."""
        record = self._clients.pop(client, None)
        if record is not None and record.last in self._recent:
            self._recent.remove(record.last)

    def _delay(self, failures: int) -> float:
        config = self._config
        if failures >= config.lockout_after:
            return config.lockout
        if failures < config.free_attempts:
            return 0.0
        return float(
            min(config.base_delay * 2 ** (failures - config.free_attempts), config.max_delay)
        )

    def _forget_old(self, now: float) -> None:
        horizon = now - self._config.failure_window
        while self._recent and self._recent[0] < horizon:
            self._recent.popleft()
        stale = [k for k, r in self._clients.items() if r.last < horizon and r.blocked_until <= now]
        for key in stale:
            del self._clients[key]
