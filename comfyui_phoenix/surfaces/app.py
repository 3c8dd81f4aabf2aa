"""Phoenix inside an aiohttp server: started and stopped with the server's lifecycle.

``PhoenixApp`` owns the service, the status board and the boot preload. Its
``cleanup_ctx`` generator is appended to the host app (ComfyUI's, or a test app),
so nothing starts at import and everything stops with the server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from .. import __version__
from ..errors import PhoenixError
from ..folders import ModelLayout
from ..jobs.preload import PreloadRun, preload_entries
from ..runtime import container_environ
from ..security.cleanup import (
    CleanupPlan,
    CleanupRoots,
    StorageMode,
    check_allowed,
    execute_plan,
    plan_cleanup,
)
from ..security.redact import redact
from ..service import Phoenix
from ..settings import Settings
from ..status.gpu import GpuSampler
from ..status.gpu_facts import gpu_facts, loaded_torch_cuda
from ..status.report import StatusBoard
from .keys import PHOENIX, Slot

log = logging.getLogger(__name__)


class PhoenixApp:
    """The running extension: service, status board, preload, and what the routes need."""

    def __init__(
        self,
        settings: Settings,
        *,
        layout: ModelLayout | None = None,
        paths: dict[str, Path] | None = None,
        tokens_file: Path | None = None,
        preload: bool = True,
        gpu: GpuSampler | None = None,
        cleanup_roots: Callable[[], CleanupRoots] | None = None,
    ) -> None:
        self.settings = settings
        self._layout = layout
        self.extra_paths = dict(paths or {})
        self.tokens_file = tokens_file
        self.preload_enabled = preload
        self.gpu = gpu or GpuSampler()
        self.phoenix: Phoenix | None = None
        self.board: StatusBoard | None = None
        self.preload: PreloadRun | None = None
        self.preload_error: dict[str, Any] | None = None
        self.cleanup_report: dict[str, Any] | None = None
        #: Where cleanup acts (ComfyUI's folders are known only inside it); None: from the
        #: environment and ``/etc/phoenix/runtime.env``.
        self.cleanup_roots = cleanup_roots
        self._preload_task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()
        self.on_started: list[Callable[[PhoenixApp], None]] = []

    @property
    def service(self) -> Phoenix:
        if self.phoenix is None:
            raise web.HTTPServiceUnavailable(
                text='{"error":"starting","detail":"Phoenix is starting.","hint":"Retry in a moment."}',
                content_type="application/json",
            )
        return self.phoenix

    async def start(self) -> None:
        await self.gpu.start()
        gpu = gpu_facts(self.gpu.latest(), loaded_torch_cuda())
        phoenix = Phoenix(self.settings, layout=self._layout, gpu=gpu, tokens_file=self.tokens_file)
        await phoenix.start()
        phoenix.events.add_listener(_log_failure)
        self.phoenix = phoenix
        paths = {"models": phoenix.layout.root, **self.extra_paths}
        self.board = StatusBoard(
            gpu=self.gpu, paths=paths, runtime_dir=self.settings.runtime_dir, version=__version__
        )
        await self.board.start()
        await phoenix.manager.restore()
        for hook in self.on_started:
            hook(self)
        if self.preload_enabled:
            self._start_preload()
        self.ready.set()

    def _start_preload(self) -> None:
        manager = self.service.manager
        try:
            entries = preload_entries(self.settings)
        except PhoenixError as exc:
            self.preload_error = exc.to_dict()
            log.error("boot preload: %s", redact(str(exc)))
            return
        if not entries:
            return
        self.preload = PreloadRun(manager, self.service.events, entries)
        self._preload_task = asyncio.get_running_loop().create_task(self._run_preload())

    async def _run_preload(self) -> None:
        assert self.preload is not None
        try:
            await self.preload.run()
        except Exception:
            log.exception("boot preload failed")

    async def close(self) -> None:
        if self._preload_task is not None:
            self._preload_task.cancel()
            await asyncio.gather(self._preload_task, return_exceptions=True)
        if self.phoenix is not None:
            await self.phoenix.close()
        if self.board is not None:
            await self.board.stop()
        await self.gpu.stop()

    def attach(self, app: web.Application) -> None:
        """Hook into ``app`` before it starts: state key and lifecycle."""
        app[PHOENIX] = Slot(self)
        app.cleanup_ctx.append(self.cleanup_ctx)

    async def cleanup_ctx(self, app: web.Application) -> AsyncIterator[None]:
        try:
            await self.start()
        except Exception:
            log.exception("Phoenix could not start; its routes answer 503")
        yield
        await self.close()

    def plan_cleanup(self) -> CleanupPlan:
        """The container's cleanup plan (blocking: it walks the roots).

        Raises:
            ForbiddenError: outside the container (the panel cannot force a scope).
        """
        check_allowed(container=self.settings.container)
        environ = container_environ()
        if self.cleanup_roots is not None:
            roots = self.cleanup_roots()
        else:
            roots = CleanupRoots.from_environment(
                environ, self.settings, models_dir=self.service.layout.root
            )
        mode = StorageMode.from_environment(environ, self.settings)
        return plan_cleanup(roots, mode, container=True)

    def run_cleanup(self) -> dict[str, Any]:
        """Carry out :meth:`plan_cleanup`'s plan; the report stays for the status (blocking)."""
        report = execute_plan(self.plan_cleanup()).to_dict()
        self.cleanup_report = report
        return report

    # -- views the routes and events share ----------------------------------------------------
    def status(self) -> dict[str, Any]:
        service = self.service
        assert self.board is not None
        summary = service.manager.summary()
        snapshot = self.board.snapshot(
            jobs_summary={k: v for k, v in summary.items() if k != "failures"},
            failures=summary["failures"],
            cleanup_report=self.cleanup_report,
        )
        snapshot["engine"] = service.engine.name
        return snapshot

    def preload_view(self) -> dict[str, Any]:
        if self.preload_error is not None:
            return {"items": [], "error": self.preload_error}
        return self.preload.snapshot() if self.preload else {"items": []}

    def jobs_view(self) -> list[dict[str, Any]]:
        return [job.to_dict() for job in self.service.manager.jobs()]


def _log_failure(kind: str, data: dict[str, Any]) -> None:
    """A failed download, once, in the server's log: what went wrong and what to do."""
    if kind != "job" or data.get("state") != "failed":
        return
    error = data.get("error") or {}
    sentence = f"{error.get('detail', 'failed')} {error.get('hint') or ''}".rstrip()
    log.warning("download of %s failed: %s", data.get("relpath"), redact(sentence))
