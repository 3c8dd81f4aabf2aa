"""File names and paths from the network are hostile until proven otherwise.

Names come from Content-Disposition, CivitAI's API, HuggingFace repo paths,
manifests and route bodies. Each is NFKC-normalized, limited to a fixed
character set and length, and refused when it could escape the models root.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from .errors import UnsafePathError

MAX_NAME_BYTES = 200
MAX_DEPTH = 8

_ALLOWED = re.compile(r"[^\w .,+()\[\]{}@#=~!&'-]", re.UNICODE)
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.IGNORECASE)
_HINT = "Rename it to plain letters, digits, dots, dashes and underscores."


def safe_filename(name: str) -> str:
    """Return ``name`` as a safe single file name, or raise :class:`UnsafePathError`.

    Characters outside the allowed set become ``_``; anything that could change
    the directory (separators, ``..``, drive letters, NUL) is refused outright.
    """
    if not isinstance(name, str) or not name:
        raise UnsafePathError("The file name is empty.", hint=_HINT)
    text = unicodedata.normalize("NFKC", name)
    shown = text[:80].encode("ascii", "backslashreplace").decode()
    if "\x00" in text or "/" in text or "\\" in text or re.match(r"^[A-Za-z]:", text):
        raise UnsafePathError(f"The file name '{shown}' contains a path.", hint=_HINT)
    text = "".join("_" if unicodedata.category(c).startswith("C") else c for c in text)
    text = _ALLOWED.sub("_", text).strip(" .")
    if not text or text in (".", "..") or text.startswith("."):
        raise UnsafePathError(f"The file name '{shown}' is not a usable name.", hint=_HINT)
    if _WINDOWS_RESERVED.match(text):
        raise UnsafePathError(f"'{shown}' is a reserved name on Windows.", hint=_HINT)
    if len(text.encode()) > MAX_NAME_BYTES:
        raise UnsafePathError(
            f"The file name '{shown}…' is longer than {MAX_NAME_BYTES} bytes.", hint=_HINT
        )
    return text


def safe_relative_dir(path: str) -> str:
    """Return a safe relative directory (``a/b``) for a subfolder; each part is checked."""
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    if path.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", path):
        raise UnsafePathError(
            f"'{path[:80]}' is an absolute path.", hint="Use a relative subfolder."
        )
    if len(parts) > MAX_DEPTH:
        raise UnsafePathError(
            f"'{path[:80]}' is nested too deeply.", hint="Use a shorter subfolder."
        )
    if any(p in (".", "..") for p in parts):
        raise UnsafePathError(f"'{path[:80]}' climbs out of its folder.", hint="Remove '..'.")
    return "/".join(safe_filename(p) for p in parts)


def contained_path(root: Path, *parts: str) -> Path:
    """Join ``parts`` under ``root`` and prove the result stays inside it (symlinks resolved)."""
    base = Path(os.path.realpath(root))
    candidate = Path(os.path.realpath(base.joinpath(*parts)))
    if os.path.commonpath([base, candidate]) != str(base):
        raise UnsafePathError(
            f"'{'/'.join(parts)[:120]}' would be outside {base}.",
            hint="Choose a file inside the models folder.",
        )
    return candidate
