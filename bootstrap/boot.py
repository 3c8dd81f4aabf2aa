"""The boot: ordered, idempotent steps, then supervision until a stop signal.

Steps, in order (each one logged and recorded in ``boot-report.json``):

1. ``settings``: every variable validated; a bad one stops the boot, naming it. Then the
   boot marker is touched: files in ``/tmp`` changed after it are this run's.
2. ``gpu``: NVML and the image's PyTorch checked against each other (:mod:`comfyui_phoenix.gpu_check`).
3. ``storage``: volume or ephemeral layout, ``extra_model_paths.yaml``, ``runtime.env``.
4. ``secrets``: ``secrets.json`` (0600) for the extension; no child sees a token.
5. ``installs``: ``COMFY_CUSTOM_NODE_GIT_URLS`` and ``EXTRA_PYTHON_PACKAGES`` under the constraints.
6. ``filebrowser``: a fresh database, the admin user imported from a 0600 file, started.
7. ``comfyui``: flags chosen and checked against ``--help``, started.
8. ``ready``: ComfyUI answers ``/system_stats`` (with the internal bearer token when the
   login gate is on: the gate refuses anonymous requests to every other route).
9. ``gate``: with ``COMFY_AUTH`` on, anonymous requests must be refused
   (:func:`comfyui_phoenix.security.gate.probe_gate`). If ComfyUI answers them (Phoenix
   failed to load, say), ComfyUI is stopped and stays stopped, the report's state is
   ``failed``, and the bootstrap keeps FileBrowser and the log up until it is stopped, then
   exits with status 1. It does not exit at once: a restarted container would bring the
   same public ComfyUI up again, and FileBrowser is the one way left to the pod's files.

Running them again is harmless: folders and files are rewritten, clones that exist are
kept, FileBrowser's database is made anew. SIGTERM or SIGINT stops the children
(ComfyUI gets SIGINT, its own clean exit), runs Phoenix's forensic cleanup
(:mod:`bootstrap.cleanup`) and returns within Docker's 10 s; a second signal kills the
children at once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TextIO

import aiohttp

from comfyui_phoenix import __version__
from comfyui_phoenix.errors import ConfigError, PhoenixError
from comfyui_phoenix.gpu_check import GIB, DoctorReport
from comfyui_phoenix.security.cleanup import CleanupReport, mark_boot, paranoid_storage
from comfyui_phoenix.security.gate import ProbeResult, probe_gate
from comfyui_phoenix.security.redact import SecretRegistry
from comfyui_phoenix.settings import Settings, load_settings, split_list

from . import filebrowser as fb
from .cleanup import exit_mode, exit_roots, run_exit_cleanup
from .comfyui import LaunchPlan, comfyui_main, help_argv, plan_launch
from .console import FAIL, INFO, OK, WARN, BootLog
from .gpu import describe_gpu, inspect_gpu
from .handoff import Handoff, build_handoff, child_environment, write_handoff
from .installs import InstallOutcome, install_custom_nodes, install_packages
from .paths import BootOptions, BootPaths
from .probes import http_probe, local_url
from .process import RunAs, Service, ServiceSpec, resolve_user, run_command
from .report import BootReport
from .storage import (
    StorageLayout,
    inspect_volume,
    plan_storage,
    prepare_folders,
    write_storage_files,
)

STEPS: list[tuple[str, str]] = [
    ("settings", "Settings"),
    ("gpu", "GPU, driver and PyTorch"),
    ("storage", "Storage"),
    ("secrets", "Secrets handoff"),
    ("installs", "Optional installs"),
    ("filebrowser", "FileBrowser"),
    ("comfyui", "ComfyUI"),
    ("ready", "ComfyUI ready"),
    ("gate", "Login gate"),
]

EXIT_CONFIG = 2
EXIT_FAILED = 1

#: Seconds for each anonymous request of the login gate's probe.
GATE_PROBE_TIMEOUT = 5.0
GATE_FIX = (
    "Phoenix did not load in ComfyUI: find 'comfyui-phoenix' in ComfyUI's log above, fix "
    "what stopped it and restart the pod (COMFY_AUTH=false opens ComfyUI to anyone on purpose)."
)

_MARKS = {"ok": OK, "info": INFO, "warn": WARN, "failed": FAIL, "skipped": INFO}


@dataclass
class Outcome:
    """How a step ended: status ``ok``, ``info``, ``warn``, ``failed`` or ``skipped``."""

    status: str
    message: str
    fix: str | None = None
    details: list[str] = field(default_factory=list)


class Fatal(Exception):
    """A critical step failed: the boot cannot go on."""

    def __init__(self, message: str, fix: str | None = None, *, config: bool = False) -> None:
        super().__init__(message)
        self.message, self.fix, self.config = message, fix, config


class Boot:
    """One container boot, from settings to supervised services to a clean stop."""

    def __init__(self, environ: Mapping[str, str], *, stream: TextIO | None = None) -> None:
        self.environ = dict(environ)
        self.paths = BootPaths.from_env(self.environ)
        self.registry = SecretRegistry()
        debug = self.environ.get("DEBUG_MODE", "").strip().lower() in ("1", "true", "yes", "on")
        self.log = BootLog(stream, debug=debug, registry=self.registry)
        self.report = BootReport(self.paths.boot_report, self.registry)
        self.services: dict[str, Service] = {}
        self._stop = asyncio.Event()
        self._boot_task: asyncio.Task[int] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._forced = False
        # Filled in by the steps, in order.
        self.options = BootOptions()
        self.settings: Settings | None = None
        self.run_as = RunAs(name="root")
        self.child_env: dict[str, str] = {}
        self.root_env: dict[str, str] = {}  # for the children that stay root (pip, git)
        self.credentials: fb.Credentials | None = None
        self.gpu = DoctorReport()
        self.layout: StorageLayout | None = None
        self.handoff: Handoff | None = None
        self.launch: LaunchPlan | None = None
        self.gate: ProbeResult | None = None
        #: ComfyUI answered without login and was stopped: the boot failed.
        self.comfyui_closed = False
        self._gate_watch: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def run(self) -> int:
        """Boot, serve until a stop signal, stop. Returns the process exit status."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._on_signal, signum)
        self._boot_task = asyncio.create_task(self._boot())
        try:
            code = await self._boot_task
        except asyncio.CancelledError:
            code = 0  # a stop signal arrived during the boot
        except Exception as exc:  # noqa: BLE001 - reported, then the children are stopped
            self.log.fail("boot", f"unexpected error: {type(exc).__name__}: {exc}")
            code = EXIT_FAILED
        if code == 0 and not self._stop.is_set():
            self.report.state("failed" if self.comfyui_closed else "running")
            await self._stop.wait()
        failed = code != 0 or self.comfyui_closed
        await self._shutdown(failed=failed)
        return code or (EXIT_FAILED if failed else 0)

    def _on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if self._stop.is_set():
            self._forced = True
            self.log.warn("stop", f"{name} again: killing every child now")
            for service in self.services.values():
                service.kill_now()
            return
        self.log.info("stop", f"{name} received: stopping")
        self._stop.set()
        if self._boot_task is not None and not self._boot_task.done():
            self._boot_task.cancel()

    async def _shutdown(self, *, failed: bool) -> None:
        began = time.monotonic()
        if self._gate_watch is not None:
            self._gate_watch.cancel()
        self.report.interrupt_running("stopped before it finished")
        self.report.state("stopping")
        grace = 0.0 if self._forced else self.options.stop_grace
        stops = await asyncio.gather(*(s.stop(grace) for s in self.services.values()))
        if self._session is not None:
            await self._session.close()
        # After the children: nothing writes into the folders while they are emptied.
        cleanup = await self._exit_cleanup()
        took = time.monotonic() - began
        # The runtime folder was just emptied; this last write of the report (no secrets,
        # on tmpfs) leaves the final state for whoever reads it before the pod goes.
        self.report.set("cleanup", cleanup.to_dict() if cleanup else {"ok": False})
        self.report.set(
            "stop",
            {
                "seconds": round(took, 3),
                "services": {n: round(s, 3) for n, s in zip(self.services, stops, strict=True)},
            },
        )
        self.report.state("failed" if failed else "stopped")
        self.log.ok("stop", f"children stopped and the pod cleaned in {took:.2f} s")

    async def _exit_cleanup(self) -> CleanupReport | None:
        """Phoenix's forensic cleanup over this boot's roots; its summary goes to the log."""
        paranoid = self.settings is not None and self.settings.paranoid_mode
        roots = exit_roots(self.paths, self.layout, user=self.options.user, environ=self.environ)
        try:
            report = await run_exit_cleanup(roots, exit_mode(self.layout, paranoid=paranoid))
        except (PhoenixError, OSError) as exc:
            self.log.fail("stop", f"cleanup could not run: {exc}")
            return None
        self.log.line(OK if report.ok else WARN, "stop", report.summary())
        for failure in report.failed[:10]:
            self.log.warn("stop", f"could not remove {failure['path']}: {failure['error']}")
        return report

    async def _boot(self) -> int:
        self.report.declare_steps(STEPS)
        self.log.info("boot", f"Phoenix {__version__} bootstrap starting")
        steps: list[tuple[str, Callable[[], Awaitable[Outcome]], bool]] = [
            ("settings", self._settings_step, True),
            ("gpu", self._gpu_step, False),
            ("storage", self._storage_step, True),
            ("secrets", self._secrets_step, True),
            ("installs", self._installs_step, False),
            ("filebrowser", self._filebrowser_step, False),
            ("comfyui", self._comfyui_step, True),
            ("ready", self._ready_step, False),
            ("gate", self._gate_step, False),
        ]
        for index, (name, step, critical) in enumerate(steps):
            try:
                await self._run_step(name, step, critical)
            except Fatal as exc:
                for later, _, _ in steps[index + 1 :]:
                    self.report.step_done(later, "skipped", "not run: an earlier step failed")
                return EXIT_CONFIG if exc.config else EXIT_FAILED
        self._summary()
        return 0

    async def _run_step(
        self, name: str, step: Callable[[], Awaitable[Outcome]], critical: bool
    ) -> None:
        self.report.step_started(name)
        try:
            outcome = await step()
        except Fatal as exc:
            self.log.fail(name, exc.message, exc.fix)
            self.report.step_done(name, "failed", exc.message, [exc.fix] if exc.fix else [])
            raise
        except PhoenixError as exc:
            outcome = Outcome("failed", exc.detail, exc.hint)
        except OSError as exc:
            outcome = Outcome("failed", f"{exc.strerror or exc} ({exc.filename or 'no file'})")
        if outcome.status == "failed" and critical:
            self.log.fail(name, outcome.message, outcome.fix)
            self.report.step_done(name, "failed", outcome.message, outcome.details)
            raise Fatal(outcome.message, outcome.fix)
        self._record(name, outcome)

    def _record(self, name: str, outcome: Outcome) -> None:
        """Log a step's outcome and put it in the report."""
        if outcome.status == "failed":
            self.log.fail(name, outcome.message, outcome.fix)
        else:
            self.log.line(_MARKS[outcome.status], name, outcome.message)
        details = outcome.details + ([outcome.fix] if outcome.fix else [])
        self.report.step_done(name, outcome.status, outcome.message, details)

    # -- steps -----------------------------------------------------------------------------

    async def _settings_step(self) -> Outcome:
        try:
            self.options = BootOptions.from_env(self.environ)
            settings = load_settings(self.environ)
            self.credentials = fb.choose_credentials(settings)
        except ConfigError as exc:
            raise Fatal(exc.detail, exc.hint, config=True) from None
        self.settings = settings
        mark_boot(self.paths.runtime_dir)
        self.log.debug_enabled = self.log.debug_enabled or settings.debug_mode
        known = [
            settings.hf_token,
            settings.civitai_token,
            settings.api_token,
            settings.fb_password,
            settings.comfy_password,
        ]
        values = [s.get_secret_value() for s in known if s is not None]
        values.append(self.credentials.password)
        self.registry.add(*values)
        self.run_as = resolve_user(self.options.user)
        common = {
            "PHOENIX_CONTAINER": "1",
            "PHOENIX_RUNTIME_DIR": str(self.paths.runtime_dir),
            # Where Phoenix (and a terminal's phoenix) reads the storage choices.
            "PHOENIX_RUNTIME_ENV": str(self.paths.runtime_env),
            "PYTHONUNBUFFERED": "1",
        }
        self.root_env = child_environment(self.environ, secret_values=values, extra=common)
        self.child_env = {**self.root_env, **self.run_as.env()}
        who = (
            f"children run as {self.run_as.name}"
            if self.run_as.uid is not None or os.geteuid() != 0
            else f"user {self.options.user} does not exist: children run as root"
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

    async def _gpu_step(self) -> Outcome:
        settings = self._settings()
        self.gpu, source = await inspect_gpu(self.paths, env=self.child_env, run_as=self.run_as)
        self.report.set("gpu", self.gpu.to_dict())
        failed = [c for c in self.gpu.checks if c.ok is False]
        for check in self.gpu.checks:
            if check.ok is False and not (check.name == "gpu" and settings.cpu_mode):
                self.log.fail("gpu", check.message, check.fix)
            else:
                self.log.debug("gpu", f"{check.mark} {check.name}: {check.message}")
        summary = f"{describe_gpu(self.gpu)} ({source})"
        if settings.cpu_mode:
            return Outcome("info", f"{summary}; PHOENIX_CPU_MODE=true: ComfyUI runs on the CPU")
        if failed:
            return Outcome("failed", f"{summary}: {len(failed)} check(s) failed, see above")
        return Outcome("ok", f"{summary}: compatible")

    async def _storage_step(self) -> Outcome:
        settings, options = self._settings(), self.options
        volume = inspect_volume(self.paths.workspace)
        shm = None
        if settings.paranoid_mode:
            shm = await asyncio.to_thread(
                paranoid_storage,
                self.paths.shm,
                options.shm_min_bytes,
                check_tmpfs=options.shm_must_be_tmpfs,
            )
        layout = plan_storage(settings, self.paths, volume, shm)
        await asyncio.to_thread(prepare_folders, layout, self.run_as.owner)
        write_storage_files(layout, self.paths, settings, user=options.user, environ=self.environ)
        self.layout = layout
        self.report.set(
            "storage",
            {
                **layout.to_dict(),
                "workspace": {
                    "exists": volume.exists,
                    "is_mount": volume.is_mount,
                    "free_bytes": volume.free_bytes,
                },
            },
        )
        for note in layout.notes:
            self.log.warn("storage", note)
        free = f", {volume.free_bytes / GIB:.0f} GiB free" if volume.free_bytes else ""
        if layout.mode == "volume":
            message = f"volume: models, inputs, outputs and workflows on {layout.data_root}{free}"
        else:
            message = f"ephemeral: everything under {layout.data_root}, gone when the pod stops"
        if layout.user_data_on_tmpfs:
            message += "; inputs, outputs and workflows on tmpfs (PARANOID_MODE)"
        elif settings.paranoid_mode:
            message += "; PARANOID_MODE cannot keep inputs, outputs and workflows off the disk"
        return Outcome("warn" if layout.notes else "ok", message, details=list(layout.notes))

    async def _secrets_step(self) -> Outcome:
        settings = self._settings()
        assert self.credentials is not None
        gate_password = None
        if settings.comfy_auth:
            given = settings.comfy_password
            gate_password = given.get_secret_value() if given else self.credentials.password
        handoff = await asyncio.to_thread(build_handoff, settings, gate_password)
        self.registry.add(*handoff.secret_values())
        runtime = self.paths.runtime_dir
        runtime.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(runtime, 0o700)
        write_handoff(self.paths.secrets_file, handoff, owner=self.run_as.owner)
        self.handoff = handoff
        held = [k for k in ("huggingface", "civitai") if getattr(handoff, k)]
        held.append("api_token (generated)" if handoff.api_token_generated else "api_token")
        if handoff.comfy_password_hash:
            held.append("the login gate's password hash")
        return Outcome(
            "ok",
            f"{self.paths.secrets_file.name} (0600) holds {', '.join(held)}; "
            "no child process sees a token in its environment",
        )

    async def _installs_step(self) -> Outcome:
        settings = self._settings()
        packages = split_list(settings.extra_python_packages)
        urls = split_list(settings.comfy_custom_node_git_urls)
        if not packages and not urls:
            return Outcome("skipped", "nothing requested")
        constraints = self.paths.constraints
        if not constraints.is_file():
            return Outcome(
                "failed",
                f"{constraints} is missing, so nothing is installed (it keeps pip from replacing torch)",
                "Rebuild the image: the Dockerfile writes the constraints file.",
            )
        outcome = InstallOutcome()
        if urls:
            outcome.merge(
                await install_custom_nodes(
                    urls,
                    custom_nodes=self.paths.custom_nodes,
                    python=self.paths.comfyui_python,
                    constraints=constraints,
                    env=self.root_env,
                )
            )
        if packages:
            outcome.merge(
                await install_packages(
                    packages,
                    python=self.paths.comfyui_python,
                    constraints=constraints,
                    env=self.root_env,
                )
            )
        self.report.set("installs", outcome.to_dict())
        for item, error in outcome.failed:
            self.log.fail("installs", f"{item}: {error}")
        done = len(outcome.installed) + len(outcome.present)
        message = f"{done} installed or present, {len(outcome.failed)} failed"
        if outcome.failed:
            return Outcome("failed", message, "Each failure above was skipped; fix or remove it.")
        return Outcome("ok", message)

    async def _filebrowser_step(self) -> Outcome:
        layout, credentials = self._layout(), self.credentials
        assert credentials is not None
        listen, port = self.options.listen, self.options.filebrowser_port
        database = await fb.prepare(
            binary=self.paths.filebrowser_bin,
            folder=self.paths.filebrowser_dir,
            root=layout.data_root,
            listen=listen,
            port=port,
            credentials=credentials,
            run_as=self.run_as,
            env=self.child_env,
        )
        self._start_service(
            ServiceSpec(
                name="filebrowser",
                argv=fb.serve_argv(
                    self.paths.filebrowser_bin, database, layout.data_root, listen, port
                ),
                env=self.child_env,
                cwd=self.paths.filebrowser_dir,
                run_as=self.run_as,
                stop_signal=signal.SIGTERM,
                ready_probe=http_probe(self._http(), local_url(listen, port, "/health")),
            )
        )
        if credentials.generated:
            self.log.announce_once(
                f"FileBrowser password for {credentials.username} (shown once, stored nowhere)",
                credentials.password,
            )
        return Outcome("ok", f"port {port}, user {credentials.username}, root {layout.data_root}")

    async def _comfyui_step(self) -> Outcome:
        settings, layout = self._settings(), self._layout()
        main_py = comfyui_main(self.paths)
        if not main_py.is_file():
            raise Fatal(f"ComfyUI is not at {self.paths.comfyui_dir}", "Rebuild the image.")
        help_text = await self._comfyui_help()
        plan = plan_launch(
            paths=self.paths,
            options=self.options,
            layout=layout,
            settings=settings,
            gpu=self.gpu,
            help_text=help_text,
        )
        self.launch = plan
        self.report.set("launch", plan.to_dict())
        self._log_flags(plan)
        handoff = self.handoff
        bearer = handoff.api_token if handoff and settings.comfy_auth else None
        url = local_url(self.options.listen, self.options.comfyui_port, "/system_stats")
        self._start_service(
            ServiceSpec(
                name="comfyui",
                argv=plan.argv,
                env=self.child_env,
                cwd=self.paths.comfyui_dir,
                run_as=self.run_as,
                # ComfyUI turns SIGINT into a clean exit that empties its temp folder.
                stop_signal=signal.SIGINT,
                ready_probe=http_probe(self._http(), url, bearer=bearer),
            )
        )
        chosen = ", ".join(" ".join(f.argv) for f in plan.chosen_flags) or "no performance flags"
        return Outcome("ok", f"starting on port {self.options.comfyui_port} with {chosen}")

    async def _comfyui_help(self) -> str | None:
        try:
            result = await run_command(
                help_argv(self.paths),
                env=self.child_env,
                run_as=self.run_as,
                cwd=self.paths.comfyui_dir,
                timeout=120,
            )
        except asyncio.TimeoutError:
            result = None
        if result is None or not result.ok or "--port" not in result.stdout:
            self.log.warn("comfyui", "main.py --help gave no flag list; flags are not checked")
            return None
        return result.stdout

    def _log_flags(self, plan: LaunchPlan) -> None:
        for choice in plan.kept:
            if choice.base:
                self.log.debug("comfyui", f"{' '.join(choice.argv)}: {choice.reason}")
            else:
                self.log.info("comfyui", f"{' '.join(choice.argv)}: {choice.reason}")
        for choice in plan.dropped:
            self.log.warn(
                "comfyui", f"{' '.join(choice.argv)}: not in this ComfyUI's --help; dropped"
            )
        for choice in plan.overridden:
            if choice.flag in ("--port", "--listen"):
                self.log.warn(
                    "comfyui",
                    f"COMFYUI_ARGS sets {choice.flag}: the template's port 7860, the health "
                    "check and the readiness probe will not find ComfyUI",
                )
            else:
                self.log.info("comfyui", f"{choice.flag}: left to COMFYUI_ARGS")
        for flag in plan.unknown_user_flags:
            self.log.warn("comfyui", f"COMFYUI_ARGS has {flag}, which this ComfyUI does not list")
        for note in plan.notes:
            self.log.debug("comfyui", note)

    async def _ready_step(self) -> Outcome:
        service = self.services["comfyui"]
        began = time.monotonic()
        ready = asyncio.create_task(service.ready.wait())
        try:
            await asyncio.wait(
                {ready, service.finished()},
                timeout=self.options.ready_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            ready.cancel()
        if service.ready.is_set():
            took = time.monotonic() - began
            return Outcome("ok", f"answers on port {self.options.comfyui_port} ({took:.1f} s)")
        if service.gave_up:
            return Outcome("failed", "ComfyUI keeps crashing", "Read its error in the log above.")
        return Outcome(
            "failed",
            f"ComfyUI did not answer within {self.options.ready_timeout:.0f} s; still waiting",
            "Read its log above; custom nodes that install at import can take long.",
        )

    async def _gate_step(self) -> Outcome:
        if not self._settings().comfy_auth:
            return Outcome("warn", "COMFY_AUTH=false: ComfyUI answers anyone who has its address")
        service = self.services["comfyui"]
        if not service.ready.is_set():
            self._gate_watch = asyncio.create_task(self._gate_when_ready(service))
            return Outcome(
                "info",
                "not checked yet: checked as soon as ComfyUI answers, and ComfyUI is stopped "
                "if it answers without login",
            )
        return await self._check_gate(service)

    async def _gate_when_ready(self, service: Service) -> None:
        """The gate check for a ComfyUI that answered only after the ready step gave up."""
        ready = asyncio.create_task(service.ready.wait())
        try:
            await asyncio.wait({ready, service.finished()}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        if service.ready.is_set():
            self._record("gate", await self._check_gate(service))

    async def _check_gate(self, service: Service) -> Outcome:
        """Probe ComfyUI anonymously; stop it for good when it answers without login."""
        base = local_url(self.options.listen, self.options.comfyui_port, "")
        result = await probe_gate(base, timeout=GATE_PROBE_TIMEOUT)
        self.gate = result
        self.report.set("gate", result.to_dict())
        if result.ok:
            return Outcome("ok", result.message)
        self.comfyui_closed = True
        await service.stop(self.options.stop_grace)
        self.report.state("failed")
        return Outcome(
            "failed", f"{result.message} ComfyUI was stopped and stays stopped.", GATE_FIX
        )

    # -- helpers -----------------------------------------------------------------------------

    def _settings(self) -> Settings:
        assert self.settings is not None, "the settings step runs first"
        return self.settings

    def _layout(self) -> StorageLayout:
        assert self.layout is not None, "the storage step runs before"
        return self.layout

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    def _start_service(self, spec: ServiceSpec) -> None:
        service = Service(spec, self.log, self._service_state)
        self.services[spec.name] = service
        service.start()

    def _service_state(self, name: str, fields: dict[str, object]) -> None:
        self.report.service(name, **fields)
        if fields.get("state") == "running" and name in self.services:
            took = fields.get("ready_after_s")
            self.log.debug(name, f"ready after {took} s")

    def _summary(self) -> None:
        options, layout = self.options, self._layout()
        pod = self.environ.get("RUNPOD_POD_ID")

        def address(port: int) -> str:
            if pod:
                return f"https://{pod}-{port}.proxy.runpod.net"
            return f"http://{options.listen}:{port}"

        flags = " ".join(
            " ".join(f.argv) for f in (self.launch.chosen_flags if self.launch else [])
        )
        user = self.credentials.username if self.credentials else "?"
        fb_state = "up" if "filebrowser" in self.services else "not started"
        cpu_mode = self.settings is not None and self.settings.cpu_mode
        gpu_mark = OK if self.gpu.ok else INFO if cpu_mode and self.gpu.device is None else FAIL
        comfyui = address(options.comfyui_port)
        if self.comfyui_closed:
            comfyui = f"{FAIL} stopped: it answered without login (see above)"
        lines = [
            "──────── Phoenix boot report ────────",
            f"ComfyUI      {comfyui}",
            f"Login gate   {self._gate_line()}",
            f"FileBrowser  {address(options.filebrowser_port)}  (user {user}, {fb_state})",
            f"GPU          {gpu_mark} {describe_gpu(self.gpu)}",
            f"Storage      {layout.mode}: models in {layout.models}",
        ]
        if self.settings is not None and self.settings.paranoid_mode:
            lines.append(f"Paranoid     {self._paranoid_line(layout)}")
        lines += [
            f"Flags        {flags or 'none beyond the defaults'}",
            f"Report       {self.paths.boot_report}",
            "─────────────────────────────────────",
        ]
        self.log.block(lines)

    def _gate_line(self) -> str:
        if self.settings is None or not self.settings.comfy_auth:
            return f"{WARN} off (COMFY_AUTH=false): anyone with the address can use ComfyUI"
        if self.gate is None:
            return f"{INFO} checked as soon as ComfyUI answers"
        if not self.gate.ok:
            return f"{FAIL} {self.gate.message}"
        user = self.handoff.comfy_username if self.handoff else None
        return f"{OK} log in as {user}; anonymous requests are refused"

    def _paranoid_line(self, layout: StorageLayout) -> str:
        if layout.user_data_on_tmpfs:
            return f"{OK} inputs, outputs, temp and workflows on tmpfs; no metadata in images"
        return f"{WARN} not guaranteed: inputs, outputs and workflows go to disk (see storage)"


def main(environ: Mapping[str, str] | None = None) -> int:
    """Entry point of ``python -m bootstrap``."""
    boot = Boot(dict(os.environ) if environ is None else environ, stream=sys.stdout)
    return asyncio.run(boot.run())
