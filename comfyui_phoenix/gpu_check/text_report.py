"""The GPU report as a few lines for a terminal, and the verdict ``phoenix doctor`` exits with."""

from __future__ import annotations

from .report import GIB, DoctorReport


def format_report(report: DoctorReport) -> str:
    """The report as a few lines for a terminal (``phoenix doctor``)."""
    lines = []
    for device in report.devices:
        vram = f", {device.vram_total / GIB:.1f} GiB" if device.vram_total else ""
        lines.append(f"GPU {device.index}: {device.name} ({device.arch}{vram})")
    if report.driver_version:
        lines.append(f"Driver {report.driver_version} (CUDA {report.driver_cuda or '?'})")
    torch = report.torch
    if torch.version:
        lines.append(
            f"PyTorch {torch.version} (CUDA {torch.cuda or 'none'}): {' '.join(torch.arch_list)}"
        )
    for check in report.checks:
        lines.append(f"{check.mark} {check.name}: {check.message}")
        if check.fix and check.ok is not True:
            lines.append(f"   → {check.fix}")
    return "\n".join(lines)


def report_ok(report: DoctorReport) -> bool:
    """False when any check failed: ``phoenix doctor`` exits non-zero then.

    A check marked information (one that could not tell, or a missing GPU on a local
    install) fails nothing.
    """
    return report.ok
