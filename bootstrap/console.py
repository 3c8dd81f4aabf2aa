"""The boot log: one timestamped line per event, marked ok, info, warning or failure.

Lines go to stdout, which RunPod shows as the container log. Colour is used only on a
terminal; ``DEBUG_MODE=true`` adds detail lines. Every line passes through a secret
registry first, so a token that slips into a message is masked. The one deliberate
exception is :meth:`BootLog.announce_once`: the generated FileBrowser password, printed
once because the log is the only place a RunPod user can read it.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from comfyui_phoenix.security.redact import SecretRegistry

OK, INFO, WARN, FAIL = "✅", "ℹ️", "⚠️", "❌"

_COLOURS = {OK: "\033[32m", INFO: "\033[36m", WARN: "\033[33m", FAIL: "\033[31m"}
_DIM, _RESET = "\033[2m", "\033[0m"


class BootLog:
    """Writes the boot's log lines; thread-safe, flushed line by line."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        debug: bool = False,
        colour: bool | None = None,
        registry: SecretRegistry | None = None,
    ) -> None:
        self._stream = stream if stream is not None else sys.stdout
        self.debug_enabled = debug
        self._colour = _isatty(self._stream) if colour is None else colour
        self.registry = registry if registry is not None else SecretRegistry()
        self._lock = threading.Lock()

    def ok(self, step: str, message: str) -> None:
        self.line(OK, step, message)

    def info(self, step: str, message: str) -> None:
        self.line(INFO, step, message)

    def warn(self, step: str, message: str) -> None:
        self.line(WARN, step, message)

    def fail(self, step: str, message: str, fix: str | None = None) -> None:
        self.line(FAIL, step, message)
        if fix:
            self.line(" ", step, f"→ {fix}")

    def debug(self, step: str, message: str) -> None:
        if self.debug_enabled:
            self.line("·", step, message, dim=True)

    def line(self, mark: str, step: str, message: str, *, dim: bool = False) -> None:
        """One log line: ``2026-08-20 10:00:01 ✅ storage: …`` with secrets masked."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        text = self.registry.redact(f"{stamp} {mark} {step}: {message}")
        if self._colour:
            colour = _DIM if dim else _COLOURS.get(mark, "")
            text = f"{colour}{text}{_RESET}" if colour else text
        self._write(text)

    def block(self, lines: list[str]) -> None:
        """Several lines at once (the boot summary), masked like the rest."""
        self._write("\n".join(self.registry.redact(line) for line in lines))

    def announce_once(self, label: str, secret: str) -> None:
        """Print ``secret`` unmasked, once. Only for a credential the user cannot get elsewhere."""
        self._write(f"🔑 {label}: {secret}")

    def _write(self, text: str) -> None:
        with self._lock:
            self._stream.write(text + "\n")
            self._stream.flush()


def _isatty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
