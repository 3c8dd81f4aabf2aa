"""``GET /phoenix/events``: Server-Sent Events.

First a ``snapshot`` (jobs, status, preload), so a reconnecting client is
complete; then ``job``, ``preload`` and periodic ``status`` events, and a comment
keepalive well inside RunPod's 100 s proxy timeout. A client that falls behind
gets a fresh snapshot instead of an unbounded queue.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from .app import PhoenixApp

KEEPALIVE_SECONDS = 15.0
STATUS_SECONDS = 2.0


def _frame(kind: str, data: Any) -> bytes:
    payload = json.dumps(data, separators=(",", ":"), default=str)
    return f"event: {kind}\ndata: {payload}\n\n".encode()


async def events_stream(request: web.Request, app: PhoenixApp) -> web.StreamResponse:
    service = app.service
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache, no-transform",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    sub = service.events.subscribe()
    loop = asyncio.get_running_loop()
    try:
        await response.write(_snapshot(app))
        last_status = last_write = loop.time()
        while True:
            timeout = min(
                KEEPALIVE_SECONDS - (loop.time() - last_write),
                STATUS_SECONDS - (loop.time() - last_status),
            )
            try:
                kind, data = await asyncio.wait_for(sub.get(), timeout=max(0.05, timeout))
                frame = _frame(kind, data)
            except asyncio.TimeoutError:
                frame = b""
            if sub.lagged:
                sub.lagged = False
                while not sub.queue.empty():
                    sub.queue.get_nowait()
                frame = _snapshot(app)
            now = loop.time()
            if now - last_status >= STATUS_SECONDS:
                frame += _frame("status", app.status())
                last_status = now
            if not frame and now - last_write >= KEEPALIVE_SECONDS:
                frame = b": keepalive\n\n"
            if frame:
                await response.write(frame)
                last_write = now
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        service.events.unsubscribe(sub)
    return response


def _snapshot(app: PhoenixApp) -> bytes:
    return _frame(
        "snapshot", {"jobs": app.jobs_view(), "status": app.status(), "preload": app.preload_view()}
    )
