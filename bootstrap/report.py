"""``boot-report.json``: the boot's steps, checks, chosen flags and services, as they change.

Written atomically (a temporary sibling, then ``os.replace``) after every change, so a
SIGKILL without warning leaves the last complete state behind. The extension serves it
in ``/phoenix/status``. It never holds a secret: every write passes through the secret
registry as a last line of defence, on top of never putting one in.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from comfyui_phoenix.security.redact import SecretRegistry

REPORT_VERSION = 1


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


@dataclass
class StepRecord:
    """One boot step as the report shows it."""

    name: str
    title: str
    status: str = "pending"  # pending, running, ok, info, warn, failed, skipped
    message: str = ""
    started_at: str | None = None
    duration_s: float | None = None
    details: list[str] = field(default_factory=list)


class BootReport:
    """The report's state in memory, mirrored to disk on every change."""

    def __init__(self, path: Path, registry: SecretRegistry) -> None:
        self.path = path
        self._registry = registry
        self._lock = threading.Lock()
        self._steps: dict[str, StepRecord] = {}
        self._started: dict[str, float] = {}
        self.data: dict[str, Any] = {
            "version": REPORT_VERSION,
            "state": "booting",
            "started_at": _now(),
            "updated_at": _now(),
            "steps": [],
            "services": {},
        }

    def declare_steps(self, steps: list[tuple[str, str]]) -> None:
        """List every step up front, so the report shows what is still to come."""
        for name, title in steps:
            self._steps[name] = StepRecord(name, title)
        self.write()

    def step_started(self, name: str) -> None:
        record = self._steps[name]
        record.status, record.started_at = "running", _now()
        self._started[name] = time.monotonic()
        self.write()

    def step_done(
        self, name: str, status: str, message: str, details: list[str] | None = None
    ) -> None:
        record = self._steps[name]
        record.status, record.message = status, message
        record.details = list(details or [])
        began = self._started.get(name)
        record.duration_s = round(time.monotonic() - began, 3) if began is not None else None
        self.write()

    def interrupt_running(self, message: str) -> None:
        """Mark the steps still running as interrupted (a stop signal during the boot)."""
        for name, record in self._steps.items():
            if record.status in ("running", "pending"):
                self.step_done(name, "skipped", message)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.write()

    def state(self, state: str) -> None:
        self.set("state", state)

    def service(self, name: str, **fields: Any) -> None:
        """Merge ``fields`` into ``services[name]`` (state, pid, restarts, ready…)."""
        self.data["services"].setdefault(name, {}).update(fields)
        self.write()

    def snapshot(self) -> dict[str, Any]:
        """The report as JSON-ready data, secrets masked."""
        with self._lock:
            data = dict(self.data, steps=[asdict(s) for s in self._steps.values()])
            data["updated_at"] = _now()
            text = self._registry.redact(json.dumps(data, default=str))
        loaded: dict[str, Any] = json.loads(text)
        return loaded

    def write(self) -> None:
        """Replace the file on disk with the current state; a failure is remembered, not raised."""
        text = json.dumps(self.snapshot(), indent=2, ensure_ascii=False)
        # The report is a convenience for the status page; the boot goes on without it.
        with contextlib.suppress(OSError):
            write_atomic(self.path, text, mode=0o644)


def write_atomic(path: Path, text: str, *, mode: int) -> None:
    """Write ``text`` to ``path`` through a temporary sibling and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)  # the umask may have narrowed the mode given to open()
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
