"""The job manager: one queue for the sidebar, the nodes, the boot preload and the CLI.

A job is one file. The same destination asked for twice (two nodes, the panel and
the preload) is one job; two processes asking for it share a lock on disk and
transfer it once. A file asked for again once it is here (every run of a node) is
the same finished job, asked again: the list holds one row per file, and at most
:data:`MAX_FINISHED_JOBS` finished rows. Unfinished jobs are journalled and resumed
after a restart (:mod:`.journal`). Progress and state changes go out as events
(progress at most 4 times a second per job). Planning is :mod:`.planning`'s; this
module runs jobs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..engines.base import Engine, Progress, TransferRequest
from ..engines.pipeline import download_verified
from ..errors import JobNotFound, PhoenixError
from ..folders import ModelLayout
from ..refs import Destination, NumberMeaning, Reference
from ..security.redact import redact
from ..sources.registry import Sources
from .events import EventBus
from .job import ACTIVE, Job, JobState, part_path
from .journal import Journal
from .locks import FileLock
from .planning import PlanItem, Planner, PlanResult
from .store import StateStore
from .verified import VerifiedFiles

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.25
#: Finished jobs kept for the lists; older ones are forgotten (the files stay, of course).
MAX_FINISHED_JOBS = 100


class JobManager:
    def __init__(
        self,
        *,
        layout: ModelLayout,
        sources: Sources,
        engine: Engine,
        events: EventBus,
        state: StateStore,
        planner: Planner | None = None,
        max_concurrent: int = 3,
    ) -> None:
        self.layout = layout
        self.sources = sources
        self.engine = engine
        self.events = events
        self.state = state
        self.planner = planner or Planner(layout, sources, VerifiedFiles(layout, state))
        self.verified = self.planner.verified
        self.journal = Journal(state)
        self._slots = asyncio.Semaphore(max_concurrent)
        self._jobs: dict[str, Job] = {}
        self._by_dest: dict[str, Job] = {}

    async def plan_refs(
        self,
        texts: Iterable[str | Reference],
        *,
        numbers: NumberMeaning = "error",
        destination: Destination | None = None,
        choices: Mapping[str, Destination] | None = None,
    ) -> PlanResult:
        """The plan for ``texts`` (see :meth:`Planner.plan`)."""
        return await self.planner.plan(
            texts, numbers=numbers, destination=destination, choices=choices
        )

    # -- submitting -------------------------------------------------------------------
    async def submit(
        self,
        texts: Iterable[str | Reference],
        *,
        origin: str,
        numbers: NumberMeaning = "error",
        destination: Destination | None = None,
        choices: Mapping[str, Destination] | None = None,
    ) -> tuple[list[Job], PlanResult]:
        plan = await self.plan_refs(
            texts, numbers=numbers, destination=destination, choices=choices
        )
        jobs = [self.submit_item(item, origin=origin) for item in plan.items]
        return jobs, plan

    def submit_item(self, item: PlanItem, *, origin: str) -> Job:
        existing = self._by_dest.get(str(item.dest))
        if existing is not None and existing.state in ACTIVE:
            return existing
        if existing is not None and existing.state == JobState.DONE and item.present:
            existing.file, existing.origin, existing.asked = item.file, origin, time.time()
            existing.skipped = True  # this time it was already here
            self._set(existing, JobState.DONE)
            return existing
        if existing is not None:
            self._forget([existing])  # a finished row gives way to the new job for its file
        job = Job(uuid.uuid4().hex[:12], item.file, item.dest, origin, total=item.file.size)
        self._jobs[job.id] = job
        self._by_dest[str(item.dest)] = job
        if item.present:
            job.skipped = True
            job.done_bytes = job.total or 0
            self._finish(job, JobState.DONE)
            return job
        self.journal.remember(job)
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
        """Every job Phoenix still lists, oldest ask first."""
        return sorted(self._jobs.values(), key=lambda j: j.asked)

    def forget_finished(self) -> list[str]:
        """Forget every finished job ("Clear finished"); returns their ids."""
        return self._forget([j for j in self._jobs.values() if j.state not in ACTIVE])

    async def pause(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job.state in (JobState.QUEUED, JobState.WAITING, JobState.DOWNLOADING):
            job._pause = True
            await self._stop_task(job)
            self._set(job, JobState.PAUSED)
            self.journal.remember(job)
        return job

    async def resume(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job.state == JobState.PAUSED:
            job._pause = False
            self._set(job, JobState.QUEUED)
            self.journal.remember(job)
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
            self.engine.discard(part_path(job.dest))
        finally:
            lock.release()

    async def retry(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job.state in (JobState.FAILED, JobState.CANCELLED):
            job.error = None
            job.finished = asyncio.Event()
            self._by_dest[str(job.dest)] = job
            self._set(job, JobState.QUEUED)
            self.journal.remember(job)
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
        for entry in await asyncio.to_thread(self.journal.unfinished):
            try:
                dest = self.planner.destination(entry.file)
            except PhoenixError as exc:
                log.warning("dropping a journal entry that is no longer safe: %s", exc)
                self.state.forget_job(entry.file.relpath)
                continue
            if str(dest) in self._by_dest:
                continue
            job = Job(entry.id, entry.file, dest, entry.origin, total=entry.file.size)
            self._jobs[job.id] = job
            self._by_dest[str(dest)] = job
            if entry.paused:
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
        await asyncio.to_thread(self.journal.close)

    # -- running ------------------------------------------------------------------------
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
                if await asyncio.to_thread(self.verified.is_present, job.file, job.dest):
                    job.skipped = True
                    job.done_bytes = job.total or job.dest.stat().st_size
                    self._finish(job, JobState.DONE)
                    return
                self._set(job, JobState.DOWNLOADING)
                digest = await self._transfer(job)
                await asyncio.to_thread(self.verified.record, job.file, job.dest, digest)
                job.done_bytes = job.total = job.dest.stat().st_size
                job.digest = digest
                self._finish(job, JobState.DONE)
        except asyncio.CancelledError:
            if not job._pause:
                raise
        except PhoenixError as exc:
            job.error = exc.to_dict()
            # Each surface says it once, its own way (the server log, the CLI's sentence).
            log.info("download of %s failed: %s", job.file.relpath, redact(str(exc)))
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
            part_path=part_path(job.dest),
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

    def _set(self, job: Job, state: JobState) -> None:
        job.state = state
        job.updated = time.time()
        self.events.publish("job", job.to_dict())

    def _finish(self, job: Job, state: JobState) -> None:
        if state != JobState.DONE:
            job.speed = 0.0
        self.journal.forget(job)
        self._set(job, state)
        job.finished.set()
        finished = [j for j in self.jobs() if j.state not in ACTIVE]
        self._forget(finished[: max(0, len(finished) - MAX_FINISHED_JOBS)])

    def _forget(self, jobs: list[Job]) -> list[str]:
        """Drop finished jobs from the lists and say so to every open panel."""
        for job in jobs:
            del self._jobs[job.id]
            if self._by_dest.get(str(job.dest)) is job:
                del self._by_dest[str(job.dest)]
        ids = [job.id for job in jobs]
        if ids:
            self.events.publish("forgotten", {"ids": ids})
        return ids


def _part_size(dest: Path) -> int:
    try:
        return os.path.getsize(part_path(dest))
    except OSError:
        return 0
