"""What is verified on disk, so a verified file is never read or fetched again.

After a transfer passes its checks, a small record beside the models (its source,
size, modification time and hash) says so. A file whose size and modification
time still match its record is taken as verified without reading 20 GB again; a
plan that knows a file's hash asks here before it asks any server about it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from ..engines.verify import new_hasher
from ..folders import ModelLayout
from ..naming import contained_path
from ..plan import PlannedFile
from ..security.redact import public_ref, redact_url
from ..sources.base import KnownFile
from .store import StateStore

log = logging.getLogger(__name__)

_READ_CHUNK = 8 << 20


class VerifiedFiles:
    """The verified records under ``<models root>/.phoenix/records``."""

    def __init__(self, layout: ModelLayout, state: StateStore) -> None:
        self.layout = layout
        self.state = state

    def is_present(self, file: PlannedFile, dest: Path) -> bool:
        """True when ``dest`` holds this file: size matches and the hash is known to match.

        Blocking: it may hash the file once, when no record vouches for it.
        """
        try:
            stat = dest.stat()
        except FileNotFoundError:
            return False
        if file.size is not None and stat.st_size != file.size:
            return False
        expected = file.hash_spec
        record = self.state.get_record(file.relpath)
        if record is not None and _unchanged(record, stat.st_size, stat.st_mtime_ns):
            if expected is None:
                return True
            known = record.get(expected[0])
            if known:  # a record of this very file with this hash: no need to read it again
                return bool(known.lower() == expected[1])
        if expected is None:
            return file.size is not None
        hasher = new_hasher(expected[0])
        with open(dest, "rb") as handle:
            while chunk := handle.read(_READ_CHUNK):
                hasher.update(chunk)
        if hasher.hexdigest() != expected[1]:
            return False
        self.record(file, dest, hasher.hexdigest())
        return True

    def vouches_for(self, file: PlannedFile, dest: Path) -> bool:
        """Whether a record says ``dest`` holds ``file``, verified and unchanged since. Cheap."""
        record = self.state.get_record(file.relpath)
        try:
            stat = dest.stat()
        except OSError:
            return False
        return bool(
            record is not None
            and record.get("verified")
            and _unchanged(record, stat.st_size, stat.st_mtime_ns)
        )

    def record(self, file: PlannedFile, dest: Path, digest: str | None) -> None:
        """Remember that ``dest`` holds ``file``, verified against ``digest`` if there is one."""
        stat = dest.stat()
        record: dict[str, Any] = {
            "ref": public_ref(file.ref),
            "source": file.source,
            "url": redact_url(file.url),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "sha256": file.sha256,
            "blake3": file.blake3,
            "verified": digest is not None,
            "verified_at": time.time(),
            "folder": file.folder,
            "meta": file.meta,
        }
        spec = file.hash_spec
        if spec and digest:
            record[spec[0]] = digest
        self.state.put_record(file.relpath, record)

    def find(self, algorithm: str, digest: str) -> KnownFile | None:
        """A file on disk verified to have this hash and unchanged since; None if there is none.

        Blocking: it reads the records and stats the files they name.
        """
        wanted = digest.lower()
        for record in self.state.records():
            if str(record.get(algorithm) or "").lower() != wanted or not record.get("verified"):
                continue
            known = _known_file(record)
            if known is not None and self._still_there(known, record):
                return known
        return None

    def _still_there(self, known: KnownFile, record: dict[str, Any]) -> bool:
        try:
            parts = [p for p in (known.subfolder, known.filename) if p]
            stat = contained_path(self.layout.target_dir(known.folder), *parts).stat()
        except (OSError, ValueError):
            return False
        return _unchanged(record, stat.st_size, stat.st_mtime_ns)


def _unchanged(record: dict[str, Any], size: int, mtime_ns: int) -> bool:
    return bool(record.get("size") == size and record.get("mtime_ns") == mtime_ns)


def _known_file(record: dict[str, Any]) -> KnownFile | None:
    parts = str(record.get("relpath") or "").split("/")
    size = record.get("size")
    if len(parts) < 2 or not isinstance(size, int):
        return None
    return KnownFile(parts[0], "/".join(parts[1:-1]), parts[-1], size)
