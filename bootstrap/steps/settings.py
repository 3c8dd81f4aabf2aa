"""Step ``settings``: every variable validated, the boot marked, the children's environment built.

A bad variable stops the boot, naming it (exit status 2). Then the boot marker is
touched: files in ``/tmp`` changed after it are this run's. Every secret the settings
hold joins the log's registry, and no child's environment carries one.
"""

from __future__ import annotations

import os

from comfyui_phoenix.errors import ConfigError
from comfyui_phoenix.security.cleanup import mark_boot
from comfyui_phoenix.settings import load_settings

from .. import filebrowser as fb
from ..context import BootContext
from ..handoff import child_environment
from ..paths import BootOptions
from ..process import resolve_user
from .outcome import Fatal, Outcome


async def check_settings(ctx: BootContext) -> Outcome:
    """Validate the settings and choose who the children run as, with what environment."""
    try:
        ctx.options = BootOptions.from_env(ctx.environ)
        settings = load_settings(ctx.environ)
        ctx.credentials = fb.choose_credentials(settings)
    except ConfigError as exc:
        raise Fatal(exc.detail, exc.hint, config=True) from None
    ctx.settings = settings
    mark_boot(ctx.paths.runtime_dir)
    ctx.log.debug_enabled = ctx.log.debug_enabled or settings.debug_mode
    known = [
        settings.hf_token,
        settings.civitai_token,
        settings.api_token,
        settings.fb_password,
        settings.comfy_password,
    ]
    values = [s.get_secret_value() for s in known if s is not None]
    values.append(ctx.credentials.password)
    ctx.registry.add(*values)
    ctx.run_as = resolve_user(ctx.options.user)
    common = {
        "PHOENIX_CONTAINER": "1",
        "PHOENIX_RUNTIME_DIR": str(ctx.paths.runtime_dir),
        # Where Phoenix (and a terminal's phoenix) reads the storage choices.
        "PHOENIX_RUNTIME_ENV": str(ctx.paths.runtime_env),
        "PYTHONUNBUFFERED": "1",
    }
    ctx.root_env = child_environment(ctx.environ, secret_values=values, extra=common)
    ctx.child_env = {**ctx.root_env, **ctx.run_as.env()}
    who = (
        f"children run as {ctx.run_as.name}"
        if ctx.run_as.uid is not None or os.geteuid() != 0
        else f"user {ctx.options.user} does not exist: children run as root"
    )
    flags = ", ".join(
        f"{n}={'true' if v else 'false'}"
        for n, v in (
            ("USE_VOLUME", settings.use_volume),
            ("PARANOID_MODE", settings.paranoid_mode),
            ("COMFY_AUTH", settings.comfy_auth),
            ("PHOENIX_CPU_MODE", settings.cpu_mode),
        )
    )
    return Outcome("ok", f"valid ({flags}); {who}")
