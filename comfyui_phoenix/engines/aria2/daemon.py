"""The aria2c child process: its private directory and environment, its log, its launch and stop.

The RPC secret reaches aria2c through a 0600 configuration file in a 0700
directory (deleted as soon as the RPC answers), never on the command line
(``/proc/PID/cmdline`` is world readable) nor in the child's environment. aria2's
own console lines name URLs (signed ones carry ``sig=``/``token=`` values), so
every line is redacted before it is logged. What the command line does carry is
the pid of the Phoenix that owns the child, so an orphan can be told by anyone.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from ...errors import EngineError
from ...security.redact import redact

log = logging.getLogger(__name__)

#: Proxy settings are the only part of our environment aria2c inherits.
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")
_PR_SET_PDEATHSIG = 1
#: The private directory of each aria2c Phoenix starts is named so.
HOME_PREFIX = "phoenix-aria2-"
_CONF_OPTION = "--conf-path="
_OWNER_OPTION = "--stop-with-process="


def free_port() -> int:
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


def command(executable: str, conf: Path) -> list[str]:
    """aria2c's command line: its private configuration, and Phoenix as its owner.

    The owner is named here, not in the configuration file, so that any process can
    tell whose aria2c this is from its command line (see :func:`owner_of`).
    """
    return [executable, f"{_CONF_OPTION}{conf}", f"{_OWNER_OPTION}{os.getpid()}"]


def owner_of(cmdline: Sequence[str]) -> int | None:
    """The pid of the Phoenix that started an aria2c with ``cmdline``; None if none did."""
    conf, owner = _value(cmdline, _CONF_OPTION), _value(cmdline, _OWNER_OPTION)
    if not Path(conf).parent.name.startswith(HOME_PREFIX) or not owner.isdigit():
        return None
    return int(owner)


def _value(cmdline: Sequence[str], option: str) -> str:
    return next((arg.removeprefix(option) for arg in cmdline if arg.startswith(option)), "")


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has Linux kill aria2c the moment Phoenix dies, even by SIGKILL.

    SIGKILL, not SIGTERM: an idle aria2c notices a SIGTERM only when its event loop
    next wakes, up to a second later, and its graceful halt then rewrites the control
    file. By then the file lock died with Phoenix, and another process may be writing
    that part file. Killed, aria2c loses at most a second of resume data
    (``auto-save-interval``); Phoenix itself, when it can, stops aria2c gracefully.

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
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

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


class Daemon:
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
    ) -> Daemon:
        """Start aria2c with ``options`` written to a private configuration file.

        Raises:
            EngineError: the executable could not be run.
        """
        if runtime_dir is not None:
            runtime_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        home = Path(tempfile.mkdtemp(prefix=HOME_PREFIX, dir=runtime_dir))  # 0700
        conf = home / "aria2.conf"
        _write_private(conf, "".join(f"{key}={value}\n" for key, value in options.items()))
        try:
            process = subprocess.Popen(
                command(executable, conf),
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
