"""The file cut into pieces: one Range request each, and the unit of resuming."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Piece:
    """Bytes ``start`` to ``end`` (exclusive) of the file, ``filled`` of them on disk."""

    start: int
    end: int
    filled: int = 0

    @property
    def offset(self) -> int:
        """The next byte this piece needs."""
        return self.start + self.filled

    @property
    def complete(self) -> bool:
        """Whether every byte of the piece is on disk."""
        return self.offset >= self.end

    def moved(self) -> int:
        """Bytes on disk so far; the retry budget resets when this grows."""
        return self.filled


def layout(size: int, piece_size: int) -> list[Piece]:
    """A file of ``size`` bytes in pieces of ``piece_size`` (the last one may be shorter)."""
    return [Piece(start, min(size, start + piece_size)) for start in range(0, size, piece_size)]
