"""What ComfyUI must be given at import, standing in for code loaded when the server starts.

ComfyUI mounts routes and middlewares only if they exist when it imports a custom
node, and it shows the seconds that import took. So the import registers stand-ins:
each route's handler, and the login gate's middleware and handlers, load the real
code (:mod:`.routes`, :mod:`comfyui_phoenix.security.gate`) on first use or when the
server starts. Until the gate is built (and for good, if it cannot be), every gated
request is refused: closed is the safe way to wait.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Every Phoenix route under ``/phoenix`` (ComfyUI also serves them under ``/api``): method,
#: path, and the name of its handler in :mod:`.routes`.
ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", "/health", "health"),
    ("GET", "/status", "status"),
    ("GET", "/capabilities", "capabilities"),
    ("POST", "/resolve", "resolve"),
    ("POST", "/downloads", "submit_downloads"),
    ("POST", "/downloads/clear", "clear_downloads"),
    ("GET", "/downloads", "list_downloads"),
    ("GET", "/downloads/{id}", "get_download"),
    ("DELETE", "/downloads/{id}", "cancel_download"),
    ("POST", "/downloads/{id}/{action:retry|pause|resume}", "control_download"),
    ("GET", "/preload", "preload"),
    ("GET", "/events", "events"),
    ("GET", "/cleanup/plan", "cleanup_plan"),
    ("POST", "/cleanup", "run_cleanup"),
)

#: A workflow's models (its ``models`` lists, Phoenix nodes' references): handlers in
#: :mod:`.workflow_routes`.
WORKFLOW_ROUTES: tuple[tuple[str, str, str], ...] = (
    ("POST", "/workflow/plan", "plan_workflow"),
    ("POST", "/workflow/fetch", "fetch_workflow"),
)

#: The Library's routes (models on disk, delete): handlers in :mod:`.library_routes`.
LIBRARY_ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", "/models", "list_models"),
    ("DELETE", "/models/{folder}/{path:.+}", "delete_model"),
)

#: The tokens' routes (masked, set, checked against their accounts): :mod:`.token_routes`.
TOKEN_ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", "/tokens", "get_tokens"),
    ("PUT", "/tokens", "put_tokens"),
    ("POST", "/tokens/check", "check_tokens"),
)

#: The model manager's routes (search, a model's versions and files, previews, lookups by
#: hash, moves): method, path, and the name of its handler in :mod:`.manager_routes`.
MANAGER_ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", "/search", "search"),
    ("GET", "/choices", "choices"),
    ("GET", "/preview", "preview"),
    ("GET", "/lookup", "lookup_progress"),
    ("POST", "/lookup", "start_lookup"),
    ("POST", "/models/{folder}/{path:.+}/move", "move_model"),
)

#: The gate's own routes: method, path, and the name of the :class:`Gate` method.
GATE_ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", "/phoenix/login", "login_page"),
    ("POST", "/phoenix/login", "login"),
    ("POST", "/phoenix/logout", "logout"),
)


#: Every table beside :data:`ROUTES`, with the module of this package that serves it.
MORE_ROUTES: tuple[tuple[str, tuple[tuple[str, str, str], ...]], ...] = (
    ("library_routes", LIBRARY_ROUTES),
    ("token_routes", TOKEN_ROUTES),
    ("manager_routes", MANAGER_ROUTES),
    ("workflow_routes", WORKFLOW_ROUTES),
)


def register_routes(table: web.RouteTableDef, prefix: str = "/phoenix") -> None:
    """Add every Phoenix route to ``table``, each loading its module when first asked."""
    for method, path, name in ROUTES:
        # No keyword arguments: ComfyUI copies each route to /api with route.kwargs passed
        # to the decorator, which would fail. GET routes answer HEAD by default.
        table.route(method, prefix + path)(_route(name))
    register_more_routes(table, prefix)


def register_more_routes(table: web.RouteTableDef, prefix: str = "/phoenix") -> None:
    """Add the routes of :data:`MORE_ROUTES`, each loading its module when first asked."""
    for module, routes in MORE_ROUTES:
        for method, path, name in routes:
            table.route(method, prefix + path)(_route(name, module))


def _route(name: str, module: str = "routes") -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        handlers = importlib.import_module(f"{__package__}.{module}")
        real: Handler = handlers.HANDLERS[name]
        return await real(request)

    handler.__name__ = name
    return handler


class DeferredGate:
    """The login gate's place in the server, taken at import and filled at startup.

    Args:
        build: makes the gate (blocking: it reads the settings and the credentials);
            runs in a thread when the server starts.
    """

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._gate: Any = None
        self._middleware: Any = None

    def install(self, app: web.Application, table: web.RouteTableDef) -> None:
        """First among ``app``'s middlewares, the gate's routes in ``table``; built at startup."""
        app.middlewares.insert(0, self._check)
        app.on_startup.append(self._start)
        for method, path, name in GATE_ROUTES:
            table.route(method, path)(self._handler(name))

    async def _start(self, _app: web.Application) -> None:
        gate = await asyncio.to_thread(self._build)
        self._gate, self._middleware = gate, gate.middleware()

    @web.middleware
    async def _check(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self._middleware is None:
            raise web.HTTPServiceUnavailable(text="The login gate is starting; retry in a moment.")
        response: web.StreamResponse = await self._middleware(request, handler)
        return response

    def _handler(self, name: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            if self._gate is None:
                raise web.HTTPServiceUnavailable(text="The login gate is starting.")
            response: web.StreamResponse = await getattr(self._gate, name)(request)
            return response

        handler.__name__ = name
        return handler
