"""The boot's steps in the order they run, each with its title and whether it is critical.

A critical step that fails stops the boot: the steps after it are reported as skipped.
A step that is not critical reports its failure, and the boot goes on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..context import BootContext
from .comfyui import start_comfyui
from .filebrowser import start_filebrowser
from .gate import check_gate
from .gpu import check_gpu
from .installs import run_installs
from .outcome import Outcome
from .ready import wait_ready
from .secrets import hand_off_secrets
from .settings import check_settings
from .storage import prepare_storage


@dataclass(frozen=True)
class Step:
    """One row of the boot: ``name`` in the log and the report, ``title`` for people."""

    name: str
    title: str
    run: Callable[[BootContext], Awaitable[Outcome]]
    critical: bool


STEPS: tuple[Step, ...] = (
    Step("settings", "Settings", check_settings, critical=True),
    Step("gpu", "GPU, driver and PyTorch", check_gpu, critical=False),
    Step("storage", "Storage", prepare_storage, critical=True),
    Step("secrets", "Secrets handoff", hand_off_secrets, critical=True),
    Step("installs", "Optional installs", run_installs, critical=False),
    Step("filebrowser", "FileBrowser", start_filebrowser, critical=False),
    Step("comfyui", "ComfyUI", start_comfyui, critical=True),
    Step("ready", "ComfyUI ready", wait_ready, critical=False),
    Step("gate", "Login gate", check_gate, critical=False),
)
