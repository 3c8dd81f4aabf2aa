"""The run: measure the disk, build the file, start the server, run every client, report.

Every client runs ``--rounds`` times, one after another, each into a fresh folder that is
deleted afterwards; the report shows each client's median round by wall-clock rate.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .clients import make_client
from .disk import drop_caches, measure_disk, pick_total_cap
from .machine_facts import machine_facts
from .measure import find_file, run_client
from .model_file import FILENAME, sha256_file, write_model
from .report import detail_table, markdown
from .result import Result
from .targets import check_targets
from .throttled_server import Server
from .units import MB, GiB, MiB, size_label


def _source_folder(size: int) -> Path:
    """Where the served file lives: RAM (tmpfs) when it fits, so dropping caches and the
    clients' writes leave the server's reads alone."""
    shm = Path("/dev/shm")
    if shm.is_dir() and shutil.disk_usage(shm).free > size + GiB:
        return Path(tempfile.mkdtemp(prefix="phoenix-bench-src-", dir=shm))
    return Path(tempfile.mkdtemp(prefix="phoenix-bench-src-"))


def run(args: argparse.Namespace) -> int:
    """Measure the disk, build the file, start the server, run every client, report.

    Args:
        args: ``bench/downloads.py``'s parsed command line.

    Returns:
        The exit status: 0 when every client succeeded in every round, else 1.
    """
    size = 256 * MiB if args.quick else args.size
    per_connection = args.per_connection
    work = Path(tempfile.mkdtemp(prefix="phoenix-bench-", dir=args.dir))
    source = _source_folder(size)
    try:
        print(f"measuring the disk under {work} ...", file=sys.stderr)
        disk = measure_disk(work, args.disk_test or (GiB if args.quick else 2 * GiB))
        total = args.total or pick_total_cap(disk, per_connection)
        print(
            f"disk {disk / MB:.0f} MB/s durable; caps {per_connection / MB:g} MB/s per "
            f"connection, {total / MB:g} MB/s total; building a {size_label(size)} file ...",
            file=sys.stderr,
        )
        if total >= disk:
            print(
                "warning: the total cap is not below the disk's durable speed; "
                "the disk, not the link, may set the pace",
                file=sys.stderr,
            )
        model = source / FILENAME
        sha256 = write_model(model, size)
        facts = machine_facts(disk)
        setup = {
            "size": size,
            "per_connection": per_connection,
            "total_cap": total,
            "sha256": sha256,
            "rounds": args.rounds,
            "dropped_caches": True,
        }
        server = Server(model, sha256, per_connection, total, work / "server.log")
        try:
            every: list[Result] = []
            for _ in range(args.rounds):
                for name in args.clients:
                    every.append(_measure(name, server, work, setup))
        finally:
            server.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(source, ignore_errors=True)
    results = [_median(name, every) for name in args.clients]
    print(markdown(facts, setup, results, every))
    print()
    print(detail_table(results))
    if args.json:
        report = {
            "machine": facts,
            "setup": setup,
            "results": [asdict(r) for r in results],
            "targets": check_targets(results),
            "every_round": [asdict(r) for r in every],
        }
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0 if all(r.ok for r in every) else 1


def _measure(name: str, server: Server, work: Path, setup: dict[str, Any]) -> Result:
    """One client, once, into a fresh folder that is deleted afterwards."""
    size, total = setup["size"], setup["total_cap"]
    folder = work / name
    folder.mkdir()
    setup["dropped_caches"] = drop_caches() and setup["dropped_caches"]
    print(f"running {name} ...", file=sys.stderr)
    client = make_client(name, server, folder, work)
    log = work / f"{name}.log"
    result = run_client(client, folder, log, server, size)
    if result.ok:
        result.transfer_fraction = result.transfer_rate / total
        result.wall_fraction = result.wall_rate / total
        final = find_file(folder, FILENAME)
        result.verified = (
            result.verified and final is not None and sha256_file(final) == setup["sha256"]
        )
    else:
        print(f"  {name} failed; its log:\n{log.read_text()}", file=sys.stderr)
    print(f"  {json.dumps(asdict(result) | {'growth': len(result.growth)})}", file=sys.stderr)
    shutil.rmtree(folder)
    return result


def _median(name: str, every: list[Result]) -> Result:
    """The client's round with the median wall-clock rate (a failed one if all failed)."""
    mine = [r for r in every if r.client == name]
    ok = sorted((r for r in mine if r.ok), key=lambda r: r.wall_rate)
    return ok[(len(ok) - 1) // 2] if ok else mine[-1]
