"""The gate's tunables, and which networks count as trusted proxies.

Behind a proxy every request comes from the proxy's address, so the gate believes a
connection's ``X-Forwarded-*`` headers only when it comes from a trusted proxy (see
:mod:`.client`). In the container the trusted set is loopback and the private ranges
(RunPod's proxy reaches the pod over RunPod's private network; a connection from the
internet comes from a public address, whose forwarded headers are ignored). On a local
install it is loopback only (a reverse proxy on the same machine).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ...settings import Settings


_LOOPBACK = ("127.0.0.0/8", "::1/128")
_PRIVATE = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(*cidrs: str) -> tuple[Network, ...]:
    """Parse CIDR strings into networks (for :attr:`GateConfig.trusted_proxies`)."""
    return tuple(ipaddress.ip_network(c) for c in cidrs)


@dataclass(frozen=True)
class GateConfig:
    """The gate's tunables; :meth:`for_settings` gives the defaults for a deployment."""

    session_idle: float = 12 * 3600
    session_lifetime: float = 3 * 24 * 3600
    max_sessions: int = 256
    #: Failed logins a client gets without delay.
    free_attempts: int = 3
    #: The delay after the first failure beyond the free ones; it doubles with each failure.
    base_delay: float = 1.0
    max_delay: float = 60.0
    #: After this many failures in a row a client is locked out for ``lockout`` seconds.
    lockout_after: int = 10
    lockout: float = 15 * 60
    #: Failures older than this are forgotten.
    failure_window: float = 15 * 60
    #: Failures from all clients together within ``failure_window`` before every login waits.
    global_failures: int = 100
    trusted_proxies: tuple[Network, ...] = field(default_factory=lambda: networks(*_LOOPBACK))

    @classmethod
    def for_settings(cls, settings: Settings) -> GateConfig:
        """The defaults for where ``settings`` say Phoenix runs."""
        return cls.for_place(container=settings.container)

    @classmethod
    def for_place(cls, *, container: bool) -> GateConfig:
        """Container: loopback and private ranges are proxies (RunPod's); elsewhere loopback."""
        cidrs = _LOOPBACK + _PRIVATE if container else _LOOPBACK
        return cls(trusted_proxies=networks(*cidrs))
