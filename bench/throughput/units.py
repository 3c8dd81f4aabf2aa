"""The units the benchmark counts in, and how it names a file size."""

from __future__ import annotations

MB = 1_000_000
MiB = 1 << 20
GiB = 1 << 30


def size_label(size: int) -> str:
    """``2 GiB`` or ``256 MiB``: a size as the README writes it."""
    return f"{size / GiB:g} GiB" if size >= GiB else f"{size / MiB:g} MiB"
