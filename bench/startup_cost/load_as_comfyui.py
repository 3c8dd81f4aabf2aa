"""Import a checkout's root folder as ComfyUI does, in this fresh interpreter, and time it.

Run as a script, ``python load_as_comfyui.py FOLDER``; prints one JSON line.

Stand-ins take the place of the two ComfyUI modules the import reaches: ``server``, whose
``PromptServer.instance`` has ``routes = aiohttp.web.RouteTableDef()`` and
``app = aiohttp.web.Application()`` (ComfyUI creates its server before it loads custom
nodes, so aiohttp is imported before the clock starts, as there), and ``folder_paths``,
with every folder in a scratch directory. (``tests/stand_ins/comfyui/`` stands in for
ComfyUI's process and its HTTP answers, not for these modules.)

Then, as ComfyUI's ``nodes.load_custom_node`` does, the folder is imported through
``importlib.util.spec_from_file_location(name, FOLDER/__init__.py)`` under the name ComfyUI
gives it (the folder's path, dots replaced), with ``time.perf_counter()`` around it like
ComfyUI's "Import times for custom nodes" row. A line ``MARK`` on stderr comes just before
the clock starts, so that under ``-X importtime`` the import's own lines can be told apart.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile
import time
import types

from aiohttp import web

MARK = "-- the custom node's import starts --"


class PromptServer:
    """ComfyUI's server, as far as a custom node's import reaches it."""

    instance: PromptServer | None = None

    def __init__(self) -> None:
        self.routes = web.RouteTableDef()
        self.app = web.Application()


def stand_in_server() -> types.ModuleType:
    """ComfyUI's ``server`` module with its ``PromptServer.instance`` created."""
    server = types.ModuleType("server")
    PromptServer.instance = PromptServer()
    server.PromptServer = PromptServer  # type: ignore[attr-defined]
    return server


def stand_in_folder_paths(scratch: str) -> types.ModuleType:
    """ComfyUI's ``folder_paths``, every folder under ``scratch``."""
    folder_paths = types.ModuleType("folder_paths")
    folder_paths.models_dir = os.path.join(scratch, "models")  # type: ignore[attr-defined]
    folder_paths.filename_list_cache = {}  # type: ignore[attr-defined]
    for name in ("input", "output", "user", "temp"):
        path = os.path.join(scratch, name)
        setattr(folder_paths, f"get_{name}_directory", lambda path=path: path)

    def get_folder_paths(folder: str) -> list[str]:
        return [os.path.join(scratch, "models", folder)]

    folder_paths.get_folder_paths = get_folder_paths  # type: ignore[attr-defined]
    return folder_paths


def load_custom_node(folder: str) -> tuple[float, types.ModuleType]:
    """Seconds to import ``folder`` as ComfyUI imports a custom node folder, and the module."""
    name = folder.replace(".", "_x_")
    print(MARK, file=sys.stderr, flush=True)
    started = time.perf_counter()
    spec = importlib.util.spec_from_file_location(name, os.path.join(folder, "__init__.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return time.perf_counter() - started, module


def main(folder: str) -> None:
    """Import ``folder`` under the stand-ins; print the seconds and what it registered."""
    scratch = tempfile.mkdtemp(prefix="phoenix-bench-comfyui-")
    sys.modules["server"] = stand_in_server()
    sys.modules["folder_paths"] = stand_in_folder_paths(scratch)
    before = len(sys.modules)
    seconds, module = load_custom_node(folder)
    answer = {
        "seconds": seconds,
        "comfyui_row": f"{seconds:6.1f} seconds: {folder}",
        "modules_imported": len(sys.modules) - before,
        "nodes": len(getattr(module, "NODE_CLASS_MAPPINGS", {})),
        "routes": len(PromptServer.instance.routes) if PromptServer.instance else 0,
    }
    print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main(os.path.abspath(sys.argv[1]))
