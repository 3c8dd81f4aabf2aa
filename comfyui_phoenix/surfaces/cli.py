"""The ``phoenix`` command: the same engine the UI uses, from a terminal.

Exit status 0 on success; otherwise non-zero with one sentence per problem on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from .. import __version__
from ..errors import ConfigError, PhoenixError
from ..jobs.manager import Job, JobState, PlanResult
from ..jobs.preload import preload_entries
from ..security.redact import RedactingFilter
from ..service import Phoenix
from ..settings import Settings, load_settings
from ..units import human_size

RUNTIME_ENV = Path("/etc/phoenix/runtime.env")
EXIT_FAILED = 1
EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _setup_logging(args)
    try:
        settings = _settings(args)
        result: int = args.run(args, settings)
        return result
    except PhoenixError as exc:
        print(f"phoenix: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(
            "phoenix: interrupted; partial downloads are kept and resume next time.",
            file=sys.stderr,
        )
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="phoenix", description="Fetch, place and check models for ComfyUI."
    )
    parser.add_argument("--version", action="version", version=f"phoenix {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fetch = commands.add_parser("fetch", help="download models by reference")
    fetch.add_argument("refs", nargs="+", metavar="REF", help="references (see the README)")
    _models_dir_option(fetch)
    fetch.add_argument("--dry-run", action="store_true", help="show the plan, download nothing")
    fetch.add_argument("--json", action="store_true", help="print the result as JSON")
    fetch.set_defaults(run=_run_fetch)

    plan = commands.add_parser("plan", help="show what the environment variables would fetch")
    _models_dir_option(plan)
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan.set_defaults(run=_run_plan)

    status = commands.add_parser("status", help="GPU, disk and download status")
    _models_dir_option(status)
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(run=_run_status)

    doctor = commands.add_parser("doctor", help="check GPU, driver and torch compatibility")
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    doctor.set_defaults(run=_run_doctor)

    cleanup = commands.add_parser(
        "cleanup",
        help="remove secrets, logs, caches and user data as the storage mode says (container only)",
    )
    cleanup.add_argument("--dry-run", action="store_true", help="list the plan, remove nothing")
    cleanup.add_argument(
        "--force",
        action="store_true",
        help="outside the container: remove Phoenix's own files under --scope",
    )
    cleanup.add_argument("--scope", type=Path, help="touch nothing outside this folder")
    _models_dir_option(cleanup)
    cleanup.add_argument("--json", action="store_true", help="print the plan or report as JSON")
    cleanup.set_defaults(run=_run_cleanup)
    return parser


def _models_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models-dir", type=Path, help="models root (default: PHOENIX_MODELS_DIR or ./models)"
    )


def _setup_logging(args: argparse.Namespace) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if args.verbose else logging.WARNING)


def _settings(args: argparse.Namespace) -> Settings:
    environ = {**_runtime_env(), **os.environ}
    settings = load_settings(environ)
    if getattr(args, "models_dir", None) is not None:
        settings = settings.model_copy(update={"models_dir": args.models_dir})
    if settings.debug_mode:
        logging.getLogger().setLevel(logging.DEBUG)
    return settings


def _runtime_env() -> dict[str, str]:
    """The container's chosen settings, so a terminal ``phoenix`` acts like the service."""
    path = Path(os.environ.get("PHOENIX_RUNTIME_ENV", RUNTIME_ENV))
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    return {k.strip(): v.strip().strip('"') for k, v in pairs}


# -- fetch ------------------------------------------------------------------------------------
def _run_fetch(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_fetch(list(args.refs), settings, dry_run=args.dry_run, as_json=args.json))


async def _fetch(refs: list[str], settings: Settings, *, dry_run: bool, as_json: bool) -> int:
    async with Phoenix(settings) as phoenix:
        manager = phoenix.manager
        plan = await manager.plan_refs(refs)
        if not as_json:
            print_plan(plan, sys.stdout)
        if dry_run:
            if as_json:
                print(json.dumps(plan.to_dict(), indent=2))
            return _report_problems(plan)
        jobs = [manager.submit_item(item, origin="cli") for item in plan.items]
        await _watch(jobs, sys.stderr, quiet=as_json)
        if as_json:
            print(json.dumps({**plan.to_dict(), "jobs": [j.to_dict() for j in jobs]}, indent=2))
        failed = [j for j in jobs if j.state != JobState.DONE]
        for job in failed:
            error = job.error or {}
            print(
                f"phoenix: {job.file.relpath}: {error.get('detail', job.state.value)} "
                f"{error.get('hint') or ''}".rstrip(),
                file=sys.stderr,
            )
        status = _report_problems(plan)
        return EXIT_FAILED if failed else status


def _report_problems(plan: PlanResult) -> int:
    for problem in plan.problems:
        print(f"phoenix: {problem.ref}: {problem.error}", file=sys.stderr)
    return EXIT_FAILED if plan.problems else 0


def print_plan(plan: PlanResult, out: TextIO) -> None:
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
    missing = sum(i.file.size or 0 for i in plan.items if not i.present)
    print(f"  {len(plan.items)} file(s), {human_size(missing)} to fetch", file=out)


async def _watch(jobs: list[Job], out: TextIO, *, quiet: bool) -> None:
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
    if not job.total:
        return 0
    return int(10 * job.done_bytes / job.total)


