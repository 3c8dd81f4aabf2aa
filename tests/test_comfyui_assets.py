"""ComfyUI's asset index (0.33 and later, ``--enable-assets``) lists a placed model at once.

Runs against the real ComfyUI when ``COMFYUI_DIR`` holds one with an asset system; a ComfyUI
without ``app/assets`` (0.3.64) skips, saying so.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from peers.comfyui import COMFYUI_DIR, COMFYUI_PYTHON, ComfyUI, needs_comfyui
from peers.files import FileServer
from peers.models import FLUX_VAE, safetensors_bytes

pytestmark = [
    *needs_comfyui,
    pytest.mark.skipif(
        bool(COMFYUI_DIR) and not (Path(COMFYUI_DIR) / "app" / "assets").is_dir(),
        reason="this ComfyUI has no asset index (app/assets, ComfyUI 0.33 and later)",
    ),
]


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        return json.loads(response.read())


def _post(url: str, body: Any) -> Any:
    request = urllib.request.Request(  # noqa: S310 - loopback
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read() or b"null")


def _wait(what: str, check: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    pytest.fail(f"{what} within {timeout:.0f} s")


def _indexed(url: str, name: str) -> list[str]:
    answer = _get(f"{url}/api/assets?include_tags=models&name_contains={name}&limit=50")
    return [a["name"] for a in answer.get("assets", [])]


def test_a_placed_model_is_in_comfyuis_asset_index_without_a_restart(
    file_server: FileServer, tmp_path: Path
) -> None:
    data = safetensors_bytes(FLUX_VAE, pad_to=1 << 20, seed=61)
    file_server.add("indexed_vae.safetensors", data)
    link = f"{file_server.base_url}/files/indexed_vae.safetensors"  # type: ignore[attr-defined]
    comfy = ComfyUI(Path(COMFYUI_DIR), Path(COMFYUI_PYTHON), tmp_path / "comfyui")
    env = {
        "PHOENIX_ALLOWED_HOSTS": "127.0.0.1",
        "PHOENIX_ALLOW_PRIVATE_NETWORKS": "true",
        "PHOENIX_ENGINE": "python",
    }
    database = f"sqlite:///{tmp_path / 'assets.db'}"
    try:
        comfy.start(env=env, args=["--enable-assets", "--database-url", database])
        url = comfy.url
        _wait(
            "the start-up scan ends",
            lambda: _get(f"{url}/api/assets/seed/status")["state"] == "IDLE",
        )
        assert _indexed(url, "indexed_vae") == []
        inputs = {"reference": link, "folder": "vae"}
        queued = _post(
            f"{url}/prompt",
            {"prompt": {"1": {"class_type": "PhoenixFetchModel", "inputs": inputs}}},
        )
        _wait("the prompt ends", lambda: _get(f"{url}/history/{queued['prompt_id']}"))
        assert (comfy.base / "models" / "vae" / "indexed_vae.safetensors").read_bytes() == data
        names = _wait("the asset index lists it", lambda: _indexed(url, "indexed_vae"))
        assert names == ["indexed_vae.safetensors"]
    finally:
        comfy.stop()
