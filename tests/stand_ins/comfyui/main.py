"""A stand-in for ComfyUI's ``main.py``: the same command-line flags, two HTTP routes.

Flags are parsed with argparse like ComfyUI's own, so an unknown one makes it exit
with status 2, exactly what the bootstrap's ``--help`` check must prevent.
``STANDIN_COMFY_MISSING`` (comma-separated) removes flags, as an older ComfyUI would
lack them; ``STANDIN_FAST_VALUES`` replaces ``--fast``'s accepted values.

It reads ``$PHOENIX_RUNTIME_DIR/secrets.json`` as Phoenix's extension does; with
``STANDIN_REQUIRE_TOKEN=1``, ``/system_stats`` wants that ``api_token`` as a bearer
token (the login gate). ``STANDIN_START_DELAY`` seconds pass before it listens.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import JsonHandler, record, serve, setup_signals, watch_crash_file

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

    def system_stats(handler: JsonHandler) -> tuple[int, object]:
        wanted = f"Bearer {token}"
        if (
            os.environ.get("STANDIN_REQUIRE_TOKEN") == "1"
            and handler.headers.get("Authorization") != wanted
        ):
            return 401, {"error": "login required"}
        return 200, {"system": {"argv": sys.argv, "comfyui_version": "stand-in"}, "devices": []}

    def health(_handler: JsonHandler) -> tuple[int, object]:
        return 200, {"ok": True}

    routes = {("GET", "/system_stats"): system_stats, ("GET", "/phoenix/health"): health}
    setup_signals()
    watch_crash_file("comfyui")
    serve(args.listen or "127.0.0.1", int(args.port or 8188), routes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
