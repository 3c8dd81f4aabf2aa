"""Shared by every engine: hash while bytes arrive, check the content, publish atomically.

The hasher follows the engine's contiguous watermark in a thread, reading what is
already on disk (from the page cache) and flushing it durably as it goes, so the
work left after the last byte is short. Nothing is ever published under a model's
name unless its size, hash and header check out.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import threading
from pathlib import Path
from typing import Any, Protocol

from ..errors import IntegrityError

CHUNK = 8 << 20
FLUSH_EVERY = (
    32 << 20
)  # small enough that even a 256 MiB file is mostly flushed before its last byte
MAX_SAFETENSORS_HEADER = 100 << 20
_TEXT_STARTS = (b"<!doctype", b"<html", b"<?xml", b"<head", b"<body", b'{"', b'{ "', b"[{")


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> object: ...

    def hexdigest(self) -> str: ...


def new_hasher(algorithm: str) -> _Hasher:
    if algorithm == "sha256":
        return hashlib.sha256()
    if algorithm == "blake3":
        from blake3 import blake3  # deferred: only needed when a source gives BLAKE3

        return blake3(max_threads=blake3.AUTO)
    raise ValueError(f"unknown hash algorithm {algorithm}")


class StreamingHasher:
    """Hashes ``path`` from offset 0 as ``advance(n)`` says bytes ``[0, n)`` are on disk."""

    def __init__(self, path: Path, algorithm: str | None) -> None:
        self.path = path
        self.algorithm = algorithm
        self._hasher = new_hasher(algorithm) if algorithm else None
        self._hashed = 0
        self._flushed = 0
        self._target = 0
        self._final: int | None = None
        self._cond = threading.Condition()
        self._error: BaseException | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="phoenix-hash", daemon=True)
        self._thread.start()

    @property
    def hashed(self) -> int:
        return self._hashed

    def advance(self, contiguous: int) -> None:
        with self._cond:
            if contiguous > self._target:
                self._target = contiguous
                self._cond.notify()

    def finish(self, total: int) -> str | None:
        """Hash through ``total`` bytes, flush the file to disk, return the hex digest."""
        with self._cond:
            self._final = total
            self._target = max(self._target, total)
            self._cond.notify()
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._hasher.hexdigest() if self._hasher else None

    def cancel(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join()

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller in finish()
            self._error = exc

    def _loop(self) -> None:
        fd: int | None = None
        try:
            while True:
                with self._cond:
                    while not self._stop and self._hashed >= self._target and self._final is None:
                        self._cond.wait()
                    if self._stop:
                        return
                    target, final = self._target, self._final
                if fd is None:
                    # Windows flushes a file only through a handle opened for writing.
                    mode = os.O_RDWR if os.name == "nt" else os.O_RDONLY
                    fd = os.open(self.path, mode | getattr(os, "O_BINARY", 0))
                while self._hashed < target:
                    data = _pread(fd, min(CHUNK, target - self._hashed), self._hashed)
                    if not data:
                        break
                    if self._hasher is not None:
                        self._hasher.update(data)
                    self._hashed += len(data)
                    if self._hashed - self._flushed >= FLUSH_EVERY:
                        _datasync(fd)
                        self._flushed = self._hashed
                if final is not None and self._hashed >= final:
                    _datasync(fd)
                    return
                if final is not None and self._hashed < final:
                    raise IntegrityError(
                        f"The download ended at {self._hashed} of {final} bytes.",
                        hint="Retry the download; the rest will be fetched.",
                    )
        finally:
            if fd is not None:
                os.close(fd)


def _pread(fd: int, size: int, offset: int) -> bytes:
    """``os.pread`` where it exists; Windows has none, and this fd is the hasher's own."""
    if hasattr(os, "pread"):
        return os.pread(fd, size, offset)
    os.lseek(fd, offset, os.SEEK_SET)  # pragma: no cover - Windows
    return os.read(fd, size)  # pragma: no cover


def _datasync(fd: int) -> None:
    sync = getattr(os, "fdatasync", os.fsync)
    sync(fd)


def sniff_content(path: Path, filename: str) -> dict[str, Any] | None:
    """Refuse web pages and broken model files; return a safetensors header when there is one.

    Raises:
        IntegrityError: the bytes are HTML/JSON, or a model header does not parse.
    """
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(4096)
        lowered = head.lstrip().lower()
        if lowered.startswith(_TEXT_STARTS):
            raise IntegrityError(
                f"The server sent a web page or an error message instead of {filename}.",
                hint="The link may need a login or a token, or it has expired; open it in a browser.",
            )
        suffix = Path(filename).suffix.lower()
        if suffix in (".safetensors", ".sft"):
            return _safetensors_header(handle, size, filename)
        if suffix == ".gguf" and not head.startswith(b"GGUF"):
            raise IntegrityError(f"{filename} is not a GGUF file.", hint="Check the link.")
        if suffix in (".ckpt", ".pt", ".pth", ".bin") and head[:2] != b"PK" and head[:1] != b"\x80":
            raise IntegrityError(f"{filename} is not a PyTorch file.", hint="Check the link.")
    return None


def read_safetensors_header(path: Path) -> dict[str, Any]:
    """Read only the JSON header of a safetensors file (never the tensors)."""
    with open(path, "rb") as handle:
        return _safetensors_header(handle, path.stat().st_size, path.name)


def _safetensors_header(handle: Any, size: int, filename: str) -> dict[str, Any]:
    bad = IntegrityError(
        f"{filename} is not a valid safetensors file.",
        hint="The download is corrupt or the link serves something else; retry or check the link.",
    )
    handle.seek(0)
    prefix = handle.read(8)
    if len(prefix) < 8:
        raise bad
    (length,) = struct.unpack("<Q", prefix)
    if length < 2 or length > MAX_SAFETENSORS_HEADER or 8 + length > size:
        raise bad
    try:
        header = json.loads(handle.read(length))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise bad from None
    if not isinstance(header, dict):
        raise bad
    end = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2):
            raise bad
        if not all(isinstance(o, int) and o >= 0 for o in offsets):
            raise bad
        end = max(end, offsets[1])
    if 8 + length + end != size:
        raise IntegrityError(
            f"{filename} is truncated or padded: its header describes {8 + length + end} bytes, "
            f"the file has {size}.",
            hint="Retry the download.",
        )
    return header


def publish(part: Path, final: Path) -> None:
    """Move a verified part file into place atomically and make the rename durable."""
    os.replace(part, final)
    if hasattr(os, "O_DIRECTORY"):
        fd = os.open(final.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def check_size_and_hash(
    filename: str,
    size: int,
    expected_size: int | None,
    digest: str | None,
    expected: tuple[str, str] | None,
) -> None:
    """Raise :class:`IntegrityError` when the size or hash differs from what the source promised."""
    if expected_size is not None and size != expected_size:
        raise IntegrityError(
            f"{filename} has {size} bytes, the source promised {expected_size}.",
            hint="Retry the download; if it repeats, the file at the source has changed.",
        )
    if expected is not None and digest is not None and digest.lower() != expected[1].lower():
        raise IntegrityError(
            f"{filename} does not match its {expected[0].upper()} checksum.",
            hint="The bytes were damaged on the way or the file changed at the source; retry.",
        )
