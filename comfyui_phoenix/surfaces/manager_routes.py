"""The model manager's routes: search, a model's versions and files, previews, lookups, moves.

``GET search?source=civitai|huggingface&q=&type=&nsfw=&cursor=`` and
``GET choices?ref=&nsfw=`` answer with descriptions whose previews are Phoenix's own
signed ``GET preview?src=&sig=`` paths. ``GET lookup`` says how the lookup by hash is
going; ``POST lookup`` (``{"models": ["folder/name", …]}`` or ``{"all": true}``) starts one.
``POST models/{folder}/{path}/move`` (``{"to_folder", "to_name"}``) renames or moves a
model. Lookups and moves write to the models root: like delete, they are allowed from
this machine or with ``PHOENIX_API_TOKEN`` only (:func:`.routes.require_trusted`).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ..errors import BadRequestError, NotFoundError, UnsafePathError
from ..folders import MODEL_EXTENSIONS, MODEL_FOLDERS, normalize_folder
from ..jobs.lookup import Target, unknown_files
from ..jobs.moves import move_model as carry_out_move
from ..jobs.moves import plan_move
from ..naming import contained_path
from ..security.redact import redact
from .deferred import MANAGER_ROUTES
from .model_meta import listing_meta
from .routes import Handler, handles_errors, json_body, phoenix, require_trusted

log = logging.getLogger(__name__)

MAX_LOOKUP_FILES = 500
_PREVIEW_HEADERS = {
    "Cache-Control": "private, max-age=86400",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}


class LookupBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(default_factory=list, max_length=MAX_LOOKUP_FILES)
    all: bool = False


class MoveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_folder: str | None = Field(default=None, max_length=64)
    to_name: str = Field(min_length=1, max_length=1024)


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").strip().lower() in ("1", "true", "yes", "on")


async def search(request: web.Request) -> web.Response:
    service = phoenix(request).service
    query = request.query
    cursor = query.get("cursor") or None
    if cursor is not None and (len(cursor) > 64 or not cursor.isdigit()):
        raise BadRequestError("The cursor is not one Phoenix gave.", hint="Search again.")
    page = await service.catalog.search(
        query.get("source", "civitai"),
        query.get("q", ""),
        model_type=query.get("type") or None,
        nsfw=_flag(request, "nsfw"),
        cursor=cursor,
    )
    results = [listing_meta(hit.to_dict(), service.previews) for hit in page.hits]
    return web.json_response(
        {"source": query.get("source", "civitai"), "results": results, "next": page.next_cursor}
    )


async def choices(request: web.Request) -> web.Response:
    service = phoenix(request).service
    ref = request.query.get("ref", "").strip()
    if not ref:
        raise BadRequestError("Say which model to choose from.", hint="Send ?ref=REFERENCE.")
    found = await service.catalog.choices(ref, nsfw=_flag(request, "nsfw"))
    return web.json_response(listing_meta(found.to_dict(), service.previews))


async def preview(request: web.Request) -> web.StreamResponse:
    previews = phoenix(request).service.previews
    url, signature = request.query.get("src", ""), request.query.get("sig", "")
    if not url or not previews.verify(url, signature):
        raise NotFoundError("Phoenix has no such preview.", hint="Reload the list it came from.")
    path, kind = await previews.image(url)
    return web.FileResponse(path, headers={**_PREVIEW_HEADERS, "Content-Type": kind})


async def lookup_progress(request: web.Request) -> web.Response:
    return web.json_response(phoenix(request).service.lookup.progress.to_dict())


async def start_lookup(request: web.Request) -> web.Response:
    require_trusted(request)
    service = phoenix(request).service
    body = LookupBody.model_validate(await json_body(request))
    if body.all == bool(body.models):
        raise BadRequestError(
            "Say which models to look up.",
            hint='Send {"models": ["folder/name"]} or {"all": true}.',
        )
    if body.all:
        targets = await asyncio.to_thread(unknown_files, service.layout, service.state)
    else:
        targets = [await asyncio.to_thread(_target, service, name) for name in body.models]
    progress = service.lookup.start(targets)
    return web.json_response(progress.to_dict(), status=202)


def _target(service: Any, relpath: str) -> Target:
    folder, _, name = relpath.partition("/")
    folder = normalize_folder(folder)
    if folder not in MODEL_FOLDERS or Path(name).suffix.lower() not in MODEL_EXTENSIONS:
        raise UnsafePathError(
            f"'{relpath[:80]}' is not a model in a ComfyUI model folder.",
            hint="Name models as the library lists them: folder/name.",
        )
    for base in service.layout.search_dirs(folder):
        path = contained_path(base, *name.split("/"))
        if path.is_file():
            return Target(f"{folder}/{name}", folder, path)
    raise NotFoundError(f"There is no {folder}/{name[:120]}.", hint="Refresh the library.")


async def move_model(request: web.Request) -> web.Response:
    require_trusted(request)
    service = phoenix(request).service
    body = MoveBody.model_validate(await json_body(request))
    folder, name = request.match_info["folder"], request.match_info["path"]
    move = await asyncio.to_thread(
        plan_move, service.layout, folder, name, body.to_folder or folder, body.to_name
    )
    jobs = service.manager.jobs() if service.jobs is not None else []
    await carry_out_move(move, service.state, jobs, service.lookup.busy_with())
    refresh = getattr(service.layout, "refresh", None)
    if callable(refresh):  # inside ComfyUI: its lists forget both names at once
        refresh(normalize_folder(folder))
        refresh(move.to_folder)
    log.info("moved model %s to %s", redact(move.old), redact(move.new))
    return web.json_response(
        {"from": move.old, "to": move.new, "folder": move.to_folder, "path": str(move.target)}
    )


#: Each manager route's handler by name (:data:`.deferred.MANAGER_ROUTES` says which path).
HANDLERS: dict[str, Handler] = {
    name: handles_errors(globals()[name]) for _method, _path, name in MANAGER_ROUTES
}
