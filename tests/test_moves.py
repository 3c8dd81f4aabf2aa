"""Renaming and moving models inside the models root, their records with them, and every
refusal a careless or hostile request earns."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from peers.civitai import CivitaiServer
from peers.files import FileServer
from peers.models import LORA, safetensors_bytes
from served import STYLE_LORA, Client, ClientMaker, client_maker, host_gallery
from test_model_meta import fetched

from comfyui_phoenix.jobs.locks import FileLock
from comfyui_phoenix.jobs.store import StateStore
from comfyui_phoenix.settings import Settings

OTHER = safetensors_bytes(LORA, pad_to=30_000, seed=51)


@pytest.fixture
def serve(
    aiohttp_client: Any, make_settings: Callable[..., Settings], tmp_path: Path
) -> ClientMaker:
    return client_maker(aiohttp_client, make_settings, tmp_path)


@pytest.fixture
def civitai(civitai_server: CivitaiServer) -> CivitaiServer:
    return host_gallery(civitai_server)


async def listing(client: Client) -> dict[str, dict[str, Any]]:
    body = await (await client.get("/phoenix/models")).json()
    return {f"{folder}/{e['name']}": e for folder, es in body["folders"].items() for e in es}


async def moved(client: Client, path: str, **body: Any) -> Any:
    return await client.post(f"/phoenix/models/{path}/move", json=body)


async def test_a_model_is_renamed_then_moved_and_its_record_goes_with_it(
    serve: ClientMaker, civitai: CivitaiServer, models_dir: Path
) -> None:
    client = await serve(civitai_base_url=civitai.url)
    await fetched(client, ["civitai:710"])
    answer = await moved(client, "loras/film_grain.safetensors", to_name="styles/grain.safetensors")
    assert answer.status == 200, await answer.text()
    assert (await answer.json())["to"] == "loras/styles/grain.safetensors"
    assert not (models_dir / "loras" / "film_grain.safetensors").exists()
    assert (models_dir / "loras" / "styles" / "grain.safetensors").read_bytes() == STYLE_LORA
    entry = (await listing(client))["loras/styles/grain.safetensors"]
    assert entry["verified"] is True, "same bytes, same time: the record still vouches for it"
    assert entry["meta"]["model_name"] == "Film Grain Style"

    across = await moved(
        client,
        "loras/styles/grain.safetensors",
        to_folder="style_models",
        to_name="grain.safetensors",
    )
    assert across.status == 200, await across.text()
    entries = await listing(client)
    assert list(entries) == ["style_models/grain.safetensors"]
    assert entries["style_models/grain.safetensors"]["meta"]["trigger_words"] == [
        "filmgrain",
        "35mm photo",
    ]
    records = StateStore(models_dir / ".phoenix").records()
    assert [r["relpath"] for r in records] == ["style_models/grain.safetensors"]


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("loras/a.safetensors", {"to_name": "../../../outside.safetensors"}, 400, "climbs out"),
        ("loras/a.safetensors", {"to_name": "/etc/a.safetensors"}, 400, "absolute"),
        ("loras/a.safetensors", {"to_name": "a.txt"}, 400, "not a model file"),
        ("loras/a.safetensors", {"to_name": "b.safetensors"}, 409, "exists already"),
        ("loras/a.safetensors", {"to_name": "a.safetensors"}, 400, "already called"),
        ("loras/a.safetensors", {"to_folder": "custom_nodes", "to_name": "a.safetensors"}, 400, "not a ComfyUI model folder"),
        ("loras/a.safetensors", {"to_name": "we<ird>.safetensors"}, 400, "characters"),
        ("loras/absent.safetensors", {"to_name": "c.safetensors"}, 404, "There is no"),
        ("loras/notes.txt", {"to_name": "notes2.safetensors"}, 400, "not a model file"),
        ("loras/..%2F..%2Fsecret.safetensors", {"to_name": "c.safetensors"}, 400, "outside"),
    ],
)  # fmt: skip
async def test_moves_that_would_break_something_are_refused_and_nothing_moves(
    serve: ClientMaker,
    models_dir: Path,
    tmp_path: Path,
    path: str,
    body: dict[str, str],
    status: int,
    words: str,
) -> None:
    (models_dir / "loras").mkdir()
    (models_dir / "loras" / "a.safetensors").write_bytes(STYLE_LORA)
    (models_dir / "loras" / "b.safetensors").write_bytes(OTHER)
    (models_dir / "loras" / "notes.txt").write_text("mine")
    (tmp_path / "secret.safetensors").write_bytes(b"keep")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    client = await serve()
    answer = await moved(client, path, **body)
    payload = await answer.json()
    assert answer.status == status, payload
    assert words in payload["detail"] and payload["hint"]
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert after == before


async def test_only_trusted_clients_may_move(serve: ClientMaker, models_dir: Path) -> None:
    (models_dir / "loras").mkdir()
    (models_dir / "loras" / "a.safetensors").write_bytes(STYLE_LORA)
    client = await serve(api_token="phoenix-api-token-123")
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    refused = await client.post(
        "/phoenix/models/loras/a.safetensors/move",
        json={"to_name": "c.safetensors"},
        headers=forwarded,
    )
    assert refused.status == 403 and (models_dir / "loras" / "a.safetensors").exists()
    allowed = await client.post(
        "/phoenix/models/loras/a.safetensors/move",
        json={"to_name": "c.safetensors"},
        headers={**forwarded, "Authorization": "Bearer phoenix-api-token-123"},
    )
    assert allowed.status == 200 and (models_dir / "loras" / "c.safetensors").exists()


async def test_a_file_that_is_being_downloaded_does_not_move(
    serve: ClientMaker, file_server: FileServer, models_dir: Path
) -> None:
    (models_dir / "loras").mkdir()
    (models_dir / "loras" / "a.safetensors").write_bytes(STYLE_LORA)
    file_server.add("slow.safetensors", safetensors_bytes(LORA, pad_to=3_000_000, seed=52))
    file_server.per_connection_rate = 300_000
    client = await serve()
    link = f"{file_server.base_url}/files/slow.safetensors"  # type: ignore[attr-defined]
    answer = await client.post("/phoenix/downloads", json={"refs": [link]})
    (job,) = (await answer.json())["jobs"]
    onto = await moved(client, "loras/a.safetensors", to_name="slow.safetensors")
    assert onto.status == 409 and "being downloaded" in (await onto.json())["detail"]
    await client.delete(f"/phoenix/downloads/{job['id']}")

    # Another process sharing the volume holds the file's download lock.
    lock = FileLock(StateStore(models_dir / ".phoenix").lock_path("loras/a.safetensors"))
    assert lock.try_acquire()
    try:
        held = await moved(client, "loras/a.safetensors", to_name="d.safetensors")
        assert held.status == 409
    finally:
        lock.release()
    assert (models_dir / "loras" / "a.safetensors").read_bytes() == STYLE_LORA
    assert (await moved(client, "loras/a.safetensors", to_name="d.safetensors")).status == 200
