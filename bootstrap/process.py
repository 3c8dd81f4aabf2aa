"""Child processes: one-shot commands and supervised services.

Every child starts in a session of its own, so a stop signal reaches the whole process
group (ComfyUI's own children, aria2c, included) and a signal sent to the bootstrap is
not delivered to the children behind its back. When the bootstrap runs as root and the
service user exists, children run as that user, with umask 077. In tests (root, but no
``sduser``) they run as the current user; :class:`RunAs` says which.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import signal
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .console import BootLog

CHILD_UMASK = 0o077
#: How long :meth:`Service.stop` waits for supervision to end beyond the grace period.
STOP_MARGIN = 5.0


@dataclass(frozen=True)
class RunAs:
    """Who a child runs as. ``uid`` None: as the bootstrap itself."""

    name: str
    uid: int | None = None
    gid: int | None = None
    home: str | None = None

    @property
    def owner(self) -> tuple[int, int] | None:
        """(uid, gid) to give files to, or None when no switch happens."""
        return (self.uid, self.gid) if self.uid is not None and self.gid is not None else None

    def popen_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"umask": CHILD_UMASK}
        if self.uid is not None:
            kwargs.update(user=self.uid, group=self.gid, extra_groups=[])
        return kwargs

    def env(self) -> dict[str, str]:
        """``HOME``/``USER`` for the child: caches must not land in root's home."""
        if self.uid is None or self.home is None:
            return {}
        return {"HOME": self.home, "USER": self.name, "LOGNAME": self.name}


def resolve_user(name: str) -> RunAs:
    """Switch to ``name`` only when running as root and the user exists."""
    if os.geteuid() != 0:
        return RunAs(name=pwd.getpwuid(os.geteuid()).pw_name)
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return RunAs(name="root")
    return RunAs(name=name, uid=entry.pw_uid, gid=entry.pw_gid, home=entry.pw_dir)


@dataclass
class CommandResult:
    returncode: int
    stdout: str
    stderr: str
    duration_s: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = 5) -> str:
        """The last lines of stderr (or stdout): what to show when it failed."""
        text = (self.stderr or self.stdout).strip().splitlines()
        return "\n".join(text[-lines:])


