"""Where the bootstrap reads and writes, and how it runs its children.

Every fixed path hangs off one root prefix, ``/`` in the image, so tests boot the whole
container under a temporary directory. The ``PHOENIX_BOOT_*`` variables and
``PHOENIX_GPU_REPORT_FILE`` are hooks for tests and image builders, not user settings:

==============================  ================================  ===========================
variable                        default                           meaning
==============================  ================================  ===========================
``PHOENIX_BOOT_ROOT``           ``/``                             prefix of every fixed path
``PHOENIX_BOOT_COMFYUI_DIR``    ``<root>/opt/ComfyUI``            the ComfyUI checkout
``PHOENIX_BOOT_COMFYUI_PYTHON`` the bootstrap's own Python        ComfyUI's interpreter
``PHOENIX_BOOT_FILEBROWSER_BIN`` ``<root>/usr/local/bin/filebrowser`` FileBrowser's executable
``PHOENIX_BOOT_USER``           ``sduser``                        who the children run as (root only)
``PHOENIX_BOOT_LISTEN``         ``0.0.0.0``                       address both services bind
``PHOENIX_BOOT_COMFYUI_PORT``   ``7860``                          ComfyUI's port
``PHOENIX_BOOT_FILEBROWSER_PORT`` ``8080``                        FileBrowser's port
``PHOENIX_BOOT_STOP_GRACE``     ``6``                             seconds a child gets to stop
``PHOENIX_BOOT_READY_TIMEOUT``  ``600``                           seconds to wait for ComfyUI
``PHOENIX_BOOT_SHM_MIN_BYTES``  ``1073741824`` (1 GiB)            free ``/dev/shm`` that
                                                                  PARANOID_MODE needs
``PHOENIX_BOOT_SHM_ANY_FS``     unset                             ``1``: accept a ``/dev/shm``
                                                                  that is not tmpfs (a test
                                                                  folder standing in for it)
``PHOENIX_GPU_REPORT_FILE``     unset                             a doctor report (JSON) used
                                                                  instead of NVML and torch
==============================  ================================  ===========================
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from comfyui_phoenix.errors import ConfigError
from comfyui_phoenix.runtime import (
    BOOT_REPORT_FILE,
    ETC_DIR,
    EXTRA_MODEL_PATHS_FILE,
    RUNTIME_ENV_FILE,
    SECRETS_FILE,
)

from .tmpfs import PARANOID_MIN_SHM

#: Docker gives a container 10 s between SIGTERM and SIGKILL; RunPod documents nothing.
STOP_BUDGET = 10.0


@dataclass(frozen=True)
class BootPaths:
    """Every file and folder the bootstrap touches."""

    root: Path
    comfyui_dir: Path
    comfyui_python: str
    filebrowser_bin: Path
    runtime_dir: Path
    gpu_report_file: Path | None = None

    @property
    def workspace(self) -> Path:
        """RunPod mounts the volume disk or network volume here."""
        return self.root / "workspace"

    @property
    def etc_dir(self) -> Path:
        return self.root / ETC_DIR.relative_to("/")

    @property
    def runtime_env(self) -> Path:
        return self.etc_dir / RUNTIME_ENV_FILE

    @property
    def extra_model_paths(self) -> Path:
        return self.etc_dir / EXTRA_MODEL_PATHS_FILE

    @property
    def constraints(self) -> Path:
        """Written at image build: freezes the image's torch stack for every pip run."""
        return self.etc_dir / "constraints.txt"

    @property
    def ephemeral_root(self) -> Path:
        """Container disk: gone when the pod stops."""
        return self.root / "var" / "lib" / "phoenix"

    @property
    def shm(self) -> Path:
        """``/dev/shm``: the one tmpfs a container can count on."""
        return self.root / "dev" / "shm"

    @property
    def secrets_file(self) -> Path:
        return self.runtime_dir / SECRETS_FILE

    @property
    def boot_report(self) -> Path:
        return self.runtime_dir / BOOT_REPORT_FILE

    @property
    def filebrowser_dir(self) -> Path:
        """FileBrowser's database lives on tmpfs and is made anew at each boot."""
        return self.runtime_dir / "filebrowser"

    @property
    def custom_nodes(self) -> Path:
        return self.comfyui_dir / "custom_nodes"

    @property
    def tmp_dir(self) -> Path:
        """``/tmp``: what appears there during the run goes at exit."""
        return self.root / "tmp"

    def homes(self, user: str) -> tuple[Path, Path]:
        """root's home and the service user's: histories and caches live there."""
        return (self.root / "root", self.root / "home" / user)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> BootPaths:
        root = Path(environ.get("PHOENIX_BOOT_ROOT") or "/")
        runtime = environ.get("PHOENIX_RUNTIME_DIR")
        report = environ.get("PHOENIX_GPU_REPORT_FILE")
        return cls(
            root=root,
            comfyui_dir=Path(environ.get("PHOENIX_BOOT_COMFYUI_DIR") or root / "opt" / "ComfyUI"),
            comfyui_python=environ.get("PHOENIX_BOOT_COMFYUI_PYTHON") or sys.executable,
            filebrowser_bin=Path(
                environ.get("PHOENIX_BOOT_FILEBROWSER_BIN")
                or root / "usr" / "local" / "bin" / "filebrowser"
            ),
            runtime_dir=Path(runtime) if runtime else root / "dev" / "shm" / "phoenix",
            gpu_report_file=Path(report) if report else None,
        )


@dataclass(frozen=True)
class BootOptions:
    """How the services are exposed and supervised, and how large ``/dev/shm`` must be."""

    listen: str = "0.0.0.0"  # noqa: S104 - RunPod's proxy reaches services on the pod's interface
    comfyui_port: int = 7860
    filebrowser_port: int = 8080
    user: str = "sduser"
    stop_grace: float = 6.0
    ready_timeout: float = 600.0
    shm_min_bytes: int = PARANOID_MIN_SHM
    shm_must_be_tmpfs: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> BootOptions:
        defaults = cls()
        return cls(
            listen=environ.get("PHOENIX_BOOT_LISTEN") or defaults.listen,
            comfyui_port=_number(environ, "PHOENIX_BOOT_COMFYUI_PORT", defaults.comfyui_port, int),
            filebrowser_port=_number(
                environ, "PHOENIX_BOOT_FILEBROWSER_PORT", defaults.filebrowser_port, int
            ),
            user=environ.get("PHOENIX_BOOT_USER") or defaults.user,
            stop_grace=min(
                _number(environ, "PHOENIX_BOOT_STOP_GRACE", defaults.stop_grace, float),
                STOP_BUDGET - 2,
            ),
            ready_timeout=_number(
                environ, "PHOENIX_BOOT_READY_TIMEOUT", defaults.ready_timeout, float
            ),
            shm_min_bytes=_number(
                environ, "PHOENIX_BOOT_SHM_MIN_BYTES", defaults.shm_min_bytes, int
            ),
            shm_must_be_tmpfs=environ.get("PHOENIX_BOOT_SHM_ANY_FS") != "1",
        )


_N = TypeVar("_N", int, float)


def _number(environ: Mapping[str, str], name: str, default: _N, kind: type[_N]) -> _N:
    text = environ.get(name)
    if not text:
        return default
    try:
        return kind(text)
    except ValueError:
        raise ConfigError(
            f"{name} is invalid: {text!r} is not a number.", hint=f"Set {name} to a number."
        ) from None
