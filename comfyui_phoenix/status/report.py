"""The status report every surface shows: ``GET /phoenix/status``, the sidebar, ``phoenix status``.

:class:`StatusBoard` assembles cached readings (GPUs, host, disks), the bootstrap's boot
report and whatever the caller passes (jobs, failures, the last cleanup) into one
JSON-ready dict. Building it copies cached values and stats one small file, so it is
cheap enough to answer every request.

The report holds only those readings and what it is given, so it carries no secret
unless a caller passes one in.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..runtime import BOOT_REPORT_FILE
from .gpu import GpuSampler
from .system import SystemSampler


class BootReport:
    """The bootstrap's ``boot-report.json``, read again only when the file changes.

    A missing file (a local install, or before the bootstrap writes it) reads as None; a
    file that cannot be read or parsed reads as ``{"error": "..."}``.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._key: tuple[int, int, int] | None = None
        self._value: dict[str, Any] | None = None

    def read(self) -> dict[str, Any] | None:
        """The report's contents (do not modify: the same dict is returned until it changes)."""
        if self.path is None:
            return None
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._key, self._value = None, None
            return None
        except OSError as exc:
            return {"error": f"The boot report at {self.path} cannot be read: {exc.strerror}."}
        # The inode catches an atomic replace, the size a rewrite within one mtime tick.
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if key != self._key:
            self._value = _load_boot_report(self.path)
            self._key = key
        return self._value


class StatusBoard:
    """Assembles the status report from the samplers and the caller's summaries.

    Args:
        gpu: The GPU sampler; its owner starts and stops it.
        paths: Named paths whose disks are reported, e.g. ``models``, ``input``,
            ``output`` and ``root`` (``/``).
        runtime_dir: ``$PHOENIX_RUNTIME_DIR``, where the bootstrap leaves
            ``boot-report.json``; None outside the container.
        version: Phoenix's version, shown in the report.
    """

    def __init__(
        self,
        *,
        gpu: GpuSampler,
        paths: Mapping[str, Path],
        runtime_dir: Path | None,
        version: str,
    ) -> None:
        self.gpu = gpu
        self.system = SystemSampler(paths)
        self.boot = BootReport(None if runtime_dir is None else runtime_dir / BOOT_REPORT_FILE)
        self.version = version

    async def start(self) -> None:
        """Start sampling host and disks in the background (the server's lifecycle)."""
        await self.system.start()

    async def stop(self) -> None:
        """Stop the host and disk sampling."""
        await self.system.stop()

    def snapshot(
        self,
        jobs_summary: dict[str, Any] | None = None,
        failures: list[dict[str, Any]] | None = None,
        cleanup_report: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The status report, JSON-ready.

        Args:
            jobs_summary: Counts of jobs by state, from the job manager.
            failures: Recent failures, each already rendered for users.
            cleanup_report: The last cleanup's report.

        Returns:
            ``{version, time, gpu, system, disks, jobs, failures, cleanup, boot}``;
            ``time`` in seconds since the epoch, sizes in bytes.
        """
        system = dict(self.system.latest())
        disks = system.pop("disks", {})
        return {
            "version": self.version,
            "time": time.time(),
            "gpu": self.gpu.latest().to_dict(),
            "system": system,
            "disks": disks,
            "jobs": jobs_summary,
            "failures": failures,
            "cleanup": cleanup_report,
            "boot": self.boot.read(),
        }


def _load_boot_report(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except OSError as exc:
        return {"error": f"The boot report at {path} cannot be read: {exc.strerror}."}
    except ValueError as exc:
        return {"error": f"The boot report at {path} is not valid JSON: {exc}."}
    if not isinstance(data, dict):
        return {"error": f"The boot report at {path} is not a JSON object."}
    return data
