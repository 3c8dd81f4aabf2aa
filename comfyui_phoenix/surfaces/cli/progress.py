"""What ``phoenix`` draws: the plan as a table, and a progress bar per download.

On a terminal the bars are redrawn in place twice a second; in a pipe or a log
each download prints a line at every tenth of its way and one when it ends, so a
CI log stays short and readable.
"""

from __future__ import annotations

import asyncio
from typing import TextIO

from ...jobs.job import Job, JobState
from ...jobs.planning import PlanResult
from ...units import human_size

BAR_WIDTH = 24
NAME_WIDTH = 48


def print_plan(plan: PlanResult, out: TextIO) -> None:
    """Each planned file, its size, whether it is present, and why it goes where it goes."""
    if not plan.items:
        if not plan.problems:
            print("Nothing to fetch.", file=out)
        return
    width = max(len(i.file.relpath) for i in plan.items)
    for item in plan.items:
        state = "present" if item.present else "to fetch"
        print(f"  {item.file.relpath:<{width}}  {human_size(item.file.size):>9}  {state}", file=out)
        if item.file.folder_reason:
            print(f"  {'':<{width}}  {'':>9}  ({item.file.folder_reason})", file=out)
    missing = sum(i.file.size or 0 for i in plan.missing)
    print(f"  {len(plan.items)} file(s), {human_size(missing)} to fetch", file=out)


async def watch(jobs: list[Job], out: TextIO, *, quiet: bool) -> None:
    """Wait for the jobs, drawing progress bars (live on a terminal, milestones otherwise)."""
    live = out.isatty() and not quiet
    shown: dict[str, int] = {}
    pending = {j.id: j for j in jobs}
    waiters = {asyncio.ensure_future(j.finished.wait()) for j in jobs}
    drawn = 0
    while pending:
        _, waiters = await asyncio.wait(waiters, timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
        if live:
            if drawn:
                out.write(f"\x1b[{drawn}F")
            for job in jobs:
                out.write("\x1b[2K" + progress_line(job) + "\n")
            drawn = len(jobs)
            out.flush()
        elif not quiet:
            for job in pending.values():
                step = _milestone(job)
                if step > shown.get(job.id, -1):
                    shown[job.id] = step
                    print(progress_line(job), file=out, flush=True)
        for job_id in [i for i, j in pending.items() if j.finished.is_set()]:
            job = pending.pop(job_id)
            if not live and not quiet:
                print(progress_line(job), file=out, flush=True)


def _milestone(job: Job) -> int:
    if not job.total or job.state != JobState.DOWNLOADING:
        return 0
    return int(10 * job.done_bytes / job.total)


def progress_line(job: Job) -> str:
    """``[####----]  42.0% loras/x.safetensors  1.2 GB/2.9 GB at 80 MB/s, 21s left``.

    A failed or cancelled download shows no fill: its bytes are not a model.
    """
    total = job.total or job.file.size
    name = job.file.relpath
    if len(name) > NAME_WIDTH:
        name = "…" + name[-(NAME_WIDTH - 1) :]
    if job.state in (JobState.FAILED, JobState.CANCELLED):
        return f"[{' ' * BAR_WIDTH}]    -   {name}  {job.state.value}"
    fraction = min(1.0, job.done_bytes / total) if total else 0.0
    if job.state == JobState.DONE:
        fraction = 1.0
    filled = int(fraction * BAR_WIDTH)
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    if job.state == JobState.DONE:
        tail = "already present" if job.skipped else "verified and in place"
    elif job.state == JobState.DOWNLOADING:
        eta = f", {int(job.eta)}s left" if job.eta is not None else ""
        speed = human_size(int(job.speed))
        tail = f"{human_size(job.done_bytes)}/{human_size(total)} at {speed}/s{eta}"
    else:
        tail = job.state.value
    return f"[{bar}] {fraction * 100:5.1f}% {name}  {tail}"
