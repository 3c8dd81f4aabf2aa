"""A throttled file host that speaks HTTP Range and injects faults on demand.

Per-connection and total rate caps (token buckets), ``ETag``/``Last-Modified``/
``Accept-Ranges``, optional ``Content-Disposition``, and faults that fire once
(or every time): drop the connection at an offset, bursts of 5xx/429 with
``Retry-After``, a 200 answer to a Range request, a truncated body, a stall, a
wrong byte, an HTML page. Every request is logged (method, path, headers) so
tests can prove what reached the host — no Authorization header, say.

Run standalone for benchmarks::

    python tests/peers/files.py --file PATH --per-connection 25MB --total 200MB --port 0
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

CHUNK = 64 << 10
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RateLimiter:
    """A token bucket shared by whoever holds it; ``rate`` None means unlimited."""

    def __init__(self, rate: float | None, burst: float | None = None) -> None:
        self.rate = rate
        self.capacity = burst if burst is not None else (rate or 0) / 10
        self.tokens = self.capacity
        self.stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def take(self, amount: int) -> None:
        if not self.rate:
            return
        async with self._lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            self.tokens -= amount
            if self.tokens < 0:
                await asyncio.sleep(-self.tokens / self.rate)


@dataclass
class Faults:
    """Faults for one file. Each fires once unless ``repeat`` is set."""

    drop_at: int | None = None
    statuses: list[int] = field(default_factory=list)
    retry_after: str | None = None
    ignore_range: bool = False
    truncate_to: int | None = None
    stall_at: int | None = None
    stall_seconds: float = 3600.0
    corrupt_at: int | None = None
    html: bool = False
    repeat: bool = False


@dataclass
class Hosted:
    path: Path
    size: int
    etag: str
    mtime: float
    disposition: str | None = None
    content_type: str = "application/octet-stream"
    faults: Faults = field(default_factory=Faults)


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]


class FileServer:
    """The app behind a :class:`~peers.runner.ServerThread` (or a process, for benchmarks)."""

    def __init__(
        self,
        root: Path,
        *,
        per_connection_rate: float | None = None,
        total_rate: float | None = None,
    ) -> None:
        self.root = root
        self.per_connection_rate = per_connection_rate
        self.total = RateLimiter(total_rate)
        self.files: dict[str, Hosted] = {}
        self.requests: list[LoggedRequest] = []
        self.bytes_sent = 0
        self.active = 0
        self.peak_active = 0

    # -- hosting ------------------------------------------------------------------------
    def add(self, name: str, data: bytes, *, disposition: str | None = None) -> Hosted:
        path = self.root / name.replace("/", "_")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return self.add_path(name, path, disposition=disposition)

    def add_path(self, name: str, path: Path, *, disposition: str | None = None) -> Hosted:
        stat = path.stat()
        etag = hashlib.sha256(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
        hosted = Hosted(path, stat.st_size, f'"{etag}"', stat.st_mtime, disposition)
        self.files[name] = hosted
        return hosted

    def faults(self, name: str, **kwargs: Any) -> Faults:
        self.files[name].faults = Faults(**kwargs)
        return self.files[name].faults

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("GET", "/files/{name:.+}", self.handle)
        app.router.add_route("HEAD", "/files/{name:.+}", self.handle)
        return app

    # -- serving ------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            LoggedRequest(request.method, request.path, request.query_string, dict(request.headers))
        )
        hosted = self.files.get(request.match_info["name"])
        if hosted is None:
            return web.json_response({"error": "not found"}, status=404)
        faults = hosted.faults
        if faults.statuses:
            status = faults.statuses.pop(0) if not faults.repeat else faults.statuses[0]
            headers = {"Retry-After": faults.retry_after} if faults.retry_after else {}
            return web.Response(status=status, text=f"error {status}", headers=headers)
        if faults.html:
            faults.html = faults.repeat
            return web.Response(
                text="<!DOCTYPE html><html><body>Please log in</body></html>",
                content_type="text/html",
            )
        size = faults.truncate_to if faults.truncate_to is not None else hosted.size
        start, end, partial = self._range(request, size, faults)
        headers = {
            "Accept-Ranges": "bytes",
            "ETag": hosted.etag,
            "Last-Modified": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(hosted.mtime)),
            "Content-Type": hosted.content_type,
            "Content-Length": str(end - start),
        }
        if hosted.disposition:
            headers["Content-Disposition"] = hosted.disposition
        if partial:
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        response = web.StreamResponse(status=206 if partial else 200, headers=headers)
        if start >= end and partial:
            return web.Response(status=416, headers={"Content-Range": f"bytes */{size}"})
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        await self._send(request, response, hosted, start, end)
        return response

    def _range(self, request: web.Request, size: int, faults: Faults) -> tuple[int, int, bool]:
        header = request.headers.get("Range")
        if not header:
            return 0, size, False
        if faults.ignore_range:
            faults.ignore_range = faults.repeat
            return 0, size, False
        if_range = request.headers.get("If-Range")
        hosted = self.files[request.match_info["name"]]
        if if_range and if_range != hosted.etag:
            return 0, size, False
        match = _RANGE.match(header.strip())
        if not match:
            return 0, size, False
        first, last = match.groups()
        if first == "":
            start = max(0, size - int(last))
            return start, size, True
        start = int(first)
        end = min(size, int(last) + 1) if last else size
        return start, end, True

    async def _send(
        self,
        request: web.Request,
        response: web.StreamResponse,
        hosted: Hosted,
        start: int,
        end: int,
    ) -> None:
        faults = hosted.faults
        bucket = RateLimiter(self.per_connection_rate)
        self.active += 1
        self.peak_active = max(self.peak_active, self.active)
        try:
            with open(hosted.path, "rb") as handle:
                offset = start
                while offset < end:
                    size = min(CHUNK, end - offset)
                    for limit in (faults.drop_at, faults.stall_at, faults.corrupt_at):
                        if limit is not None and offset < limit < offset + size:
                            size = limit - offset
                    if faults.drop_at is not None and offset == faults.drop_at:
                        faults.drop_at = faults.drop_at if faults.repeat else None
                        if request.transport is not None:
                            request.transport.abort()
                        return
                    if faults.stall_at is not None and offset == faults.stall_at:
                        faults.stall_at = faults.stall_at if faults.repeat else None
                        await asyncio.sleep(faults.stall_seconds)
                    data = os.pread(handle.fileno(), size, offset)
                    if faults.corrupt_at is not None and offset == faults.corrupt_at:
                        faults.corrupt_at = faults.corrupt_at if faults.repeat else None
                        data = bytes([data[0] ^ 0xFF]) + data[1:]
                    await bucket.take(len(data))
                    await self.total.take(len(data))
                    await response.write(data)
                    self.bytes_sent += len(data)
                    offset += len(data)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.active -= 1


def main() -> None:  # pragma: no cover - benchmark entry point
    import argparse
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from comfyui_phoenix.settings import parse_rate

    parser = argparse.ArgumentParser()
    parser.add_argument("--file", type=Path, required=True)
    parser.add_argument("--name", default=None)
    parser.add_argument("--per-connection", default=None)
    parser.add_argument("--total", default=None)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = FileServer(
        args.file.parent,
        per_connection_rate=parse_rate(args.per_connection) if args.per_connection else None,
        total_rate=parse_rate(args.total) if args.total else None,
    )
    server.add_path(args.name or args.file.name, args.file)

    async def run() -> None:
        runner = web.AppRunner(server.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", args.port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(f"http://127.0.0.1:{port}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(run())


if __name__ == "__main__":  # pragma: no cover
    main()