def progress_line(job: Job, width: int = 24) -> str:
    total = job.total or job.file.size
    fraction = min(1.0, job.done_bytes / total) if total else 0.0
    bar = "#" * int(fraction * width) + "-" * (width - int(fraction * width))
    name = job.file.relpath
    if len(name) > 48:
        name = "…" + name[-47:]
    if job.state == JobState.DONE:
        tail = "already present" if job.skipped else "verified and in place"
    elif job.state == JobState.FAILED:
        tail = "failed"
    elif job.state == JobState.DOWNLOADING:
        eta = f", {int(job.eta)}s left" if job.eta is not None else ""
        tail = f"{human_size(job.done_bytes)}/{human_size(total)} at {human_size(int(job.speed))}/s{eta}"
    else:
        tail = job.state.value
    return f"[{bar}] {fraction * 100:5.1f}% {name}  {tail}"


# -- plan -------------------------------------------------------------------------------------
def _run_plan(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_plan(settings, as_json=args.json))


async def _plan(settings: Settings, *, as_json: bool) -> int:
    entries = preload_entries(settings)
    if not entries:
        print(
            "The environment asks for no models (HF_REPOS_TO_DOWNLOAD, CIVITAI_*_TO_DOWNLOAD, "
            "PHOENIX_MODELS_TO_DOWNLOAD and PHOENIX_MANIFEST are unset)."
        )
        return 0
    async with Phoenix(settings) as phoenix:
        results: list[dict[str, Any]] = []
        status = 0
        for entry in entries:
            plan = await phoenix.manager.plan_refs([entry.text], numbers=entry.numbers)
            results.append({"ref": entry.text, "variable": entry.variable, **plan.to_dict()})
            if not as_json:
                print(f"{entry.variable}: {entry.text}")
                print_plan(plan, sys.stdout)
            status = max(status, _report_problems(plan))
        if as_json:
            print(json.dumps(results, indent=2))
        return status


# -- status and doctor ------------------------------------------------------------------------
def _run_status(args: argparse.Namespace, settings: Settings) -> int:
    from ..status.gpu import read_gpus
    from ..status.system import read_system

    phoenix = Phoenix(settings)
    root = phoenix.layout.root
    unfinished = phoenix.state.unfinished_jobs()
    report: dict[str, Any] = {
        "version": __version__,
        "time": time.time(),
        "models_root": str(root),
        "gpu": _jsonable(read_gpus()),
        "system": read_system({"models": root, "container": Path("/")}),
        "unfinished_downloads": [
            {"relpath": _journal_relpath(j), "state": j.get("state")} for j in unfinished
        ],
        "verified_models": len(phoenix.state.records()),
    }
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    gpu = report["gpu"]
    if gpu.get("available"):
        for g in gpu.get("gpus", []):
            print(
                f"GPU {g.get('index')}: {g.get('name')} ({g.get('sm')}), "
                f"VRAM {human_size(g.get('vram_used'))}/{human_size(g.get('vram_total'))}"
            )
    else:
        print(f"GPU: none ({gpu.get('reason')})")
    print(f"Models: {root} — {report['verified_models']} verified model(s)")
    for name, disk in report["system"].get("disks", {}).items():
        if disk.get("exists", True):
            low = "  (low)" if disk.get("low") else ""
            print(
                f"Disk {name}: {human_size(disk.get('free'))} free of {human_size(disk.get('total'))}{low}"
            )
    for job in report["unfinished_downloads"]:
        print(f"Unfinished: {job['relpath']} ({job['state']}); it resumes on the next start")
    return 0


def _journal_relpath(entry: dict[str, Any]) -> str:
    file = entry.get("file", {})
    parts = [file.get("folder"), file.get("subfolder"), file.get("filename")]
    return "/".join(p for p in parts if p)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    from dataclasses import asdict, is_dataclass

    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return value


def _run_cleanup(args: argparse.Namespace, settings: Settings) -> int:
    from ..security.cleanup import (
        CleanupRoots,
        StorageMode,
        check_allowed,
        container_environ,
        execute_plan,
        plan_cleanup,
    )
    from ..service import default_models_root

    check_allowed(container=settings.container, force=args.force, scope=args.scope)
    if args.scope is not None and not args.scope.is_dir():
        raise ConfigError(
            f"--scope {args.scope} is not a folder.", hint="Name an existing folder with --scope."
        )
    environ = container_environ()
    roots = CleanupRoots.from_environment(
        environ, settings, models_dir=default_models_root(settings)
    )
    mode = StorageMode.from_environment(environ, settings)
    plan = plan_cleanup(roots, mode, container=settings.container, scope=args.scope)
    if args.dry_run:
        print(json.dumps(plan.to_dict(), indent=2) if args.json else "\n".join(plan.lines()))
        return 0
    if not args.json:
        print("\n".join(plan.lines()))
    report = execute_plan(plan)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.summary())
    for failure in report.failed:
        print(f"phoenix: could not remove {failure['path']}: {failure['error']}", file=sys.stderr)
    return EXIT_FAILED if report.failed else 0


def _run_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from .. import gpu_check

    place = gpu_check.Place(container=settings.container, cpu_mode=settings.cpu_mode)
    report = gpu_check.gather(place=place)
    if args.json:
        print(json.dumps(_jsonable(report), indent=2, default=str))
    else:
        print(gpu_check.format_report(report))
    return 0 if gpu_check.report_ok(report) else EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
