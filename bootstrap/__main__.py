"""``python -m bootstrap``: boot the container and supervise it until a stop signal."""

from __future__ import annotations

from .boot import main

if __name__ == "__main__":
    raise SystemExit(main())
