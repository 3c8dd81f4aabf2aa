"""The targets both Phoenix engines must meet, and each engine's verdict against them."""

from __future__ import annotations

from .clients import PHOENIX_CLIENTS
from .result import Result

#: The issue's targets for both Phoenix engines.
TARGET_WALL_FRACTION = 0.85
TARGET_VS_HF = 5.0
TARGET_TAIL_SHARE = 0.10
TARGET_RSS_MB = 200.0


def by_name(results: list[Result]) -> dict[str, Result]:
    """The successful results, by client name."""
    return {r.client: r for r in results if r.ok}


def check_targets(results: list[Result]) -> dict[str, dict[str, bool]]:
    """Each Phoenix engine against the issue's targets."""
    found = by_name(results)
    hf = found.get("hf_hub_download")
    verdicts: dict[str, dict[str, bool]] = {}
    for name in PHOENIX_CLIENTS:
        r = found.get(name)
        if r is None:
            continue
        verdicts[name] = {
            f"wall >= {TARGET_WALL_FRACTION} of cap": r.wall_fraction >= TARGET_WALL_FRACTION,
            f"tail <= {TARGET_TAIL_SHARE:.0%} of transfer": r.tail
            <= TARGET_TAIL_SHARE * r.transfer,
            f"peak RSS <= {TARGET_RSS_MB:g} MB": r.peak_rss_mb <= TARGET_RSS_MB,
        }
        if hf is not None:
            verdicts[name][f">= {TARGET_VS_HF:g}x hf_hub_download"] = (
                r.wall_rate >= TARGET_VS_HF * hf.wall_rate
            )
    return verdicts
