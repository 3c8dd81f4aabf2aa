"""Step ``secrets``: ``secrets.json`` (0600) for the extension; no child sees a token.

The tokens, the internal API token and the login gate's password hash go to one file in
the runtime folder (tmpfs), owned by the service user; the values join the log's
registry so that none is ever printed.
"""

from __future__ import annotations

import asyncio
import os

from ..context import BootContext
from ..handoff import build_handoff, write_handoff
from .outcome import Outcome


async def hand_off_secrets(ctx: BootContext) -> Outcome:
    """Write the secrets handoff for the Phoenix extension inside ComfyUI."""
    settings = ctx.require_settings()
    assert ctx.credentials is not None
    gate_password = None
    if settings.comfy_auth:
        given = settings.comfy_password
        gate_password = given.get_secret_value() if given else ctx.credentials.password
    handoff = await asyncio.to_thread(build_handoff, settings, gate_password)
    ctx.registry.add(*handoff.secret_values())
    runtime = ctx.paths.runtime_dir
    runtime.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(runtime, 0o700)
    write_handoff(ctx.paths.secrets_file, handoff, owner=ctx.run_as.owner)
    ctx.handoff = handoff
    held = [k for k in ("huggingface", "civitai") if getattr(handoff, k)]
    held.append("api_token (generated)" if handoff.api_token_generated else "api_token")
    if handoff.comfy_password_hash:
        held.append("the login gate's password hash")
    return Outcome(
        "ok",
        f"{ctx.paths.secrets_file.name} (0600) holds {', '.join(held)}; "
        "no child process sees a token in its environment",
    )
