"""The report: the README's paragraph, the results table, ratios, target checks, and a
second table of where the time and the CPUs went."""

from __future__ import annotations

from typing import Any

from .clients import PHOENIX_CLIENTS
from .model_file import FILENAME, REPO_ID
from .result import Result
from .targets import by_name, check_targets
from .units import MB, size_label


def markdown(
    facts: dict[str, Any], setup: dict[str, Any], results: list[Result], every: list[Result]
) -> str:
    """The README's paragraph, table, ratios and target checks."""
    total = setup["total_cap"]
    rounds = setup["rounds"]
    lines = [
        f"File {size_label(setup['size'])} (`{REPO_ID}/{FILENAME}`, one LFS file) on a local hub "
        f"whose CDN caps each connection at {setup['per_connection'] / MB:g} MB/s and all of "
        f"them at {total / MB:g} MB/s; the download disk writes {facts['disk_write_mb_s']} MB/s "
        f"durably (fsync). {facts['cpus']} CPUs ({facts['cpu']}), Python {facts['python']}, "
        f"{facts['aria2c']}, huggingface_hub {facts['huggingface_hub']}, "
        f"{facts['curl'].split(' (')[0]}; load average {facts['load_average_1m']} before the "
        f"run. Page cache dropped before each client: "
        f"{'yes' if setup['dropped_caches'] else 'no (not permitted)'}."
        + (
            f" Each client ran {rounds} times; the median run by wall clock is shown."
            if rounds > 1
            else ""
        ),
        "",
        "| Client | Conns | Transfer MB/s (× cap) | Wall MB/s (× cap) | Wall s | Start s "
        "| Tail s (% of transfer) | Flush s | Peak RSS MB | Notes |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for r in results:
        if not r.ok:
            lines.append(f"| {r.client} | | failed | | | | | | | {r.error} |")
            continue
        note = "; ".join(filter(None, [r.note, _spread(r.client, every, rounds)]))
        lines.append(
            f"| {r.client} | {r.connections} "
            f"| {r.transfer_rate / MB:.0f} ({r.transfer_fraction:.2f}) "
            f"| {r.wall_rate / MB:.0f} ({r.wall_fraction:.2f}) "
            f"| {r.wall:.1f} | {r.startup:.2f} "
            f"| {r.tail:.2f} ({100 * r.tail / r.transfer:.0f}%) | {r.flush:.2f} "
            f"| {r.peak_rss_mb:.0f} | {note} |"
        )
    lines += ["", *_ratios(results), "", *_targets(results)]
    lines += ["", *_NOTES]
    return "\n".join(lines)


def _spread(name: str, every: list[Result], rounds: int) -> str:
    fractions = sorted(r.wall_fraction for r in every if r.client == name and r.ok)
    if rounds < 2 or not fractions:
        return ""
    return f"wall × cap {fractions[0]:.2f}–{fractions[-1]:.2f} over {len(fractions)} runs"


_NOTES = (
    "Transfer: first to last byte of the file on disk (its size, or allocated blocks for a "
    "pre-sized file, polled every 10 ms; the CDN's token bucket starts with 0.1 s of burst, "
    "so a short transfer can show slightly above the cap). Wall: process start to the file "
    "verified (Phoenix only: hf_hub_download and curl check no hash) and durable in place, "
    "for Phoenix up to its process's exit. Tail: last byte on disk to the file durable in "
    "place. Phoenix makes it durable itself (fdatasync while hashing, then rename and "
    "directory fsync); curl and hf_hub_download do not, so the benchmark fsyncs the file and "
    "its folder after they exit and counts that as their flush. Flush: the part of the tail "
    "spent in fsync. Peak RSS: the client's whole process tree (aria2c included), polled "
    "every 50 ms.",
)


def _ratios(results: list[Result]) -> list[str]:
    found = by_name(results)
    lines = []
    for name in PHOENIX_CLIENTS:
        if name not in found:
            continue
        mine = found[name].wall_rate
        parts = [
            f"{mine / found[other].wall_rate:.1f}× {other}"
            for other in ("hf_hub_download", "curl")
            if other in found
        ]
        if parts:
            lines.append(f"- {name} over the wall clock: {', '.join(parts)}.")
    return lines


def _targets(results: list[Result]) -> list[str]:
    lines = []
    for name, checks in check_targets(results).items():
        marks = ", ".join(f"{label} {'✅' if ok else '❌'}" for label, ok in checks.items())
        lines.append(f"- {name}: {marks}")
    return lines


def _phoenix_only(result: Result, value: float) -> str:
    return f"{value:.2f}" if result.client in PHOENIX_CLIENTS else "–"


def detail_table(results: list[Result]) -> str:
    """Where the time and the CPUs went, client by client."""
    lines = [
        "| Client | To CLI ready s | Engine on_tail s | Exit after return s | CDN GETs "
        "| CDN bytes over size "
        "| Client CPU s | Server CPU s | Other processes CPU s | All CPUs busy | iowait "
        "| SHA256 checked |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for r in results:
        extra = r.cdn_bytes - r.size if r.cdn_bytes else 0
        lines.append(
            f"| {r.client} | {_phoenix_only(r, r.ready)} | {_phoenix_only(r, r.engine_tail)} "
            f"| {_phoenix_only(r, r.after)} | {r.cdn_gets} "
            f"| {extra / MB:.1f} MB "
            f"| {r.client_cpu_s:.1f} | {r.server_cpu_s:.1f} | {r.other_cpu_s:.1f} "
            f"| {r.system_busy:.0%} | {r.system_iowait:.0%} | {'yes' if r.verified else 'no'} |"
        )
    return "\n".join(lines)
