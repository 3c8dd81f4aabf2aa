"""What Phoenix remembers on disk, under ``<models root>/.phoenix``.

``records/``: one small JSON file per verified model (its source, size and hash),
so a verified file is never hashed or fetched again and the library can show
where a model came from. ``jobs/``: one file per unfinished download, keyed by
its destination (the journal), so a restart resumes them. ``locks/``: cross-process locks. One file per entry means
processes sharing a volume never overwrite each other's state.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def write_json_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, separators=(",", ":"))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable state file %s: %s", path, exc)
        return None


class StateStore:
    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir

    # -- verified records -----------------------------------------------------------
    def record_path(self, relpath: str) -> Path:
        return self.root / "records" / f"{_key(relpath)}.json"

    def get_record(self, relpath: str) -> dict[str, Any] | None:
        data = read_json(self.record_path(relpath))
        return data if isinstance(data, dict) and data.get("relpath") == relpath else None

    def put_record(self, relpath: str, record: dict[str, Any]) -> None:
        write_json_atomic(self.record_path(relpath), {**record, "relpath": relpath})

    def drop_record(self, relpath: str) -> None:
        self.record_path(relpath).unlink(missing_ok=True)

    def records(self) -> list[dict[str, Any]]:
        folder = self.root / "records"
        if not folder.is_dir():
            return []
        found = (read_json(p) for p in sorted(folder.glob("*.json")))
        return [r for r in found if isinstance(r, dict)]

    # -- journal --------------------------------------------------------------------
    def journal_path(self, relpath: str) -> Path:
        return self.root / "jobs" / f"{_key(relpath)}.json"

    def save_job(self, relpath: str, data: dict[str, Any]) -> None:
        write_json_atomic(self.journal_path(relpath), data)

    def forget_job(self, relpath: str) -> None:
        self.journal_path(relpath).unlink(missing_ok=True)

    def unfinished_jobs(self) -> list[tuple[Path, dict[str, Any]]]:
        """Each journal file with what it holds (a file that holds no job is skipped)."""
        folder = self.root / "jobs"
        if not folder.is_dir():
            return []
        found = ((p, read_json(p)) for p in sorted(folder.glob("*.json")))
        return [(p, j) for p, j in found if isinstance(j, dict)]

    def lock_path(self, relpath: str) -> Path:
        return self.root / "locks" / f"{_key(relpath)}.lock"
