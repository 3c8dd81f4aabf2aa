"""Resume after kill -9: which downloads were unfinished when the process ended.

Each job is written down before its first byte moves, keyed by its destination,
and crossed out when it ends (done, failed or cancelled), by whichever process
ends it: a download that a killed process left and a later one finished is not
unfinished any more. On start the manager resumes what is left here; the bytes
themselves are resumed by the engine from the part file and its control data.
Writes end in fsync, which can take long on a network volume: one writer thread
keeps them off the event loop and in the order they were made.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..plan import PlannedFile
from .job import Job, JobState
from .store import StateStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JournalEntry:
    """An unfinished download as the journal remembers it."""

    id: str
    file: PlannedFile
    origin: str
    paused: bool


class Journal:
    """The unfinished downloads under ``<models root>/.phoenix/jobs``."""

    def __init__(self, state: StateStore) -> None:
        self._state = state
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="phoenix-journal")

    def remember(self, job: Job) -> None:
        """Write ``job`` down (in the background), with its state: a paused job stays paused."""
        entry = {
            "id": job.id,
            "file": job.file.to_dict(),
            "origin": job.origin,
            "state": job.state.value,
        }
        self._write(self._state.save_job, job.file.relpath, entry)

    def forget(self, job: Job) -> None:
        """Cross ``job``'s destination out: nothing is unfinished there any more."""
        self._write(self._state.forget_job, job.file.relpath)

    def unfinished(self) -> list[JournalEntry]:
        """What a previous run left unfinished; unreadable entries are dropped. Blocking."""
        entries: dict[str, JournalEntry] = {}
        for path, raw in self._state.unfinished_jobs():
            entry = _entry(raw)
            if entry is None:
                log.warning("dropping an unreadable journal entry %s", path.name)
                path.unlink(missing_ok=True)
                continue
            relpath = entry.file.relpath
            if path != self._state.journal_path(relpath):
                # Written under another key (by job, as Phoenix 0.1 did): move it to its own.
                self._state.save_job(relpath, raw)
                path.unlink(missing_ok=True)
            entries[relpath] = entry
        return list(entries.values())

    def close(self) -> None:
        """Wait for the writes in flight. Blocking."""
        self._writer.shutdown(wait=True)

    def _write(self, action: Any, *args: Any) -> None:
        future = self._writer.submit(action, *args)
        future.add_done_callback(_log_write_failure)


def _entry(raw: dict[str, Any]) -> JournalEntry | None:
    try:
        file = PlannedFile.from_dict(raw["file"])
    except (TypeError, KeyError):
        return None
    paused = raw.get("state") == JobState.PAUSED.value
    return JournalEntry(str(raw.get("id")), file, str(raw.get("origin", "restore")), paused)


def _log_write_failure(future: Future[None]) -> None:
    error = future.exception()
    if error is not None:
        log.warning("could not write the download journal: %s", error)
