"""Download throughput, tail and memory of Phoenix's two engines against common clients.

One throttled server process hosts a HuggingFace-compatible hub whose LFS file lives on
a separate CDN host with a per-connection and a total rate cap (``tests/peers/hf.py``
over ``tests/peers/files.py``). The clients then run one after another, each in its own
process and into a fresh folder, all fetching the same bytes over the same CDN:

1. ``phoenix fetch`` with ``PHOENIX_ENGINE=aria2``;
2. ``phoenix fetch`` with ``PHOENIX_ENGINE=python``;
3. ``huggingface_hub.hf_hub_download`` (its plain-HTTP path: the local hub sends no
   ``X-Xet-*`` headers, so no Xet transfer is involved);
4. ``curl -o``, one stream, so at most the per-connection cap.

The total cap is put below the durable write speed of the download disk (measured first,
with fsync) so that the link, not the disk, is the limit. For each client it reports the
throughput over the transfer (first to last byte on disk) and over the whole wall clock
(process start to the file verified and durable in place), as fractions of the total cap;
the tail from the last byte to the file durable in place, and how much of it is flushing;
and the peak RSS of the client's process tree. A second table says where the time and the
CPUs went (other processes on the machine included: on a shared 2-CPU machine they can
cost the engines more than anything they do themselves).

The page cache is dropped before each client when the benchmark may (root), and every
download is deleted after its run. The served file lives in /dev/shm when it fits, so
neither touches the server's reads.

Usage:
    python bench/downloads.py [--quick | --size 2GiB] [--rounds N] [--json PATH] [--dir DIR]

``--quick`` uses a 256 MiB file: a smoke test, where a Phoenix process's fixed start and
stop (about 0.9 s) weigh as much as the transfer. Prints Markdown ready for the README.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
REPO_ID = "bench/model"
FILENAME = "model.safetensors"
MB = 1_000_000
MiB = 1 << 20
GiB = 1 << 30
BLOCK = 64 * MiB
POLL = 0.01
RSS_EVERY = 5
GROWTH_EVERY = 25
#: The issue's targets for both Phoenix engines.
TARGET_WALL_FRACTION = 0.85
TARGET_VS_HF = 5.0
TARGET_TAIL_SHARE = 0.10
TARGET_RSS_MB = 200.0
PHOENIX_CLIENTS = ("phoenix-aria2", "phoenix-python")
ALL_CLIENTS = (*PHOENIX_CLIENTS, "hf_hub_download", "curl")
_TAIL_LINE = re.compile(r"Verified and published \S+ ([0-9.]+) s after its last byte")
_MARK = "PHOENIX-BENCH "
_BOOKKEEPING = (".aria2", ".phx", ".lock", ".metadata", ".json")


# -- the model file ---------------------------------------------------------------------------
def safetensors_header(size: int) -> bytes:
    """A safetensors header for a file of exactly ``size`` bytes.

    A few FLUX-transformer tensor names make the classifier place it in
    ``diffusion_models``; one ``padding`` tensor takes up the rest.
    """
    tensors = {
        "double_blocks.0.img_attn.qkv.weight": [24, 8],
        "single_blocks.0.linear1.weight": [16, 8],
        "img_in.weight": [8, 4],
        "guidance_in.in_layer.weight": [8, 4],
    }
    header: dict[str, Any] = {}
    offset = 0
    for name, shape in tensors.items():
        length = shape[0] * shape[1] * 2
        header[name] = {"dtype": "F16", "shape": shape, "data_offsets": [offset, offset + length]}
        offset += length
    # The padding tensor's length changes the header's length; a few rounds settle it.
    encoded = b""
    for _ in range(3):
        rest = size - len(encoded) - offset
        header["padding"] = {
            "dtype": "U8",
            "shape": [rest],
            "data_offsets": [offset, offset + rest],
        }
        raw = json.dumps(header, separators=(",", ":")).encode()
        raw += b" " * (-len(raw) % 8)
        encoded = struct.pack("<Q", len(raw)) + raw
    if len(encoded) + offset + header["padding"]["shape"][0] != size:
        raise ValueError(f"cannot build a safetensors file of {size} bytes")
    return encoded


def write_model(path: Path, size: int, seed: int = 7) -> str:
    """Write a valid, incompressible safetensors file of ``size`` bytes; return its SHA256.

    Streamed in 64 MiB blocks, so memory stays flat whatever the size.
    """
    rng = random.Random(seed)
    digest = hashlib.sha256()
    header = safetensors_header(size)
    with open(path, "wb") as handle:
        handle.write(header)
        digest.update(header)
        left = size - len(header)
        while left:
            block = rng.randbytes(min(BLOCK, left))
            handle.write(block)
            digest.update(block)
            left -= len(block)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(8 * MiB):
            digest.update(block)
    return digest.hexdigest()


# -- the server process ------------------------------------------------------------------------
class _SizeOnly:
    """Stands in for an LFS file's bytes on the hub, which only ever asks for their length.

    The hub redirects LFS downloads to the CDN, so it never serves these bytes itself; this
    keeps a multi-GiB file out of memory.
    """

    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size


def serve(path: Path, sha256: str, per_connection: float, total: float) -> None:
    """Host ``path`` as ``bench/model/model.safetensors``; print the URLs; run until stdin closes."""
    sys.path.insert(0, str(ROOT / "tests"))
    from aiohttp import web
    from peers.files import FileServer
    from peers.hf import HFServer, HubFile, HubRepo, git_blob_id
    from peers.runner import ServerThread

    size = path.stat().st_size
    cdn = FileServer(path.parent, per_connection_rate=per_connection, total_rate=total)
    cdn.add_path(f"lfs/{sha256}", path)
    hub = HFServer(cdn)
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n"
    item = HubFile(
        FILENAME,
        _SizeOnly(size),  # type: ignore[arg-type]
        True,
        sha256,
        git_blob_id(pointer.encode()),
        len(pointer),
    )
    commit = hashlib.sha1(f"{REPO_ID}:{sha256}".encode(), usedforsecurity=False).hexdigest()
    hub.repos[REPO_ID] = HubRepo(
        REPO_ID, {FILENAME: item}, commit=commit, branches={"main": commit}
    )

    async def stats(request: web.Request) -> web.Response:
        ranges = [r.headers.get("Range", "") for r in cdn.requests if r.method == "GET"]
        answer = {"bytes_sent": cdn.bytes_sent, "peak_active": cdn.peak_active, "ranges": ranges}
        if request.method == "POST":
            cdn.bytes_sent = cdn.peak_active = 0
            cdn.requests.clear()
        return web.json_response(answer)

    def cdn_app() -> web.Application:
        app = cdn.app()
        app.router.add_route("*", "/bench/stats", stats)
        return app

    cdn_thread = ServerThread(cdn_app).start()
    hub.cdn_url = cdn_thread.url
    hub_thread = ServerThread(hub.app).start()
    hub.url = hub_thread.url
    print(json.dumps({"hub": hub.url, "cdn": cdn_thread.url}), flush=True)
    sys.stdin.read()  # the parent closes stdin (or dies) when it is done
    hub_thread.stop()
    cdn_thread.stop()


class Server:
    """The server process, seen from the benchmark."""

    def __init__(
        self, path: Path, sha256: str, per_connection: float, total: float, log: Path
    ) -> None:
        command = [
            sys.executable, __file__, "_serve", str(path), sha256,
            str(per_connection), str(total),
        ]  # fmt: skip
        # aiohttp logs a traceback for every connection a client drops mid-body (aria2c
        # does so at each segment's end); they go to a file, not between the results.
        with open(log, "w") as errors:
            self.process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, text=True
            )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the benchmark server did not start")
        urls = json.loads(line)
        self.hub: str = urls["hub"]
        self.cdn: str = urls["cdn"]
        self.cdn_file = f"{self.cdn}/files/lfs/{sha256}"
        self.ps = psutil.Process(self.process.pid)

    def stats(self, reset: bool = False) -> dict[str, Any]:
        import urllib.request

        request = urllib.request.Request(
            f"{self.cdn}/bench/stats", method="POST" if reset else "GET"
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            result: dict[str, Any] = json.load(answer)
            return result

    def cpu_seconds(self) -> float:
        times = self.ps.cpu_times()
        return float(times.user + times.system)

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# -- the Phoenix client ------------------------------------------------------------------------
def phoenix_client(argv: list[str]) -> int:
    """Run the ``phoenix`` CLI in this process, timing the flushes of the tail.

    The CLI runs unchanged; only ``fdatasync`` and ``publish`` are wrapped in timers,
    and the tail log line's timestamp is kept, so the tail can be split into flushing
    and the rest. The timings go to stderr as one ``PHOENIX-BENCH`` JSON line.
    """
    import logging

    from comfyui_phoenix.engines import pipeline as transfer
    from comfyui_phoenix.engines import verify
    from comfyui_phoenix.surfaces import cli

    ready = time.time()
    syncs: list[tuple[float, float]] = []
    publishes: list[tuple[float, float]] = []
    tails: list[tuple[float, float]] = []
    # ``publish`` is looked up in transfer's namespace, where the pipeline calls it.
    datasync, publish = verify._datasync, verify.publish

    def timed_datasync(fd: int) -> None:
        started = time.time()
        datasync(fd)
        syncs.append((started, time.time()))

    def timed_publish(part: Path, final: Path) -> None:
        started = time.time()
        publish(part, final)
        publishes.append((started, time.time()))

    def keep_tail(record: logging.LogRecord) -> bool:
        if record.msg.startswith("Verified and published") and isinstance(record.args, tuple):
            tails.append((record.created, float(record.args[1])))  # type: ignore[arg-type]
        return True

    verify._datasync = timed_datasync
    setattr(transfer, "publish", timed_publish)  # noqa: B010 - not an exported name
    logging.getLogger(transfer.__name__).addFilter(keep_tail)
    try:
        return cli.main(argv)
    finally:
        timings = {
            "ready": ready,
            "returned": time.time(),
            "syncs": syncs,
            "publishes": publishes,
            "tails": tails,
        }
        print(_MARK + json.dumps(timings), file=sys.stderr, flush=True)


# -- measuring a client ------------------------------------------------------------------------
@dataclass
class Client:
    name: str
    command: list[str]
    env: dict[str, str]
    note: str = ""


@dataclass
class Result:
    """One client's numbers; times in seconds, rates in bytes per second."""

    client: str
    ok: bool
    note: str
    size: int = 0
    wall: float = 0.0
    startup: float = 0.0
    transfer: float = 0.0
    tail: float = 0.0
    flush: float = 0.0
    engine_tail: float = 0.0
    ready: float = 0.0
    after: float = 0.0
    transfer_rate: float = 0.0
    wall_rate: float = 0.0
    transfer_fraction: float = 0.0
    wall_fraction: float = 0.0
    peak_rss_mb: float = 0.0
    client_cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    system_busy: float = 0.0
    system_iowait: float = 0.0
    other_cpu_s: float = 0.0
    connections: int = 0
    cdn_bytes: int = 0
    cdn_gets: int = 0
    cdn_ranges: list[str] = field(default_factory=list)
    growth: list[tuple[float, int]] = field(default_factory=list)
    verified: bool = False
    error: str = ""


