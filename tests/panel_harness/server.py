"""The harness app: Phoenix's real routes (also under ``/api``), ``web/`` and stand-in scripts.

ComfyUI serves a custom node's ``WEB_DIRECTORY`` at ``/extensions/<folder>/`` and mounts
every route a second time under ``/api``; the page's ``scripts/app.js`` and
``scripts/api.js`` are small stand-ins for the frontend API the panel uses. One extra
route, ``POST /harness/drop-streams``, cuts every open events stream, as a proxy would.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from comfyui_phoenix.errors import PhoenixError
from comfyui_phoenix.surfaces.app import PhoenixApp
from comfyui_phoenix.surfaces.keys import PHOENIX, Slot
from comfyui_phoenix.surfaces.routes import register

REPO = Path(__file__).resolve().parents[2]
WEB_DIR = REPO / "web"
STATIC = Path(__file__).parent / "static"
EXTENSION_NAME = "comfyui-phoenix"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Harness:
    """Builds the app in the server's own loop (``ServerThread`` calls :meth:`app`)."""

    def __init__(
        self, make_phoenix: Callable[[], PhoenixApp], *, setup_error: PhoenixError | None = None
    ) -> None:
        self._make_phoenix = make_phoenix
        self._setup_error = setup_error
        self.phoenix: PhoenixApp | None = None
        self.streams: set[Any] = set()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._track_streams])
        routes = web.RouteTableDef()
        register(routes)
        register(routes, prefix="/api/phoenix")
        app.add_routes(routes)
        if (
            self._setup_error is not None
        ):  # as ComfyUI's server holds a Phoenix that could not start
            app[PHOENIX] = Slot(error=self._setup_error)
        else:
            self.phoenix = self._make_phoenix()
            self.phoenix.attach(app)
        app.router.add_get("/", self._index)
        app.router.add_post("/harness/drop-streams", self._drop_streams)
        app.router.add_static("/scripts", STATIC / "scripts")
        app.router.add_static(f"/extensions/{EXTENSION_NAME}", WEB_DIR)
        app.on_shutdown.append(self._close_streams)
        return app

    async def _close_streams(self, app: web.Application) -> None:
        # An events stream only notices a gone client when it next writes; end them now.
        for transport in list(self.streams):
            transport.abort()

    async def _index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    @web.middleware
    async def _track_streams(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.endswith("/phoenix/events") or request.transport is None:
            return await handler(request)
        transport = request.transport
        self.streams.add(transport)
        try:
            return await handler(request)
        finally:
            self.streams.discard(transport)

    async def _drop_streams(self, request: web.Request) -> web.Response:
        count = len(self.streams)
        await self._close_streams(request.app)
        return web.json_response({"dropped": count})
