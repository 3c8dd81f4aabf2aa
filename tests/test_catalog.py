"""Search of CivitAI and HuggingFace, and a model's versions and files to pick from, through
the real routes against the local CivitAI and hub."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from conftest import CANARY_CIVITAI
from peers.civitai import CivitaiServer
from peers.hf import HFServer
from peers.models import FLUX_VAE, LORA, safetensors_bytes
from served import STYLE_LORA_FP8, ClientMaker, client_maker, host_gallery

from comfyui_phoenix.settings import Settings

HUB_LORA = safetensors_bytes(LORA, pad_to=60_000, seed=41)
HUB_VAE = safetensors_bytes(FLUX_VAE, pad_to=80_000, seed=42)


@pytest.fixture
def serve(
    aiohttp_client: Any, make_settings: Callable[..., Settings], tmp_path: Path
) -> ClientMaker:
    return client_maker(aiohttp_client, make_settings, tmp_path)


@pytest.fixture
def civitai(civitai_server: CivitaiServer) -> CivitaiServer:
    civitai_server.tokens.add(CANARY_CIVITAI)
    return host_gallery(civitai_server)


@pytest.fixture
def hub(hf_server: HFServer) -> HFServer:
    hf_server.add_repo(
        "acme/film-lora",
        {"film.safetensors": HUB_LORA},
        card={"license": "apache-2.0", "base_model": "black-forest-labs/FLUX.1-dev"},
        tags=("lora", "diffusers"),
        downloads=50,
        likes=7,
    )
    hf_server.add_repo(
        "acme/film-vae",
        {
            "ae.safetensors": HUB_VAE,
            "extra/small.gguf": HUB_LORA,
            "model_index.json": b"{}",
            "vae/diffusion_pytorch_model.safetensors": HUB_VAE,
            "README.md": b"# film vae",
        },
        card={"license": "other", "license_name": "flux-1-dev-non-commercial-license"},
        downloads=500,
    )
    hf_server.add_repo(
        "acme/film-nsfw", {"x.safetensors": HUB_LORA}, tags=("not-for-all-audiences",)
    )
    return hf_server


def searched(server: CivitaiServer) -> dict[str, list[str]]:
    (request,) = [r for r in server.api_requests if r.path == "/api/v1/models"][-1:]
    return parse_qs(request.query)


async def test_civitai_search_describes_each_model_and_hides_nsfw_ones(
    serve: ClientMaker, civitai: CivitaiServer
) -> None:
    client = await serve(civitai_base_url=civitai.url)
    answer = await client.get("/phoenix/search", params={"source": "civitai", "q": "film"})
    body = await answer.json()
    assert answer.status == 200, body
    assert [r["name"] for r in body["results"]] == ["Film Noir Checkpoint", "Film Grain Style"]
    style = body["results"][1]
    assert (style["ref"], style["downloads"], style["likes"]) == ("civitai:710", 5400, 870)
    assert style["meta"]["base_model"] == "Flux.1 D"
    assert style["meta"]["model_type"] == "LORA"
    assert style["meta"]["preview"].startswith("/phoenix/preview?")
    assert searched(civitai)["nsfw"] == ["false"]
    assert civitai.image_requests == [], "previews load when shown, through Phoenix"

    shown = await client.get("/phoenix/search", params={"q": "film", "nsfw": "1"})
    names = {r["name"]: r for r in (await shown.json())["results"]}
    assert names["Film Adult Style"]["meta"]["nsfw"] is True
    assert searched(civitai)["nsfw"] == ["true"]


async def test_civitai_search_by_type_with_the_token_and_through_a_busy_moment(
    serve: ClientMaker, civitai: CivitaiServer
) -> None:
    client = await serve(civitai_base_url=civitai.url, civitai_token=CANARY_CIVITAI)
    civitai.fail_next(503, path_prefix="/api/v1/models")
    answer = await client.get("/phoenix/search", params={"q": "film", "type": "lora"})
    body = await answer.json()
    assert answer.status == 200, body
    assert [r["name"] for r in body["results"]] == ["Film Grain Style"]
    assert searched(civitai)["types"] == ["LORA"]
    asked = [r for r in civitai.api_requests if r.path == "/api/v1/models"]
    assert len(asked) == 2, "the 503 was retried"
    assert asked[-1].headers["Authorization"] == f"Bearer {CANARY_CIVITAI}"
    assert CANARY_CIVITAI not in str(body)


async def test_civitai_search_pages_with_the_cursor(
    serve: ClientMaker, civitai: CivitaiServer
) -> None:
    for number in range(25):
        file = {"id": 90000 + number, "name": f"pixel{number}.safetensors", "data": b"x"}
        civitai.add_model(
            900 + number, f"Pixel {number}", "LORA", [{"id": 9000 + number, "files": [file]}]
        )
    client = await serve(civitai_base_url=civitai.url)
    first = await (await client.get("/phoenix/search", params={"q": "pixel"})).json()
    assert len(first["results"]) == 20 and first["next"] == "905"
    second = await (
        await client.get("/phoenix/search", params={"q": "pixel", "cursor": first["next"]})
    ).json()
    assert [r["name"] for r in second["results"]] == [f"Pixel {n}" for n in range(4, -1, -1)]
    assert second["next"] is None


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"q": ""}, "Type what to search for"),
        ({"q": "film", "type": "Poses2"}, "no model type"),
        ({"q": "film", "source": "example"}, "cannot search"),
        ({"q": "film", "cursor": "../x"}, "cursor"),
    ],
)
async def test_bad_searches_are_refused_in_one_sentence(
    serve: ClientMaker, civitai: CivitaiServer, params: dict[str, str], words: str
) -> None:
    client = await serve(civitai_base_url=civitai.url)
    answer = await client.get("/phoenix/search", params=params)
    body = await answer.json()
    assert answer.status == 400 and words in body["detail"] and body["hint"]


async def test_hub_search_goes_through_huggingface_hub_and_reads_the_tags(
    serve: ClientMaker, hub: HFServer
) -> None:
    client = await serve(hf_endpoint=hub.url)
    answer = await client.get("/phoenix/search", params={"source": "huggingface", "q": "film"})
    body = await answer.json()
    assert answer.status == 200, body
    assert [r["ref"] for r in body["results"]] == ["hf:acme/film-vae", "hf:acme/film-lora"]
    lora = body["results"][1]
    assert lora["meta"]["licence"] == "apache-2.0"
    assert lora["meta"]["base_model"] == "black-forest-labs/FLUX.1-dev"
    assert (lora["downloads"], lora["likes"]) == (50, 7)
    (request,) = [r for r in hub.requests if r.path == "/api/models"]
    assert "hf_hub/" in request.headers["User-Agent"], "the real huggingface_hub client asked"
    assert "comfyui-phoenix" in request.headers["User-Agent"]

    loras = await client.get(
        "/phoenix/search", params={"source": "huggingface", "q": "film", "type": "LORA"}
    )
    assert [r["ref"] for r in (await loras.json())["results"]] == ["hf:acme/film-lora"]


async def test_civitai_choices_list_versions_and_files_and_each_ref_plans_that_file(
    serve: ClientMaker, civitai: CivitaiServer
) -> None:
    client = await serve(civitai_base_url=civitai.url)
    answer = await client.get("/phoenix/choices", params={"ref": "civitai:710"})
    choices = await answer.json()
    assert answer.status == 200, choices
    assert [v["name"] for v in choices["versions"]] == ["v2.0", "v1.0"]
    newest = choices["versions"][0]
    assert newest["meta"]["trigger_words"] == ["filmgrain", "35mm photo"]
    files = {f["name"]: f for f in newest["files"]}
    full, fp8 = files["film_grain.safetensors"], files["film_grain_fp8.safetensors"]
    assert (full["type"], full["format"], full["size"], full["fp"]) == (
        "Model",
        "SafeTensor",
        "full",
        "fp16",
    )
    assert full["primary"] is True and fp8["primary"] is False
    assert (fp8["size"], fp8["fp"]) == ("pruned", "fp8")
    assert abs(fp8["bytes"] - len(STYLE_LORA_FP8)) <= 1
    assert choices["selected_version"] == "7100"
    assert choices["selected_file"] == full["ref"]

    plan = await (await client.post("/phoenix/resolve", json={"refs": [fp8["ref"]]})).json()
    (planned,) = plan["files"]
    assert planned["filename"] == "film_grain_fp8.safetensors"
    assert planned["size"] == len(STYLE_LORA_FP8)

    older = await (await client.get("/phoenix/choices", params={"ref": "civitai:710@7000"})).json()
    assert older["selected_version"] == "7000"
    (only,) = older["versions"][1]["files"]
    assert older["selected_file"] == only["ref"]


async def test_hub_choices_are_the_loadable_files_and_each_ref_plans_that_file(
    serve: ClientMaker, hub: HFServer
) -> None:
    client = await serve(hf_endpoint=hub.url)
    answer = await client.get("/phoenix/choices", params={"ref": "acme/film-vae"})
    choices = await answer.json()
    assert answer.status == 200, choices
    (revision,) = choices["versions"]
    files = {f["path"]: f for f in revision["files"]}
    assert sorted(files) == ["ae.safetensors", "extra/small.gguf"], "no diffusers parts"
    assert files["ae.safetensors"]["bytes"] == len(HUB_VAE)
    assert choices["meta"]["licence"] == "flux-1-dev-non-commercial-license"
    plan = await (
        await client.post("/phoenix/resolve", json={"refs": [files["extra/small.gguf"]["ref"]]})
    ).json()
    assert [f["filename"] for f in plan["files"]] == ["small.gguf"]


async def test_a_direct_link_has_nothing_to_choose(serve: ClientMaker) -> None:
    client = await serve()
    answer = await client.get(
        "/phoenix/choices", params={"ref": "https://127.0.0.1:9/model.safetensors"}
    )
    body = await answer.json()
    assert answer.status == 400 and body["error"] == "bad_reference"
