"""Looking at paths and trees without ever following a symbolic link.

Cleanup resolves the folders above a path but never the path itself (a link is an entry
to remove, not a way somewhere else), and walks and measures trees the same way.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path


def anchor(path: Path) -> Path:
    """``path`` with its parent's links resolved but not its last component (which is never
    followed)."""
    absolute = Path(os.path.abspath(path))
    return Path(os.path.realpath(absolute.parent)) / absolute.name


def within(path: Path, base: Path) -> bool:
    """Whether ``path`` is ``base`` or lies under it (by name: resolve both first)."""
    return path == base or base in path.parents


def walk(folder: Path) -> Iterator[tuple[Path, list[str], list[str]]]:
    """``os.walk`` that never enters a link: links to folders come with the files.

    Yields:
        ``(folder, subfolders, names)``; prune ``subfolders`` in place to skip them.
    """
    for root, dirs, files in os.walk(folder, followlinks=False):
        # os.walk lists links to folders among dirs; they are entries, not places to go.
        links = [d for d in dirs if os.path.islink(os.path.join(root, d))]
        dirs[:] = [d for d in dirs if d not in links]
        yield Path(root), dirs, files + links


def measure(folder: Path) -> tuple[int, int]:
    """The bytes and the number of entries (files and links) under ``folder``."""
    size = count = 0
    for root, _, names in walk(folder):
        for name in names:
            try:
                info = (root / name).lstat()
            except OSError:
                continue
            size += info.st_size
            count += 1
    return size, count