@dataclass
class _Samples:
    peak_rss: int = 0
    first_byte: float | None = None
    last_byte: float | None = None
    growth: list[tuple[float, int]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += member.memory_info().rss
    return total


def _bytes_on_disk(folder: Path) -> int:
    """The model file's bytes actually on disk, under whatever temporary name it has.

    Sparse and pre-sized files count what is written. Bookkeeping files (Phoenix's job
    state, aria2's and the Python engine's control files, hf's locks and metadata) are
    left out, so that their early writes are not taken for the first byte.
    """
    best = 0
    for base, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d != ".phoenix"]
        for name in names:
            if name.endswith(_BOOKKEEPING):
                continue
            with contextlib.suppress(FileNotFoundError):
                stat = os.stat(os.path.join(base, name))
                best = max(best, min(stat.st_size, stat.st_blocks * 512))
    return best


def _watch(process: psutil.Process, folder: Path, size: int, samples: _Samples) -> None:
    """How far the file has grown every 10 ms; the RSS of the client's tree every 50 ms."""
    tick = 0
    while not samples.stop.is_set():
        now = time.time()
        if tick % RSS_EVERY == 0:
            with contextlib.suppress(psutil.NoSuchProcess):
                samples.peak_rss = max(samples.peak_rss, _tree_rss(process))
        tick += 1
        if samples.last_byte is None:
            on_disk = _bytes_on_disk(folder)
            if tick % GROWTH_EVERY == 0:
                samples.growth.append((now, on_disk))
            if on_disk and samples.first_byte is None:
                samples.first_byte = now
            if on_disk >= size:
                samples.last_byte = now
        samples.stop.wait(POLL)


