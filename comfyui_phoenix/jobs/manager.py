"""The job manager: one queue for the sidebar, the nodes, the boot preload and the CLI.

A job is one file. The same destination asked for twice (two nodes, the panel and
the preload) is one job; two processes asking for it share a lock on disk and
transfer it once. Unfinished jobs are journalled and resumed after a restart.
Progress and state changes go out as events (progress at most 4 times a second
per job).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from ..engines.base import Engine, Progress, TransferRequest
from ..engines.transfer import download_verified
from ..errors import JobNotFound, PhoenixError
from ..folders import ModelLayout
from ..naming import contained_path
from ..plan import PlannedFile
from ..refs import Destination, NumberMeaning, Reference
from ..security.redact import public_ref, redact, redact_url
from ..sources.registry import Sources
from .events import EventBus
from .locks import FileLock
from .store import StateStore

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.25


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
        }


@dataclass
class PlanItem:  # mutable: the preload annotates the reason before submitting
    """A planned file with its destination and whether it is already there."""

    file: PlannedFile
    dest: Path
    present: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.file.to_dict(),
            "relpath": self.file.relpath,
            "dest": str(self.dest),
            "present": self.present,
        }


@dataclass
class PlanProblem:
    ref: str
    error: PhoenixError

    def to_dict(self) -> dict[str, Any]:
        return {"ref": public_ref(self.ref), **self.error.to_dict()}


@dataclass
class PlanResult:
    items: list[PlanItem]
    problems: list[PlanProblem]

    def to_dict(self) -> dict[str, Any]:
        missing = [i for i in self.items if not i.present]
        return {
            "files": [i.to_dict() for i in self.items],
            "problems": [p.to_dict() for p in self.problems],
            "total_bytes": sum(i.file.size or 0 for i in self.items),
            "missing_bytes": sum(i.file.size or 0 for i in missing),
        }


class JobManager:
    def __init__(
        self,
        *,
        layout: ModelLayout,
        sources: Sources,
        engine: Engine,
        events: EventBus,
        state: StateStore,
        max_concurrent: int = 3,
    ) -> None:
        self.layout = layout
        self.sources = sources
        self.engine = engine
        self.events = events
        self.state = state
        self._slots = asyncio.Semaphore(max_concurrent)
        self._jobs: dict[str, Job] = {}
        self._by_dest: dict[str, Job] = {}
        # Journal writes end in fsync, which can take long on a network volume: one
        # writer thread keeps them off the event loop and in the order they were made.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="phoenix-journal")

    # -- planning ---------------------------------------------------------------------
    def destination(self, file: PlannedFile) -> Path:
        base = self.layout.target_dir(file.folder)
        parts = [p for p in (file.subfolder, file.filename) if p]
        return contained_path(base, *parts)

    async def plan_refs(
        self,
        texts: Iterable[str | Reference],
        *,
        numbers: NumberMeaning = "error",
        destination: Destination | None = None,
    ) -> PlanResult:
        """Resolve references into files, without downloading. Bad entries are reported."""
        items: list[PlanItem] = []
        problems: list[PlanProblem] = []
        seen: set[str] = set()
        for text in texts:
            label = text if isinstance(text, str) else text.canonical
            try:
                ref = self.sources.parse(text, numbers=numbers) if isinstance(text, str) else text
                for file in await self.sources.plan(ref):
                    if destination is not None and ref.destination is None:
                        file = _override(file, destination)
                    dest = self.destination(file)
                    if str(dest) in seen:
                        continue
                    seen.add(str(dest))
                    present = await asyncio.to_thread(self.is_present, file, dest)
                    items.append(PlanItem(file, dest, present))
            except PhoenixError as exc:
                problems.append(PlanProblem(label, exc))
        return PlanResult(items, problems)

    def is_present(self, file: PlannedFile, dest: Path) -> bool:
        """True when ``dest`` holds this file: size matches and the hash is known to match."""
        try:
            stat = dest.stat()
        except FileNotFoundError:
            return False
        if file.size is not None and stat.st_size != file.size:
            return False
        record = self.state.get_record(file.relpath)
        expected = file.hash_spec
        if (
            record
            and record.get("size") == stat.st_size
            and record.get("mtime_ns") == stat.st_mtime_ns
        ):
            if expected is None:
                return True
            known = record.get(expected[0])
            if known:  # a record of this very file with this hash: no need to read 20 GB again
                return bool(known.lower() == expected[1])
        if expected is None:
            return file.size is not None
        from ..engines.verify import new_hasher

        hasher = new_hasher(expected[0])
        with open(dest, "rb") as handle:
            while chunk := handle.read(8 << 20):
                hasher.update(chunk)
        if hasher.hexdigest() != expected[1]:
            return False
        self._record(file, dest, hasher.hexdigest())
        return True

    # -- submitting -------------------------------------------------------------------
    async def submit(
        self,
        texts: Iterable[str | Reference],
        *,
        origin: str,
        numbers: NumberMeaning = "error",
        destination: Destination | None = None,
    ) -> tuple[list[Job], PlanResult]:
        plan = await self.plan_refs(texts, numbers=numbers, destination=destination)
        jobs = [self.submit_item(item, origin=origin) for item in plan.items]
        return jobs, plan

    def submit_item(self, item: PlanItem, *, origin: str) -> Job:
        existing = self._by_dest.get(str(item.dest))
        if existing is not None and existing.state in ACTIVE:
            return existing
        job = Job(uuid.uuid4().hex[:12], item.file, item.dest, origin, total=item.file.size)
        self._jobs[job.id] = job
        self._by_dest[str(item.dest)] = job
        if item.present:
            job.skipped = True
            job.done_bytes = job.total or 0
            self._finish(job, JobState.DONE)
            return job
        self._journal(job)
        self._set(job, JobState.QUEUED)  # announced at once, even while it waits for a slot
        self._start(job)
        return job

    # -- control ----------------------------------------------------------------------
    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFound(f"There is no download {job_id}.", hint="Refresh the list.")
        return job

    def jobs(self) -> list[Job]:
        return sorted(self._jobs.values(), key=lambda j: j.created)

    async def pause(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job.state in (JobState.QUEUED, JobState.WAITING, JobState.DOWNLOADING):
            job._pause = True
            await self._stop_task(job)
            self._set(job, JobState.PAUSED)
            self._journal(job)
        return job

    async def resume(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job.state == JobState.PAUSED:
            job._pause = False
            self._set(job, JobState.QUEUED)
            self._journal(job)
            self._start(job)
        return job

    async def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job.state in ACTIVE:
            await self._stop_task(job)
            await asyncio.to_thread(self._discard_if_ours, job)
            self._finish(job, JobState.CANCELLED)
        return job

    def _discard_if_ours(self, job: Job) -> None:
        """Remove the part file, unless another process is downloading into it right now."""
        lock = FileLock(self.state.lock_path(job.file.relpath))
        if not lock.try_acquire():
            return
        try:
            self.engine.discard(_part(job.dest))
        finally:
            lock.release()

    async def retry(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job.state in (JobState.FAILED, JobState.CANCELLED):
            job.error = None
            job.finished = asyncio.Event()
            self._by_dest[str(job.dest)] = job
            self._set(job, JobState.QUEUED)
            self._journal(job)
            self._start(job)
        return job

    async def wait(self, job_id: str) -> Job:
        job = self.get(job_id)
        await job.finished.wait()
        return job

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for job in self._jobs.values():
            counts[job.state.value] = counts.get(job.state.value, 0) + 1
        active = [j for j in self._jobs.values() if j.state == JobState.DOWNLOADING]
        return {
            "counts": counts,
            "active": len(active),
            "speed": round(sum(j.speed for j in active), 1),
            "failures": [j.to_dict() for j in self._jobs.values() if j.state == JobState.FAILED],
        }

    # -- lifecycle ----------------------------------------------------------------------
    async def restore(self) -> list[Job]:
        """Resume the jobs a previous run left unfinished (paused ones stay paused)."""
        restored = []
        for entry in self.state.unfinished_jobs():
            try:
                file = PlannedFile.from_dict(entry["file"])
                dest = self.destination(file)
            except (PhoenixError, TypeError, KeyError) as exc:
                log.warning("dropping an unreadable journal entry: %s", exc)
                self.state.forget_job(str(entry.get("id")))
                continue
            if str(dest) in self._by_dest:
                continue
            job = Job(
                str(entry["id"]), file, dest, str(entry.get("origin", "restore")), total=file.size
            )
            self._jobs[job.id] = job
            self._by_dest[str(dest)] = job
            if entry.get("state") == JobState.PAUSED.value:
                job.state = JobState.PAUSED
                job.done_bytes = _part_size(dest)
            else:
                self._start(job)
            restored.append(job)
        return restored

    async def close(self) -> None:
        """Stop every transfer, keeping part files and the journal for the next start."""
        tasks = [j._task for j in self._jobs.values() if j._task is not None and not j._task.done()]
        for job in self._jobs.values():
            job._pause = True
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.to_thread(self._writer.shutdown, wait=True)

    # -- internals ------------------------------------------------------------------------
    def _start(self, job: Job) -> None:
        job._task = asyncio.get_running_loop().create_task(
            self._run(job), name=f"phoenix-job-{job.id}"
        )

    async def _stop_task(self, job: Job) -> None:
        task = job._task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self, job: Job) -> None:
        lock = FileLock(self.state.lock_path(job.file.relpath))
        try:
            # The file lock first: a job waiting for another process must not hold a slot.
            if not lock.try_acquire():
                self._set(job, JobState.WAITING)
                await lock.acquire()
            async with self._slots:
                if await asyncio.to_thread(self.is_present, job.file, job.dest):
                    job.skipped = True
                    job.done_bytes = job.total or job.dest.stat().st_size
                    self._finish(job, JobState.DONE)
                    return
                self._set(job, JobState.DOWNLOADING)
                digest = await self._transfer(job)
                await asyncio.to_thread(self._record, job.file, job.dest, digest)
                job.done_bytes = job.total = job.dest.stat().st_size
                job.digest = digest
                self._finish(job, JobState.DONE)
        except asyncio.CancelledError:
            if not job._pause:
                raise
        except PhoenixError as exc:
            job.error = exc.to_dict()
            log.warning("download of %s failed: %s", job.file.relpath, redact(str(exc)))
            self._finish(job, JobState.FAILED)
        except Exception as exc:
            log.exception("download of %s failed unexpectedly", job.file.relpath)
            job.error = {
                "error": "internal",
                "detail": f"Phoenix failed unexpectedly: {redact(str(exc))[:200]}",
                "hint": "Retry; if it repeats, report it with the log.",
            }
            self._finish(job, JobState.FAILED)
        finally:
            lock.release()

    async def _transfer(self, job: Job) -> str | None:
        source = self.sources.for_file(job.file)
        job.dest.parent.mkdir(parents=True, exist_ok=True)
        request = TransferRequest(
            part_path=_part(job.dest),
            endpoint=lambda: source.endpoint(job.file),
            size=job.file.size,
            label=job.file.relpath,
        )
        return await download_verified(
            self.engine,
            request,
            final_path=job.dest,
            expected_size=job.file.size,
            hash_spec=job.file.hash_spec,
            on_progress=lambda p: self._progress(job, p),
        )

    def _progress(self, job: Job, progress: Progress) -> None:
        job.done_bytes = progress.done
        if progress.total:
            job.total = progress.total
        job.speed = progress.speed
        now = time.monotonic()
        if now - job._published >= PROGRESS_INTERVAL:
            job._published = now
            job.updated = time.time()
            self.events.publish("job", job.to_dict())

    def _record(self, file: PlannedFile, dest: Path, digest: str | None) -> None:
        stat = dest.stat()
        record: dict[str, Any] = {
            "ref": public_ref(file.ref),
            "source": file.source,
            "url": redact_url(file.url),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "sha256": file.sha256,
            "blake3": file.blake3,
            "verified": digest is not None,
            "verified_at": time.time(),
            "folder": file.folder,
            "meta": file.meta,
        }
        spec = file.hash_spec
        if spec and digest:
            record[spec[0]] = digest
        self.state.put_record(file.relpath, record)

    def _journal(self, job: Job) -> None:
        entry = {
            "id": job.id,
            "file": job.file.to_dict(),
            "origin": job.origin,
            "state": job.state.value,
        }
        self._write(self.state.save_job, job.id, entry)

    def _write(self, action: Callable[..., None], *args: Any) -> None:
        future = self._writer.submit(action, *args)
        future.add_done_callback(_log_write_failure)

    def _set(self, job: Job, state: JobState) -> None:
        job.state = state
        job.updated = time.time()
        self.events.publish("job", job.to_dict())

    def _finish(self, job: Job, state: JobState) -> None:
        if state != JobState.DONE:
            job.speed = 0.0
        self._write(self.state.forget_job, job.id)
        self._set(job, state)
        job.finished.set()


def _log_write_failure(future: Future[None]) -> None:
    error = future.exception()
    if error is not None:
        log.warning("could not write the download journal: %s", error)


def _part(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def _part_size(dest: Path) -> int:
    try:
        return os.path.getsize(_part(dest))
    except OSError:
        return 0


def _override(file: PlannedFile, destination: Destination) -> PlannedFile:
    from dataclasses import replace

    return replace(
        file,
        folder=destination.folder,
        subfolder=destination.subfolder,
        folder_reason="chosen by you",
    )
