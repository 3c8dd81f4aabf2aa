"""Phoenix assembled: settings → tokens and host policy → sources → engine → job manager.

The CLI and the ComfyUI extension both build one :class:`Phoenix` and use it
through ``async with``; nothing starts before that (importing Phoenix does no work).
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

from . import __version__
from .engines.base import Engine
from .errors import ConfigError, EngineError
from .folders import ModelLayout, StandardLayout
from .jobs.events import EventBus
from .jobs.lookup import HashLookup
from .jobs.manager import JobManager
from .jobs.planning import Planner
from .jobs.store import StateStore
from .jobs.verified import VerifiedFiles
from .net.http import make_session
from .net.policy import HostPolicy
from .security.secrets import Tokens, load_tokens
from .settings import Settings
from .sources.base import SourceContext
from .sources.catalog import Catalog
from .sources.previews import Previews
from .sources.registry import Sources
from .status.gpu_facts import GpuFacts

log = logging.getLogger(__name__)


def default_models_root(settings: Settings) -> Path:
    """``PHOENIX_MODELS_DIR``, else ``./models`` (inside ComfyUI the layout decides)."""
    return (settings.models_dir or Path("models")).absolute()


def choose_engine(settings: Settings, session_factory: Any) -> Engine:
    """``PHOENIX_ENGINE``: aria2c when asked or (``auto``) when it is installed, else Python."""
    from .engines.aria2 import Aria2Engine

    aria2c = Aria2Engine.available()
    if settings.engine == "aria2" and not aria2c:
        raise ConfigError(
            "PHOENIX_ENGINE is aria2, but aria2c is not installed.",
            hint="Install aria2 (apt-get install aria2), or set PHOENIX_ENGINE=auto.",
        )
    if settings.engine != "python" and aria2c:
        return Aria2Engine(
            executable=aria2c, max_rate=settings.max_download_rate, runtime_dir=settings.runtime_dir
        )
    return python_engine(settings, session_factory)


def python_engine(settings: Settings, session_factory: Any) -> Engine:
    """The pure-Python engine, for machines without a working aria2c."""
    from .engines.python import PythonEngine

    return PythonEngine(session_factory, max_rate=settings.max_download_rate)


class Phoenix:
    """Everything one process needs to plan and fetch models."""

    def __init__(
        self,
        settings: Settings,
        *,
        layout: ModelLayout | None = None,
        tokens: Tokens | None = None,
        engine: Engine | None = None,
        gpu: GpuFacts | None = None,
        tokens_file: Path | None = None,
        transfers: bool = True,
    ) -> None:
        self.settings = settings
        #: False: plans only (``--dry-run``, ``phoenix plan``): no engine, no aria2c.
        self.transfers = transfers
        self.version = __version__
        self.layout: ModelLayout = layout or StandardLayout(default_models_root(settings))
        self.tokens = tokens or load_tokens(settings, stored_file=tokens_file)
        self.policy = HostPolicy(settings)
        self.events = EventBus()
        self.state = StateStore(self.layout.root / ".phoenix")
        self.verified = VerifiedFiles(self.layout, self.state)
        self._engine = engine
        self._gpu = gpu or GpuFacts()
        self._session: aiohttp.ClientSession | None = None
        self._engine_session: aiohttp.ClientSession | None = None
        self.jobs: JobManager | None = None
        self.sources: Sources | None = None
        self._planner: Planner | None = None
        #: The model manager's parts: search and choices, previews, lookups by hash.
        self._catalog: Catalog | None = None
        self._previews: Previews | None = None
        self._lookup: HashLookup | None = None

    @property
    def manager(self) -> JobManager:
        if self.jobs is None:
            raise RuntimeError("Phoenix is not started with transfers")
        return self.jobs

    @property
    def planner(self) -> Planner:
        if self._planner is None:
            raise RuntimeError("Phoenix is not started")
        return self._planner

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            raise RuntimeError("Phoenix is not started")
        return self._catalog

    @property
    def previews(self) -> Previews:
        if self._previews is None:
            raise RuntimeError("Phoenix is not started")
        return self._previews

    @property
    def lookup(self) -> HashLookup:
        if self._lookup is None:
            raise RuntimeError("Phoenix is not started")
        return self._lookup

    def _engine_session_factory(self) -> aiohttp.ClientSession:
        if self._engine_session is None or self._engine_session.closed:
            self._engine_session = make_session(self.policy)
        return self._engine_session

    async def start(self) -> Phoenix:
        """Open the sessions, then (with transfers) start the engine and the job manager.

        Whatever fails on the way, what was already opened is closed again.
        """
        self._session = make_session(self.policy)
        try:
            ctx = SourceContext(
                self.settings, self._session, self.policy, self.tokens, known=self.verified
            )
            self.sources = Sources(ctx, gpu=self._gpu)
            self._planner = Planner(self.layout, self.sources, self.verified)
            self._catalog = Catalog(ctx, self.sources)
            self._previews = Previews(ctx, self.state.root / "previews")
            self._lookup = HashLookup(self.layout, self.state, self._catalog, self.events)
            if not self.transfers:
                return self
            engine = await self._start_engine()
            self.jobs = JobManager(
                layout=self.layout,
                sources=self.sources,
                engine=engine,
                events=self.events,
                state=self.state,
                planner=self._planner,
                max_concurrent=self.settings.max_concurrent_downloads,
            )
        except BaseException:
            await self.close()
            raise
        log.info("Phoenix %s: engine %s, models in %s", self.version, engine.name, self.layout.root)
        return self

    async def _start_engine(self) -> Engine:
        """The engine given, or the one settings choose; with ``auto``, Python if aria2c fails."""
        chosen = self._engine is None
        engine = self._engine or choose_engine(self.settings, self._engine_session_factory)
        self._engine = engine
        try:
            await engine.start()
        except (EngineError, OSError) as exc:
            if not (chosen and self.settings.engine == "auto" and engine.name != "python"):
                raise
            log.warning("aria2c would not start (%s); downloading with the Python engine", exc)
            await engine.close()
            engine = self._engine = python_engine(self.settings, self._engine_session_factory)
            await engine.start()
        return engine

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("Phoenix is not started")
        return self._engine

    async def close(self) -> None:
        if self._lookup is not None:
            await self._lookup.close()
        if self.jobs is not None:
            await self.jobs.close()
        if self._engine is not None:
            await self._engine.close()
        for session in (self._session, self._engine_session):
            if session is not None and not session.closed:
                await session.close()

    async def __aenter__(self) -> Phoenix:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
