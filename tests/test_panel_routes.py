"""What the panel asks of the routes: a folder per file, files that are not models, loaders,
a bounded downloads list that stays cleared, and tokens checked against their accounts.

The real route factory, served by aiohttp, against the local peers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from peers.civitai import DEFAULT_TOKEN, CivitaiServer
from peers.files import FileServer
from peers.flux_repos import host_public_flux
from peers.hf import HFServer
from peers.models import (
    LORA,
    SD_CHECKPOINT,
    safetensors_bytes,
)

from comfyui_phoenix.jobs import manager as manager_module
from comfyui_phoenix.loaders import loader_for
from comfyui_phoenix.plan import PlannedFile
from comfyui_phoenix.settings import Settings
from comfyui_phoenix.surfaces.app import PhoenixApp
from comfyui_phoenix.surfaces.routes import register

HF_TOKEN_OK = "hf_panelAccountToken0123456789abcd"
FLUX_DEV = "black-forest-labs/FLUX.1-dev"
ClientMaker = Callable[..., Awaitable[tuple[TestClient[Any, Any], PhoenixApp]]]


@pytest.fixture
def serve(aiohttp_client: Any, make_settings: Callable[..., Settings], tmp_path: Path) -> Any:
    async def start(**overrides: Any) -> tuple[TestClient[Any, Any], PhoenixApp]:
        app = web.Application()
        routes = web.RouteTableDef()
        register(routes)
        app.add_routes(routes)
        phoenix = PhoenixApp(
            make_settings(engine="python", **overrides),
            tokens_file=tmp_path / "user" / "tokens.json",
            preload=False,
        )
        phoenix.attach(app)
        client: TestClient[Any, Any] = await aiohttp_client(app)
        return client, phoenix

    return start


def _link(server: FileServer, name: str) -> str:
    return f"{server.base_url}/files/{name}"  # type: ignore[attr-defined]


async def _post(client: TestClient[Any, Any], path: str, body: Any) -> Any:
    return await (await client.post(path, json=body)).json()


async def _settled(client: TestClient[Any, Any]) -> list[dict[str, Any]]:
    for _ in range(400):
        jobs: list[dict[str, Any]] = (await (await client.get("/phoenix/downloads")).json())["jobs"]
        if all(j["state"] in ("done", "failed", "cancelled") for j in jobs):
            return jobs
        await asyncio.sleep(0.05)
    raise AssertionError(f"downloads still running: {jobs}")


# -- "Save to" belongs to one file ---------------------------------------------------------------
async def test_a_folder_chosen_for_one_file_moves_that_file_only(
    serve: ClientMaker, hf_server: HFServer, models_dir: Path, tmp_path: Path
) -> None:
    catalog = host_public_flux(hf_server, tmp_path / "catalog")
    client, _ = await serve(hf_endpoint=hf_server.url, t5="fp16", flux_catalog=catalog)
    plan = await _post(client, "/phoenix/resolve", {"refs": [FLUX_DEV]})
    planned = {f["filename"]: f for f in plan["files"]}
    assert {n: f["folder"] for n, f in planned.items()} == {
        "flux1-dev.safetensors": "diffusion_models",
        "ae.safetensors": "vae",
        "clip_l.safetensors": "text_encoders",
        "t5xxl_fp16.safetensors": "text_encoders",
    }
    assert all(f["warning"] is None for f in plan["files"])

    choice = {planned["ae.safetensors"]["url"]: "vae/flux"}
    moved = await _post(client, "/phoenix/resolve", {"refs": [FLUX_DEV], "folders": choice})
    relpaths = sorted(f["relpath"] for f in moved["files"])
    assert relpaths == [
        "diffusion_models/flux1-dev.safetensors",
        "text_encoders/clip_l.safetensors",
        "text_encoders/t5xxl_fp16.safetensors",
        "vae/flux/ae.safetensors",
    ]

    astray = {planned["flux1-dev.safetensors"]["url"]: "loras"}
    answer = await _post(client, "/phoenix/downloads", {"refs": [FLUX_DEV], "folders": astray})
    transformer = next(f for f in answer["files"] if f["filename"] == "flux1-dev.safetensors")
    assert transformer["relpath"] == "loras/flux1-dev.safetensors"
    assert "UNETLoader" in transformer["warning"] and "diffusion_models/" in transformer["warning"]
    assert transformer["loader"] is None, "no loader lists it there"
    await _settled(client)
    assert (models_dir / "loras" / "flux1-dev.safetensors").is_file()
    assert (models_dir / "vae" / "ae.safetensors").is_file()
    assert len(list((models_dir / "text_encoders").iterdir())) == 2


async def test_each_file_names_the_loader_that_loads_it(
    serve: ClientMaker, hf_server: HFServer, file_server: FileServer, tmp_path: Path
) -> None:
    catalog = host_public_flux(hf_server, tmp_path / "catalog")
    file_server.add("base.safetensors", safetensors_bytes(SD_CHECKPOINT, seed=5))
    client, _ = await serve(hf_endpoint=hf_server.url, t5="fp16", flux_catalog=catalog)
    plan = await _post(
        client, "/phoenix/resolve", {"refs": [FLUX_DEV, _link(file_server, "base.safetensors")]}
    )
    loaders = {f["filename"]: f["loader"] for f in plan["files"]}
    assert loaders["flux1-dev.safetensors"]["node"] == "UNETLoader"
    assert loaders["ae.safetensors"]["node"] == "VAELoader"
    assert loaders["base.safetensors"]["node"] == "CheckpointLoaderSimple"
    t5, clip_l = loaders["t5xxl_fp16.safetensors"], loaders["clip_l.safetensors"]
    # FLUX's encoders are one DualCLIPLoader of type flux, T5 first, not two SD CLIPLoaders.
    assert (t5["node"], t5["input"], clip_l["node"], clip_l["input"]) == (
        "DualCLIPLoader",
        "clip_name1",
        "DualCLIPLoader",
        "clip_name2",
    )
    assert t5["options"] == clip_l["options"] == {"type": "flux"}
    assert t5["group"] is not None and t5["group"] == clip_l["group"]


def test_a_file_no_source_speaks_for_loads_with_its_folders_core_loader() -> None:
    def loader(folder: str, name: str) -> str | None:
        found = loader_for(PlannedFile("ref", "url", f"https://x/{name}", name, folder))
        return found.node if found is not None else None

    assert loader("text_encoders", "umt5_xxl_fp8.safetensors") == "CLIPLoader"
    assert loader("checkpoints", "sd15.ckpt") == "CheckpointLoaderSimple"
    assert loader("loras", "style.safetensors") == "LoraLoader"
    assert loader("diffusion_models", "flux1-dev-Q4_0.gguf") is None, "GGUF needs ComfyUI-GGUF"
    assert loader("embeddings", "bad-hands.pt") is None, "embeddings go in the prompt"


# -- files that are not models -------------------------------------------------------------------
async def test_a_file_that_is_not_a_model_is_refused_before_any_byte(
    serve: ClientMaker, file_server: FileServer, civitai_server: CivitaiServer, models_dir: Path
) -> None:
    file_server.add("notes.txt", b"remember the milk\n")
    civitai_server.add_model(
        31,
        "Prompt notes",
        "Checkpoint",
        [{"id": 310, "files": [{"id": 1, "name": "notes.txt", "data": b"x", "primary": True}]}],
    )
    client, _ = await serve(civitai_base_url=civitai_server.url)
    for ref in (_link(file_server, "notes.txt"), "civitai:31"):
        response = await client.post("/phoenix/downloads", json={"refs": [ref]})
        body = await response.json()
        assert response.status == 422, body
        assert body["jobs"] == [] and body["files"] == []
        assert "notes.txt is not a model file" in body["detail"], body
        assert ".safetensors" in body["hint"]
    assert list(models_dir.rglob("notes.txt")) == []


async def test_the_library_lists_and_deletes_a_file_phoenix_placed_whatever_its_name(
    serve: ClientMaker, models_dir: Path
) -> None:
    client, phoenix = await serve()
    placed = models_dir / "checkpoints" / "notes.txt"
    placed.parent.mkdir()
    placed.write_text("placed before Phoenix refused such files\n")
    stray = models_dir / "checkpoints" / "readme.txt"
    stray.write_text("not Phoenix's\n")
    file = PlannedFile("https://example.com/notes.txt", "url", "https://example.com/notes.txt",
                       "notes.txt", "checkpoints")  # fmt: skip
    phoenix.service.verified.record(file, placed, None)

    listing = await (await client.get("/phoenix/models")).json()
    assert [e["name"] for e in listing["folders"]["checkpoints"]] == ["notes.txt"]
    refused = await client.delete("/phoenix/models/checkpoints/readme.txt")
    assert refused.status == 400 and stray.exists()
    deleted = await client.delete("/phoenix/models/checkpoints/notes.txt")
    assert deleted.status == 200 and not placed.exists()
    assert "checkpoints" not in (await (await client.get("/phoenix/models")).json())["folders"]


# -- the downloads list ----------------------------------------------------------------------------
async def test_a_file_asked_for_again_is_the_same_row(
    serve: ClientMaker, file_server: FileServer
) -> None:
    file_server.add("style.safetensors", safetensors_bytes(LORA, seed=6))
    client, _ = await serve()
    ref = _link(file_server, "style.safetensors")
    first = (await _post(client, "/phoenix/downloads", {"refs": [ref]}))["jobs"][0]
    await _settled(client)
    for _ in range(5):  # a node run, five times
        again = (await _post(client, "/phoenix/downloads", {"refs": [ref]}))["jobs"][0]
        assert again["id"] == first["id"] and again["skipped"] is True
    jobs = await _settled(client)
    assert [j["id"] for j in jobs] == [first["id"]]
    assert jobs[0]["asked"] > first["asked"]


async def test_finished_rows_are_capped_and_clear_finished_forgets_them_for_every_panel(
    serve: ClientMaker, file_server: FileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(manager_module, "MAX_FINISHED_JOBS", 3)
    client, phoenix = await serve()
    events = phoenix.service.events.subscribe()
    for index in range(5):
        name = f"lora-{index}.safetensors"
        file_server.add(name, safetensors_bytes(LORA, seed=index))
        await _post(client, "/phoenix/downloads", {"refs": [_link(file_server, name)]})
        await _settled(client)
    jobs = await _settled(client)
    assert [j["filename"] for j in jobs] == [f"lora-{i}.safetensors" for i in (2, 3, 4)]

    cleared = await _post(client, "/phoenix/downloads/clear", {})
    assert sorted(cleared["cleared"]) == sorted(j["id"] for j in jobs)
    assert (await (await client.get("/phoenix/downloads")).json())["jobs"] == []
    forgotten: list[str] = []
    while not events.queue.empty():
        kind, data = events.queue.get_nowait()
        if kind == "forgotten":
            forgotten += data["ids"]
    assert set(cleared["cleared"]) <= set(forgotten)
    form = await client.post("/phoenix/downloads/clear", data="x=1")
    assert form.status == 415, "a cross-site form post cannot clear the list"


# -- tokens ------------------------------------------------------------------------------------------
async def test_saved_tokens_are_checked_against_their_accounts(
    serve: ClientMaker, hf_server: HFServer, civitai_server: CivitaiServer
) -> None:
    hf_server.valid_tokens.add(HF_TOKEN_OK)
    civitai_server.usernames[DEFAULT_TOKEN] = "ada-civitai"
    client, _ = await serve(hf_endpoint=hf_server.url, civitai_base_url=civitai_server.url)
    assert await _post(client, "/phoenix/tokens/check", {}) == {
        "huggingface": None,
        "civitai": None,
    }
    await client.put("/phoenix/tokens", json={"huggingface": HF_TOKEN_OK, "civitai": DEFAULT_TOKEN})
    checks = await _post(client, "/phoenix/tokens/check", {})
    assert checks["huggingface"] == {"ok": True, "account": "phoenix-tester"}
    assert checks["civitai"] == {"ok": True, "account": "ada-civitai"}
    whoami = [r for r in hf_server.requests if r.path == "/api/whoami-v2"]
    assert whoami and whoami[-1].headers["Authorization"] == f"Bearer {HF_TOKEN_OK}"

    await client.put(
        "/phoenix/tokens", json={"huggingface": "hf_typo0123456789", "civitai": "wrong-key-123456"}
    )
    checks = await _post(client, "/phoenix/tokens/check", {})
    hf, civitai = checks["huggingface"], checks["civitai"]
    assert hf["ok"] is False and hf["error"] == "auth_required"
    assert hf["detail"] == "HuggingFace refused the HuggingFace token saved in the panel."
    assert "Tokens section" in hf["hint"] and "HF_TOKEN" not in hf["hint"]
    assert civitai["ok"] is False and "saved in the panel" in civitai["detail"]
    assert "Tokens section" in civitai["hint"] and "CIVITAI_TOKEN" not in civitai["hint"]
    assert "wrong-key-123456" not in str(checks) and "hf_typo" not in str(checks)


async def test_a_token_fix_names_the_panel_when_the_token_was_saved_there(
    serve: ClientMaker, hf_server: HFServer
) -> None:
    hf_server.valid_tokens.add(HF_TOKEN_OK)
    hf_server.add_repo(
        "acme/gated-model", {"model.safetensors": safetensors_bytes(LORA, seed=8)}, gated=True
    )
    client, _ = await serve(hf_endpoint=hf_server.url, hf_token=HF_TOKEN_OK)
    from_env = await _post(client, "/phoenix/resolve", {"refs": ["acme/gated-model"]})
    assert "HF_TOKEN" in from_env["problems"][0]["detail"]

    await client.put("/phoenix/tokens", json={"huggingface": HF_TOKEN_OK})
    plan = await _post(client, "/phoenix/resolve", {"refs": ["acme/gated-model"]})
    (problem,) = plan["problems"]
    assert problem["error"] == "gated"
    assert "the panel's HuggingFace token" in problem["detail"]
    assert "HF_TOKEN" not in problem["detail"] + problem["hint"]
