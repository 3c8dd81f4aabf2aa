"""Sizes as people read them (decimal units, as disks and download speeds are sold)."""

from __future__ import annotations


def human_size(size: int | None) -> str:
    """``1.5 GB`` for 1_500_000_000; ``?`` when the size is unknown."""
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"  # not reached: TB takes every larger value
