"""Shared by the stand-in executables: recording invocations, crash on demand, serving HTTP.

Environment the stand-ins read (set by tests, never by the bootstrap):

- ``STANDIN_RECORD_DIR``: each invocation writes ``<name>-<pid>-<n>.json`` there with
  its argv and environment, so tests can prove what reached a child.
- ``STANDIN_CRASH_DIR``: while serving, the stand-in exits with status 3 as soon as
  ``crash-<name>`` appears there (``crash-comfyui``, ``crash-filebrowser``); it removes
  the file first, so the restarted process keeps running.
- ``STANDIN_IGNORE_SIGNALS=1``: SIGTERM and SIGINT are ignored (a child that hangs on stop).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

_counter = itertools.count()


def record(name: str) -> None:
    folder = os.environ.get("STANDIN_RECORD_DIR")
    if not folder:
        return
    path = Path(folder) / f"{name}-{os.getpid()}-{next(_counter)}.json"
    path.write_text(json.dumps({"argv": sys.argv, "env": dict(os.environ)}))


def option(args: list[str], name: str, default: str | None = None) -> str | None:
    """The value after ``--name`` (or in ``--name=value``)."""
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return default


def watch_crash_file(name: str) -> None:
    folder = os.environ.get("STANDIN_CRASH_DIR")
    if not folder:
        return

    def poll() -> None:
        path = Path(folder) / f"crash-{name}"
        while True:
            if path.exists():
                path.unlink()
                os._exit(3)
            time.sleep(0.05)

    threading.Thread(target=poll, daemon=True).start()


def setup_signals() -> None:
    if os.environ.get("STANDIN_IGNORE_SIGNALS") == "1":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


Reply = tuple[int, Any] | tuple[int, Any, dict[str, str]]
Routes = dict[tuple[str, str], Callable[["JsonHandler"], Reply]]
#: Runs before the routes; a reply it returns is sent instead (a login gate, say).
Guard = Callable[["JsonHandler"], Reply | None]


class JsonHandler(BaseHTTPRequestHandler):
    """Answers JSON from ``routes``: {(method, path): callable(handler) -> (status, body)}.

    A route or the guard may add a third item, extra response headers.
    """

    routes: ClassVar[Routes] = {}
    guard: ClassVar[Guard | None] = None

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, method: str) -> None:
        guard = type(self).guard
        reply = guard(self) if guard is not None else None
        if reply is None:
            route = self.routes.get((method, self.path.split("?", 1)[0]))
            reply = route(self) if route else (404, {"error": "not found"})
        status, body, headers = reply if len(reply) == 3 else (*reply, {})
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def json_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"null")


def serve(address: str, port: int, routes: Routes, guard: Guard | None = None) -> None:
    handler = type("Handler", (JsonHandler,), {"routes": routes, "guard": staticmethod(guard)})
    server = ThreadingHTTPServer((address, port), handler)
    server.daemon_threads = True
    try:
        server.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        print("Stopped server", flush=True)
    finally:
        server.server_close()
