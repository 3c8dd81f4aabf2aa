"""aria2c dies with the Phoenix that started it, and never writes beside the next one.

Real ``phoenix fetch`` processes against a throttled local file host: however a
CLI ends, no aria2c of it stays behind, and a CLI killed mid-file followed by
another on the same file leaves one writer of ``NAME.part`` at every moment. An
aria2c that outlived its Phoenix anyway is killed before the next transfer, whichever
engine runs it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

import psutil
import pytest
from peers.endpoints import Scripted
from peers.files import FileServer
from peers.models import LORA, safetensors_bytes

from comfyui_phoenix.engines.aria2 import Aria2Engine, stop_orphans
from comfyui_phoenix.engines.base import Progress, TransferRequest
from comfyui_phoenix.engines.pipeline import download_verified
from comfyui_phoenix.engines.python import PythonEngine
from comfyui_phoenix.net.http import make_session
from comfyui_phoenix.net.policy import HostPolicy
from comfyui_phoenix.settings import Settings

pytestmark = [
    pytest.mark.aria2,
    pytest.mark.skipif(
        shutil.which("aria2c") is None,
        reason="aria2c is not on PATH (Debian package aria2; .ci/run installs it)",
    ),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals and /proc"),
]

MiB = 1 << 20
NAME = "big_lora.safetensors"
#: How long an aria2c may outlive its CLI at most.
BOUND = 3.0


def payload(size: int) -> bytes:
    return safetensors_bytes(LORA, pad_to=size, seed=41)


def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.01)


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie has closed its files and is not)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def aria2c_of(cli: subprocess.Popen[str]) -> int:
    """The pid of the aria2c a CLI started, once there is one."""
    found: list[int] = []

    def started() -> bool:
        found.extend(c.pid for c in psutil.Process(cli.pid).children() if c.name() == "aria2c")
        return bool(found) or cli.poll() is not None

    until(started, 20, "the CLI started aria2c")
    assert found, "the CLI ended before it started aria2c"
    return found[0]


def writers(path: Path) -> set[int]:
    """The aria2c processes that have ``path`` open right now."""
    target = str(path)
    pids = set()
    for process in psutil.process_iter(["name"]):
        if process.info["name"] != "aria2c":
            continue
        try:
            if any(f.path == target for f in process.open_files()):
                pids.add(process.pid)
        except psutil.Error:
            continue
    return pids


class Watch:
    """Samples, until closed, every set of aria2c processes that have one file open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.most: set[int] = set()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.is_set():
            now = writers(self.path)
            if len(now) > len(self.most):
                self.most = now
            self._done.wait(0.002)

    def close(self) -> None:
        self._done.set()
        self._thread.join(5)


