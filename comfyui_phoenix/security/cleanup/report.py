"""What a cleanup did: removed, kept (why) and could not remove (why).

The panel and ``phoenix cleanup --json`` show it as is; the bootstrap writes it into the
boot report at exit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...units import human_size


@dataclass
class CleanupReport:
    """What a cleanup did: removed, kept (why) and could not remove (why)."""

    removed: list[dict[str, Any]] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    overwritten: int = 0
    overwrite_skipped: int = 0
    bytes_removed: int = 0
    seconds: float = 0.0
    storage: dict[str, Any] = field(default_factory=dict)
    finished_at: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "removed": self.removed,
            "kept": self.kept,
            "failed": self.failed,
            "overwritten": self.overwritten,
            "overwrite_skipped": self.overwrite_skipped,
            "bytes_removed": self.bytes_removed,
            "seconds": round(self.seconds, 3),
            "storage": self.storage,
            "finished_at": self.finished_at,
        }

    def summary(self) -> str:
        return (
            f"cleanup: {len(self.removed)} removed ({human_size(self.bytes_removed)}, "
            f"{self.overwritten} small files overwritten first), {len(self.kept)} kept, "
            f"{len(self.failed)} failed, in {self.seconds:.2f} s"
        )
