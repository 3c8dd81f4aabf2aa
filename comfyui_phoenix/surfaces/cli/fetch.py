"""``phoenix fetch REF… [--workflow FILE.json]``: plan, check the folder and the disk, download, verify, place.

With ``--dry-run`` only the plan is drawn up: no engine starts, nothing is written.
A workflow contributes its ``models`` lists and its Phoenix nodes' references, each
held to the SHA256 the workflow gives.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from ...errors import BadReferenceError, ConfigError
from ...jobs.job import JobState
from ...jobs.planning import PlanResult, check_room
from ...jobs.workflow_plan import WorkflowPlanner
from ...service import Phoenix
from ...settings import Settings
from ...workflow import WorkflowNeeds, read_workflow
from ..workflow_nodes import phoenix_node_specs
from .context import cli_settings, usable_models_root
from .main import EXIT_FAILED, exit_status
from .progress import print_plan, watch


def run(args: argparse.Namespace) -> int:
    if not args.refs and args.workflow is None:
        raise BadReferenceError(
            "Nothing to fetch: name references or a workflow.",
            hint="Run 'phoenix fetch REF…' or 'phoenix fetch --workflow FILE.json'.",
        )
    needs = workflow_needs(args.workflow) if args.workflow is not None else None
    settings = cli_settings(args)
    usable_models_root(settings, create=not args.dry_run)
    return asyncio.run(
        fetch(list(args.refs), settings, dry_run=args.dry_run, as_json=args.json, workflow=needs)
    )


def workflow_needs(path: Path) -> WorkflowNeeds:
    """What the workflow file at ``path`` needs.

    Raises:
        ConfigError: the file cannot be read or is not JSON.
        BadReferenceError: the JSON is not a ComfyUI workflow.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"--workflow {path} cannot be read ({exc.strerror or type(exc).__name__}).",
            hint="Name a workflow file saved from ComfyUI.",
        ) from None
    except ValueError as exc:
        raise ConfigError(
            f"--workflow {path} is not JSON ({exc}).",
            hint="Save the workflow from ComfyUI as a .json file (Save or Export).",
        ) from None
    return read_workflow(data, phoenix_node_specs())


async def fetch(
    refs: list[str],
    settings: Settings,
    *,
    dry_run: bool,
    as_json: bool,
    workflow: WorkflowNeeds | None = None,
) -> int:
    """Fetch ``refs`` and what ``workflow`` needs; return the exit status.

    One sentence per problem goes to stderr.
    """
    async with Phoenix(settings, transfers=not dry_run) as phoenix:
        plan = await phoenix.planner.plan(refs)
        extra: dict[str, Any] = {}
        if workflow is not None:
            planned = await WorkflowPlanner(phoenix.planner).plan(workflow)
            extra["workflow"] = planned.to_dict()
            plan = _joined(plan, planned.as_plan())
        if not as_json:
            print_plan(plan, sys.stdout)
        if dry_run:
            if as_json:
                print(json.dumps({**plan.to_dict(), **extra}, indent=2))
            return report_problems(plan)
        await asyncio.to_thread(check_room, plan)
        manager = phoenix.manager
        jobs = [manager.submit_item(item, origin="cli") for item in plan.items]
        await watch(jobs, sys.stderr, quiet=as_json)
        if as_json:
            body = {**plan.to_dict(), **extra, "jobs": [j.to_dict() for j in jobs]}
            print(json.dumps(body, indent=2))
        failed = [j for j in jobs if j.state != JobState.DONE]
        for job in failed:
            error = job.error or {}
            sentence = f"{error.get('detail', job.state.value)} {error.get('hint') or ''}"
            print(f"phoenix: {job.file.relpath}: {sentence.rstrip()}", file=sys.stderr)
        status = report_problems(plan)
        return max(status, EXIT_FAILED if failed else 0)


def _joined(first: PlanResult, second: PlanResult) -> PlanResult:
    """Both plans' files, each destination once, and both plans' problems."""
    seen = {str(item.dest) for item in first.items}
    items = first.items + [i for i in second.items if str(i.dest) not in seen]
    return PlanResult(items, first.problems + second.problems)


def report_problems(plan: PlanResult) -> int:
    """One sentence per reference that could not be planned; the exit status they call for."""
    for problem in plan.problems:
        print(f"phoenix: {problem.ref}: {problem.error}", file=sys.stderr)
    return exit_status(*(p.error for p in plan.problems))