class Fetches:
    """``phoenix fetch`` processes on one models folder, all ended by the fixture."""

    def __init__(self, models: Path, runtime: Path, url: str) -> None:
        self.models = models
        self.url = url
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")}
        self.env.update(
            PHOENIX_ENGINE="aria2",
            PHOENIX_ALLOWED_HOSTS="127.0.0.1",
            PHOENIX_ALLOW_PRIVATE_NETWORKS="true",
            PHOENIX_RUNTIME_DIR=str(runtime),
            PHOENIX_RUNTIME_ENV=str(models / "no-runtime.env"),
        )
        self.started: list[subprocess.Popen[str]] = []

    def start(self) -> subprocess.Popen[str]:
        cli = subprocess.Popen(
            [sys.executable, "-m", "comfyui_phoenix.surfaces.cli", "fetch", self.url,
             "--models-dir", str(self.models)],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.started.append(cli)
        return cli

    @property
    def part(self) -> Path:
        return self.models / "loras" / f"{NAME}.part"

    @property
    def final(self) -> Path:
        return self.models / "loras" / NAME

    def close(self) -> None:
        for cli in self.started:
            if cli.poll() is None:
                cli.kill()
            cli.communicate(timeout=10)


@pytest.fixture
def fetches(file_server: FileServer, tmp_path: Path) -> Iterator[Fetches]:
    url = f"{file_server.base_url}/files/{NAME}"  # type: ignore[attr-defined]
    runs = Fetches(tmp_path / "models", tmp_path / "run", url)
    yield runs
    runs.close()


def heads(server: FileServer) -> int:
    """How many HEAD requests the host saw: one for each CLI that planned the file."""
    return sum(r.method == "HEAD" for r in server.requests)


def under_way(runs: Fetches) -> bool:
    return runs.part.exists() and runs.part.stat().st_size > 0


@pytest.mark.parametrize("ending", ["finished", "SIGINT", "SIGTERM", "SIGKILL"])
def test_no_aria2c_outlives_the_cli(fetches: Fetches, file_server: FileServer, ending: str) -> None:
    data = payload(8 * MiB)
    file_server.add(NAME, data)
    file_server.per_connection_rate = None if ending == "finished" else MiB
    cli = fetches.start()
    pid = aria2c_of(cli)

    if ending != "finished":
        until(lambda: under_way(fetches), 20, "bytes reached the part file")
        cli.send_signal(getattr(signal, ending))
    _, errors = cli.communicate(timeout=30)

    if ending in ("finished", "SIGINT"):
        assert cli.returncode == (0 if ending == "finished" else 130), errors
        assert not running(pid)  # the CLI waited for its aria2c before it exited
    else:
        until(lambda: not running(pid), BOUND, f"aria2c {pid} was gone")
    if ending == "finished":
        assert fetches.final.read_bytes() == data


@pytest.mark.parametrize("second", ["waiting already", "started right after"])
def test_a_killed_cli_and_the_next_never_write_one_part_together(
    fetches: Fetches, file_server: FileServer, second: str
) -> None:
    data = payload(6 * MiB)
    file_server.add(NAME, data)
    # The first download stalls after a mebibyte, so its aria2c sits idle, the state in
    # which aria2c is slowest to notice anything.
    file_server.faults(NAME, stall_at=MiB, stall_seconds=30)
    first = fetches.start()
    aria2c_of(first)
    until(lambda: under_way(fetches) and bool(writers(fetches.part)), 20, "the download began")
    until(lambda: file_server.active == 1 and fetches.part.stat().st_size >= MiB, 10, "it stalled")
    later = None
    if second == "waiting already":
        planned = heads(file_server)
        later = fetches.start()
        until(lambda: heads(file_server) > planned, 20, "the second CLI planned the file")
    watch = Watch(fetches.part)

    first.kill()
    first.wait(10)
    later = later or fetches.start()
    _, errors = later.communicate(timeout=60)
    watch.close()

    assert later.returncode == 0, errors
    assert fetches.final.read_bytes() == data
    assert len(watch.most) <= 1, f"aria2c processes {sorted(watch.most)} wrote one part file"


@pytest.fixture
def stray(tmp_path: Path) -> Iterator[Callable[..., int]]:
    """Starts an aria2c whose parent exits at once, and which names this test as its owner.

    The owner named lives on, so aria2c's own ``--stop-with-process`` never fires: the
    process stays until someone kills it, as a Phoenix's would where no parent-death
    signal exists.
    """
    pids: list[int] = []
    spawn = (
        "import subprocess, sys\n"
        "child = subprocess.Popen(sys.argv[1:], start_new_session=True,\n"
        "    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(child.pid)\n"
    )

    def start(home_name: str, *uris: str, conf: str = "") -> int:
        home = tmp_path / home_name
        home.mkdir()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        (home / "aria2.conf").write_text(f"enable-rpc=true\nrpc-listen-port={port}\n{conf}")
        argv = [
            "aria2c",
            f"--conf-path={home / 'aria2.conf'}",
            f"--stop-with-process={os.getpid()}",
            *uris,
        ]
        launched = subprocess.run(
            [sys.executable, "-c", spawn, *argv], capture_output=True, text=True, check=True
        )
        pids.append(int(launched.stdout))
        until(lambda: running(pids[-1]), 5, "the stray aria2c ran")
        return pids[-1]

    yield start
    for pid in pids:
        with suppress(psutil.Error):
            psutil.Process(pid).kill()


async def test_a_transfer_first_kills_the_aria2c_of_a_phoenix_that_died(
    stray: Callable[[str], int], file_server: FileServer, tmp_path: Path
) -> None:
    orphan = stray("phoenix-aria2-left")
    foreign = stray("not-phoenix")
    data = payload(MiB)
    file_server.add(NAME, data)
    url = f"{file_server.base_url}/files/{NAME}"  # type: ignore[attr-defined]
    final = tmp_path / "models" / NAME
    part = final.with_name(f"{NAME}.part")
    orphan_seen: list[bool] = []

    def record(_: Progress) -> None:
        orphan_seen.append(running(orphan))

    engine = Aria2Engine(runtime_dir=tmp_path / "run", poll_interval=0.1)
    try:
        await engine.start()
        await download_verified(
            engine,
            TransferRequest(part, Scripted(url)),
            final_path=final,
            expected_size=len(data),
            hash_spec=None,
            on_progress=record,
        )
        assert engine.pid is not None  # its own aria2c is not an orphan
    finally:
        await engine.close()

    assert final.read_bytes() == data
    assert orphan_seen and not any(orphan_seen)  # gone before the first byte arrived
    assert running(foreign)  # an aria2c Phoenix did not start is none of its business


async def test_a_python_transfer_first_kills_an_aria2c_still_writing_its_part(
    stray: Callable[..., int],
    file_server: FileServer,
    models_dir: Path,
    make_settings: Callable[..., Settings],
) -> None:
    data = payload(MiB)
    file_server.add(NAME, data)
    file_server.add("stale.bin", payload(8 * MiB))
    file_server.faults("stale.bin", stall_at=MiB, stall_seconds=30)
    final = models_dir / NAME
    part = final.with_name(f"{NAME}.part")
    base = file_server.base_url  # type: ignore[attr-defined]
    orphan = stray(
        "phoenix-aria2-left", f"{base}/files/stale.bin", conf=f"dir={models_dir}\nout={part.name}\n"
    )
    until(lambda: orphan in writers(part), 10, "the stray aria2c wrote the part file")
    orphan_seen: list[bool] = []

    def record(_: Progress) -> None:
        orphan_seen.append(running(orphan))

    policy = HostPolicy(make_settings())
    engine = PythonEngine(lambda: make_session(policy))
    try:
        await download_verified(
            engine,
            TransferRequest(part, Scripted(f"{base}/files/{NAME}")),
            final_path=final,
            expected_size=len(data),
            hash_spec=("sha256", hashlib.sha256(data).hexdigest()),
            on_progress=record,
        )
    finally:
        await engine.close()

    assert final.read_bytes() == data
    assert orphan_seen and not any(orphan_seen)  # gone before the first byte was written


def test_the_sweep_is_harmless_where_processes_cannot_be_listed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def denied(*_: object, **__: object) -> list[psutil.Process]:
        raise psutil.AccessDenied()

    monkeypatch.setattr(psutil, "process_iter", denied)

    assert stop_orphans() == []
