"""The download pipeline: what every download goes through, whichever engine moves the bytes.

The part file is taken over first (:mod:`.part_owners`): no aria2c of a Phoenix
that died still writes it, and one the other engine began is started over. Then
free space is checked; then the engine fills the part file while a hasher follows
the contiguous prefix in a thread; then size, hash and content are checked, and
only then is the file renamed into place. A file that fails a check is deleted,
never kept or reused; a cancelled or failed transfer keeps its part file for a
resume.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import DiskFullError, IntegrityError
from .base import Engine, Progress, ProgressCallback, TransferRequest
from .part_owners import take_over
from .verify import StreamingHasher, check_size_and_hash, publish, sniff_content

log = logging.getLogger(__name__)

#: The free-space margin is this share of the disk, at most ``min_free_margin``:
#: 1 GiB keeps a big disk usable for everything else, 5% keeps small disks usable at all.
MARGIN_SHARE = 0.05
#: The most a download leaves free on a large disk.
DEFAULT_MIN_FREE_MARGIN = 1 << 30


class _HashFollower:
    """Feeds a :class:`StreamingHasher` from progress, and starts over when the engine does.

    An engine that restarts from byte 0 (a server ignored a Range, the file changed)
    reports a smaller ``contiguous``; the bytes hashed so far are then worthless.
    """

    def __init__(self, path: Path, algorithm: str | None) -> None:
        self._path = path
        self._algorithm = algorithm
        self._hasher = StreamingHasher(path, algorithm)
        self._stale: list[StreamingHasher] = []
        self._watermark = 0

    def advance(self, contiguous: int) -> None:
        if contiguous < self._watermark:
            self._stale.append(self._hasher)
            self._hasher = StreamingHasher(self._path, self._algorithm)
        self._watermark = contiguous
        self._hasher.advance(contiguous)

    async def drop_stale(self) -> None:
        while self._stale:
            await asyncio.to_thread(self._stale.pop().cancel)

    async def finish(self, size: int) -> str | None:
        await self.drop_stale()
        return await asyncio.to_thread(self._hasher.finish, size)

    async def cancel(self) -> None:
        self._stale.append(self._hasher)
        await self.drop_stale()


def free_space_margin(total: int, min_free_margin: int) -> int:
    """Bytes to leave free on a disk of ``total`` bytes."""
    return min(min_free_margin, int(total * MARGIN_SHARE))


def bytes_on_disk(path: Path) -> int:
    """Bytes a (possibly sparse, pre-sized) part file already occupies; 0 when absent."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return 0
    blocks = getattr(stat, "st_blocks", None)
    return min(stat.st_size, blocks * 512) if blocks is not None else stat.st_size


def check_free_space(
    name: str, folder: Path, part_path: Path, expected_size: int | None, min_free_margin: int
) -> None:
    """Raise :class:`DiskFullError` unless ``folder`` can take the rest of the file and a margin."""
    if expected_size is None:
        return
    usage = shutil.disk_usage(folder)
    needed = max(0, expected_size - bytes_on_disk(part_path))
    needed += free_space_margin(usage.total, min_free_margin)
    if usage.free < needed:
        raise DiskFullError(
            f"Not enough space for {name}: it needs {_gb(needed)} GB more, "
            f"only {_gb(usage.free)} GB free in {folder}.",
            hint="Free space or choose another folder.",
        )


def _gb(amount: int) -> str:
    return f"{amount / 1e9:.2f}" if amount < 10e9 else f"{amount / 1e9:.1f}"


async def download_verified(
    engine: Engine,
    request: TransferRequest,
    *,
    final_path: Path,
    expected_size: int | None,
    hash_spec: tuple[str, str] | None,
    on_progress: ProgressCallback,
    min_free_margin: int = DEFAULT_MIN_FREE_MARGIN,
    on_tail: Callable[[float], None] | None = None,
) -> str | None:
    """Download into ``request.part_path``, verify, and publish at ``final_path``.

    Args:
        engine: The engine that moves the bytes.
        request: Where the part file goes and how to reach the bytes.
        final_path: The model's name; nothing appears there unless every check passed.
        expected_size: The size the source promised, if known.
        hash_spec: ``(algorithm, hex digest)`` the source promised (``sha256``/``blake3``).
        on_progress: Receives the engine's progress samples.
        min_free_margin: Free space to leave, at most; see :func:`free_space_margin`.
        on_tail: Receives the seconds from the last byte on disk to the published file.

    Returns:
        The hex digest of the file (of ``hash_spec``'s algorithm), or None without one.

    Raises:
        DiskFullError: before any byte moves, when the disk cannot hold the file.
        IntegrityError: the bytes are not the promised file; the part file is deleted.
        PhoenixError: whatever the engine raised; the part file stays for a resume.
    """
    name = final_path.name
    await asyncio.to_thread(final_path.parent.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(take_over, engine.name, request.part_path)
    await asyncio.to_thread(
        check_free_space,
        name,
        final_path.parent,
        request.part_path,
        expected_size,
        min_free_margin,
    )
    follower = _HashFollower(request.part_path, hash_spec[0] if hash_spec else None)

    def forward(progress: Progress) -> None:
        follower.advance(progress.contiguous)
        on_progress(progress)

    finished = False
    try:
        await engine.transfer(request, forward)
        last_byte = time.monotonic()
        digest = await _verify(follower, request.part_path, name, expected_size, hash_spec)
        finished = True
        await asyncio.to_thread(publish, request.part_path, final_path)
        await asyncio.to_thread(engine.discard, request.part_path)
    except IntegrityError:
        # The hasher closes its handle first: Windows cannot delete a file that is open.
        await follower.cancel()
        await asyncio.to_thread(engine.discard, request.part_path)
        raise
    finally:
        if not finished:
            await follower.cancel()
    tail = time.monotonic() - last_byte
    log.info("Verified and published %s %.2f s after its last byte.", name, tail)
    if on_tail is not None:
        on_tail(tail)
    return digest


async def _verify(
    follower: _HashFollower,
    part_path: Path,
    name: str,
    expected_size: int | None,
    hash_spec: tuple[str, str] | None,
) -> str | None:
    size = (await asyncio.to_thread(part_path.stat)).st_size
    digest = await follower.finish(size)
    check_size_and_hash(name, size, expected_size, digest, hash_spec)
    await asyncio.to_thread(sniff_content, part_path, name)
    return digest
