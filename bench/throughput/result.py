"""One client's numbers from one run, as the report and the JSON file show them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Result:
    """One client's numbers; times in seconds, rates in bytes per second."""

    client: str
    ok: bool
    note: str
    size: int = 0
    wall: float = 0.0
    startup: float = 0.0
    transfer: float = 0.0
    tail: float = 0.0
    flush: float = 0.0
    engine_tail: float = 0.0
    ready: float = 0.0
    after: float = 0.0
    transfer_rate: float = 0.0
    wall_rate: float = 0.0
    transfer_fraction: float = 0.0
    wall_fraction: float = 0.0
    peak_rss_mb: float = 0.0
    client_cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    system_busy: float = 0.0
    system_iowait: float = 0.0
    other_cpu_s: float = 0.0
    connections: int = 0
    cdn_bytes: int = 0
    cdn_gets: int = 0
    cdn_ranges: list[str] = field(default_factory=list)
    growth: list[tuple[float, int]] = field(default_factory=list)
    verified: bool = False
    error: str = ""
