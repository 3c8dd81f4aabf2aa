"""A stand-in for ComfyUI's ``main.py``: the same command-line flags, a few HTTP routes.

Flags are parsed with argparse like ComfyUI's own, so an unknown one makes it exit
with status 2, exactly what the bootstrap's ``--help`` check must prevent.
``STANDIN_COMFY_MISSING`` (comma-separated) removes flags, as an older ComfyUI would
lack them; ``STANDIN_FAST_VALUES`` replaces ``--fast``'s accepted values.

It reads ``$PHOENIX_RUNTIME_DIR/secrets.json`` as Phoenix's extension does and, when
Phoenix would put its login gate in front of ComfyUI (``COMFY_AUTH``, on by default with
``PHOENIX_CONTAINER=1``), answers like the gate: only ``/phoenix/health`` and the login
page are open, a request with that ``api_token`` as a bearer token passes, anonymous
pages are sent to the login page (303), anything else gets 401, the websocket included.
``STANDIN_GATE=open`` plays a ComfyUI in which Phoenix failed to load (no gate: every
route answers anyone); ``STANDIN_GATE=closed`` forces the gate on.
``STANDIN_START_DELAY`` seconds pass before it listens.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import JsonHandler, Reply, record, serve, setup_signals, watch_crash_file

OPEN_PATHS = {"/phoenix/health", "/api/phoenix/health", "/phoenix/login", "/api/phoenix/login"}

SWITCHES = [
    "--disable-auto-launch",
    "--cpu",
    "--highvram",
    "--normalvram",
    "--lowvram",
    "--gpu-only",
    "--use-sage-attention",
    "--use-pytorch-cross-attention",
    "--disable-metadata",
    "--disable-xformers",
    "--bf16-unet",
    "--cuda-malloc",
]
VALUED = [
    "--listen",
    "--port",
    "--input-directory",
    "--output-directory",
    "--temp-directory",
    "--user-directory",
    "--database-url",
    "--reserve-vram",
]
FAST_VALUES = ["fp16_accumulation", "fp8_matrix_mult", "cublas_ops", "autotune"]


def parser() -> argparse.ArgumentParser:
    missing = set(filter(None, os.environ.get("STANDIN_COMFY_MISSING", "").split(",")))
    fast_values = os.environ.get("STANDIN_FAST_VALUES")
    values = fast_values.split(",") if fast_values is not None else FAST_VALUES
    parse = argparse.ArgumentParser(prog="main.py")
    for flag in SWITCHES:
        if flag not in missing:
            parse.add_argument(flag, action="store_true")
    for flag in VALUED:
        if flag not in missing:
            parse.add_argument(flag)
    if "--extra-model-paths-config" not in missing:
        parse.add_argument("--extra-model-paths-config", nargs="+", action="append")
    if "--fast" not in missing:
        parse.add_argument(
            "--fast",
            nargs="*",
            choices=values,
            help="Current valid optimizations: " + " ".join(values),
        )
    return parse


def gate_on() -> bool:
    """Whether Phoenix's gate guards this ComfyUI (what ``Settings.comfy_auth`` decides)."""
    forced = os.environ.get("STANDIN_GATE")
    if forced in ("open", "closed"):
        return forced == "closed"
    auth = os.environ.get("COMFY_AUTH", "").strip().lower()
    if auth:
        return auth in ("1", "true", "yes", "on")
    return os.environ.get("PHOENIX_CONTAINER") == "1"


def make_gate(token: str | None) -> Callable[[JsonHandler], Reply | None]:
    def gate(handler: JsonHandler) -> Reply | None:
        path = handler.path.split("?", 1)[0]
        if path in OPEN_PATHS:
            return None
        if token and handler.headers.get("Authorization") == f"Bearer {token}":
            return None
        if handler.headers.get("Upgrade", "").lower() == "websocket":
            return 401, {"error": "auth_required"}
        if handler.command == "GET" and "text/html" in handler.headers.get("Accept", ""):
            return 303, {}, {"Location": f"/phoenix/login?next={quote(handler.path, safe='')}"}
        return 401, {"error": "auth_required"}, {"WWW-Authenticate": 'Bearer realm="phoenix"'}

    return gate


def main() -> int:
    record("comfyui")
    args = parser().parse_args()
    runtime = os.environ.get("PHOENIX_RUNTIME_DIR")
    token = None
    if runtime and (Path(runtime) / "secrets.json").is_file():
        token = json.loads((Path(runtime) / "secrets.json").read_text()).get("api_token")
    delay = float(os.environ.get("STANDIN_START_DELAY") or 0)
    if delay:
        time.sleep(delay)

    def system_stats(_handler: JsonHandler) -> Reply:
        return 200, {"system": {"argv": sys.argv, "comfyui_version": "stand-in"}, "devices": []}

    def health(_handler: JsonHandler) -> Reply:
        return 200, {"ok": True}

    def page(_handler: JsonHandler) -> Reply:
        return 200, {"page": "ComfyUI"}

    routes = {
        ("GET", "/system_stats"): system_stats,
        ("GET", "/api/system_stats"): system_stats,
        ("GET", "/"): page,
    }
    if os.environ.get("STANDIN_GATE") != "open":  # Phoenix loaded: its health route is there
        routes[("GET", "/phoenix/health")] = health
    setup_signals()
    watch_crash_file("comfyui")
    guard = make_gate(token) if gate_on() else None
    serve(args.listen or "127.0.0.1", int(args.port or 8188), routes, guard)
    return 0


if __name__ == "__main__":
    sys.exit(main())
