"""CivitAI's search and its lookup by hash, as the local CivitAI peer answers them.

``GET /api/v1/models?query=&types=&nsfw=&limit=&cursor=`` searches model names (newest id
first, as CivitAI's search index sorts), hides NSFW models and images unless
``nsfw=true``, and pages with a cursor (``metadata.nextCursor`` and ``nextPage``).
``GET /api/v1/model-versions/by-hash/{hash}`` finds the version whose file has that hash
(AutoV1, AutoV2, SHA256, CRC32 or BLAKE3, any case) and answers it as
``/api/v1/model-versions/{id}`` does, or 404 ``{"error": "Model not found"}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from .civitai import CivitaiServer

#: Images above this nsfwLevel (1 PG, 2 PG-13, 4 R, 8 X, 16 XXX) are hidden without ``nsfw``.
SFW_LEVELS = 2
_MAX_LIMIT = 100


async def search_models(server: CivitaiServer, request: web.Request) -> web.Response:
    query = request.query.get("query", "").lower()
    types = {t.lower() for t in request.query.getall("types", [])}
    nsfw = request.query.get("nsfw", "false").lower() == "true"
    try:
        limit = int(request.query.get("limit", str(_MAX_LIMIT)))
        cursor = int(request.query["cursor"]) if "cursor" in request.query else None
    except ValueError:
        return web.json_response({"error": "Invalid limit or cursor"}, status=400)
    if not 0 < limit <= _MAX_LIMIT:
        return web.json_response({"error": "limit must be between 1 and 100"}, status=400)
    found = [
        model
        for model in sorted(server.models.values(), key=lambda m: m.id, reverse=True)
        if query in model.name.lower()
        and (not types or model.type.lower() in types)
        and (nsfw or not model.nsfw)
        and (cursor is None or model.id < cursor)
    ]
    page, rest = found[:limit], found[limit:]
    metadata: dict[str, Any] = {}
    if rest:
        metadata["nextCursor"] = str(page[-1].id)
        metadata["nextPage"] = str(request.url.update_query(cursor=str(page[-1].id)))
    items = [server.model_json(model, sfw_only=not nsfw) for model in page]
    return web.json_response({"items": items, "metadata": metadata})


async def version_by_hash(server: CivitaiServer, request: web.Request) -> web.Response:
    wanted = request.match_info["hash"].upper()
    for model in server.models.values():
        for version in model.versions:
            for file in version.files:
                if wanted in {h.upper() for h in file.hashes.values()}:
                    return web.json_response(server.version_json(model, version))
    return web.json_response({"error": "Model not found"}, status=404)
