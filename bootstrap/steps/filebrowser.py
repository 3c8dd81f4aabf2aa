"""Step ``filebrowser``: a fresh database, the admin user imported from a 0600 file, started.

A generated password is printed once, the one deliberate exception to the log's
redaction: the log is the only place a RunPod user can read it.
"""

from __future__ import annotations

import signal

from .. import filebrowser as fb
from ..context import BootContext
from ..probes import http_probe, local_url
from ..process import ServiceSpec
from .outcome import Outcome


async def start_filebrowser(ctx: BootContext) -> Outcome:
    """Prepare FileBrowser over the data root and start supervising it."""
    layout, credentials = ctx.require_layout(), ctx.credentials
    assert credentials is not None
    listen, port = ctx.options.listen, ctx.options.filebrowser_port
    database = await fb.prepare(
        binary=ctx.paths.filebrowser_bin,
        folder=ctx.paths.filebrowser_dir,
        root=layout.data_root,
        listen=listen,
        port=port,
        credentials=credentials,
        run_as=ctx.run_as,
        env=ctx.child_env,
    )
    ctx.start_service(
        ServiceSpec(
            name="filebrowser",
            argv=fb.serve_argv(ctx.paths.filebrowser_bin, database, layout.data_root, listen, port),
            env=ctx.child_env,
            cwd=ctx.paths.filebrowser_dir,
            run_as=ctx.run_as,
            stop_signal=signal.SIGTERM,
            ready_probe=http_probe(ctx.http(), local_url(listen, port, "/health")),
        )
    )
    if credentials.generated:
        ctx.log.announce_once(
            f"FileBrowser password for {credentials.username} (shown once, stored nowhere)",
            credentials.password,
        )
    return Outcome("ok", f"port {port}, user {credentials.username}, root {layout.data_root}")
