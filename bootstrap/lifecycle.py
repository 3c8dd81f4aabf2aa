"""Boot, serve until a stop signal, stop: the signals, the shutdown and the exit cleanup.

SIGTERM or SIGINT stops the children (ComfyUI gets SIGINT, its own clean exit), runs
Phoenix's forensic cleanup (:mod:`bootstrap.cleanup`) and returns within Docker's 10 s;
a second signal kills the children at once. A signal during the boot cancels it and
stops what had started.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Coroutine
from typing import Any

from comfyui_phoenix.errors import PhoenixError
from comfyui_phoenix.security.cleanup import CleanupReport

from .cleanup import exit_mode, exit_roots, run_exit_cleanup
from .console import OK, WARN
from .context import BootContext
from .steps import EXIT_FAILED

BootSequence = Callable[[BootContext], Coroutine[Any, Any, int]]


class Lifecycle:
    """One boot's life: ``boot`` runs, the services are supervised, then all of it stops."""

    def __init__(self, ctx: BootContext, boot: BootSequence) -> None:
        self.ctx = ctx
        self._boot = boot
        self._stop = asyncio.Event()
        self._boot_task: asyncio.Task[int] | None = None
        self._forced = False

    async def run(self) -> int:
        """Boot, serve until a stop signal, stop. Returns the process exit status."""
        ctx = self.ctx
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._on_signal, signum)
        self._boot_task = asyncio.create_task(self._boot(ctx))
        try:
            code = await self._boot_task
        except asyncio.CancelledError:
            code = 0  # a stop signal arrived during the boot
        except Exception as exc:  # noqa: BLE001 - reported, then the children are stopped
            ctx.log.fail("boot", f"unexpected error: {type(exc).__name__}: {exc}")
            code = EXIT_FAILED
        if code == 0 and not self._stop.is_set():
            ctx.report.state("failed" if ctx.comfyui_closed else "running")
            await self._stop.wait()
        failed = code != 0 or ctx.comfyui_closed
        await self._shutdown(failed=failed)
        return code or (EXIT_FAILED if failed else 0)

    def _on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if self._stop.is_set():
            self._forced = True
            self.ctx.log.warn("stop", f"{name} again: killing every child now")
            for service in self.ctx.services.values():
                service.kill_now()
            return
        self.ctx.log.info("stop", f"{name} received: stopping")
        self._stop.set()
        if self._boot_task is not None and not self._boot_task.done():
            self._boot_task.cancel()

    async def _shutdown(self, *, failed: bool) -> None:
        ctx = self.ctx
        began = time.monotonic()
        if ctx.gate_watch is not None:
            ctx.gate_watch.cancel()
        ctx.report.interrupt_running("stopped before it finished")
        ctx.report.state("stopping")
        grace = 0.0 if self._forced else ctx.options.stop_grace
        stops = await asyncio.gather(*(s.stop(grace) for s in ctx.services.values()))
        if ctx.session is not None:
            await ctx.session.close()
        # After the children: nothing writes into the folders while they are emptied.
        cleanup = await self._exit_cleanup()
        took = time.monotonic() - began
        # The runtime folder was just emptied; this last write of the report (no secrets,
        # on tmpfs) leaves the final state for whoever reads it before the pod goes.
        ctx.report.set("cleanup", cleanup.to_dict() if cleanup else {"ok": False})
        ctx.report.set(
            "stop",
            {
                "seconds": round(took, 3),
                "services": {n: round(s, 3) for n, s in zip(ctx.services, stops, strict=True)},
            },
        )
        ctx.report.state("failed" if failed else "stopped")
        ctx.log.ok("stop", f"children stopped and the pod cleaned in {took:.2f} s")

    async def _exit_cleanup(self) -> CleanupReport | None:
        """Phoenix's forensic cleanup over this boot's roots; its summary goes to the log."""
        ctx = self.ctx
        paranoid = ctx.settings is not None and ctx.settings.paranoid_mode
        roots = exit_roots(ctx.paths, ctx.layout, user=ctx.options.user, environ=ctx.environ)
        try:
            report = await run_exit_cleanup(roots, exit_mode(ctx.layout, paranoid=paranoid))
        except (PhoenixError, OSError) as exc:
            ctx.log.fail("stop", f"cleanup could not run: {exc}")
            return None
        ctx.log.line(OK if report.ok else WARN, "stop", report.summary())
        for failure in report.failed[:10]:
            ctx.log.warn("stop", f"could not remove {failure['path']}: {failure['error']}")
        return report
