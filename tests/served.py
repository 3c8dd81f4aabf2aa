"""Phoenix's real routes on an aiohttp test app, and a CivitAI gallery for the model manager.

Route tests build the app exactly as ComfyUI would serve it (``register`` on a route table,
the extension attached to the app's lifecycle) against the local peers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from peers.civitai import CivitaiServer
from peers.images import png_bytes
from peers.models import LORA, SD_CHECKPOINT, safetensors_bytes

from comfyui_phoenix.settings import Settings
from comfyui_phoenix.surfaces.app import PhoenixApp
from comfyui_phoenix.surfaces.routes import register

Client = TestClient[Any, Any]
ClientMaker = Callable[..., Awaitable[Client]]

STYLE_LORA = safetensors_bytes(LORA, pad_to=200_000, seed=21)
STYLE_LORA_V1 = safetensors_bytes(LORA, pad_to=150_000, seed=22)
STYLE_LORA_FP8 = safetensors_bytes(LORA, dtype="F8_E4M3", pad_to=100_000, seed=23)
CHECKPOINT = safetensors_bytes(SD_CHECKPOINT, pad_to=300_000, seed=24)
SAFE_IMAGE = png_bytes(8, 8, (40, 160, 90))
RISKY_IMAGE = png_bytes(8, 8, (250, 0, 120))
LICENCE = {"allowCommercialUse": ["Image"], "allowNoCredit": False, "allowDerivatives": True}


def client_maker(
    aiohttp_client: Any, make_settings: Callable[..., Settings], tmp_path: Path
) -> ClientMaker:
    """Start Phoenix's routes with the given settings (the Python engine, files in tmp)."""

    async def start(**overrides: Any) -> Client:
        app = web.Application()
        routes = web.RouteTableDef()
        register(routes)
        app.add_routes(routes)
        phoenix = PhoenixApp(
            make_settings(engine="python", **overrides),
            paths={"output": tmp_path},
            tokens_file=tmp_path / "user" / "tokens.json",
            preload=False,
        )
        phoenix.attach(app)
        client: Client = await aiohttp_client(app)
        return client

    return start


def host_gallery(server: CivitaiServer) -> CivitaiServer:
    """A LoRA with two versions, trigger words, a licence and a gallery; a checkpoint; an
    NSFW model that searches hide."""
    style_files = [
        {
            "id": 7101,
            "name": "film_grain.safetensors",
            "type": "Model",
            "data": STYLE_LORA,
            "primary": True,
            "metadata": {"format": "SafeTensor", "size": "full", "fp": "fp16"},
        },
        {
            "id": 7102,
            "name": "film_grain_fp8.safetensors",
            "type": "Model",
            "data": STYLE_LORA_FP8,
            "metadata": {"format": "SafeTensor", "size": "pruned", "fp": "fp8"},
        },
    ]
    server.add_model(
        710, "Film Grain Style", "LORA",
        [
            {"id": 7100, "name": "v2.0", "baseModel": "Flux.1 D", "files": style_files,
             "air": "urn:air:flux1:lora:civitai:710@7100",
             "trainedWords": ["filmgrain", "35mm photo"],
             "images": [{"id": 91, "data": RISKY_IMAGE, "nsfwLevel": 8},
                        {"id": 92, "data": SAFE_IMAGE, "nsfwLevel": 1}]},
            {"id": 7000, "name": "v1.0", "baseModel": "SDXL 1.0", "files": [
                {"id": 7001, "name": "film_grain_v1.safetensors", "data": STYLE_LORA_V1,
                 "primary": True, "metadata": {"format": "SafeTensor"}}]},
        ],
        licence=LICENCE, downloads=5400, likes=870,
    )  # fmt: skip
    server.add_model(
        720, "Film Noir Checkpoint", "Checkpoint",
        [{"id": 7200, "name": "v1", "baseModel": "SDXL 1.0", "files": [
            {"id": 7201, "name": "noir.safetensors", "data": CHECKPOINT, "primary": True,
             "metadata": {"format": "SafeTensor", "size": "full", "fp": "fp16"}}]}],
        downloads=120,
    )  # fmt: skip
    server.add_model(
        730, "Film Adult Style", "LORA",
        [{"id": 7300, "name": "v1", "files": [
            {"id": 7301, "name": "adult.safetensors", "data": STYLE_LORA_V1, "primary": True}],
          "images": [{"id": 93, "data": RISKY_IMAGE, "nsfwLevel": 16}]}],
        nsfw=True,
    )  # fmt: skip
    return server
