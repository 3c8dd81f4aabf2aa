"""Renaming or moving a model inside the models root, its verified record with it.

Only between ComfyUI model folders, only model files, only to a name that is free and
stays inside the target folder, and never a file a download is writing (in this process,
or another one sharing the volume: both files' download locks are held while it moves).
The file keeps its bytes and its modification time, so its record still vouches for it
under the new name. The new name is linked before the old one goes, so a file that
appears under the new name meanwhile is never overwritten; across file systems the file is
copied to a part file first.
"""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import BadRequestError, ConflictError, NotFoundError, UnsafePathError
from ..folders import MODEL_EXTENSIONS, MODEL_FOLDERS, ModelLayout, normalize_folder
from ..naming import contained_path, safe_filename, safe_relative_dir
from .job import ACTIVE, Job, part_path
from .locks import FileLock
from .store import StateStore


@dataclass(frozen=True)
class Move:
    """One model's way from ``source`` (``old``: folder/name) to ``target`` (``new``)."""

    source: Path
    target: Path
    old: str
    new: str
    to_folder: str


def plan_move(layout: ModelLayout, folder: str, name: str, to_folder: str, to_name: str) -> Move:
    """Where ``folder/name`` would go as ``to_folder/to_name``, every rule checked. Blocking.

    Raises:
        UnsafePathError: not a model folder or file, or a name that leaves its folder.
        NotFoundError: there is no such model.
        ConflictError: the new name is taken.
        BadRequestError: the new name is the old one.
    """
    folder, to_folder = _model_folder(folder), _model_folder(to_folder or folder)
    _model_file(name)
    new_name = _new_name(to_name)
    source = _existing(layout, folder, name)
    parts = new_name.split("/")
    target = contained_path(layout.target_dir(to_folder), *parts)
    if target == source:
        raise BadRequestError(
            f"{folder}/{name} is already called that.", hint="Choose another name or folder."
        )
    for base in layout.search_dirs(to_folder):
        if contained_path(base, *parts).exists():
            raise ConflictError(
                f"{to_folder}/{new_name} exists already.",
                hint="Choose another name, or delete that file first.",
            )
    return Move(source, target, f"{folder}/{name}", f"{to_folder}/{new_name}", to_folder)


async def move_model(
    move: Move, state: StateStore, jobs: list[Job], busy_paths: set[Path] | None = None
) -> None:
    """Carry out ``move``, its record with it.

    Args:
        move: from :func:`plan_move`.
        state: where the records and the download locks are.
        jobs: this process's jobs; an active one on either name refuses the move.
        busy_paths: files something else of Phoenix reads now (a lookup hashing them).

    Raises:
        ConflictError: a download (here or in another process) or a lookup uses either file.
    """
    for job in jobs:
        if job.state in ACTIVE and job.dest in (move.source, move.target):
            raise _busy(move, "is being downloaded")
    if busy_paths and move.source in busy_paths:
        raise _busy(move, "is being looked up")
    locks = [FileLock(state.lock_path(relpath)) for relpath in (move.old, move.new)]
    held: list[FileLock] = []
    try:
        for lock in locks:
            if not await asyncio.to_thread(lock.try_acquire):
                raise _busy(move, "is being downloaded")
            held.append(lock)
        await asyncio.to_thread(_carry_out, move, state)
    finally:
        for lock in held:
            lock.release()


def _carry_out(move: Move, state: StateStore) -> None:
    move.target.parent.mkdir(parents=True, exist_ok=True)
    try:
        _link_then_unlink(move.source, move.target)
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            raise ConflictError(
                f"{move.new} appeared while it moved.", hint="Choose another name."
            ) from None
        if exc.errno != errno.EXDEV:
            raise
        _copy_across(move.source, move.target)
    record = state.get_record(move.old)
    if record is not None:
        record = {k: v for k, v in record.items() if k != "relpath"}
        record["folder"] = move.to_folder
        state.put_record(move.new, record)
        state.drop_record(move.old)


def _link_then_unlink(source: Path, target: Path) -> None:
    try:
        os.link(source, target)  # fails if the target exists: nothing is ever overwritten
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        if target.exists():  # a file system without hard links: check, then rename
            raise FileExistsError(errno.EEXIST, "exists", str(target)) from None
        os.rename(source, target)
        return
    os.unlink(source)


def _copy_across(source: Path, target: Path) -> None:
    part = part_path(target)
    try:
        shutil.copy2(source, part)  # keeps the modification time the record knows
        _link_then_unlink(part, target)
    finally:
        part.unlink(missing_ok=True)
    os.unlink(source)


def _busy(move: Move, what: str) -> ConflictError:
    return ConflictError(
        f"{move.old} {what}; it cannot move now.", hint="Try again when that has finished."
    )


def _model_folder(folder: str) -> str:
    key = normalize_folder(folder)
    if key not in MODEL_FOLDERS:
        raise UnsafePathError(
            f"'{folder[:40]}' is not a ComfyUI model folder.",
            hint="Choose one of the folders the library lists.",
        )
    return key


def _model_file(name: str) -> None:
    if PurePosixPath(name).suffix.lower() not in MODEL_EXTENSIONS:
        raise UnsafePathError(
            f"'{name[:80]}' is not a model file.",
            hint="Keep the extension: .safetensors, .gguf, .ckpt, .pt, .pth, .bin or .sft.",
        )


def _new_name(text: str) -> str:
    """``sub/dir/file.ext`` checked part by part, refused rather than changed."""
    raw = text.strip().replace("\\", "/")
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise UnsafePathError(f"'{text[:80]}' is an absolute path.", hint="Use a relative name.")
    parts = [p for p in raw.split("/") if p]
    if not parts:
        raise UnsafePathError("The new name is empty.", hint="Type a file name.")
    name = "/".join([safe_relative_dir("/".join(parts[:-1])), safe_filename(parts[-1])])
    name = name.lstrip("/")
    if name != "/".join(parts):
        raise UnsafePathError(
            f"'{text[:80]}' has characters Phoenix keeps out of file names.",
            hint="Use letters, digits, dots, dashes and underscores.",
        )
    _model_file(name)
    return name


def _existing(layout: ModelLayout, folder: str, name: str) -> Path:
    for base in layout.search_dirs(folder):
        candidate = contained_path(base, *name.split("/"))
        if candidate.is_file():
            return candidate
    raise NotFoundError(f"There is no {folder}/{name[:120]}.", hint="Refresh the library.")
