"""Boot the container's bootstrap as a real process under a temporary root.

:func:`start_boot` runs ``python -m bootstrap`` with the stand-ins (or the real
ComfyUI), a GPU report file instead of NVML, free ports on loopback, ``HOME`` inside the
root (the exit cleanup empties homes and caches), and the environment a test gives. :class:`Booted` reads its report and log, waits for
states, and stops it with a signal while measuring how long that takes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
STAND_INS = Path(__file__).resolve().parent

#: Variables naming caches outside the test's root (the exit cleanup removes caches).
CACHE_VARIABLES = ("XDG_CACHE_HOME", "HF_HOME", "PIP_CACHE_DIR", "TORCH_HOME", "TRITON_CACHE_DIR")

GPU_5090 = {
    "devices": [
        {
            "index": 0,
            "name": "NVIDIA GeForce RTX 5090",
            "capability": [12, 0],
            "vram_total": 34_190_917_632,
        }
    ],
    "driver_version": "570.124.06",
    "driver_cuda": "12.8",
    "torch": {
        "version": "2.7.0a0+7c8ec84dab",
        "cuda": "12.8",
        "arch_list": ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120", "compute_120"],
        "cuda_available": True,
        "sage_version": None,
    },
}
NO_GPU: dict[str, Any] = {
    "devices": [],
    "nvml_error": "NVML: Driver Not Loaded",
    "torch": GPU_5090["torch"],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Booted:
    process: subprocess.Popen[bytes]
    root: Path
    runtime: Path
    log_path: Path
    records: Path
    comfyui_port: int
    filebrowser_port: int

    @property
    def report_path(self) -> Path:
        return self.runtime / "boot-report.json"

    def report(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.report_path.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return data

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20, what: str = ""
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            report = self.report()
            if report and predicate(report):
                return report
            if self.process.poll() is not None and not predicate(self.report()):
                raise AssertionError(
                    f"bootstrap exited ({self.process.returncode}) before {what}:\n{self.log()}"
                )
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}:\n{self.log()}")

    def wait_running(self, timeout: float = 20) -> dict[str, Any]:
        return self.wait_for(
            lambda r: (
                r.get("state") == "running"
                and r.get("services", {}).get("comfyui", {}).get("ready") is True
            ),
            timeout,
            "the boot to finish",
        )

    def service(self, name: str) -> dict[str, Any]:
        services: dict[str, Any] = self.report().get("services", {})
        return services.get(name, {})

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 20) -> float:
        """Send ``sig`` and wait for the bootstrap to exit; returns the seconds it took."""
        began = time.monotonic()
        self.process.send_signal(sig)
        self.process.wait(timeout)
        return time.monotonic() - began

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def start_boot(
    tmp_path: Path,
    env: Mapping[str, str] | None = None,
    *,
    gpu: Mapping[str, Any] | None = None,
    comfyui_dir: Path | None = None,
    comfyui_python: str | None = None,
    argv: list[str] | None = None,
) -> Booted:
    """Start the bootstrap under ``tmp_path/root`` with stand-ins; returns at once."""
    root = tmp_path / "root"
    runtime = root / "dev" / "shm" / "phoenix"
    records = tmp_path / "records"
    records.mkdir(parents=True, exist_ok=True)
    (root / "etc" / "phoenix").mkdir(parents=True, exist_ok=True)
    (root / "etc" / "phoenix" / "constraints.txt").write_text("torch==2.7.0a0+7c8ec84dab\n")
    gpu_file = tmp_path / "gpu.json"
    gpu_file.write_text(json.dumps(GPU_5090 if gpu is None else gpu))
    comfyui_port, filebrowser_port = free_port(), free_port()
    # The exit cleanup empties the caches these name: only folders under the root may.
    inherited = {k: v for k, v in os.environ.items() if k not in CACHE_VARIABLES}
    full_env = {
        **inherited,
        "HOME": str(root / "root"),
        "PHOENIX_CONTAINER": "1",
        "PHOENIX_BOOT_ROOT": str(root),
        "PHOENIX_RUNTIME_DIR": str(runtime),
        "PHOENIX_GPU_REPORT_FILE": str(gpu_file),
        "PHOENIX_BOOT_COMFYUI_DIR": str(comfyui_dir or STAND_INS / "comfyui"),
        "PHOENIX_BOOT_COMFYUI_PYTHON": comfyui_python or sys.executable,
        "PHOENIX_BOOT_FILEBROWSER_BIN": str(STAND_INS / "filebrowser"),
        "PHOENIX_BOOT_LISTEN": "127.0.0.1",
        "PHOENIX_BOOT_COMFYUI_PORT": str(comfyui_port),
        "PHOENIX_BOOT_FILEBROWSER_PORT": str(filebrowser_port),
        "STANDIN_RECORD_DIR": str(records),
        "PYTHONUNBUFFERED": "1",
        # The stand-ins' ``#!/usr/bin/env python3`` is the tests' own interpreter (bcrypt).
        "PATH": os.pathsep.join(
            filter(None, [str(Path(sys.executable).parent), inherited.get("PATH")])
        ),
        **(env or {}),
    }
    log_path = tmp_path / "boot.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            argv or [sys.executable, "-m", "bootstrap"],
            cwd=REPO,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Booted(process, root, runtime, log_path, records, comfyui_port, filebrowser_port)


BootFactory = Callable[..., Booted]


class Boots:
    """Starts bootstraps for one test and kills what is still running at its end."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.started: list[Booted] = []

    def start(
        self, env: Mapping[str, str] | None = None, *, base: Path | None = None, **kwargs: Any
    ) -> Booted:
        """:func:`start_boot` under ``tmp_path/boot<N>`` (or ``base``)."""
        booted = start_boot(base or self.tmp_path / f"boot{len(self.started)}", env, **kwargs)
        self.started.append(booted)
        return booted

    def kill_all(self) -> None:
        for booted in self.started:
            if booted.process.poll() is None:
                terminate_all(descendants(booted.process.pid))
                booted.kill()


def write_file(path: Path, text: str = "canary") -> Path:
    """A file a user (or a process) left behind, with its folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def recorded_invocations(records: Path) -> list[dict[str, Any]]:
    """Every argv and environment the stand-ins saw."""
    return [json.loads(p.read_text()) for p in sorted(records.glob("*.json"))]


def proc_environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(): v.decode(errors="replace") for k, v in pairs}


def proc_cmdline(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def proc_status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def descendants(pid: int) -> list[int]:
    """``pid``'s children, grandchildren and so on (from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        for child in parents.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def terminate_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def make_repo(folder: Path, name: str, requirements: str | None) -> str:
    """A bare git repository served as ``file://``: a custom node to clone."""
    work = folder / f"{name}-work"
    work.mkdir(parents=True)
    (work / "__init__.py").write_text("NODE_CLASS_MAPPINGS = {}\n")
    if requirements is not None:
        (work / "requirements.txt").write_text(requirements)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=work, check=True)
    subprocess.run([*git, "add", "."], cwd=work, check=True)
    subprocess.run([*git, "commit", "-qm", "node"], cwd=work, check=True)
    bare = folder / f"{name}.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    return f"file://{bare}"
