"""The tokens' routes: masked tokens, setting them, and whose account each belongs to.

``GET tokens`` shows each token masked, with where it came from; ``PUT tokens`` sets
them (on a local install kept in a 0600 file; in the container on tmpfs); ``POST
tokens/check`` asks HuggingFace and CivitAI whose account each saved token is. A token
is never echoed back.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ..security.secrets import TokenName, write_secret_file
from ..sources.accounts import check_account
from .deferred import TOKEN_ROUTES
from .routes import Handler, handles_errors, json_body, phoenix, require_trusted


class TokensBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    huggingface: str | None = Field(default=None, max_length=512)
    civitai: str | None = Field(default=None, max_length=512)


async def get_tokens(request: web.Request) -> web.Response:
    return web.json_response(phoenix(request).service.tokens.masked())


async def put_tokens(request: web.Request) -> web.Response:
    require_trusted(request)
    app = phoenix(request)
    body = TokensBody.model_validate(await json_body(request))
    tokens = app.service.tokens
    names: tuple[TokenName, ...] = ("huggingface", "civitai")
    for name in names:
        value = getattr(body, name)
        if value is not None:
            tokens.set(name, value.strip() or None, "panel")
    if app.tokens_file is not None:
        stored: dict[str, str] = {}
        for name in names:
            value = tokens.get(name)
            if value and tokens.sources.get(name) == "panel":
                stored[name] = value
        write_secret_file(app.tokens_file, stored)
    return web.json_response(tokens.masked())


async def check_tokens(request: web.Request) -> web.Response:
    """Ask each site whose account its saved token belongs to; null where none is set."""
    require_trusted(request)
    await json_body(request)
    ctx = phoenix(request).service.manager.sources.ctx
    names: tuple[TokenName, ...] = ("huggingface", "civitai")
    checks = await asyncio.gather(*(check_account(ctx, name) for name in names))
    return web.json_response(
        {
            name: check.to_dict() if check else None
            for name, check in zip(names, checks, strict=True)
        }
    )


#: Each token route's handler by name (:data:`.deferred.TOKEN_ROUTES` says which path).
HANDLERS: dict[str, Handler] = {
    name: handles_errors(globals()[name]) for _method, _path, name in TOKEN_ROUTES
}
