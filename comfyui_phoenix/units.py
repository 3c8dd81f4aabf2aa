"""Sizes as people read them (decimal units, as disks and download speeds are sold)."""

from __future__ import annotations


def human_size(size: int | None) -> str:
    """``1.5 GB`` for 1_500_000_000; ``?`` when the size is unknown."""
    if size is None:
        return "?"
    if size < 1000:
        return f"{size} B"
    value = float(size)
    for unit in ("KB", "MB", "GB"):
        value /= 1000
        if value < 1000:
            return f"{value:.1f} {unit}"
    return f"{value / 1000:.1f} TB"
