"""Metadata by hash for models Phoenix did not download: hashed, asked of CivitAI, remembered."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from peers.civitai import CivitaiServer
from peers.models import random_bytes
from served import STYLE_LORA, Client, ClientMaker, client_maker, host_gallery

from comfyui_phoenix.settings import Settings

MINE = random_bytes(70_000, seed=5)


@pytest.fixture
def serve(
    aiohttp_client: Any, make_settings: Callable[..., Settings], tmp_path: Path
) -> ClientMaker:
    return client_maker(aiohttp_client, make_settings, tmp_path)


@pytest.fixture
def civitai(civitai_server: CivitaiServer) -> CivitaiServer:
    return host_gallery(civitai_server)


@pytest.fixture
def copied(models_dir: Path) -> Path:
    """A LoRA copied in by hand, and a model CivitAI has never seen."""
    (models_dir / "loras").mkdir()
    (models_dir / "loras" / "grain-copy.safetensors").write_bytes(STYLE_LORA)
    (models_dir / "checkpoints").mkdir()
    (models_dir / "checkpoints" / "mine.safetensors").write_bytes(MINE)
    return models_dir


def by_hash_requests(server: CivitaiServer) -> list[str]:
    prefix = "/api/v1/model-versions/by-hash/"
    return [r.path[len(prefix) :] for r in server.api_requests if r.path.startswith(prefix)]


async def finished(client: Client) -> dict[str, Any]:
    for _ in range(400):
        progress: dict[str, Any] = await (await client.get("/phoenix/lookup")).json()
        if progress["state"] == "done":
            return progress
        await asyncio.sleep(0.05)
    raise AssertionError(f"the lookup stayed {progress['state']}")


async def models(client: Client) -> dict[str, dict[str, Any]]:
    listing = await (await client.get("/phoenix/models")).json()
    return {f"{folder}/{e['name']}": e for folder, es in listing["folders"].items() for e in es}


async def test_all_unknown_files_are_hashed_looked_up_and_described(
    serve: ClientMaker, civitai: CivitaiServer, copied: Path
) -> None:
    client = await serve(civitai_base_url=civitai.url)
    stream = await client.get("/phoenix/events")
    started = await client.post("/phoenix/lookup", json={"all": True})
    assert started.status == 202
    assert (await started.json())["total"] == 2
    progress = await finished(client)
    assert progress["found"] == ["loras/grain-copy.safetensors"]
    assert progress["unknown"] == ["checkpoints/mine.safetensors"]
    assert progress["hashed"] == len(STYLE_LORA) + len(MINE)
    assert sorted(by_hash_requests(civitai)) == sorted(
        hashlib.sha256(data).hexdigest().upper() for data in (STYLE_LORA, MINE)
    )

    entries = await models(client)
    grain = entries["loras/grain-copy.safetensors"]
    assert grain["meta"]["model_name"] == "Film Grain Style"
    assert grain["meta"]["trigger_words"] == ["filmgrain", "35mm photo"]
    assert grain["meta"]["licence"] == "commercial use: Image, credit the creator"
    assert grain["meta"]["lookup"]["found"] is True
    assert grain["verified"] is False, "looked up, not downloaded by Phoenix"
    assert grain["ref"] == "urn:air:flux1:lora:civitai:710@7100+7101"
    assert grain["sha256"] == hashlib.sha256(STYLE_LORA).hexdigest()
    assert entries["checkpoints/mine.safetensors"]["meta"]["lookup"]["found"] is False

    kinds = []
    for _ in range(200):
        line = (await asyncio.wait_for(stream.content.readline(), 10)).decode()
        last = kinds[-1] if kinds else ""
        if line.startswith("data: ") and last == "lookup" and '"state":"done"' in line:
            break
        if line.startswith("event: "):
            kinds.append(line[7:].strip())
    assert "lookup" in kinds, "progress is pushed to the panel"
    stream.close()

    again = await client.post("/phoenix/lookup", json={"all": True})
    assert (await again.json())["total"] == 0, "known files are not hashed again"
    assert len(by_hash_requests(civitai)) == 2


async def test_one_file_is_looked_up_and_only_trusted_clients_may(
    serve: ClientMaker, civitai: CivitaiServer, copied: Path
) -> None:
    client = await serve(civitai_base_url=civitai.url, api_token="phoenix-api-token-123")
    body = {"models": ["loras/grain-copy.safetensors"]}
    refused = await client.post(
        "/phoenix/lookup", json=body, headers={"X-Forwarded-For": "1.2.3.4"}
    )
    assert refused.status == 403 and by_hash_requests(civitai) == []
    started = await client.post("/phoenix/lookup", json=body)
    assert started.status == 202 and (await started.json())["total"] == 1
    assert (await finished(client))["found"] == ["loras/grain-copy.safetensors"]
    assert (await models(client))["checkpoints/mine.safetensors"]["meta"] == {}, "not asked"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"models": ["loras/../../outside.safetensors"]}, 400),
        ({"models": ["custom_nodes/x.safetensors"]}, 400),
        ({"models": ["loras/notes.txt"]}, 400),
        ({"models": ["loras/absent.safetensors"]}, 404),
        ({"models": ["loras/grain-copy.safetensors"], "all": True}, 400),
        ({}, 400),
    ],
)
async def test_bad_lookups_are_refused_in_one_sentence(
    serve: ClientMaker, civitai: CivitaiServer, copied: Path, body: dict[str, Any], status: int
) -> None:
    client = await serve(civitai_base_url=civitai.url)
    answer = await client.post("/phoenix/lookup", json=body)
    payload = await answer.json()
    assert answer.status == status and payload["detail"] and payload["hint"]
    assert by_hash_requests(civitai) == []


async def test_a_lookup_while_one_runs_is_refused_and_a_refusal_from_civitai_is_said(
    serve: ClientMaker, civitai: CivitaiServer, copied: Path
) -> None:
    client = await serve(civitai_base_url=civitai.url)
    civitai.fail_next(503, times=2, path_prefix="/api/v1/model-versions/by-hash/")
    civitai.fail_next(400, times=1, path_prefix="/api/v1/model-versions/by-hash/")
    first = await client.post("/phoenix/lookup", json={"all": True})
    assert first.status == 202
    second = await client.post("/phoenix/lookup", json={"all": True})
    assert second.status == 409 and "running already" in (await second.json())["detail"]
    progress = await finished(client)
    assert len(progress["failed"]) == 1 and "400" in progress["failed"][0]["detail"]
    assert progress["done"] == 2
