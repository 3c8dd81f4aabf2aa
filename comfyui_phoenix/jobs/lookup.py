"""Metadata by hash for models Phoenix did not download: hash the file, ask CivitAI, remember.

One lookup runs at a time, for one file or for every file the library knows nothing about
(no record, or one without a description that was never looked up). Each file is hashed
(SHA256, in a thread; CivitAI's AutoV2 is its first ten digits) and CivitAI's by-hash API
asked; what it says goes into the file's record, marked as looked up (``lookup``), never as
downloaded or verified by Phoenix. A file CivitAI does not know is remembered too, so the
next "all unknown files" does not hash it again. Progress goes out as ``lookup`` events.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConflictError, PhoenixError
from ..folders import MODEL_EXTENSIONS, MODEL_FOLDERS, ModelLayout
from ..sources.catalog import Catalog
from ..sources.civitai.catalog import HashMatch
from ..sources.model_meta import describing
from .events import EventBus
from .store import StateStore

log = logging.getLogger(__name__)

_CHUNK = 8 << 20
_PROGRESS_INTERVAL = 0.25
#: Diffusers folders hold a model's parts, which CivitAI does not list one by one.
_NOT_LOOKED_UP = frozenset({"diffusers"})


@dataclass
class Target:
    """One file to look up: ``relpath`` is ``folder/name`` as the library lists it."""

    relpath: str
    folder: str
    path: Path


@dataclass
class LookupState:
    """What the running (or last) lookup has done, as the panel shows it."""

    state: str = "idle"
    #: Which lookup this is (one more per start), and how many times it was published: a
    #: client that hears of it twice (an event, a route's answer) keeps the later one.
    run: int = 0
    step: int = 0
    total: int = 0
    done: int = 0
    current: str | None = None
    hashed: int = 0
    size: int = 0
    found: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "run": self.run,
            "step": self.step,
            "total": self.total,
            "done": self.done,
            "current": self.current,
            "hashed": self.hashed,
            "size": self.size,
            "found": list(self.found),
            "unknown": list(self.unknown),
            "failed": list(self.failed),
        }


def unknown_files(layout: ModelLayout, state: StateStore) -> list[Target]:
    """Every model file nothing is known about yet. Blocking: it walks the folders."""
    records = {r.get("relpath"): r for r in state.records()}
    found: list[Target] = []
    for folder in sorted(MODEL_FOLDERS - _NOT_LOOKED_UP):
        for base in layout.search_dirs(folder):
            if not base.is_dir():
                continue
            for path in sorted(base.rglob("*")):
                if path.suffix.lower() not in MODEL_EXTENSIONS or not path.is_file():
                    continue
                relpath = f"{folder}/{path.relative_to(base).as_posix()}"
                record = records.get(relpath)
                if record is None or not (describing(record.get("meta")) or "lookup" in record):
                    found.append(Target(relpath, folder, path))
    return found


class HashLookup:
    """Runs lookups by hash, one at a time, and remembers what they found."""

    def __init__(
        self, layout: ModelLayout, state: StateStore, catalog: Catalog, events: EventBus
    ) -> None:
        self.layout = layout
        self.state = state
        self.catalog = catalog
        self.events = events
        self.progress = LookupState()
        self._task: asyncio.Task[None] | None = None
        self._current_path: Path | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def busy_with(self) -> set[Path]:
        """The file being hashed now, if any (it must not move meanwhile)."""
        current = self._current_path
        return {current} if self.running and current is not None else set()

    def start(self, targets: list[Target]) -> LookupState:
        """Look ``targets`` up in the background.

        Raises:
            ConflictError: a lookup is running already.
        """
        if self.running:
            raise ConflictError(
                "A lookup is running already.", hint="Wait for it to finish, then start another."
            )
        self.progress = LookupState(
            state="running",
            run=self.progress.run + 1,
            total=len(targets),
            size=sum(_size(t.path) for t in targets),
        )
        self._publish()
        self._task = asyncio.get_running_loop().create_task(self._run(targets))
        return self.progress

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self, targets: list[Target]) -> None:
        progress = self.progress
        try:
            for target in targets:
                progress.current = target.relpath
                self._current_path = target.path
                self._publish()
                try:
                    await self._look_up(target)
                except PhoenixError as exc:
                    progress.failed.append({"relpath": target.relpath, **exc.to_dict()})
                except OSError as exc:
                    detail = f"Phoenix could not read {target.relpath} ({exc.strerror})."
                    progress.failed.append({"relpath": target.relpath, "detail": detail})
                progress.done += 1
        finally:
            self._current_path = None
            progress.current = None
            progress.state = "done"
            self._publish()

    async def _look_up(self, target: Target) -> None:
        before = target.path.stat()
        start = self.progress.hashed
        loop = asyncio.get_running_loop()
        last = [0.0]

        def hashed(count: int) -> None:
            now = time.monotonic()
            if now - last[0] >= _PROGRESS_INTERVAL:
                last[0] = now
                loop.call_soon_threadsafe(self._hashed, start + count)

        digest = await asyncio.to_thread(sha256_of, target.path, hashed)
        self.progress.hashed = start + before.st_size
        match = await self.catalog.by_hash(digest)
        (self.progress.found if match else self.progress.unknown).append(target.relpath)
        await asyncio.to_thread(self._remember, target, digest, before.st_mtime_ns, match)

    def _hashed(self, count: int) -> None:
        self.progress.hashed = count
        self._publish()

    def _remember(
        self, target: Target, digest: str, mtime_ns: int, match: HashMatch | None
    ) -> None:
        stat = target.path.stat()
        if stat.st_mtime_ns != mtime_ns:
            log.info("%s changed while it was hashed; its lookup is not kept", target.relpath)
            return
        record = dict(self.state.get_record(target.relpath) or {})
        record.pop("relpath", None)
        record.update(size=stat.st_size, mtime_ns=stat.st_mtime_ns, sha256=digest)
        record.setdefault("folder", target.folder)
        record.setdefault("verified", False)
        record["lookup"] = {"source": "civitai", "found": match is not None, "at": time.time()}
        if match is not None:
            record["meta"] = {**(record.get("meta") or {}), **match.meta}
            record.setdefault("ref", match.ref)
            record.setdefault("source", "civitai")
        self.state.put_record(target.relpath, record)

    def _publish(self) -> None:
        self.progress.step += 1
        self.events.publish("lookup", self.progress.to_dict())


def sha256_of(path: Path, progress: Callable[[int], None]) -> str:
    """The file's SHA256 in hex; ``progress`` hears how many bytes are read. Blocking."""
    hasher = hashlib.sha256()
    count = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
            count += len(chunk)
            progress(count)
    return hasher.hexdigest()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
