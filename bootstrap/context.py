"""What one boot knows: the state its steps fill in, in order, and the helpers they share.

Each step (:mod:`bootstrap.steps`) reads what the steps before it left here and adds its
own part; the lifecycle (:mod:`bootstrap.lifecycle`) and the summary
(:mod:`bootstrap.summary`) read it at the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TextIO

import aiohttp

from comfyui_phoenix.gpu_check import DoctorReport
from comfyui_phoenix.security.redact import SecretRegistry
from comfyui_phoenix.settings import Settings

from . import filebrowser as fb
from .comfyui import LaunchPlan
from .console import BootLog
from .gate_probe import ProbeResult
from .handoff import Handoff
from .paths import BootOptions, BootPaths
from .process import RunAs, Service, ServiceSpec
from .report import BootReport
from .storage import StorageLayout


@dataclass
class BootContext:
    """One container boot's state, from the environment to the supervised services."""

    environ: dict[str, str]
    paths: BootPaths
    registry: SecretRegistry
    log: BootLog
    report: BootReport
    services: dict[str, Service] = field(default_factory=dict)
    # Filled in by the steps, in order.
    options: BootOptions = field(default_factory=BootOptions)
    settings: Settings | None = None
    run_as: RunAs = field(default_factory=lambda: RunAs(name="root"))
    child_env: dict[str, str] = field(default_factory=dict)
    root_env: dict[str, str] = field(
        default_factory=dict
    )  # for the children that stay root (pip, git)
    credentials: fb.Credentials | None = None
    gpu: DoctorReport = field(default_factory=DoctorReport)
    layout: StorageLayout | None = None
    handoff: Handoff | None = None
    launch: LaunchPlan | None = None
    gate: ProbeResult | None = None
    #: ComfyUI answered without login and was stopped: the boot failed.
    comfyui_closed: bool = False
    #: The gate check that waits for a ComfyUI which answered only after the ready step.
    gate_watch: asyncio.Task[None] | None = None
    session: aiohttp.ClientSession | None = None

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], *, stream: TextIO | None = None
    ) -> BootContext:
        """A boot's starting state: its paths, its log and its report, nothing checked yet."""
        env = dict(environ)
        paths = BootPaths.from_env(env)
        registry = SecretRegistry()
        debug = env.get("DEBUG_MODE", "").strip().lower() in ("1", "true", "yes", "on")
        return cls(
            environ=env,
            paths=paths,
            registry=registry,
            log=BootLog(stream, debug=debug, registry=registry),
            report=BootReport(paths.boot_report, registry),
        )

    def require_settings(self) -> Settings:
        assert self.settings is not None, "the settings step runs first"
        return self.settings

    def require_layout(self) -> StorageLayout:
        assert self.layout is not None, "the storage step runs before"
        return self.layout

    def http(self) -> aiohttp.ClientSession:
        """The one HTTP session of the readiness probes, opened on first use."""
        if self.session is None:
            self.session = aiohttp.ClientSession()
        return self.session

    def start_service(self, spec: ServiceSpec) -> None:
        """Start supervising a long-running child; its states go to the report."""
        service = Service(spec, self.log, self._service_state)
        self.services[spec.name] = service
        service.start()

    def _service_state(self, name: str, fields: dict[str, object]) -> None:
        self.report.service(name, **fields)
        if fields.get("state") == "running" and name in self.services:
            took = fields.get("ready_after_s")
            self.log.debug(name, f"ready after {took} s")
