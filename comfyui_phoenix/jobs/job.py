"""One download job: a planned file on its way to its destination, and its states."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from ..loaders import loader_for
from ..plan import PlannedFile
from ..security.redact import public_ref, redact_url


class JobState(str, Enum):
    QUEUED = "queued"
    WAITING = "waiting"
    DOWNLOADING = "downloading"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE = {JobState.QUEUED, JobState.WAITING, JobState.DOWNLOADING, JobState.PAUSED}


@dataclass
class Job:
    id: str
    file: PlannedFile
    dest: Path
    origin: str
    state: JobState = JobState.QUEUED
    done_bytes: int = 0
    total: int | None = None
    speed: float = 0.0
    error: dict[str, Any] | None = None
    skipped: bool = False
    digest: str | None = None
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    #: When it was last asked for: its creation, or a later ask for a file already here.
    asked: float = field(default_factory=time.time)
    finished: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _task: asyncio.Task[None] | None = field(default=None, repr=False)
    _pause: bool = field(default=False, repr=False)
    _published: float = field(default=0.0, repr=False)

    @property
    def eta(self) -> float | None:
        if self.state != JobState.DOWNLOADING or not self.total or self.speed <= 0:
            return None
        return max(0.0, (self.total - self.done_bytes) / self.speed)

    def to_dict(self) -> dict[str, Any]:
        loader = loader_for(self.file)
        return {
            "id": self.id,
            "ref": public_ref(self.file.ref),
            "source": self.file.source,
            "filename": self.file.filename,
            "folder": self.file.folder,
            "subfolder": self.file.subfolder,
            "relpath": self.file.relpath,
            "url": redact_url(self.file.url),
            "origin": self.origin,
            "state": self.state.value,
            "done": self.done_bytes,
            "total": self.total if self.total is not None else self.file.size,
            "speed": round(self.speed, 1),
            "eta": round(self.eta, 1) if self.eta is not None else None,
            "error": self.error,
            "skipped": self.skipped,
            "path": str(self.dest),
            "created": self.created,
            "updated": self.updated,
            "asked": self.asked,
            "loader": loader.to_dict() if loader is not None else None,
        }


def part_path(dest: Path) -> Path:
    """Where a job's bytes collect: ``NAME.part``, never a name ComfyUI would list."""
    return dest.with_name(dest.name + ".part")
