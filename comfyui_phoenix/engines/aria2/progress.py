"""Progress from aria2's status answers: the contiguous prefix, the reporter, the poll pacing.

The shared pipeline hashes ``NAME.part`` while bytes arrive, so what matters is
the prefix from offset 0 that is on disk, which aria2's bitfield tells.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..base import Progress, ProgressCallback

#: At most ten progress samples a second, whatever the poll interval.
MIN_REPORT_INTERVAL = 0.1
#: How often to poll once the end is near: the poll delay is the tail a user waits.
FINAL_POLL_INTERVAL = 0.02


def contiguous_bytes(bitfield: str | None, piece_length: int, total: int) -> int:
    """Bytes from offset 0 that are on disk: the leading complete pieces, capped at ``total``.

    aria2's bitfield is hexadecimal, the highest bit of the first digit being piece 0.
    """
    if not bitfield or piece_length <= 0:
        return 0
    pieces = 0
    for digit in bitfield:
        nibble = int(digit, 16)
        if nibble == 0xF:
            pieces += 4
            continue
        mask = 0x8
        while nibble & mask:
            pieces += 1
            mask >>= 1
        break
    done = pieces * piece_length
    return min(done, total) if total > 0 else done


def progress_of(status: Mapping[str, Any], fallback_total: int | None) -> Progress:
    """One :class:`Progress` from a ``tellStatus`` answer (aria2 sends numbers as strings)."""
    total = int(status.get("totalLength") or 0)
    done = int(status.get("completedLength") or 0)
    if status.get("status") == "complete":
        contiguous = done
    else:
        contiguous = contiguous_bytes(
            status.get("bitfield"), int(status.get("pieceLength") or 0), total
        )
    return Progress(
        done=done,
        total=total if total > 0 or status.get("status") == "complete" else fallback_total,
        speed=float(status.get("downloadSpeed") or 0),
        contiguous=min(contiguous, done),
        connections=int(status.get("connections") or 0),
    )


class Reporter:
    """Hands progress to the callback at most ten times a second (and always the last one).

    A download added again (to resume it) reports nothing until aria2 has read its
    control file, though nothing on disk shrank: the counts only ever go up, until
    :meth:`restart` says the part file really was thrown away.
    """

    def __init__(self, callback: ProgressCallback, fallback_total: int | None) -> None:
        self._callback = callback
        self._total = fallback_total
        self._done = 0
        self._contiguous = 0
        self._last = 0.0

    def restart(self) -> None:
        self._done = self._contiguous = 0

    def __call__(self, status: Mapping[str, Any], *, final: bool = False) -> None:
        sample = progress_of(status, self._total)
        self._total = sample.total
        self._done = max(self._done, sample.done)
        self._contiguous = max(self._contiguous, sample.contiguous)
        now = time.monotonic()
        if not final and now - self._last < MIN_REPORT_INTERVAL:
            return
        self._last = now
        self._callback(replace(sample, done=self._done, contiguous=self._contiguous))


def next_poll(status: Mapping[str, Any], interval: float) -> float:
    """Poll faster in the last second of a transfer, so its completion is seen at once."""
    try:
        left = int(status.get("totalLength", 0)) - int(status.get("completedLength", 0))
        speed = int(status.get("downloadSpeed", 0))
    except (TypeError, ValueError):
        return interval
    if speed > 0 and 0 <= left <= speed * 1.0:
        return min(interval, max(FINAL_POLL_INTERVAL, left / speed))
    return interval
