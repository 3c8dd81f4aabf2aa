"""A workflow's ``models`` lists and Phoenix nodes' references, read, planned and fetched.

Reading needs no network; planning and fetching go through the real routes against the
local hub, CivitAI and file host, as the panel and the Missing Models offer use them.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from peers.civitai import CivitaiServer
from peers.files import FileServer
from peers.hf import HFServer
from peers.models import FLUX_VAE, LORA, safetensors_bytes

from comfyui_phoenix.settings import Settings
from comfyui_phoenix.surfaces.app import PhoenixApp
from comfyui_phoenix.surfaces.routes import register
from comfyui_phoenix.surfaces.workflow_nodes import phoenix_node_specs
from comfyui_phoenix.workflow import ModelEntry, NodeReference, node_needs, read_workflow

VAE = safetensors_bytes(FLUX_VAE, pad_to=300_000, seed=5)
VAE_SHA = hashlib.sha256(VAE).hexdigest()
STYLE = safetensors_bytes(LORA, pad_to=200_000, seed=6)
ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]


def entry(name: str, url: str, directory: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "url": url, "directory": directory, **extra}


def node(
    node_id: int, type_: str, values: Any, models: list[Any] | None = None, **extra: Any
) -> Any:
    found: dict[str, Any] = {"id": node_id, "type": type_, "widgets_values": values, **extra}
    if models is not None:
        found["properties"] = {"models": models}
    return found


# -- reading ------------------------------------------------------------------------------------
def test_entries_count_where_comfyui_counts_them_and_phoenix_nodes_add_their_references() -> None:
    vae = entry("ae.safetensors", "https://huggingface.co/o/r/resolve/main/ae.safetensors", "vae")
    unused = entry("other.safetensors", "https://example.com/other.safetensors", "vae")
    workflow = {
        "nodes": [
            node(1, "VAELoader", ["ae.safetensors"], [vae, unused], title="Load VAE"),
            node(2, "PhoenixLoraLoader", ["civitai:12@34", 1.0, 1.0]),
            node(3, "PhoenixLoraLoader", ["civitai:99", 1.0, 1.0], mode=4),  # bypassed
            node(4, "PhoenixFetchModel", ["owner/repo/x.safetensors", "auto"]),
        ],
        "definitions": {
            "subgraphs": [
                {
                    "name": "Inner",
                    "nodes": [node(7, "PhoenixVAELoader", {"reference": "o/r/v.sft"})],
                }
            ]
        },
        "models": [entry("clip_l.safetensors", "https://h.example/clip_l.safetensors", "clip")],
    }
    needs = read_workflow(workflow, phoenix_node_specs()).needs
    assert needs == [
        ModelEntry("ae.safetensors", vae["url"], "vae", "Load VAE #1"),
        NodeReference("civitai:12@34::loras", "PhoenixLoraLoader #2"),
        NodeReference("owner/repo/x.safetensors", "PhoenixFetchModel #4"),
        NodeReference("o/r/v.sft::vae", "Inner › PhoenixVAELoader #7"),
        # A legacy folder name becomes the modern one.
        ModelEntry(
            "clip_l.safetensors",
            "https://h.example/clip_l.safetensors",
            "text_encoders",
            "the workflow",
        ),
    ]


def test_a_file_named_twice_is_one_need_and_keeps_the_hash_either_gave() -> None:
    url = "https://example.com/ae.safetensors"
    workflow = {
        "nodes": [node(1, "VAELoader", ["ae.safetensors"], [entry("ae.safetensors", url, "vae")])],
        "models": [entry("ae.safetensors", url, "vae", hash=VAE_SHA.upper(), hash_type="SHA256")],
    }
    needs = read_workflow(workflow, phoenix_node_specs()).needs
    assert len(needs) == 1 and needs[0].sha256 == VAE_SHA


def test_a_phoenix_node_without_a_reference_fetches_its_own_entry() -> None:
    url = "https://example.com/files/style.safetensors"
    own = [entry("style.safetensors", url, "loras", hash=f"sha256:{VAE_SHA}")]
    spec = phoenix_node_specs()["PhoenixLoraLoader"]
    workflow = {"nodes": [node(5, "PhoenixLoraLoader", ["", 1.0, 1.0], own)]}
    found = node_needs(workflow, "5", "PhoenixLoraLoader", spec, {"reference": ""})
    assert found == {
        "reference": ModelEntry("style.safetensors", url, "loras", "PhoenixLoraLoader #5", VAE_SHA)
    }
    # A reference to the same file borrows the entry's hash.
    named = node_needs(workflow, "5", "PhoenixLoraLoader", spec, {"reference": url})
    assert named == {"reference": NodeReference(f"{url}::loras", "PhoenixLoraLoader #5", VAE_SHA)}


def test_the_api_format_names_phoenix_references_too() -> None:
    prompt = {
        "3": {"class_type": "PhoenixVAELoader", "inputs": {"reference": "o/r/ae.safetensors"}},
        "4": {"class_type": "KSampler", "inputs": {"seed": 1}},
    }
    assert read_workflow(prompt, phoenix_node_specs()).needs == [
        NodeReference("o/r/ae.safetensors::vae", "PhoenixVAELoader #3")
    ]


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({"name": "ae.safetensors", "directory": "vae"}, "has no download link"),
        (
            entry("ae.safetensors", "https://e.x/ae.safetensors", "LLM"),
            "not a ComfyUI model folder",
        ),
        (entry("../../etc/passwd.safetensors", "https://e.x/a.safetensors", "vae"), "climbs out"),
        (entry("notes.txt", "https://e.x/notes.txt", "vae"), "not a model file"),
        (
            entry(
                "ae.safetensors", "https://e.x/a.safetensors", "vae", hash="abc", hash_type="sha256"
            ),
            "64 hexadecimal",
        ),
    ],
)
def test_an_unusable_entry_says_why_in_one_sentence_and_the_rest_still_count(
    raw: dict[str, Any], says: str
) -> None:
    good = entry("good.safetensors", "https://e.x/good.safetensors", "loras")
    read = read_workflow({"nodes": [], "models": [raw, good]}, phoenix_node_specs())
    assert [n.name for n in read.needs if isinstance(n, ModelEntry)] == ["good.safetensors"]
    (problem,) = read.problems
    assert says in problem.error.detail and problem.error.hint


def test_a_hash_of_another_kind_is_named_as_unchecked() -> None:
    raw = entry("a.safetensors", "https://e.x/a.safetensors", "vae", hash="1234", hash_type="md5")
    (need,) = read_workflow({"models": [raw]}, phoenix_node_specs()).needs
    assert need.sha256 is None and "md5 hash is not checked" in need.hash_note  # type: ignore[union-attr]


def test_something_that_is_no_workflow_is_refused_in_a_sentence() -> None:
    from comfyui_phoenix.errors import BadReferenceError

    with pytest.raises(BadReferenceError, match="not a JSON object"):
        read_workflow([1, 2], phoenix_node_specs())


# -- planning and fetching through the routes ---------------------------------------------------------
@pytest.fixture
def serve(
    aiohttp_client: Any, make_settings: Callable[..., Settings], tmp_path: Path
) -> ClientMaker:
    async def start(**overrides: Any) -> TestClient[Any, Any]:
        app = web.Application()
        routes = web.RouteTableDef()
        register(routes)
        app.add_routes(routes)
        PhoenixApp(make_settings(engine="python", **overrides), paths={"output": tmp_path}).attach(
            app
        )
        client: TestClient[Any, Any] = await aiohttp_client(app)
        return client

    return start


async def _plan(client: TestClient[Any, Any], workflow: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post("/phoenix/workflow/plan", json={"workflow": workflow})
    assert answer.status == 200, await answer.text()
    body: dict[str, Any] = await answer.json()
    return body


async def _fetch_and_wait(
    client: TestClient[Any, Any], workflow: dict[str, Any]
) -> list[dict[str, Any]]:
    answer = await client.post("/phoenix/workflow/fetch", json={"workflow": workflow})
    assert answer.status == 202, await answer.text()
    jobs = (await answer.json())["jobs"]
    finished = []
    for job in jobs:
        for _ in range(400):
            job = await (await client.get(f"/phoenix/downloads/{job['id']}")).json()
            if job["state"] in ("done", "failed"):
                break
            await asyncio.sleep(0.05)
        finished.append(job)
    return finished


def _hf_link(hub: HFServer, repo: str, path: str) -> str:
    return f"{hub.url}/{repo}/resolve/main/{path}"


async def test_a_hub_entry_is_fetched_under_the_workflows_name_and_then_present(
    serve: ClientMaker, hf_server: HFServer, models_dir: Path
) -> None:
    hf_server.add_repo("acme/flux-parts", {"split_files/vae/ae.safetensors": VAE})
    url = _hf_link(hf_server, "acme/flux-parts", "split_files/vae/ae.safetensors")
    workflow = {
        "models": [entry("flux/ae_flux.safetensors", url, "vae", hash=VAE_SHA, hash_type="SHA256")]
    }
    client = await serve(hf_endpoint=hf_server.url)

    plan = await _plan(client, workflow)
    (need,) = plan["needs"]
    assert need["state"] == "missing" and need["size"] == len(VAE)
    assert need["files"][0]["relpath"] == "vae/flux/ae_flux.safetensors"
    assert plan["missing_bytes"] == len(VAE)

    (job,) = await _fetch_and_wait(client, workflow)
    assert job["state"] == "done", job
    assert (models_dir / "vae" / "flux" / "ae_flux.safetensors").read_bytes() == VAE
    again = await _plan(client, workflow)
    assert again["needs"][0]["state"] == "present" and again["missing_bytes"] == 0


async def test_a_workflow_hash_the_hub_contradicts_is_refused_before_any_byte_moves(
    serve: ClientMaker, hf_server: HFServer, models_dir: Path
) -> None:
    hf_server.add_repo("acme/flux-parts", {"ae.safetensors": VAE})
    url = _hf_link(hf_server, "acme/flux-parts", "ae.safetensors")
    workflow = {"models": [entry("ae.safetensors", url, "vae", hash="0" * 64, hash_type="sha256")]}
    client = await serve(hf_endpoint=hf_server.url)
    (need,) = (await _plan(client, workflow))["needs"]
    assert need["state"] == "problem" and need["error"]["error"] == "hash_mismatch"
    assert "out of date" in need["error"]["detail"]
    assert await _fetch_and_wait(client, workflow) == []
    assert not (models_dir / "vae").exists()


async def test_a_link_without_a_hash_of_its_own_is_held_to_the_workflows(
    serve: ClientMaker, file_server: FileServer, models_dir: Path
) -> None:
    file_server.add("style.safetensors", STYLE)
    url = f"{file_server.base_url}/files/style.safetensors"  # type: ignore[attr-defined]
    wrong = {"models": [entry("style.safetensors", url, "loras", hash=VAE_SHA, hash_type="sha256")]}
    client = await serve()
    (job,) = await _fetch_and_wait(client, wrong)
    assert job["state"] == "failed" and job["error"]["error"] == "integrity"
    assert not list((models_dir / "loras").glob("style*"))

    right = {
        "models": [entry("style.safetensors", url, "loras", hash=hashlib.sha256(STYLE).hexdigest())]
    }
    (job,) = await _fetch_and_wait(client, right)
    assert job["state"] == "done"
    assert (models_dir / "loras" / "style.safetensors").read_bytes() == STYLE


async def test_a_civitai_download_link_lands_under_the_name_the_loader_selects(
    serve: ClientMaker, civitai_server: CivitaiServer, models_dir: Path
) -> None:
    civitai_server.add_model(
        11, "Grain", "LORA",
        [{"id": 22, "files": [{"id": 33, "name": "grain_v1.safetensors", "data": STYLE, "primary": True}]}],
    )  # fmt: skip
    url = f"{civitai_server.url}/api/download/models/22"
    workflow = {"models": [entry("film-grain.safetensors", url, "loras")]}
    client = await serve(
        civitai_base_url=civitai_server.url, civitai_token="civitai-test-key-0123456789"
    )
    (job,) = await _fetch_and_wait(client, workflow)
    assert job["state"] == "done", job
    assert (models_dir / "loras" / "film-grain.safetensors").read_bytes() == STYLE


async def test_a_gated_entry_says_it_is_gated_and_where_to_accept_the_licence(
    serve: ClientMaker, hf_server: HFServer
) -> None:
    hf_server.add_repo("acme/gated", {"ae.safetensors": VAE}, gated="manual")
    url = _hf_link(hf_server, "acme/gated", "ae.safetensors")
    client = await serve(hf_endpoint=hf_server.url)
    plan = await _plan(client, {"models": [entry("ae.safetensors", url, "vae")]})
    (need,) = plan["needs"]
    assert need["state"] == "gated" and plan["counts"]["gated"] == 1
    assert need["error"]["licence_url"].startswith(hf_server.url)
    assert "acme/gated" in need["error"]["detail"]


async def test_a_file_already_here_is_present_without_asking_its_source(
    serve: ClientMaker, hf_server: HFServer, models_dir: Path
) -> None:
    (models_dir / "vae").mkdir()
    (models_dir / "vae" / "ae.safetensors").write_bytes(VAE)
    url = _hf_link(hf_server, "acme/gone", "ae.safetensors")  # no such repository any more
    client = await serve(hf_endpoint=hf_server.url)
    plain = await _plan(client, {"models": [entry("ae.safetensors", url, "vae")]})
    checked = await _plan(client, {"models": [entry("ae.safetensors", url, "vae", hash=VAE_SHA)]})
    assert plain["needs"][0]["state"] == checked["needs"][0]["state"] == "present"
    assert hf_server.requests == []
    # Other bytes under that name are not the workflow's file: its source is asked.
    other = await _plan(client, {"models": [entry("ae.safetensors", url, "vae", hash="1" * 64)]})
    assert other["needs"][0]["state"] == "problem" and hf_server.requests


async def test_a_file_comfyui_finds_in_another_folder_path_is_present(
    serve: ClientMaker, file_server: FileServer, models_dir: Path
) -> None:
    file_server.add("flux.safetensors", STYLE)
    (models_dir / "unet").mkdir()
    (models_dir / "unet" / "flux.safetensors").write_bytes(b"\0" * 64)
    url = f"{file_server.base_url}/files/flux.safetensors"  # type: ignore[attr-defined]
    client = await serve()
    plan = await _plan(client, {"models": [entry("flux.safetensors", url, "diffusion_models")]})
    assert plan["needs"][0]["state"] == "present"


async def test_a_body_that_is_no_workflow_is_a_400_with_a_sentence(serve: ClientMaker) -> None:
    client = await serve()
    answer = await client.post("/phoenix/workflow/plan", json={"workflow": {"nodes": 3}})
    assert answer.status == 400
    assert "'nodes' is not a list" in (await answer.json())["detail"]


async def test_a_token_in_a_workflows_link_never_comes_back_in_the_plan(
    serve: ClientMaker, file_server: FileServer, hf_server: HFServer
) -> None:
    file_server.add("signed.safetensors", STYLE)
    secret = "sekritSIGNATURE0123456789"
    signed = f"{file_server.base_url}/files/signed.safetensors?token={secret}"  # type: ignore[attr-defined]
    hub_link = f"https://huggingface.co/acme/x/resolve/main/x.safetensors?token={secret}"
    client = await serve(hf_endpoint=hf_server.url)
    models = [entry("signed.safetensors", signed, "loras"), entry("x.safetensors", hub_link, "vae")]
    answer = await client.post("/phoenix/workflow/plan", json={"workflow": {"models": models}})
    text = await answer.text()
    assert secret not in text
    signed_need, hub_need = (await answer.json())["needs"]
    assert signed_need["state"] == "missing"
    assert hub_need["state"] == "problem" and "token in its address" in hub_need["error"]["detail"]
