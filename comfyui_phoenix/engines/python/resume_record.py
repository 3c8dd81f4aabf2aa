"""Resume after kill -9: the record ``NAME.part.phx`` beside the part file.

The record holds the file's size, its validators and which pieces are on disk,
as compact JSON::

    {"version": 1, "size": 3145728, "etag": "\\"abc\\"", "last_modified": null,
     "piece_size": 262144, "complete": [[0, 3], [5, 6]], "partial": {"4": 1024}}

It is rewritten through a temporary and ``os.replace``, so a process killed at
any moment leaves either the old record or the new one, never half of one. A
record that does not parse, or whose part file has another size, is ignored and
the download starts over.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .pieces import Piece, layout
from .remote_file import RemoteFile

log = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".phx"
SIDECAR_VERSION = 1

#: A resume record as it is stored (see the module docstring).
ResumeRecord = dict[str, Any]


def sidecar_path(part_path: Path) -> Path:
    """Where the engine keeps its resume record for ``part_path``."""
    return part_path.with_name(part_path.name + SIDECAR_SUFFIX)


def load_record(part_path: Path) -> ResumeRecord | None:
    """A previous run's record, if it is well formed and its part file is still whole."""
    try:
        record = json.loads(sidecar_path(part_path).read_text(encoding="utf-8"))
        valid = (
            record["version"] == SIDECAR_VERSION
            and int(record["size"]) == part_path.stat().st_size
            and int(record["piece_size"]) > 0
        )
        pieces = layout(int(record["size"]), int(record["piece_size"]))
        apply_record(pieces, record)
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None
    return record if valid and isinstance(record, dict) else None


def write_record(sidecar: Path, record: ResumeRecord) -> None:
    """Replace the record at ``sidecar`` in one step; a failure is only logged."""
    temporary = _temporary(sidecar)
    try:
        temporary.write_text(json.dumps(record, separators=(",", ":")), encoding="utf-8")
        os.replace(temporary, sidecar)
    except OSError as exc:
        # Only resuming suffers; the download itself can go on.
        log.warning("Could not record the download state in %s: %s", sidecar, exc)


def discard_record(part_path: Path) -> None:
    """Remove the record of ``part_path`` and any temporary left from writing it."""
    sidecar = sidecar_path(part_path)
    for path in (sidecar, _temporary(sidecar)):
        path.unlink(missing_ok=True)


def record_of(remote: RemoteFile, piece_size: int, pieces: list[Piece]) -> ResumeRecord:
    """The record of ``remote`` laid out in ``pieces``, as they are on disk now."""
    return {
        "version": SIDECAR_VERSION,
        "size": remote.size,
        "etag": remote.etag,
        "last_modified": remote.last_modified,
        "piece_size": piece_size,
        "complete": _runs(i for i, piece in enumerate(pieces) if piece.complete),
        "partial": {
            str(i): piece.filled
            for i, piece in enumerate(pieces)
            if piece.filled and not piece.complete
        },
    }


def describes(record: ResumeRecord, remote: RemoteFile) -> bool:
    """Whether a sidecar describes this very file (same size and validator)."""
    if record.get("size") != remote.size:
        return False
    if remote.etag and record.get("etag"):
        return bool(record["etag"] == remote.etag)
    if remote.last_modified and record.get("last_modified"):
        return bool(record["last_modified"] == remote.last_modified)
    return False


def apply_record(pieces: list[Piece], record: ResumeRecord) -> None:
    """Mark in ``pieces`` the bytes that ``record`` says are on disk.

    Raises:
        IndexError: the record names a piece the layout does not have.
    """
    for first, stop in record["complete"]:
        for piece in pieces[first:stop]:
            piece.filled = piece.end - piece.start
    for index, filled in record["partial"].items():
        if not 0 <= int(index) < len(pieces):
            raise IndexError(index)
        piece = pieces[int(index)]
        piece.filled = min(int(filled), piece.end - piece.start)


def _runs(indices: Iterable[int]) -> list[list[int]]:
    """``[0, 1, 2, 5]`` → ``[[0, 3], [5, 6]]``: complete pieces, compactly."""
    runs: list[list[int]] = []
    for index in indices:
        if runs and runs[-1][1] == index:
            runs[-1][1] = index + 1
        else:
            runs.append([index, index + 1])
    return runs


def _temporary(sidecar: Path) -> Path:
    return sidecar.with_name(sidecar.name + ".tmp")
