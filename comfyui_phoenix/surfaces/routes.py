"""Phoenix's HTTP routes under ``/phoenix/`` (ComfyUI also serves them under ``/api/phoenix/``).

JSON in and out. Errors are mapped once, here, to ``{error, detail, hint}``.
Mutating routes take JSON only (a cross-site form post cannot reach them) and
validate bodies with pydantic. Destructive routes (delete a model, tokens,
cleanup) refuse non-loopback clients unless they present ``PHOENIX_API_TOKEN``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import BadRequestError, ForbiddenError, PhoenixError
from ..folders import MODEL_FOLDERS
from ..refs import Destination, parse_destination
from ..security.gate import AUTHENTICATED
from .deferred import ROUTES, register_more_routes
from .keys import running
from .model_meta import plan_meta
from .sse import events_stream

if TYPE_CHECKING:
    from .app import PhoenixApp

log = logging.getLogger(__name__)

PREFIX = "/phoenix"
MAX_BODY = 64 << 10
MAX_REFS = 200

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RefsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refs: list[str] = Field(min_length=1, max_length=MAX_REFS)
    folder: str | None = Field(default=None, max_length=256)
    #: A folder chosen for one file of the plan, by the file's ``url`` (the panel's "Save to").
    folders: dict[str, str] = Field(default_factory=dict, max_length=MAX_REFS)

    def choices(self) -> dict[str, Destination]:
        return {url: parse_destination(folder) for url, folder in self.folders.items()}


class CleanupBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirm: Literal[True]


def error_response(exc: PhoenixError) -> web.Response:
    return web.json_response(exc.to_dict(), status=exc.http_status)


def handles_errors(handler: Handler) -> Handler:
    """``handler`` with Phoenix's errors and invalid bodies answered as ``{error, detail, hint}``."""

    @wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except PhoenixError as exc:
            return error_response(exc)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            return web.json_response(
                {
                    "error": "bad_request",
                    "detail": f"'{where}': {first['msg']}.",
                    "hint": "Send the fields the README documents for this route.",
                },
                status=400,
            )

    return wrapped


def phoenix(request: web.Request) -> PhoenixApp:
    return cast("PhoenixApp", running(request.app))


