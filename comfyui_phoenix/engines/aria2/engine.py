"""The aria2 engine: one private aria2c, started on demand, and the transfer loop over it.

Hashing, content checks and publishing stay with the shared pipeline, which reads
the contiguous prefix that the bitfield reports while bytes arrive. What the
engine adds is the next step after aria2 gives up on a download: resolve a
signed link again, wait and add it again, or start the file over.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from ...errors import EngineError
from ...net.endpoint import Endpoint
from ...net.retry import Backoff, RetryPolicy, with_retries
from ...security.redact import SECRETS
from ..base import ProgressCallback, TransferRequest
from . import rpc
from .daemon import Daemon, free_port
from .downloads import control_file, run_once
from .failures import failure_of
from .options import daemon_options
from .progress import MIN_REPORT_INTERVAL, Reporter

if TYPE_CHECKING:
    import aria2p
    import requests

log = logging.getLogger(__name__)

LAUNCH_ATTEMPTS = 3


class Aria2Engine:
    """Transfers through one aria2c child process, started on demand.

    Args:
        executable: the ``aria2c`` to run; found on ``PATH`` when None.
        connections: connections per file (aria2 allows 1 to 16).
        max_rate: overall bandwidth cap in bytes per second (``PHOENIX_MAX_DOWNLOAD_RATE``).
        runtime_dir: where the private configuration directory goes (tmpfs in the container).
        poll_interval: seconds between status polls.
        min_split_size: aria2 splits a file between connections only in ranges of twice this.
        max_tries: aria2's own attempts per connection before it reports an error.
        retry_wait: seconds aria2 waits between attempts (and retries 503 answers at all).
        max_retries: failures in a row that Phoenix adds the download again after,
            and tries at resolving its link, before the transfer fails.
        backoff_cap: longest wait before adding the download again or resolving its
            link again (aria2 does not retry a 429 or a 500 itself).
    """

    name: ClassVar[str] = "aria2"

    def __init__(
        self,
        *,
        executable: str | None = None,
        connections: int = 8,
        max_rate: int | None = None,
        runtime_dir: Path | None = None,
        poll_interval: float = 0.25,
        min_split_size: int = 16 << 20,
        max_tries: int = 5,
        retry_wait: int = 2,
        max_retries: int = 8,
        backoff_cap: float = 30,
    ) -> None:
        self.executable = executable
        self.connections = max(1, min(16, connections))
        self.max_rate = max_rate
        self.runtime_dir = runtime_dir
        self.poll_interval = max(poll_interval, MIN_REPORT_INTERVAL)
        self.min_split_size = max(1 << 20, min_split_size)
        self.max_tries = max_tries
        self.retry_wait = retry_wait
        self.policy = RetryPolicy(max_retries=max_retries, backoff_cap=backoff_cap)
        self._daemon: Daemon | None = None
        self._api: aria2p.API | None = None
        self._session: requests.Session | None = None
        self._secret: str | None = None
        self._start_lock = asyncio.Lock()

    @staticmethod
    def available() -> str | None:
        """The path of ``aria2c`` on ``PATH``, or None when it is not installed."""
        return shutil.which("aria2c")

    @property
    def pid(self) -> int | None:
        """The running aria2c's process id, if there is one."""
        return self._daemon.pid if self._daemon is not None and self._daemon.alive else None

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Launch aria2c (unless it runs already) and wait until its RPC answers.

        Raises:
            EngineError: aria2c is missing or would not start.
        """
        async with self._start_lock:
            if self._daemon is not None:
                if self._daemon.alive:
                    return
                log.warning(
                    "aria2c exited unexpectedly (status %s); starting it again",
                    self._daemon.process.returncode,
                )
                await self._drop_daemon()
            executable = self.executable or self.available()
            if executable is None:
                raise EngineError(
                    "aria2c is not installed.",
                    hint="Install aria2 (apt-get install aria2), or set PHOENIX_ENGINE=python.",
                )
            for attempt in range(1, LAUNCH_ATTEMPTS + 1):
                try:
                    await self._launch(executable)
                    return
                except EngineError:
                    if attempt == LAUNCH_ATTEMPTS:
                        raise
                    log.info("aria2c did not come up; trying another port")

    async def _launch(self, executable: str) -> None:
        import requests

        port, secret = free_port(), secrets.token_urlsafe(32)
        SECRETS.add(secret)
        options = daemon_options(
            port,
            secret,
            connections=self.connections,
            min_split_size=self.min_split_size,
            max_rate=self.max_rate,
            max_tries=self.max_tries,
            retry_wait=self.retry_wait,
        )
        # Popen runs here, on the loop's thread: see daemon._die_with_parent.
        daemon = Daemon.launch(executable, options, self.runtime_dir)
        session = requests.Session()
        api = rpc.loopback_api(port, secret, session)
        try:
            await rpc.wait_ready(api, daemon)
        except BaseException:
            SECRETS.discard(secret)
            session.close()
            await asyncio.to_thread(daemon.stop, 0.0)
            raise
        daemon.forget_conf()
        self._daemon, self._api, self._session, self._secret = daemon, api, session, secret
        log.debug("aria2c started (pid %s, port %s)", daemon.pid, port)

    async def close(self) -> None:
        """Shut aria2c down (it saves resume data), then make sure the process is gone."""
        async with self._start_lock:
            await self._drop_daemon()

    async def _drop_daemon(self) -> None:
        daemon, api, session, secret = self._daemon, self._api, self._session, self._secret
        self._daemon = self._api = self._session = self._secret = None
        if daemon is None:
            return
        if sys.platform == "win32" and daemon.alive and api is not None:
            await rpc.call_quietly(api.client.shutdown)  # no SIGTERM there
        await asyncio.to_thread(daemon.stop)
        if session is not None:
            session.close()
        if secret is not None:
            SECRETS.discard(secret)

    # -- transfers -------------------------------------------------------------------------
    async def transfer(self, request: TransferRequest, on_progress: ProgressCallback) -> None:
        """Fill ``request.part_path`` completely, resuming whatever a previous run left.

        Raises:
            AuthError: the server refused access, even with a freshly resolved link.
            NotFoundError: the file is gone from its source.
            TransientError: the network kept failing after aria2's own retries.
            DiskFullError: the disk filled up.
            EngineError: aria2c failed or could not write the file.
        """
        await self.start()
        part = request.part_path
        label = request.label or part.name
        part.parent.mkdir(parents=True, exist_ok=True)
        control = control_file(part)
        if control.exists() and not part.exists():
            control.unlink()  # resume data for bytes that are gone would only mislead aria2
        endpoint = await self._resolve(request, label)
        reporter = Reporter(on_progress, request.size)
        # aria2 does not tell Phoenix a server's Retry-After: the waits are the policy's.
        backoff = Backoff(self.policy, label)
        best = 0
        refreshed = restarted = False
        while True:
            status = await run_once(
                self._running_api(), request, endpoint, reporter, self.poll_interval
            )
            if status.get("status") == "complete":
                return
            failure = failure_of(status, label, endpoint.url)
            progressed, best = failure.done > best, max(best, failure.done)
            if failure.action == "refresh" and (progressed or not refreshed):
                # A signed link expired mid-transfer: resolve it again and resume.
                log.info("%s: %s; resolving the link again", label, failure.reason)
                endpoint, refreshed = await self._resolve(request, label), True
            elif failure.action == "retry":
                # aria2 gives up on a 429 or a 500 at once: wait, then add it again.
                if progressed:
                    backoff.reset()
                await backoff.wait(failure.error)
            elif failure.action == "restart" and not restarted:
                log.info("%s: %s; starting over", label, failure.reason)
                self.discard(part)
                reporter.restart()
                restarted, best = True, 0
            else:
                raise failure.error

    async def _resolve(self, request: TransferRequest, label: str) -> Endpoint:
        return await with_retries(
            request.endpoint, policy=self.policy, what=f"the link for {label}"
        )

    def _running_api(self) -> aria2p.API:
        if self._api is None:
            raise EngineError("aria2c is not running.", hint="Retry the download.")
        return self._api

    def discard(self, part_path: Path) -> None:
        """Remove the part file and aria2's control file for it."""
        part_path.unlink(missing_ok=True)
        control_file(part_path).unlink(missing_ok=True)
