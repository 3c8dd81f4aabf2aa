"""The real ComfyUI in a subprocess, with this package as its only custom node.

ComfyUI runs from its checkout with ``--base-directory`` pointing at a temporary folder
whose ``custom_nodes/`` links to this repository, so the checkout itself is never touched.
It inherits no Phoenix, HuggingFace, CivitAI, ComfyUI or FileBrowser variable from the
test process: each test says what it sets.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NODE_NAME = "comfyui-phoenix"
# Read at import: the autouse fixture clears COMFY* variables before each test runs.
COMFYUI_DIR = os.environ.get("COMFYUI_DIR", "")
COMFYUI_PYTHON = os.environ.get("COMFYUI_PYTHON", "")

#: Marks for tests that need the real ComfyUI (it is not installable from PyPI).
needs_comfyui = [
    pytest.mark.comfyui,
    pytest.mark.skipif(
        not (COMFYUI_DIR and COMFYUI_PYTHON),
        reason="set COMFYUI_DIR and COMFYUI_PYTHON to run Phoenix inside the real ComfyUI",
    ),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def frontend_root(source: Path, into: Path) -> Path:
    """The static folder of a ``comfyui_frontend_package`` wheel (unpacked) or folder."""
    if source.is_file():
        with zipfile.ZipFile(source) as wheel:
            wheel.extractall(into)
        source = into
    for candidate in (source, source / "static", source / "comfyui_frontend_package" / "static"):
        if (candidate / "index.html").is_file():
            return candidate
    raise FileNotFoundError(f"no frontend index.html under {source}")


class ComfyUI:
    """One ComfyUI process on a free port; :meth:`stop` ends it."""

    def __init__(self, checkout: Path, python: Path, base: Path) -> None:
        self.checkout = checkout
        self.python = python
        self.base = base
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = base / "comfyui.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(
        self,
        *,
        env: dict[str, str],
        args: list[str] | None = None,
        timeout: float = 180,
        ready_path: str = "/system_stats",
    ) -> ComfyUI:
        """Start ComfyUI and wait until ``ready_path`` answers (the gate leaves only
        ``/phoenix/health`` open)."""
        custom_nodes = self.base / "custom_nodes"
        custom_nodes.mkdir(parents=True, exist_ok=True)
        (custom_nodes / NODE_NAME).symlink_to(REPO, target_is_directory=True)
        settings = self.base / "user" / "default" / "comfy.settings.json"
        settings.parent.mkdir(parents=True, exist_ok=True)
        # Skip the first-visit template dialog, which would cover the sidebar.
        settings.write_text('{"Comfy.TutorialCompleted": true}\n')
        command = [
            str(self.python),
            "main.py",
            "--cpu",
            "--listen",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--base-directory",
            str(self.base),
            "--disable-auto-launch",
            *(args or []),
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.checkout,
                env={**_clean_environ(), **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._wait_ready(timeout, ready_path)
        return self

    def _wait_ready(self, timeout: float, ready_path: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"ComfyUI exited before answering:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + ready_path, timeout=2):  # noqa: S310 - loopback
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.25)
        raise RuntimeError(f"ComfyUI did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def log(self) -> str:
        return plain_log(self.log_path)

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def import_failure(self) -> str | None:
        """ComfyUI's log tail (with its traceback) when it could not import Phoenix, else None."""
        line = _import_line(self.log())
        return None if line is not None and "IMPORT FAILED" not in line else self.log_tail()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)


_FOREIGN = ("PHOENIX_", "HF_", "HUGGINGFACE_", "CIVITAI_", "COMFY", "FB_")


def _clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN)}


_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
_LEVEL = re.compile(r"^\[(DEBUG|INFO|WARNING|ERROR|CRITICAL)\] ?", re.M)


def plain_log(path: Path) -> str:
    """ComfyUI's log as older versions wrote it: newer ones colour each line and prefix its level."""
    return _LEVEL.sub("", _COLOUR.sub("", path.read_text(errors="replace")))


def _import_line(log: str) -> str | None:
    """The row of ComfyUI's import-time table for Phoenix."""
    for line in reversed(log.splitlines()):
        if line.rstrip().endswith(f"custom_nodes/{NODE_NAME}") and " seconds" in line:
            return line
    return None
