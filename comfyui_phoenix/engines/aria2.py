"""aria2c as a transfer engine: a private child process driven over loopback JSON-RPC.

Phoenix starts its own ``aria2c`` on demand and talks to it through aria2p. aria2
only fills ``NAME.part`` (its resume data lives beside it in ``NAME.part.aria2``);
hashing, content checks and publishing stay with the shared pipeline, which reads
the contiguous prefix that the bitfield reports while bytes arrive.

Secrets: the RPC secret reaches aria2c through a 0600 configuration file in a 0700
directory (deleted as soon as the RPC answers), and request headers travel only
inside RPC calls — never on the command line (``/proc/PID/cmdline`` is world
readable) nor in the child's environment. aria2 answers ``aria2.getOption`` with
those headers to any client that knows the secret, which is why the RPC listens on
loopback only and the secret is random per process. aria2's own console lines name
URLs (signed ones carry ``sig=``/``token=`` values), so every line is redacted
before it is logged.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

from ..errors import (
    AuthError,
    DiskFullError,
    EngineError,
    IntegrityError,
    NotFoundError,
    PhoenixError,
    SourceError,
    TransientError,
)
from ..net.endpoint import Endpoint
from ..net.http import USER_AGENT
from ..net.retry import backoff_delay, resolve_with_retry, retry_after_of, worth_retrying
from ..security.redact import SECRETS, redact, redact_url
from .base import Progress, ProgressCallback, TransferRequest

if TYPE_CHECKING:
    import aria2p
    import requests

log = logging.getLogger(__name__)

T = TypeVar("T")
#: What the engine does after aria2 stopped a download with an error.
Step = Literal["refresh", "retry", "restart", "raise"]

#: The keys each poll asks for; the file list and URIs are left out on purpose.
STATUS_KEYS = [
    "status",
    "totalLength",
    "completedLength",
    "downloadSpeed",
    "connections",
    "bitfield",
    "pieceLength",
    "errorCode",
    "errorMessage",
]
STOPPED = frozenset({"complete", "error", "removed"})
#: At most ten progress samples a second, whatever the poll interval.
MIN_REPORT_INTERVAL = 0.1
READY_TIMEOUT = 10.0
RPC_TIMEOUT = 15.0
LAUNCH_ATTEMPTS = 3
#: Headers whose values are secrets; registered for redaction before aria2 sees them.
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})
#: Proxy settings are the only part of our environment aria2c inherits.
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")
_STATUS_IN_MESSAGE = re.compile(r"status=(\d{3})")
_PR_SET_PDEATHSIG = 1

# aria2's exit codes (the EXIT STATUS section of ``man aria2c``) by what Phoenix does next.
#: Unknown error (aria2 reports "No URI available" when its tries ran out), timeout,
#: too slow, network problem, name resolution, 503 after ``--retry-wait`` retries.
NETWORK_CODES = frozenset({1, 2, 5, 6, 19, 29})
NOT_FOUND_CODES = frozenset({3, 4})
AUTH_CODE = 24
HTTP_STATUS_CODE = 22
DISK_FULL_CODE = 9
#: The server cannot resume, or the control file disagrees with the download: start over.
RESTART_CODES = frozenset({8, 10})
FILE_CODES = frozenset({13, 14, 15, 16, 17, 18})
TOO_MANY_REDIRECTS = 23
CHECKSUM_CODE = 32


# -- the child process -------------------------------------------------------------------


def _free_port() -> int:
    """A loopback port that was free a moment ago (a lost race is retried by the caller)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _child_env(home: Path) -> dict[str, str]:
    """A minimal environment: no tokens, no caches, no settings from ours but the proxy."""
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }
    for name in PROXY_VARIABLES:
        if os.environ.get(name):
            env[name] = os.environ[name]
    if sys.platform == "win32":
        env["SYSTEMROOT"] = os.environ.get("SYSTEMROOT", "")  # sockets need it on Windows
    return env


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has Linux send aria2c SIGTERM when Phoenix dies, even by SIGKILL.

    The signal fires when the *thread* that forked the child ends, so the child is
    spawned from the event loop's thread, which lives as long as the engine.
    ``--stop-with-process`` is the portable fallback.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return preexec


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _log_level(line: str, previous: int) -> int:
    """aria2 marks the first line of each message; continuation lines keep its level.

    aria2's errors are logged as warnings: a failed download is reported once, as an
    error, by the job that owns it, and aria2's account of it is supporting detail.
    """
    if "[ERROR]" in line or "[WARN]" in line:
        return logging.WARNING
    if "[NOTICE]" in line or "[INFO]" in line:
        return logging.INFO
    return previous


