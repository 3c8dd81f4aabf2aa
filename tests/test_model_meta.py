"""A model's description beside its file: names, version, base model, trigger words, licence
and a preview that the browser loads from Phoenix, never from the source's host."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from peers.civitai import CivitaiServer
from peers.hf import HFServer
from peers.images import png_bytes
from peers.models import LORA, safetensors_bytes
from served import SAFE_IMAGE, Client, ClientMaker, client_maker, host_gallery

from comfyui_phoenix.net.http import make_session
from comfyui_phoenix.net.policy import HostPolicy
from comfyui_phoenix.security.secrets import Tokens
from comfyui_phoenix.settings import Settings
from comfyui_phoenix.sources import previews as previews_module
from comfyui_phoenix.sources.base import SourceContext
from comfyui_phoenix.sources.previews import Previews

HUB_LORA = safetensors_bytes(LORA, pad_to=120_000, seed=31)
EXAMPLE = png_bytes(12, 8, (10, 20, 200))
CARD = {
    "license": "apache-2.0",
    "base_model": "black-forest-labs/FLUX.1-dev",
    "instance_prompt": "in the style of acme",
    "widget": [{"text": "a cat", "output": {"url": "images/example.png"}}],
}


@pytest.fixture
def serve(
    aiohttp_client: Any, make_settings: Callable[..., Settings], tmp_path: Path
) -> ClientMaker:
    return client_maker(aiohttp_client, make_settings, tmp_path)


@pytest.fixture
def civitai(civitai_server: CivitaiServer) -> CivitaiServer:
    return host_gallery(civitai_server)


async def fetched(client: Client, refs: list[str]) -> list[dict[str, Any]]:
    """Download ``refs`` through the routes and wait until every job has finished."""
    answer = await client.post("/phoenix/downloads", json={"refs": refs})
    assert answer.status == 202, await answer.text()
    jobs = (await answer.json())["jobs"]
    finished = []
    for job in jobs:
        for _ in range(400):
            job = await (await client.get(f"/phoenix/downloads/{job['id']}")).json()
            if job["state"] in ("done", "failed"):
                break
            await asyncio.sleep(0.05)
        assert job["state"] == "done", job["error"]
        finished.append(job)
    return finished


async def library_entry(client: Client, folder: str, name: str) -> dict[str, Any]:
    listing = await (await client.get("/phoenix/models")).json()
    entries = {e["name"]: e for e in listing["folders"].get(folder, [])}
    return dict(entries[name])


async def test_a_civitai_download_keeps_its_description_and_shows_it_in_the_library(
    serve: ClientMaker, civitai: CivitaiServer, models_dir: Path
) -> None:
    client = await serve(civitai_base_url=civitai.url)
    await fetched(client, ["civitai:710"])
    entry = await library_entry(client, "loras", "film_grain.safetensors")
    meta = entry["meta"]
    assert meta["model_name"] == "Film Grain Style"
    assert (meta["version_name"], meta["base_model"]) == ("v2.0", "Flux.1 D")
    assert meta["trigger_words"] == ["filmgrain", "35mm photo"]
    assert meta["licence"] == "commercial use: Image, credit the creator"
    assert meta["page"] == f"{civitai.url}/models/710?modelVersionId=7100"
    assert "preview_url" not in meta, "the browser never gets the image host's address"
    assert meta["preview"].startswith("/phoenix/preview?src=")
    # Beside the file: the record under the models root says the same after a restart.
    records = [json.loads(p.read_text()) for p in (models_dir / ".phoenix/records").glob("*.json")]
    (record,) = [r for r in records if r["relpath"] == "loras/film_grain.safetensors"]
    assert record["meta"]["trigger_words"] == ["filmgrain", "35mm photo"]


async def test_the_preview_comes_from_phoenix_small_safe_and_fetched_once(
    serve: ClientMaker, civitai: CivitaiServer, models_dir: Path
) -> None:
    client = await serve(civitai_base_url=civitai.url)
    await fetched(client, ["civitai:710"])
    preview = (await library_entry(client, "loras", "film_grain.safetensors"))["meta"]["preview"]
    first = await client.get(preview)
    assert first.status == 200 and first.headers["Content-Type"] == "image/png"
    assert await first.read() == SAFE_IMAGE, "the gallery's first image is NSFW: the next one"
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    (asked,) = civitai.image_requests[-1:]
    assert "/width=450/" in asked.path, "the small variant, not the original"
    kept = list((models_dir / ".phoenix" / "previews").glob("*.png"))
    assert len(kept) == 1 and kept[0].read_bytes() == SAFE_IMAGE
    image_requests = len(civitai.image_requests)
    again = await client.get(preview)
    assert await again.read() == SAFE_IMAGE
    assert len(civitai.image_requests) == image_requests, "served from the kept copy"


@pytest.mark.parametrize(
    "query",
    [
        "src=http%3A%2F%2F127.0.0.1%3A1%2Fsecret&sig=0123456789abcdef0123456789abcdef",
        "src=http%3A%2F%2F127.0.0.1%3A1%2Fsecret",
        "sig=0123",
    ],
)
async def test_the_preview_route_fetches_only_what_phoenix_signed(
    serve: ClientMaker, civitai: CivitaiServer, query: str
) -> None:
    client = await serve(civitai_base_url=civitai.url)
    refused = await client.get(f"/phoenix/preview?{query}")
    assert refused.status == 404
    assert (await refused.json())["error"] == "not_found"
    assert civitai.image_requests == []


async def test_the_plan_describes_the_model_before_anything_is_downloaded(
    serve: ClientMaker, civitai: CivitaiServer
) -> None:
    client = await serve(civitai_base_url=civitai.url)
    plan = await (await client.post("/phoenix/resolve", json={"refs": ["civitai:710"]})).json()
    (file,) = plan["files"]
    described = file["describes"]
    assert described["model_name"] == "Film Grain Style"
    assert described["trigger_words"] == ["filmgrain", "35mm photo"]
    assert described["preview"].startswith("/phoenix/preview?")
    assert civitai.image_requests == [], "no image is fetched until the panel shows it"


async def test_a_hub_download_keeps_the_cards_licence_base_model_trigger_word_and_example(
    serve: ClientMaker, hf_server: HFServer
) -> None:
    hf_server.add_repo(
        "acme/film-lora",
        {"lora.safetensors": HUB_LORA, "images/example.png": EXAMPLE},
        card=CARD,
    )
    client = await serve(hf_endpoint=hf_server.url)
    await fetched(client, ["acme/film-lora/lora.safetensors"])
    meta = (await library_entry(client, "loras", "lora.safetensors"))["meta"]
    assert meta["model_name"] == "acme/film-lora"
    assert meta["licence"] == "apache-2.0"
    assert meta["base_model"] == "black-forest-labs/FLUX.1-dev"
    assert meta["trigger_words"] == ["in the style of acme"]
    image = await client.get(meta["preview"])
    assert image.status == 200 and await image.read() == EXAMPLE


async def test_a_preview_that_is_no_image_is_refused_and_not_kept(
    serve: ClientMaker, hf_server: HFServer, models_dir: Path
) -> None:
    card = {**CARD, "widget": [{"output": {"url": "images/example.png"}}]}
    page = b"<!DOCTYPE html><script>alert(1)</script>"
    hf_server.add_repo(
        "acme/odd-lora", {"lora.safetensors": HUB_LORA, "images/example.png": page}, card=card
    )
    client = await serve(hf_endpoint=hf_server.url)
    await fetched(client, ["acme/odd-lora/lora.safetensors"])
    meta = (await library_entry(client, "loras", "lora.safetensors"))["meta"]
    answer = await client.get(meta["preview"])
    assert answer.status == 502
    assert "not an image" in (await answer.json())["detail"]
    assert not list((models_dir / ".phoenix").glob("previews/*"))


async def test_a_pinned_version_is_described_with_the_model_s_licence_too(
    serve: ClientMaker, civitai: CivitaiServer
) -> None:
    client = await serve(civitai_base_url=civitai.url)
    pinned = "urn:air:flux1:lora:civitai:710@7100+7102"
    plan = await (await client.post("/phoenix/resolve", json={"refs": [pinned]})).json()
    (file,) = plan["files"]
    assert file["filename"] == "film_grain_fp8.safetensors"
    assert file["describes"]["licence"] == "commercial use: Image, credit the creator"
    assert file["describes"]["version_name"] == "v2.0"


async def test_kept_previews_are_capped_and_the_oldest_come_back_when_shown(
    civitai: CivitaiServer,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(previews_module, "MAX_KEPT", 2)
    settings = make_settings(civitai_base_url=civitai.url)
    policy = HostPolicy(settings)
    async with make_session(policy) as session:
        previews = Previews(SourceContext(settings, session, policy, Tokens()), tmp_path / "kept")
        images = [i for m in civitai.models.values() for v in m.versions for i in v.images]
        urls = [civitai.image_url(image) for image in images[:3]]
        for url in urls:
            await previews.image(url)
            os.utime(next((tmp_path / "kept").glob(f"{_name(url)}.*")), (1, 1 + urls.index(url)))
        assert sorted(p.stem for p in (tmp_path / "kept").iterdir()) == sorted(
            _name(u) for u in urls[1:]
        )
        asked = len(civitai.image_requests)
        await previews.image(urls[0])
        assert len(civitai.image_requests) > asked, "the oldest copy went, and is fetched again"


def _name(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:32]
