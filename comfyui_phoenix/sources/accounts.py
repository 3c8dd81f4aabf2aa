"""Whose account a token belongs to: HuggingFace's ``whoami-v2``, CivitAI's ``/api/v1/me``.

A token pasted in the panel is checked against its site when the user asks, so a
typo shows at once and not halfway through a plan. Both sites answer 200 with the
account (HuggingFace's ``name``, CivitAI's ``username``) and 401 for a token they do
not know; the sentences are each site's own wording.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from ..errors import PhoenixError, SourceError
from ..net.answers import Answer, Wording, unreachable
from ..net.retry import with_retries
from ..security.secrets import TokenName
from .base import SourceContext
from .civitai.wording import CivitaiWording
from .hf.wording import Asked, HubWording

#: An account answer is a few hundred bytes; anything far larger is not the API.
_READ_LIMIT = 1 << 20


@dataclass(frozen=True)
class AccountCheck:
    """What a site said of a token: the account it belongs to, or why it was refused."""

    name: TokenName
    account: str | None = None
    error: PhoenixError | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.error is not None:
            return {"ok": False, **self.error.to_dict()}
        return {"ok": True, "account": self.account}


async def check_account(ctx: SourceContext, name: TokenName) -> AccountCheck | None:
    """Ask the token's site whose it is; None when no token ``name`` is set."""
    token = ctx.tokens.get(name)
    if not token:
        return None
    if name == "huggingface":
        endpoint = ctx.settings.hf_endpoint
        url, key = f"{endpoint}/api/whoami-v2", "name"
        asked = Asked(
            endpoint,
            "your account",
            "",
            has_token=True,
            token_source=ctx.tokens.sources.get(name),
        )
        wording: Wording = HubWording(asked)
        site = f"HuggingFace at {endpoint}"
    else:
        base = ctx.settings.civitai_base_url
        url, key = f"{base}/api/v1/me", "username"
        wording = CivitaiWording(base, ctx.tokens, "your account")
        site = f"CivitAI at {base}"
    try:
        data = await with_retries(
            lambda: _get_account(ctx, url, token, wording, site), what=f"{site}'s account check"
        )
    except PhoenixError as exc:
        return AccountCheck(name, error=exc)
    account = data.get(key)
    if not isinstance(account, str) or not account:
        return AccountCheck(
            name,
            error=SourceError(
                f"{site} accepted the token but did not say whose it is.",
                hint="Check HF_ENDPOINT or PHOENIX_CIVITAI_BASE_URL; downloads may still work.",
            ),
        )
    return AccountCheck(name, account=account)


async def _get_account(
    ctx: SourceContext, url: str, token: str, wording: Wording, site: str
) -> dict[str, Any]:
    ctx.policy.check_url(url)
    try:
        # No redirects: the token goes to the site's own API and nowhere else.
        async with ctx.session.get(
            url, headers={"Authorization": f"Bearer {token}"}, allow_redirects=False
        ) as response:
            body = await response.content.read(_READ_LIMIT)
            if response.status != 200:
                raise wording.error(Answer(response.status, url, response.headers, body))
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise unreachable(url, exc, name=site) from exc
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise SourceError(
            f"{site} answered its account check with something other than JSON.",
            hint="The site may be down or showing a challenge page; try again later.",
        )
    return data