def _relay(stream: IO[str]) -> None:
    level = logging.INFO
    for raw in stream:
        line = raw.rstrip()
        if line:
            level = _log_level(line, level)
            log.log(level, "aria2c: %s", redact(line))


class _Daemon:
    """One aria2c process, its private directory and the thread relaying its output."""

    def __init__(self, process: subprocess.Popen[str], home: Path, conf: Path, port: int) -> None:
        self.process = process
        self.home = home
        self.conf = conf
        self.port = port
        self._relay = threading.Thread(
            target=_relay, args=(process.stdout,), name="phoenix-aria2c-log", daemon=True
        )
        self._relay.start()
        # Even if close() is never awaited, the child goes when the interpreter does.
        atexit.register(self.stop, 2.0)

    @classmethod
    def launch(
        cls, executable: str, options: Mapping[str, str], runtime_dir: Path | None
    ) -> _Daemon:
        """Start aria2c with ``options`` written to a private configuration file."""
        if runtime_dir is not None:
            runtime_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        home = Path(tempfile.mkdtemp(prefix="phoenix-aria2-", dir=runtime_dir))  # 0700
        conf = home / "aria2.conf"
        _write_private(conf, "".join(f"{key}={value}\n" for key, value in options.items()))
        try:
            process = subprocess.Popen(
                [executable, f"--conf-path={conf}"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                cwd=home,
                env=_child_env(home),
                # Its own session: a Ctrl-C in a terminal is Phoenix's to handle, and
                # Phoenix then shuts aria2c down in order.
                start_new_session=True,
                # Only prctl runs between fork and exec; libc was looked up before.
                preexec_fn=_die_with_parent(),
            )
        except OSError as exc:
            shutil.rmtree(home, ignore_errors=True)
            raise EngineError(
                f"aria2c could not be started: {exc.strerror}.",
                hint="Check the aria2 installation, or set PHOENIX_ENGINE=python.",
            ) from exc
        return cls(process, home, conf, int(options["rpc-listen-port"]))

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def forget_conf(self) -> None:
        """aria2c has read its configuration: the secret need not stay on disk."""
        self.conf.unlink(missing_ok=True)

    def stop(self, grace: float = 5.0) -> None:
        """Halt aria2c gracefully (it saves every control file), and kill it after ``grace``."""
        atexit.unregister(self.stop)
        if self.alive:
            if sys.platform != "win32":
                # SIGTERM halts as aria2.shutdown does, minus the 3 s that call waits so
                # its answer can reach the client. (Windows: the caller asked over RPC.)
                self.process.terminate()
                self._wake()
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._relay.join(2.0)
        if self.process.stdout is not None:
            self.process.stdout.close()
        shutil.rmtree(self.home, ignore_errors=True)

    def _wake(self) -> None:
        """An idle aria2c notices a signal only when its event loop next wakes, up to a
        second later; a connection to its RPC port wakes it at once."""
        with contextlib.suppress(OSError):  # refused: already gone, nothing to wake
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()


def _loopback_api(port: int, secret: str, session: requests.Session) -> aria2p.API:
    """An aria2p API that posts through ``session``, one that ignores proxy settings.

    aria2p posts with plain ``requests``, which honours ``HTTP_PROXY``: the RPC secret
    would travel to the proxy. A session with ``trust_env`` off stays on loopback.
    """
    import aria2p

    session.trust_env = False

    class LoopbackClient(aria2p.Client):
        def post(self, payload: str) -> dict[str, Any]:
            answer: dict[str, Any] = session.post(
                self.server, data=payload, timeout=self.timeout
            ).json()
            return answer

    return aria2p.API(LoopbackClient("http://127.0.0.1", port, secret, timeout=RPC_TIMEOUT))


# -- progress ----------------------------------------------------------------------------


def contiguous_bytes(bitfield: str | None, piece_length: int, total: int) -> int:
    """Bytes from offset 0 that are on disk: the leading complete pieces, capped at ``total``.

    aria2's bitfield is hexadecimal, the highest bit of the first digit being piece 0.
    """
    if not bitfield or piece_length <= 0:
        return 0
    pieces = 0
    for digit in bitfield:
        nibble = int(digit, 16)
        if nibble == 0xF:
            pieces += 4
            continue
        mask = 0x8
        while nibble & mask:
            pieces += 1
            mask >>= 1
        break
    done = pieces * piece_length
    return min(done, total) if total > 0 else done


def progress_of(status: Mapping[str, Any], fallback_total: int | None) -> Progress:
    """One :class:`Progress` from a ``tellStatus`` answer (aria2 sends numbers as strings)."""
    total = int(status.get("totalLength") or 0)
    done = int(status.get("completedLength") or 0)
    if status.get("status") == "complete":
        contiguous = done
    else:
        contiguous = contiguous_bytes(
            status.get("bitfield"), int(status.get("pieceLength") or 0), total
        )
    return Progress(
        done=done,
        total=total if total > 0 or status.get("status") == "complete" else fallback_total,
        speed=float(status.get("downloadSpeed") or 0),
        contiguous=min(contiguous, done),
        connections=int(status.get("connections") or 0),
    )


class _Reporter:
    """Hands progress to the callback at most ten times a second (and always the last one).

    A download added again (to resume it) reports nothing until aria2 has read its
    control file, though nothing on disk shrank: the counts only ever go up, until
    :meth:`restart` says the part file really was thrown away.
    """

    def __init__(self, callback: ProgressCallback, fallback_total: int | None) -> None:
        self._callback = callback
        self._total = fallback_total
        self._done = 0
        self._contiguous = 0
        self._last = 0.0

    def restart(self) -> None:
        self._done = self._contiguous = 0

    def __call__(self, status: Mapping[str, Any], *, final: bool = False) -> None:
        sample = progress_of(status, self._total)
        self._total = sample.total
        self._done = max(self._done, sample.done)
        self._contiguous = max(self._contiguous, sample.contiguous)
        now = time.monotonic()
        if not final and now - self._last < MIN_REPORT_INTERVAL:
            return
        self._last = now
        self._callback(replace(sample, done=self._done, contiguous=self._contiguous))


# -- errors ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Failure:
    """Why aria2 stopped a download, and what Phoenix does about it."""

    action: Step
    error: PhoenixError
    done: int


def _http_status(message: str) -> int | None:
    match = _STATUS_IN_MESSAGE.search(message)
    return int(match.group(1)) if match else None


def _failure(status: Mapping[str, Any], label: str, url: str) -> _Failure:
    """Map aria2's ``errorCode``/``errorMessage`` to a Phoenix error and a next step."""
    code = int(status.get("errorCode") or 1)
    message = redact(str(status.get("errorMessage") or "unknown error")).rstrip(".")
    http = _http_status(message) if code == HTTP_STATUS_CODE else None
    if code == AUTH_CODE:
        http = 401
    error = _error_for(code, http, message, label, redact_url(url))
    return _Failure(_next_step(code, http), error, int(status.get("completedLength") or 0))


def _retryable_status(http: int | None) -> bool:
    return http is not None and (http in (408, 425, 429) or http >= 500)


def _next_step(code: int, http: int | None) -> Step:
    # After its retries aria2 reports "No URI available" and the HTTP status is lost;
    # an expired signed link is the likely cause, so resolving it again is worth a try.
    if http in (401, 403) or (code == HTTP_STATUS_CODE and http is None):
        return "refresh"
    if http == 416 or code in RESTART_CODES:
        return "restart"
    if code in NETWORK_CODES or _retryable_status(http):
        return "retry"
    return "raise"


def _error_for(code: int, http: int | None, message: str, label: str, url: str) -> PhoenixError:
    if http in (401, 403):
        return AuthError(
            f"The server refused access to {label} (HTTP {http}).",
            hint="Check the token in Phoenix's settings, and for a gated model accept its licence on the model page.",
            url=url,
            status=http,
        )
    if code in NOT_FOUND_CODES or http in (404, 410):
        return NotFoundError(
            f"{label} is not at its source any more (HTTP {http or 404}).",
            hint="Check that the link, model or version still exists.",
            url=url,
            status=http or 404,
        )
    if code == HTTP_STATUS_CODE and http is None:
        return SourceError(
            f"The server gave an unexpected answer for {label}.",
            hint="Check the link in a browser, or retry later.",
            url=url,
        )
    if http == 416 or code in RESTART_CODES:
        return SourceError(
            f"The download of {label} could not be resumed: {message}.",
            hint="Retry the download; it will start over.",
            url=url,
            status=http,
        )
    if code in NETWORK_CODES or _retryable_status(http):
        return TransientError(
            f"The download of {label} kept failing: {message}.",
            hint="It will be retried; if it keeps failing, check the network connection.",
            url=url,
            status=http,
        )
    return _fatal(code, message, label, url, http)


def _fatal(code: int, message: str, label: str, url: str, http: int | None) -> PhoenixError:
    if code == DISK_FULL_CODE:
        return DiskFullError(
            f"The disk filled up while downloading {label}.",
            hint="Free some space, or choose a models folder on a larger disk.",
        )
    if code in FILE_CODES:
        return EngineError(
            f"aria2c could not write {label}: {message}.",
            hint="Check that the models folder exists and is writable.",
        )
    if code == TOO_MANY_REDIRECTS:
        return SourceError(
            f"{label} redirected too many times.", hint="Check the link.", url=url, status=http
        )
    if code == CHECKSUM_CODE:
        return IntegrityError(f"{label} failed aria2's checksum.", hint="Retry the download.")
    if http is not None:
        return SourceError(
            f"The server answered HTTP {http} for {label}.",
            hint="Check the link, or retry later.",
            url=url,
            status=http,
        )
    return EngineError(
        f"aria2c failed to download {label}: {message} (aria2 error {code}).",
        hint="Retry the download, or set PHOENIX_ENGINE=python.",
    )


def _headers(endpoint: Endpoint) -> list[str]:
    """``Name: value`` lines for aria2's ``header`` option; secrets registered for redaction."""
    lines = []
    for name, value in endpoint.headers.items():
        if any(c in name + value for c in "\r\n"):
            raise SourceError("A request header contained a line break.", hint="Report this bug.")
        if name.lower() in SENSITIVE_HEADERS:
            SECRETS.add(value, value.partition(" ")[2])
        lines.append(f"{name}: {value}")
    return lines


# -- the engine --------------------------------------------------------------------------


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
        self.max_retries = max_retries
        self.backoff_cap = backoff_cap
        self._daemon: _Daemon | None = None
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

        port, secret = _free_port(), secrets.token_urlsafe(32)
        SECRETS.add(secret)
        # Popen runs here, on the loop's thread: see _die_with_parent.
        daemon = _Daemon.launch(executable, self._options(port, secret), self.runtime_dir)
        session = requests.Session()
        api = _loopback_api(port, secret, session)
        try:
            await self._wait_ready(api, daemon)
        except BaseException:
            SECRETS.discard(secret)
            session.close()
            await asyncio.to_thread(daemon.stop, 0.0)
            raise
        daemon.forget_conf()
        self._daemon, self._api, self._session, self._secret = daemon, api, session, secret
        log.debug("aria2c started (pid %s, port %s)", daemon.pid, port)

    def _options(self, port: int, secret: str) -> dict[str, str]:
        """Global options, all in the configuration file; per-download ones go over RPC."""
        return {
            "enable-rpc": "true",
            "rpc-listen-all": "false",
            "rpc-listen-port": str(port),
            "rpc-secret": secret,
            "stop-with-process": str(os.getpid()),
            # Phoenix names, resumes and replaces files itself.
            "auto-file-renaming": "false",
            "allow-overwrite": "true",
            "continue": "true",
            # A server that ignores Range means starting over, not failing.
            "always-resume": "false",
            "max-resume-failure-tries": "0",
            # 'falloc' was about 15% faster on local ext4, but aria2 aborts (error 17)
            # where fallocate is unsupported, as on some FUSE network volumes.
            "file-allocation": "none",
            "max-connection-per-server": str(self.connections),
            "split": str(self.connections),
            "min-split-size": str(self.min_split_size),
            # Lowest pieces first, so the contiguous prefix the hasher follows keeps growing.
            "stream-piece-selector": "inorder",
            # Fixed, so control files written by another aria2 version still match.
            "piece-length": "1M",
            "max-overall-download-limit": str(self.max_rate or 0),
            "max-concurrent-downloads": "64",
            "max-tries": str(self.max_tries),
            "retry-wait": str(self.retry_wait),
            "connect-timeout": "20",
            "timeout": "60",
            # Bounds what a SIGKILL loses; each save also flushes the data written so far.
            "auto-save-interval": "1",
            "check-certificate": "true",
            "user-agent": USER_AGENT,
            # Only the bytes asked for: no torrents or metalinks behind a link, no netrc.
            "follow-torrent": "false",
            "follow-metalink": "false",
            "no-netrc": "true",
            "console-log-level": "warn",
            "summary-interval": "0",
            "show-console-readout": "false",
            "enable-color": "false",
            "download-result": "hide",
        }

    async def _wait_ready(self, api: aria2p.API, daemon: _Daemon) -> None:
        import requests

        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if not daemon.alive:
                raise EngineError(
                    f"aria2c exited at start (status {daemon.process.returncode}).",
                    hint="Its log lines above say why; or set PHOENIX_ENGINE=python.",
                )
            try:
                await asyncio.to_thread(api.client.get_version)
                return
            except requests.RequestException:
                await asyncio.sleep(0.05)
        raise EngineError(
            "aria2c did not answer within ten seconds of starting.",
            hint="Retry, or set PHOENIX_ENGINE=python.",
        )

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
            await self._rpc_quietly(api.client.shutdown)  # no SIGTERM there
        await asyncio.to_thread(daemon.stop)
        if session is not None:
            session.close()
        if secret is not None:
            SECRETS.discard(secret)

    async def _rpc_quietly(self, call: Callable[..., Any], *args: Any) -> None:
        import aria2p
        import requests

        try:
            await asyncio.to_thread(call, *args)
        except (requests.RequestException, aria2p.ClientException) as exc:
            log.debug("aria2c did not take an RPC call: %s", type(exc).__name__)

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
        control = _control_file(part)
        if control.exists() and not part.exists():
            control.unlink()  # resume data for bytes that are gone would only mislead aria2
        endpoint = await self._resolve(request, label)
        reporter = _Reporter(on_progress, request.size)
        best = failures = 0
        refreshed = restarted = False
        while True:
            status = await self._run_once(request, endpoint, reporter)
            if status.get("status") == "complete":
                return
            failure = self._failure_of(status, label, endpoint.url)
            progressed, best = failure.done > best, max(best, failure.done)
            if failure.action == "refresh" and (progressed or not refreshed):
                # A signed link expired mid-transfer: resolve it again and resume.
                log.info("%s: %s; resolving the link again", label, failure.error.detail)
                endpoint, refreshed = await self._resolve(request, label), True
            elif failure.action == "retry":
                # aria2 gives up on a 429 or a 500 at once: wait, then add it again.
                failures = 1 if progressed else failures + 1
                await self._back_off(failure.error, failures, label)
            elif failure.action == "restart" and not restarted:
                log.info("%s: %s; starting over", label, failure.error.detail)
                self.discard(part)
                reporter.restart()
                restarted, best = True, 0
            else:
                raise failure.error

    async def _resolve(self, request: TransferRequest, label: str) -> Endpoint:
        return await resolve_with_retry(
            request.endpoint,
            max_retries=self.max_retries,
            backoff_cap=self.backoff_cap,
            label=label,
        )

    async def _back_off(self, error: PhoenixError, failures: int, label: str) -> None:
        """Wait before failure number ``failures`` in a row is retried, or raise ``error``.

        aria2 does not tell Phoenix a server's Retry-After, so the wait is the backoff's
        unless the error carries one.
        """
        if not worth_retrying(error, failures, self.max_retries):
            raise error
        delay = backoff_delay(failures, cap=self.backoff_cap, retry_after=retry_after_of(error))
        log.info("%s: %s; trying again in %.1f s", label, error.detail, delay)
        await asyncio.sleep(delay)

    def _failure_of(self, status: Mapping[str, Any], label: str, url: str) -> _Failure:
        if status.get("status") == "removed":
            return _Failure(
                "retry",
                TransientError(
                    f"The download of {label} was stopped inside aria2c.",
                    hint="It will be retried.",
                ),
                int(status.get("completedLength") or 0),
            )
        return _failure(status, label, url)

    async def _run_once(
        self, request: TransferRequest, endpoint: Endpoint, reporter: _Reporter
    ) -> Mapping[str, Any]:
        """Add the download to aria2 and follow it until it stops.

        If anything interrupts the wait (a cancellation, a failing progress callback),
        the download is removed from aria2 with its part and control file kept.
        """
        api = self._running_api()
        # Our own GID, so a cancellation that lands while the add is in flight still
        # knows what to remove.
        gid = secrets.token_hex(8)
        options: dict[str, Any] = {
            "gid": gid,
            "dir": str(request.part_path.parent),
            "out": request.part_path.name,
            "header": _headers(endpoint),
        }
        if request.max_rate:
            options["max-download-limit"] = str(request.max_rate)
        adding = asyncio.ensure_future(self._rpc(api.add_uris, [endpoint.url], options))
        try:
            await asyncio.shield(adding)
            status = await self._follow(api, gid, reporter)
        except BaseException:
            await asyncio.shield(_abandon_after(adding, api, gid))
            raise
        await asyncio.to_thread(_forget, api, gid)
        return status

    async def _follow(self, api: aria2p.API, gid: str, reporter: _Reporter) -> Mapping[str, Any]:
        while True:
            status: Mapping[str, Any] = await self._rpc(api.client.tell_status, gid, STATUS_KEYS)
            stopped = status.get("status") in STOPPED
            reporter(status, final=stopped)
            if stopped:
                return status
            await asyncio.sleep(_next_poll(status, self.poll_interval))

    def _running_api(self) -> aria2p.API:
        if self._api is None:
            raise EngineError("aria2c is not running.", hint="Retry the download.")
        return self._api

    async def _rpc(self, call: Callable[..., T], *args: Any) -> T:
        """Run one blocking aria2p call in a thread, with aria2c's failures as Phoenix errors."""
        import aria2p
        import requests

        try:
            return await asyncio.to_thread(call, *args)
        except requests.RequestException as exc:
            # The next transfer() starts a fresh aria2c, which resumes from the control file.
            raise TransientError(
                "aria2c stopped answering.", hint="The download will be retried and resume."
            ) from exc
        except aria2p.ClientException as exc:
            raise EngineError(
                f"aria2c refused a request: {redact(exc.message)}.",
                hint="Retry the download, or set PHOENIX_ENGINE=python.",
            ) from exc

    def discard(self, part_path: Path) -> None:
        """Remove the part file and aria2's control file for it."""
        part_path.unlink(missing_ok=True)
        _control_file(part_path).unlink(missing_ok=True)


def _control_file(part: Path) -> Path:
    return part.with_name(part.name + ".aria2")


async def _abandon_after(adding: asyncio.Future[Any], api: aria2p.API, gid: str) -> None:
    """Once the add has settled, remove what it added (if it added anything)."""
    try:
        await adding
    except PhoenixError:
        return  # nothing was added
    await asyncio.to_thread(_abandon, api, gid)


def _abandon(api: aria2p.API, gid: str) -> None:
    """Stop a download but keep the part and control file, so a later transfer resumes.

    aria2 removes asynchronously and writes the control file as it does; waiting for
    ``removed`` means a transfer started next on the same file finds that file written.
    """
    import aria2p
    import requests

    try:
        api.remove([api.get_download(gid)], force=True, files=False, clean=False)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            if api.client.tell_status(gid, ["status"])["status"] in STOPPED:
                break
            time.sleep(0.02)
        api.client.remove_download_result(gid)
    except (requests.RequestException, aria2p.ClientException) as exc:
        log.debug("aria2c could not remove download %s: %s", gid, type(exc).__name__)


def _forget(api: aria2p.API, gid: str) -> None:
    """Drop a stopped download's result from aria2's memory."""
    import aria2p
    import requests

    try:
        api.client.remove_download_result(gid)
    except (requests.RequestException, aria2p.ClientException) as exc:
        log.debug("aria2c kept the result of %s: %s", gid, type(exc).__name__)


#: How often to poll once the end is near: the poll delay is the tail a user waits.
FINAL_POLL_INTERVAL = 0.02


def _next_poll(status: Mapping[str, Any], interval: float) -> float:
    """Poll faster in the last second of a transfer, so its completion is seen at once."""
    try:
        left = int(status.get("totalLength", 0)) - int(status.get("completedLength", 0))
        speed = int(status.get("downloadSpeed", 0))
    except (TypeError, ValueError):
        return interval
    if speed > 0 and 0 <= left <= speed * 1.0:
        return min(interval, max(FINAL_POLL_INTERVAL, left / speed))
    return interval
