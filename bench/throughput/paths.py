"""Where the benchmark finds the checkout, and the script every one of its processes runs.

The server and the Phoenix client are child processes started through the same entry
script as the benchmark itself, which picks their part from its first argument.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENTRY = ROOT / "bench" / "downloads.py"
