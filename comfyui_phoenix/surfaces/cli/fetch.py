"""``phoenix fetch REF…``: plan, check the folder and the disk, download, verify, place.

With ``--dry-run`` only the plan is drawn up: no engine starts, nothing is written.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from ...jobs.job import JobState
from ...jobs.planning import PlanResult, check_room
from ...service import Phoenix
from ...settings import Settings
from .context import cli_settings, usable_models_root
from .main import EXIT_FAILED, exit_status
from .progress import print_plan, watch


def run(args: argparse.Namespace) -> int:
    settings = cli_settings(args)
    usable_models_root(settings, create=not args.dry_run)
    return asyncio.run(fetch(list(args.refs), settings, dry_run=args.dry_run, as_json=args.json))


async def fetch(refs: list[str], settings: Settings, *, dry_run: bool, as_json: bool) -> int:
    """Fetch ``refs``; return the exit status. One sentence per problem goes to stderr."""
    async with Phoenix(settings, transfers=not dry_run) as phoenix:
        plan = await phoenix.planner.plan(refs)
        if not as_json:
            print_plan(plan, sys.stdout)
        if dry_run:
            if as_json:
                print(json.dumps(plan.to_dict(), indent=2))
            return report_problems(plan)
        await asyncio.to_thread(check_room, plan)
        manager = phoenix.manager
        jobs = [manager.submit_item(item, origin="cli") for item in plan.items]
        await watch(jobs, sys.stderr, quiet=as_json)
        if as_json:
            print(json.dumps({**plan.to_dict(), "jobs": [j.to_dict() for j in jobs]}, indent=2))
        failed = [j for j in jobs if j.state != JobState.DONE]
        for job in failed:
            error = job.error or {}
            sentence = f"{error.get('detail', job.state.value)} {error.get('hint') or ''}"
            print(f"phoenix: {job.file.relpath}: {sentence.rstrip()}", file=sys.stderr)
        status = report_problems(plan)
        return max(status, EXIT_FAILED if failed else 0)


def report_problems(plan: PlanResult) -> int:
    """One sentence per reference that could not be planned; the exit status they call for."""
    for problem in plan.problems:
        print(f"phoenix: {problem.ref}: {problem.error}", file=sys.stderr)
    return exit_status(*(p.error for p in plan.problems))
