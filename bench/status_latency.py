"""Latency of ``GET /phoenix/status`` at a fixed request rate (budget: p99 <= 5 ms at 100/s).

The server runs in a child process; this process is the load generator. Requests are
sent open-loop on a fixed schedule (one every 1/rate seconds, whether or not earlier
ones have answered), so a slow answer cannot hide by delaying the requests behind it.

Usage:
    python bench/status_latency.py [--rate 100] [--duration 20] [--warmup 2]

Prints p50/p95/p99/max of the latency seen by the client (from the moment each request
was sent, and from the moment it was due) and of the server's own handling time.
``make_app`` builds the real route factory and PhoenixApp, as ComfyUI mounts them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from aiohttp import web

from comfyui_phoenix.settings import load_settings
from comfyui_phoenix.status.report import BOOT_REPORT_NAME
from comfyui_phoenix.surfaces.app import PhoenixApp
from comfyui_phoenix.surfaces.routes import register

BUDGET_P99_MS = 5.0
SERVER_TIMINGS = web.AppKey("server_timings", list)


def make_app() -> web.Application:
    """Phoenix's real route factory and PhoenixApp, as ComfyUI mounts them.

    The models root holds a few verified records and a boot report, and a handful
    of finished jobs are in the manager, so the snapshot has the size it has in use.
    """
    scratch = Path(tempfile.mkdtemp(prefix="phoenix-bench-"))
    for name in ("models", "input", "output", "runtime"):
        (scratch / name).mkdir()
    (scratch / "runtime" / BOOT_REPORT_NAME).write_text(
        json.dumps({"steps": [{"name": "gpu-check", "ok": True, "seconds": 0.4}]})
    )
    settings = load_settings(
        {}, models_dir=scratch / "models", runtime_dir_setting=scratch / "runtime", engine="python"
    )
    phoenix = PhoenixApp(
        settings,
        paths={"input": scratch / "input", "output": scratch / "output"},
        tokens_file=scratch / "tokens.json",
        preload=False,
    )
    app = web.Application()
    routes = web.RouteTableDef()
    register(routes)
    app.add_routes(routes)
    phoenix.attach(app)
    return app


def serve(app_factory: Callable[[], web.Application]) -> None:
    """Serve the app on a free loopback port, print the port, and time every request."""
    app = app_factory()
    timings: list[float] = []
    app[SERVER_TIMINGS] = timings

    @web.middleware
    async def timed(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            return await handler(request)
        finally:
            if request.path != "/bench/timings":
                timings.append(time.perf_counter() - started)

    async def report(request: web.Request) -> web.Response:
        values, timings[:] = list(timings), []
        return web.json_response(values)

    app.middlewares.append(timed)
    app.router.add_get("/bench/timings", report)

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        assert site._server is not None
        port = site._server.sockets[0].getsockname()[1]
        print(f"PORT {port}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    asyncio.run(main())


async def _one(session: aiohttp.ClientSession, url: str, due: float) -> tuple[float, float, int]:
    loop = asyncio.get_running_loop()
    sent = loop.time()
    async with session.get(url) as response:
        body = await response.read()
        response.raise_for_status()
    done = loop.time()
    return done - sent, done - due, len(body)


async def _load(url: str, rate: float, duration: float) -> list[tuple[float, float, int]]:
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = loop.time() + 0.05
        tasks = []
        for index in range(int(rate * duration)):
            due = start + index / rate
            await asyncio.sleep(max(0.0, due - loop.time()))
            tasks.append(asyncio.create_task(_one(session, url, due)))
        return await asyncio.gather(*tasks)


async def _server_timings(base: str) -> list[float]:
    async with aiohttp.ClientSession() as session, session.get(f"{base}/bench/timings") as resp:
        values: list[float] = await resp.json()
        return values


def _percentiles(values: list[float]) -> str:
    ordered = sorted(values)

    def rank(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))] * 1000

    return (
        f"p50 {rank(0.50):6.3f}  p95 {rank(0.95):6.3f}  p99 {rank(0.99):6.3f}  "
        f"max {ordered[-1] * 1000:6.3f} ms  (n={len(ordered)})"
    )


def run_benchmark(rate: float, duration: float, warmup: float) -> int:
    """Start the server process, load it, print the numbers; 1 when p99 misses the budget."""
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if not line.startswith("PORT "):
            print("the server did not start", file=sys.stderr)
            return 2
        base = f"http://127.0.0.1:{int(line.split()[1])}"
        url = f"{base}/phoenix/status"
        asyncio.run(_load(url, rate, warmup))
        asyncio.run(_server_timings(base))  # drops the warm-up's server timings
        wall = time.perf_counter()
        results = asyncio.run(_load(url, rate, duration))
        wall = time.perf_counter() - wall
        server_side = asyncio.run(_server_timings(base))
    finally:
        server.terminate()
        server.wait(10)
    sent = [sent for sent, _, _ in results]
    due = [due for _, due, _ in results]
    print(
        f"GET /phoenix/status at {rate:g}/s for {duration:g} s "
        f"({len(results) / wall:.1f} answered/s, {results[0][2]} bytes each, "
        f"{os.cpu_count()} CPUs)"
    )
    print(f"  client, from send: {_percentiles(sent)}")
    print(f"  client, from due:  {_percentiles(due)}")
    print(f"  server handling:   {_percentiles(server_side)}")
    p99 = sorted(sent)[min(len(sent) - 1, round(0.99 * len(sent)) - 1)] * 1000
    verdict = "within" if p99 <= BUDGET_P99_MS else "OVER"
    print(f"  p99 {p99:.3f} ms is {verdict} the {BUDGET_P99_MS:g} ms budget")
    return 0 if p99 <= BUDGET_P99_MS else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(make_app)
        return 0
    return run_benchmark(args.rate, args.duration, args.warmup)


if __name__ == "__main__":
    sys.exit(main())
