"""The throttled local server: a HuggingFace-compatible hub over a rate-capped CDN.

One child process hosts both (``tests/peers/hf.py`` over ``tests/peers/files.py``), so
the clients' CPU and the server's are told apart. The hub redirects the LFS file to the
CDN, which caps each connection and all of them together and counts what it sends.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil

from .model_file import FILENAME, REPO_ID
from .paths import ENTRY, ROOT


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
            sys.executable, str(ENTRY), "_serve", str(path), sha256,
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