async def run_command(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    run_as: RunAs | None = None,
    cwd: Path | None = None,
    timeout: float = 600,
) -> CommandResult:
    """Run a command to completion, capturing its output; killed on timeout or cancellation."""
    began = time.monotonic()
    extra = run_as.popen_kwargs() if run_as else {}
    process = await asyncio.create_subprocess_exec(
        *argv,
        env=dict(env),
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        **extra,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except (asyncio.TimeoutError, asyncio.CancelledError):
        _kill_group(process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            await process.wait()
        raise
    return CommandResult(
        returncode=process.returncode if process.returncode is not None else -1,
        stdout=out.decode(errors="replace"),
        stderr=err.decode(errors="replace"),
        duration_s=time.monotonic() - began,
    )


def _kill_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


ReadyProbe = Callable[[], Awaitable[bool]]
StateListener = Callable[[str, dict[str, object]], None]


@dataclass
class ServiceSpec:
    """A long-running child and how to supervise it."""

    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    run_as: RunAs
    stop_signal: signal.Signals = signal.SIGTERM
    ready_probe: ReadyProbe | None = None
    max_restarts: int = 5
    backoff_base: float = 1.0
    backoff_cap: float = 30.0
    #: A run this long counts as healthy: the restart budget starts over.
    stable_after: float = 60.0
    probe_interval: float = 0.25
    extra_popen: dict[str, Any] = field(default_factory=dict)


class Service:
    """Keeps one child running: restarts it after a crash with capped exponential backoff.

    After ``max_restarts`` crashes in a row (runs shorter than ``stable_after``), it
    gives up and stays down; the report says so, and the bootstrap keeps serving the
    rest (FileBrowser, the logs).
    """

    def __init__(self, spec: ServiceSpec, log: BootLog, on_state: StateListener) -> None:
        self.spec = spec
        self._log = log
        self._on_state = on_state
        self._process: asyncio.subprocess.Process | None = None
        self._stopping = asyncio.Event()
        #: The grace period of the stop under way (a child started meanwhile gets it too).
        self._grace = 0.0
        self.ready = asyncio.Event()
        self.restarts = 0
        self.gave_up = False
        self._task: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name=f"service:{self.spec.name}")

    def finished(self) -> asyncio.Task[None]:
        """The supervision task: done when the service is stopped or given up."""
        assert self._task is not None, "start() first"
        return self._task

    async def _supervise(self) -> None:
        crashes = 0
        while not self._stopping.is_set():
            began = time.monotonic()
            try:
                await self._spawn()
            except OSError as exc:
                self._log.fail(self.spec.name, f"could not start: {exc}")
                returncode = -1
            else:
                if self._stopping.is_set():
                    # stop() came while the child was being created: it had no pid to signal.
                    await self._end_child(self._grace)
                    return
                returncode = await self._watch()
            if self._stopping.is_set():
                return
            crashes = 0 if time.monotonic() - began >= self.spec.stable_after else crashes + 1
            self.ready.clear()
            if crashes > self.spec.max_restarts:
                self.gave_up = True
                self._state("failed", exit_code=returncode, ready=False)
                self._log.fail(
                    self.spec.name,
                    f"exited with status {returncode} {crashes} times in a row; not restarting",
                    "Read the lines above for its error; fix it and restart the pod.",
                )
                return
            delay = min(self.spec.backoff_cap, self.spec.backoff_base * 2 ** (crashes - 1))
            self._log.fail(
                self.spec.name, f"exited with status {returncode}; restarting in {delay:.0f} s"
            )
            self._state("restarting", exit_code=returncode, restarts=self.restarts + 1, ready=False)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            self.restarts += 1

    async def _spawn(self) -> None:
        spec = self.spec
        self._process = await asyncio.create_subprocess_exec(
            *spec.argv,
            env=spec.env,
            cwd=spec.cwd,
            stdin=asyncio.subprocess.DEVNULL,
            start_new_session=True,
            **{**spec.run_as.popen_kwargs(), **spec.extra_popen},
        )
        self._state("starting", pid=self._process.pid, restarts=self.restarts, ready=False)
        self._log.debug(spec.name, f"started as pid {self._process.pid}")

    async def _watch(self) -> int:
        """Wait for the child to exit, probing readiness meanwhile."""
        process = self._process
        assert process is not None
        waiter = asyncio.create_task(process.wait())
        if self.spec.ready_probe is not None:
            prober = asyncio.create_task(self._probe_until_ready(process.pid))
            await asyncio.wait({waiter, prober}, return_when=asyncio.FIRST_COMPLETED)
            prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await prober
        else:
            self._mark_ready(process.pid, 0.0)
        return await waiter

    async def _probe_until_ready(self, pid: int) -> None:
        began = time.monotonic()
        probe = self.spec.ready_probe
        assert probe is not None
        # Polling on purpose: the child is another process, nothing here can notify us.
        while not await probe():  # noqa: ASYNC110
            await asyncio.sleep(self.spec.probe_interval)
        self._mark_ready(pid, time.monotonic() - began)

    def _mark_ready(self, pid: int, seconds: float) -> None:
        self.ready.set()
        self._state("running", pid=pid, ready=True, ready_after_s=round(seconds, 2))

    def _state(self, state: str, **fields: object) -> None:
        self._on_state(self.spec.name, {"state": state, **fields})

    async def stop(self, grace: float) -> float:
        """Stop the child: its stop signal to the group, SIGKILL after ``grace`` seconds.

        Returns:
            How long the child took to exit.
        """
        self._stopping.set()
        self._grace = grace
        began = time.monotonic()
        await self._end_child(grace)
        if self._task is not None:
            await self._end_supervision(grace)
        took = time.monotonic() - began
        self._state("stopped", stop_s=round(took, 2), ready=False)
        return took

    async def _end_child(self, grace: float) -> None:
        """The stop signal to the child's group; SIGKILL after ``grace`` seconds."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        _kill_group(process.pid, self.spec.stop_signal)
        try:
            await asyncio.wait_for(process.wait(), grace)
        except asyncio.TimeoutError:
            self._log.warn(self.spec.name, f"did not stop within {grace:.0f} s; killing it")
            _kill_group(process.pid, signal.SIGKILL)
            await process.wait()

    async def _end_supervision(self, grace: float) -> None:
        """Wait for the supervision task, bounded: a stop must never hang the exit."""
        task = self._task
        assert task is not None
        done, _ = await asyncio.wait({task}, timeout=grace + STOP_MARGIN)
        if not done:
            self._log.warn(self.spec.name, "still running after its stop; killing its group")
            if self._process is not None and self._process.returncode is None:
                _kill_group(self._process.pid, signal.SIGKILL)
            done, _ = await asyncio.wait({task}, timeout=STOP_MARGIN)
        if not done:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def kill_now(self) -> None:
        """SIGKILL the whole group at once (a second stop signal)."""
        self._stopping.set()
        self._grace = 0.0
        if self._process is not None and self._process.returncode is None:
            _kill_group(self._process.pid, signal.SIGKILL)