async def json_body(request: web.Request, limit: int = MAX_BODY) -> Any:
    """The request's JSON body; form posts and bodies over ``limit`` bytes are refused."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(
            text='{"error":"bad_request","detail":"Send a JSON body.","hint":"Set Content-Type: application/json."}',
            content_type="application/json",
        )
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    raw = await request.content.read(limit + 1)
    if len(raw) > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=len(raw))
    try:
        return json.loads(raw or b"null")
    except ValueError:
        raise BadRequestError("The body is not valid JSON.", hint="Send a JSON object.") from None


def is_trusted_local(request: web.Request, api_token: str | None) -> bool:
    """A loopback client that did not come through a proxy, or one with the API token."""
    if request.get(AUTHENTICATED) or getattr(request, "phoenix_authenticated", False):
        return True  # let through by the login gate (a session or its bearer token)
    header = request.headers.get("Authorization", "")
    if api_token and header.startswith("Bearer "):
        return hmac.compare_digest(header[7:].strip().encode(), api_token.encode())
    forwarded = any(h in request.headers for h in ("X-Forwarded-For", "Forwarded", "X-Real-IP"))
    remote = request.remote or ""
    # A page on another site can rebind its own name to 127.0.0.1 (DNS rebinding): its
    # requests then come from loopback, but still name that site in Host and Origin.
    return (
        not forwarded
        and remote in _LOOPBACK
        and _hostname(request.host) in _LOOPBACK
        and _origin_is_local(request.headers.get("Origin"))
    )


_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def _hostname(host: str | None) -> str:
    return (urlsplit(f"//{host}").hostname or "") if host else ""


def _origin_is_local(origin: str | None) -> bool:
    if not origin:
        return True  # not a browser page, or a same-origin GET: nothing to compare
    return (urlsplit(origin).hostname or "") in _LOOPBACK


def require_trusted(request: web.Request) -> None:
    token = phoenix(request).settings.api_token
    if not is_trusted_local(request, token.get_secret_value() if token else None):
        raise ForbiddenError(
            "This action is only allowed from this machine or with the API token.",
            hint="Send 'Authorization: Bearer <PHOENIX_API_TOKEN>', or use it from localhost.",
        )


def register(routes: web.RouteTableDef, prefix: str = PREFIX) -> None:
    """Add every Phoenix route to ``routes`` (a test app's; ComfyUI gets deferred stand-ins)."""
    for method, path, name in ROUTES:
        routes.route(method, prefix + path)(HANDLERS[name])
    # The other tables' handlers use this module's helpers: they load when first asked.
    register_more_routes(routes, prefix)


# -- handlers -----------------------------------------------------------------------------------
async def health(request: web.Request) -> web.Response:
    app = phoenix(request)
    return web.json_response({"ok": app.phoenix is not None, "version": _version()})


def _version() -> str:
    from .. import __version__

    return __version__


async def status(request: web.Request) -> web.Response:
    return web.json_response(phoenix(request).status())


async def capabilities(request: web.Request) -> web.Response:
    app = phoenix(request)
    service = app.service
    settings = app.settings
    return web.json_response(
        {
            "version": _version(),
            "container": settings.container,
            "engine": service.engine.name,
            "cleanup_available": settings.container,
            "auth": {"gate": settings.comfy_auth, "api_token": settings.api_token is not None},
            "models_root": str(service.layout.root),
            "folders": sorted(MODEL_FOLDERS),
            "tokens": service.tokens.masked(),
            "max_concurrent_downloads": settings.max_concurrent_downloads,
        }
    )


async def resolve(request: web.Request) -> web.Response:
    body = RefsBody.model_validate(await json_body(request))
    destination = parse_destination(body.folder) if body.folder else None
    service = phoenix(request).service
    plan = await service.manager.plan_refs(
        body.refs, destination=destination, choices=body.choices()
    )
    return web.json_response(plan_meta(plan.to_dict(), service.previews))


async def submit_downloads(request: web.Request) -> web.Response:
    body = RefsBody.model_validate(await json_body(request))
    destination = parse_destination(body.folder) if body.folder else None
    manager = phoenix(request).service.manager
    jobs, plan = await manager.submit(
        body.refs, origin="panel", destination=destination, choices=body.choices()
    )
    body_out = {"jobs": [j.to_dict() for j in jobs], **plan.to_dict()}
    if jobs or not plan.problems:
        return web.json_response(body_out, status=202)
    # Nothing could be queued: the answer is the first problem, in the usual error shape.
    first = plan.problems[0].error
    return web.json_response({**first.to_dict(), **body_out}, status=_problem_status(first))


def _problem_status(error: PhoenixError) -> int:
    return error.http_status if 400 <= error.http_status < 600 else 400


async def list_downloads(request: web.Request) -> web.Response:
    return web.json_response({"jobs": phoenix(request).jobs_view()})


async def get_download(request: web.Request) -> web.Response:
    job = phoenix(request).service.manager.get(request.match_info["id"])
    return web.json_response(job.to_dict())


async def cancel_download(request: web.Request) -> web.Response:
    job = await phoenix(request).service.manager.cancel(request.match_info["id"])
    return web.json_response(job.to_dict())


async def control_download(request: web.Request) -> web.Response:
    manager = phoenix(request).service.manager
    action: Literal["retry", "pause", "resume"] = request.match_info["action"]  # type: ignore[assignment]
    job_id = request.match_info["id"]
    job = await {"retry": manager.retry, "pause": manager.pause, "resume": manager.resume}[action](
        job_id
    )
    return web.json_response(job.to_dict())


async def preload(request: web.Request) -> web.Response:
    return web.json_response(phoenix(request).preload_view())


async def events(request: web.Request) -> web.StreamResponse:
    return await events_stream(request, phoenix(request))


async def cleanup_plan(request: web.Request) -> web.Response:
    require_trusted(request)
    plan = await asyncio.to_thread(phoenix(request).plan_cleanup)
    return web.json_response(plan.to_dict())


async def run_cleanup(request: web.Request) -> web.Response:
    """Carry out the same plan ``GET cleanup/plan`` shows; the body must say ``confirm: true``."""
    require_trusted(request)
    CleanupBody.model_validate(await json_body(request))
    report = await asyncio.to_thread(phoenix(request).run_cleanup)
    return web.json_response(report)


# -- the downloads list ------------------------------------------------------------------------
async def clear_downloads(request: web.Request) -> web.Response:
    """Forget the finished downloads, for every panel (a reload does not bring them back)."""
    await json_body(request)  # JSON only, as every mutating route: no cross-site form post
    ids = phoenix(request).service.manager.forget_finished()
    return web.json_response({"cleared": ids})


#: Each route's handler by name (:data:`.deferred.ROUTES` says which path it serves).
HANDLERS: dict[str, Handler] = {
    name: handles_errors(globals()[name]) for _method, _path, name in ROUTES
}