def drop_caches() -> bool:
    """Empty the page cache so no client reads what an earlier one left; False when not allowed."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_client(client: Client, folder: Path, log: Path, server: Server, size: int) -> Result:
    """Run one client to completion and measure it."""
    server.stats(reset=True)
    server_cpu, children_cpu, system = server.cpu_seconds(), _children_cpu(), psutil.cpu_times()
    samples = _Samples()
    started = time.time()
    with open(log, "w") as errors:
        process = subprocess.Popen(
            client.command, env=client.env, stdout=subprocess.DEVNULL, stderr=errors
        )
        watcher = threading.Thread(
            target=_watch, args=(psutil.Process(process.pid), folder, size, samples), daemon=True
        )
        watcher.start()
        code = process.wait()
        exited = time.time()
        samples.stop.set()
        watcher.join()
    if samples.last_byte is None and _bytes_on_disk(folder) >= size:
        samples.last_byte = exited  # the last bytes came between the final poll and the exit
    result = Result(client.name, code == 0, client.note, size)
    _account_cpu(result, server, server_cpu, children_cpu, system, exited - started)
    cdn = server.stats()
    result.connections, result.cdn_bytes = cdn["peak_active"], cdn["bytes_sent"]
    result.cdn_gets, result.cdn_ranges = len(cdn["ranges"]), cdn["ranges"]
    result.growth = [(round(t - started, 3), n) for t, n in samples.growth]
    result.peak_rss_mb = samples.peak_rss / MB
    stderr = log.read_text(errors="replace")
    final = _find(folder, FILENAME)
    if code != 0 or final is None or samples.last_byte is None:
        lines = stderr.strip().splitlines()
        result.ok = False
        result.error = lines[-1] if lines else f"exit {code}, no {FILENAME}"
        return result
    last_byte = samples.last_byte
    if client.name in PHOENIX_CLIENTS:
        durable, done = _phoenix_times(result, stderr, last_byte, started, exited)
    else:
        # Neither curl nor hf_hub_download makes the file durable: the benchmark does it
        # for them, and counts it.
        result.flush = _fsync(final)
        durable = done = exited + result.flush
    first_byte = samples.first_byte or started
    result.wall = done - started
    result.startup = first_byte - started
    result.transfer = max(1e-9, last_byte - first_byte)
    # Polling can only be late, never early; the engine's own figure is a lower bound.
    result.tail = max(durable - last_byte, result.engine_tail)
    result.transfer_rate = size / result.transfer
    result.wall_rate = size / result.wall
    result.verified = final.stat().st_size == size
    return result


def _account_cpu(
    result: Result,
    server: Server,
    server_cpu: float,
    children_cpu: float,
    system: Any,
    elapsed: float,
) -> None:
    result.client_cpu_s = _children_cpu() - children_cpu
    result.server_cpu_s = server.cpu_seconds() - server_cpu
    result.system_busy, result.system_iowait = _system_load(system, psutil.cpu_times())
    # Whatever else runs on the machine competes for the same CPUs; show how much it took.
    busy_cpu_s = result.system_busy * elapsed * (os.cpu_count() or 1)
    result.other_cpu_s = max(0.0, busy_cpu_s - result.client_cpu_s - result.server_cpu_s)


def _phoenix_times(
    result: Result, stderr: str, last_byte: float, started: float, exited: float
) -> tuple[float, float]:
    """When the file was durable in place, and when the run ended, for a Phoenix client.

    The file is in place when the engine logs its tail line (right after the rename and
    its directory fsync). The tail counted here starts at the last byte on disk as polled,
    which also covers the engine noticing that the transfer ended; the engine's own
    ``on_tail`` value (from its return to the file in place) is kept beside it. Flushing
    is the time spent in the wrapped ``fdatasync`` calls and ``publish`` after that byte.
    """
    timings = _phoenix_timings(stderr)
    logged = _TAIL_LINE.findall(stderr)
    if timings.get("tails"):
        published, result.engine_tail = timings["tails"][-1]
    elif logged:  # the wrapper printed nothing; the log line alone gives the engine's tail
        result.engine_tail, published = float(logged[-1]), exited
    else:
        published = exited
    syncs = timings.get("syncs", []) + timings.get("publishes", [])
    result.flush = sum(max(0.0, end - max(start, last_byte)) for start, end in syncs)
    # Process start to the CLI running (interpreter, imports), and the CLI's return to
    # the process's exit (closing the engine, interpreter teardown).
    result.ready = timings.get("ready", started) - started
    result.after = exited - timings.get("returned", exited)
    return published, exited


def _phoenix_timings(stderr: str) -> dict[str, Any]:
    """The timings :func:`phoenix_client` printed, or nothing when it printed none."""
    for line in reversed(stderr.splitlines()):
        if line.startswith(_MARK):
            timings: dict[str, Any] = json.loads(line[len(_MARK) :])
            return timings
    return {}


def _system_load(before: Any, after: Any) -> tuple[float, float]:
    """Share of all CPUs busy, and share in iowait, between two ``psutil.cpu_times()``."""
    spent = {name: getattr(after, name) - getattr(before, name) for name in after._fields}
    total = sum(spent.values()) or 1.0
    idle = spent.get("idle", 0.0) + spent.get("iowait", 0.0)
    return 1 - idle / total, spent.get("iowait", 0.0) / total


def _find(folder: Path, name: str) -> Path | None:
    for base, _, names in os.walk(folder):
        if name in names and ".cache" not in Path(base).parts:
            return Path(base) / name
    return None


def _fsync(path: Path) -> float:
    started = time.time()
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return time.time() - started


# -- the clients -------------------------------------------------------------------------------
_HF_SCRIPT = """
import sys
from huggingface_hub import hf_hub_download
print(hf_hub_download(sys.argv[1], sys.argv[2], endpoint=sys.argv[3], local_dir=sys.argv[4]))
"""


def _base_env(scratch: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PHOENIX_", "CIVITAI_", "HF_", "HUGGING_FACE_"))
    }
    env.update(
        HF_HOME=str(scratch / "hf-home"),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    return env


def make_client(name: str, server: Server, folder: Path, scratch: Path) -> Client:
    env = _base_env(scratch)
    if name in PHOENIX_CLIENTS:
        env.update(
            HF_ENDPOINT=server.hub,
            PHOENIX_ENGINE=name.split("-")[1],
            PHOENIX_ALLOWED_HOSTS="127.0.0.1",
            PHOENIX_ALLOW_PRIVATE_NETWORKS="true",
            PHOENIX_RUNTIME_ENV="/nonexistent",
        )
        command = [
            sys.executable, __file__, "_phoenix", "-v", "fetch",
            f"hf:{REPO_ID}/{FILENAME}", "--models-dir", str(folder),
        ]  # fmt: skip
        return Client(name, command, env)
    if name == "hf_hub_download":
        command = [sys.executable, "-c", _HF_SCRIPT, REPO_ID, FILENAME, server.hub, str(folder)]
        return Client(name, command, env, "plain HTTP: the local hub sends no X-Xet headers")
    command = ["curl", "-sS", "-f", "-o", str(folder / FILENAME), server.cdn_file]
    return Client(name, command, env, "one stream, CDN URL")


# -- machine facts -----------------------------------------------------------------------------
def measure_disk(folder: Path, amount: int, rounds: int = 2) -> float:
    """Durable write speed of ``folder``'s disk: the slowest of ``rounds`` writes of
    ``amount`` bytes, each ended by an fsync.

    Virtual disks vary a lot from one write to the next (a host cache fills, a neighbour
    writes); the slowest round keeps the cap below what the disk does on a bad moment.
    """
    return min(_write_speed(folder, amount) for _ in range(rounds))


def _write_speed(folder: Path, amount: int) -> float:
    path = folder / "disk-speed.bin"
    block = os.urandom(8 * MiB)
    drop_caches()
    started = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(amount // len(block)):
            os.write(fd, block)
        os.fsync(fd)
    finally:
        os.close(fd)
    elapsed = time.perf_counter() - started
    path.unlink()
    return amount / elapsed


def pick_total_cap(disk_rate: float, per_connection: float) -> float:
    """Two thirds of the durable disk speed, in steps of 25 MB/s, at most 200 MB/s."""
    cap = min(200 * MB, (disk_rate * 2 / 3) // (25 * MB) * 25 * MB)
    return max(cap, per_connection)


def _version(command: list[str]) -> str:
    try:
        output = subprocess.run(command, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    return output.splitlines()[0].strip() if output else "unknown"


def machine_facts(disk_rate: float) -> dict[str, Any]:
    import huggingface_hub

    from comfyui_phoenix import __version__

    cpu = platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(psutil.virtual_memory().total / 1e9, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "disk_write_mb_s": round(disk_rate / MB),
        "phoenix": __version__,
        "aria2c": _version(["aria2c", "--version"]),
        "huggingface_hub": huggingface_hub.__version__,
        "curl": _version(["curl", "--version"]),
    }


# -- the report --------------------------------------------------------------------------------
def markdown(
    facts: dict[str, Any], setup: dict[str, Any], results: list[Result], every: list[Result]
) -> str:
    """The README's paragraph, table, ratios and target checks."""
    total = setup["total_cap"]
    rounds = setup["rounds"]
    lines = [
        f"File {_size(setup['size'])} (`{REPO_ID}/{FILENAME}`, one LFS file) on a local hub "
        f"whose CDN caps each connection at {setup['per_connection'] / MB:g} MB/s and all of "
        f"them at {total / MB:g} MB/s; the download disk writes {facts['disk_write_mb_s']} MB/s "
        f"durably (fsync). {facts['cpus']} CPUs ({facts['cpu']}), Python {facts['python']}, "
        f"{facts['aria2c']}, huggingface_hub {facts['huggingface_hub']}, "
        f"{facts['curl'].split(' (')[0]}; load average {facts['load_average_1m']} before the "
        f"run. Page cache dropped before each client: "
        f"{'yes' if setup['dropped_caches'] else 'no (not permitted)'}."
        + (
            f" Each client ran {rounds} times; the median run by wall clock is shown."
            if rounds > 1
            else ""
        ),
        "",
        "| Client | Conns | Transfer MB/s (× cap) | Wall MB/s (× cap) | Wall s | Start s "
        "| Tail s (% of transfer) | Flush s | Peak RSS MB | Notes |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for r in results:
        if not r.ok:
            lines.append(f"| {r.client} | | failed | | | | | | | {r.error} |")
            continue
        note = "; ".join(filter(None, [r.note, _spread(r.client, every, rounds)]))
        lines.append(
            f"| {r.client} | {r.connections} "
            f"| {r.transfer_rate / MB:.0f} ({r.transfer_fraction:.2f}) "
            f"| {r.wall_rate / MB:.0f} ({r.wall_fraction:.2f}) "
            f"| {r.wall:.1f} | {r.startup:.2f} "
            f"| {r.tail:.2f} ({100 * r.tail / r.transfer:.0f}%) | {r.flush:.2f} "
            f"| {r.peak_rss_mb:.0f} | {note} |"
        )
    lines += ["", *_ratios(results), "", *_targets(results)]
    lines += ["", *_NOTES]
    return "\n".join(lines)


def _spread(name: str, every: list[Result], rounds: int) -> str:
    fractions = sorted(r.wall_fraction for r in every if r.client == name and r.ok)
    if rounds < 2 or not fractions:
        return ""
    return f"wall × cap {fractions[0]:.2f}–{fractions[-1]:.2f} over {len(fractions)} runs"


_NOTES = (
    "Transfer: first to last byte of the file on disk (its size, or allocated blocks for a "
    "pre-sized file, polled every 10 ms; the CDN's token bucket starts with 0.1 s of burst, "
    "so a short transfer can show slightly above the cap). Wall: process start to the file "
    "verified (Phoenix only: hf_hub_download and curl check no hash) and durable in place, "
    "for Phoenix up to its process's exit. Tail: last byte on disk to the file durable in "
    "place. Phoenix makes it durable itself (fdatasync while hashing, then rename and "
    "directory fsync); curl and hf_hub_download do not, so the benchmark fsyncs the file and "
    "its folder after they exit and counts that as their flush. Flush: the part of the tail "
    "spent in fsync. Peak RSS: the client's whole process tree (aria2c included), polled "
    "every 50 ms.",
)


def _size(size: int) -> str:
    return f"{size / GiB:g} GiB" if size >= GiB else f"{size / MiB:g} MiB"


def _by_name(results: list[Result]) -> dict[str, Result]:
    return {r.client: r for r in results if r.ok}


def _ratios(results: list[Result]) -> list[str]:
    found = _by_name(results)
    lines = []
    for name in PHOENIX_CLIENTS:
        if name not in found:
            continue
        mine = found[name].wall_rate
        parts = [
            f"{mine / found[other].wall_rate:.1f}× {other}"
            for other in ("hf_hub_download", "curl")
            if other in found
        ]
        if parts:
            lines.append(f"- {name} over the wall clock: {', '.join(parts)}.")
    return lines


def check_targets(results: list[Result]) -> dict[str, dict[str, bool]]:
    """Each Phoenix engine against the issue's targets."""
    found = _by_name(results)
    hf = found.get("hf_hub_download")
    verdicts: dict[str, dict[str, bool]] = {}
    for name in PHOENIX_CLIENTS:
        r = found.get(name)
        if r is None:
            continue
        verdicts[name] = {
            f"wall >= {TARGET_WALL_FRACTION} of cap": r.wall_fraction >= TARGET_WALL_FRACTION,
            f"tail <= {TARGET_TAIL_SHARE:.0%} of transfer": r.tail
            <= TARGET_TAIL_SHARE * r.transfer,
            f"peak RSS <= {TARGET_RSS_MB:g} MB": r.peak_rss_mb <= TARGET_RSS_MB,
        }
        if hf is not None:
            verdicts[name][f">= {TARGET_VS_HF:g}x hf_hub_download"] = (
                r.wall_rate >= TARGET_VS_HF * hf.wall_rate
            )
    return verdicts


def _targets(results: list[Result]) -> list[str]:
    lines = []
    for name, checks in check_targets(results).items():
        marks = ", ".join(f"{label} {'✅' if ok else '❌'}" for label, ok in checks.items())
        lines.append(f"- {name}: {marks}")
    return lines


def _phoenix_only(result: Result, value: float) -> str:
    return f"{value:.2f}" if result.client in PHOENIX_CLIENTS else "–"


def detail_table(results: list[Result]) -> str:
    """Where the time and the CPUs went, client by client."""
    lines = [
        "| Client | To CLI ready s | Engine on_tail s | Exit after return s | CDN GETs "
        "| CDN bytes over size "
        "| Client CPU s | Server CPU s | Other processes CPU s | All CPUs busy | iowait "
        "| SHA256 checked |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for r in results:
        extra = r.cdn_bytes - r.size if r.cdn_bytes else 0
        lines.append(
            f"| {r.client} | {_phoenix_only(r, r.ready)} | {_phoenix_only(r, r.engine_tail)} "
            f"| {_phoenix_only(r, r.after)} | {r.cdn_gets} "
            f"| {extra / MB:.1f} MB "
            f"| {r.client_cpu_s:.1f} | {r.server_cpu_s:.1f} | {r.other_cpu_s:.1f} "
            f"| {r.system_busy:.0%} | {r.system_iowait:.0%} | {'yes' if r.verified else 'no'} |"
        )
    return "\n".join(lines)


# -- the run -----------------------------------------------------------------------------------
def _source_folder(size: int) -> Path:
    """Where the served file lives: RAM (tmpfs) when it fits, so dropping caches and the
    clients' writes leave the server's reads alone."""
    shm = Path("/dev/shm")
    if shm.is_dir() and shutil.disk_usage(shm).free > size + GiB:
        return Path(tempfile.mkdtemp(prefix="phoenix-bench-src-", dir=shm))
    return Path(tempfile.mkdtemp(prefix="phoenix-bench-src-"))


def run(args: argparse.Namespace) -> int:
    """Measure the disk, build the file, start the server, run every client, report."""
    size = 256 * MiB if args.quick else args.size
    per_connection = args.per_connection
    work = Path(tempfile.mkdtemp(prefix="phoenix-bench-", dir=args.dir))
    source = _source_folder(size)
    try:
        print(f"measuring the disk under {work} ...", file=sys.stderr)
        disk = measure_disk(work, args.disk_test or (GiB if args.quick else 2 * GiB))
        total = args.total or pick_total_cap(disk, per_connection)
        print(
            f"disk {disk / MB:.0f} MB/s durable; caps {per_connection / MB:g} MB/s per "
            f"connection, {total / MB:g} MB/s total; building a {_size(size)} file ...",
            file=sys.stderr,
        )
        if total >= disk:
            print(
                "warning: the total cap is not below the disk's durable speed; "
                "the disk, not the link, may set the pace",
                file=sys.stderr,
            )
        model = source / FILENAME
        sha256 = write_model(model, size)
        facts = machine_facts(disk)
        setup = {
            "size": size,
            "per_connection": per_connection,
            "total_cap": total,
            "sha256": sha256,
            "rounds": args.rounds,
            "dropped_caches": True,
        }
        server = Server(model, sha256, per_connection, total, work / "server.log")
        try:
            every: list[Result] = []
            for _ in range(args.rounds):
                for name in args.clients:
                    every.append(_measure(name, server, work, setup))
        finally:
            server.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(source, ignore_errors=True)
    results = [_median(name, every) for name in args.clients]
    print(markdown(facts, setup, results, every))
    print()
    print(detail_table(results))
    if args.json:
        report = {
            "machine": facts,
            "setup": setup,
            "results": [asdict(r) for r in results],
            "targets": check_targets(results),
            "every_round": [asdict(r) for r in every],
        }
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0 if all(r.ok for r in every) else 1


def _measure(name: str, server: Server, work: Path, setup: dict[str, Any]) -> Result:
    """One client, once, into a fresh folder that is deleted afterwards."""
    size, total = setup["size"], setup["total_cap"]
    folder = work / name
    folder.mkdir()
    setup["dropped_caches"] = drop_caches() and setup["dropped_caches"]
    print(f"running {name} ...", file=sys.stderr)
    client = make_client(name, server, folder, work)
    log = work / f"{name}.log"
    result = run_client(client, folder, log, server, size)
    if result.ok:
        result.transfer_fraction = result.transfer_rate / total
        result.wall_fraction = result.wall_rate / total
        final = _find(folder, FILENAME)
        result.verified = (
            result.verified and final is not None and sha256_file(final) == setup["sha256"]
        )
    else:
        print(f"  {name} failed; its log:\n{log.read_text()}", file=sys.stderr)
    print(f"  {json.dumps(asdict(result) | {'growth': len(result.growth)})}", file=sys.stderr)
    shutil.rmtree(folder)
    return result


def _median(name: str, every: list[Result]) -> Result:
    """The client's round with the median wall-clock rate (a failed one if all failed)."""
    mine = [r for r in every if r.client == name]
    ok = sorted((r for r in mine if r.ok), key=lambda r: r.wall_rate)
    return ok[(len(ok) - 1) // 2] if ok else mine[-1]


def _parse_size(text: str) -> int:
    from comfyui_phoenix.settings import parse_rate

    return int(text) if text.isdigit() else parse_rate(text)


def _parse_clients(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = set(names) - set(ALL_CLIENTS)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown clients {sorted(unknown)}; pick from {ALL_CLIENTS}"
        )
    return names


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        path, sha256, per_connection, total = sys.argv[2:6]
        serve(Path(path), sha256, float(per_connection), float(total))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "_phoenix":
        return phoenix_client(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=_parse_size, default=2 * GiB, help="file size (2GiB)")
    parser.add_argument("--quick", action="store_true", help="a 256 MiB file")
    parser.add_argument("--per-connection", type=_parse_size, default=25 * MB,
                        help="CDN cap per connection (25MB)")  # fmt: skip
    parser.add_argument("--total", type=_parse_size, default=None,
                        help="CDN total cap (default: 2/3 of the disk's durable speed, <= 200MB)")  # fmt: skip
    parser.add_argument("--dir", default=None, help="where downloads go (default: the temp dir)")
    parser.add_argument("--disk-test", type=_parse_size, default=None,
                        help="bytes written to measure the disk (1GiB quick, else 2GiB)")  # fmt: skip
    parser.add_argument("--clients", type=_parse_clients, default=list(ALL_CLIENTS),
                        help=f"comma-separated subset of {','.join(ALL_CLIENTS)}")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=1,
                        help="run every client this many times; the table shows the median")  # fmt: skip
    parser.add_argument("--json", default=None, help="also write the numbers here")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
