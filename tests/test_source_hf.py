"""HuggingFace plans, through the real huggingface_hub, against a local hub that speaks its protocol."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from huggingface_hub import hf_hub_download
from peers.files import FileServer
from peers.flux_repos import FluxStandIns, add_flux_family
from peers.hf import HFServer
from peers.models import (
    CLIP_L,
    FLUX_TRANSFORMER,
    LORA,
    SD_CHECKPOINT,
    random_bytes,
    safetensors_bytes,
)

from comfyui_phoenix.errors import (
    AuthError,
    GatedError,
    NotFoundError,
    NothingToFetchError,
    TransientError,
)
from comfyui_phoenix.net.endpoint import Endpoint
from comfyui_phoenix.net.http import make_session
from comfyui_phoenix.net.policy import HostPolicy
from comfyui_phoenix.plan import PlannedFile
from comfyui_phoenix.refs import HFRef, parse_reference
from comfyui_phoenix.security.secrets import Tokens
from comfyui_phoenix.settings import Settings
from comfyui_phoenix.sources.base import SourceContext
from comfyui_phoenix.sources.header import read_remote_safetensors_header
from comfyui_phoenix.sources.hf import HuggingFaceSource
from comfyui_phoenix.sources.hf.flux import Catalog
from comfyui_phoenix.status.gpu_facts import GpuFacts

TOKEN = "hf_phoenixTESTaccount0123456789"
OTHER = "hf_otherTESTaccount0123456789"
FLUX_DEV = "black-forest-labs/FLUX.1-dev"
GiB = 1 << 30

Factory = Callable[..., HuggingFaceSource]


@pytest.fixture
async def make_source(
    hf_server: HFServer, make_settings: Callable[..., Settings]
) -> AsyncIterator[Factory]:
    """A HuggingFaceSource pointed at the local hub, with the given token and GPU memory."""
    sessions: list[aiohttp.ClientSession] = []

    def factory(
        token: str | None = None,
        *,
        gpu: GpuFacts | None = None,
        catalog: Catalog | None = None,
        max_header_reads: int = 16,
        **settings: Any,
    ) -> HuggingFaceSource:
        values = make_settings(hf_endpoint=hf_server.url, **settings)
        policy = HostPolicy(values)
        session = make_session(policy)
        sessions.append(session)
        ctx = SourceContext(values, session, policy, Tokens(huggingface=token))
        return HuggingFaceSource(ctx, gpu=gpu, catalog=catalog, max_header_reads=max_header_reads)

    yield factory
    for session in sessions:
        await session.close()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def placed(files: list[PlannedFile]) -> set[tuple[str, str]]:
    return {(f.folder, f.filename) for f in files}


def no_auth(requests: list[Any]) -> bool:
    return all("authorization" not in {k.lower() for k in r.headers} for r in requests)


MYSTERY = safetensors_bytes(FLUX_TRANSFORMER, pad_to=6000, seed=7)


def add_models_repo(server: HFServer) -> None:
    server.add_repo(
        "someone/models",
        {
            "mystery.safetensors": MYSTERY,
            "README.md": b"# models\n",
        },
    )


@pytest.fixture
def family(hf_server: HFServer, tmp_path: Path) -> FluxStandIns:
    """The FLUX family's repositories, gated ones open to TOKEN, and their stand-in catalog."""
    return add_flux_family(hf_server, tmp_path / "catalog", token=TOKEN)


async def test_a_file_is_planned_with_size_sha256_commit_and_the_folder_its_header_proves(
    hf_server: HFServer, make_source: Factory
) -> None:
    add_models_repo(hf_server)
    commit = hf_server.repos["someone/models"].commit

    [planned] = await make_source().plan(HFRef("someone/models", "mystery.safetensors"))

    assert planned.size == len(MYSTERY)
    assert planned.sha256 == sha256(MYSTERY)
    assert planned.revision == commit
    assert planned.url == f"{hf_server.url}/someone/models/resolve/{commit}/mystery.safetensors"
    assert (planned.folder, planned.filename) == ("diffusion_models", "mystery.safetensors")
    assert "FLUX transformer" in planned.folder_reason
    assert planned.token is None
    # Only the header travelled, never the tensors.
    assert len([r for r in hf_server.cdn.requests if r.method == "GET"]) == 2
    assert hf_server.cdn.bytes_sent < 1024


async def test_the_users_folder_wins_and_no_header_is_read(
    hf_server: HFServer, make_source: Factory
) -> None:
    add_models_repo(hf_server)

    [planned] = await make_source().plan(
        parse_reference("someone/models/mystery.safetensors::loras/flux")
    )

    assert (planned.folder, planned.subfolder) == ("loras", "flux")
    assert planned.relpath == "loras/flux/mystery.safetensors"
    assert "::loras/flux" in planned.folder_reason
    assert hf_server.cdn.requests == []
    assert hf_server.resolve_requests() == []


async def test_a_pinned_revision_resolves_and_an_unknown_one_is_named(
    hf_server: HFServer, make_source: Factory
) -> None:
    add_models_repo(hf_server)
    commit = hf_server.repos["someone/models"].commit
    source = make_source()

    [planned] = await source.plan(HFRef("someone/models", "mystery.safetensors", commit))
    assert planned.revision == commit

    with pytest.raises(NotFoundError) as caught:
        await source.plan(HFRef("someone/models", "mystery.safetensors", "v9"))
    assert "'v9'" in caught.value.detail


async def test_a_missing_file_is_named(hf_server: HFServer, make_source: Factory) -> None:
    add_models_repo(hf_server)

    with pytest.raises(NotFoundError) as caught:
        await make_source().plan(HFRef("someone/models", "missing.safetensors"))

    assert "missing.safetensors" in caught.value.detail
    assert "someone/models" in caught.value.detail


async def test_a_missing_repository_is_named(hf_server: HFServer, make_source: Factory) -> None:
    with pytest.raises(NotFoundError) as caught:
        await make_source().plan(HFRef("someone/nothing-here"))

    assert "someone/nothing-here" in caught.value.detail
    assert caught.value.hint is not None and "HF_TOKEN" in caught.value.hint


async def test_a_mirror_link_on_hf_endpoint_is_parsed_and_planned(
    hf_server: HFServer, make_source: Factory
) -> None:
    add_models_repo(hf_server)
    link = f"{hf_server.url}/someone/models/resolve/main/mystery.safetensors"

    ref = parse_reference(link, hf_endpoint=hf_server.url)
    [planned] = await make_source().plan(ref)

    assert ref == HFRef("someone/models", "mystery.safetensors", "main")
    assert planned.sha256 == sha256(MYSTERY)
    assert planned.revision == hf_server.repos["someone/models"].commit


# -- whole repositories ---------------------------------------------------------------------------
async def test_a_repository_plans_its_single_files_and_skips_diffusers_copies(
    hf_server: HFServer, make_source: Factory
) -> None:
    hf_server.add_repo(
        "someone/pipeline",
        {
            "model_index.json": b"{}",
            "README.md": b"# pipeline\n",
            "single-file.safetensors": safetensors_bytes(SD_CHECKPOINT, seed=1),
            "loras/detail.safetensors": safetensors_bytes(LORA, seed=2),
            "unet/config.json": b"{}",
            "unet/diffusion_pytorch_model.safetensors": random_bytes(64, 3),
            "text_encoder/config.json": b"{}",
            "text_encoder/model.safetensors": random_bytes(64, 4),
            "vae/diffusion_pytorch_model.fp16.safetensors": random_bytes(64, 5),
        },
    )

    files = await make_source().plan(HFRef("someone/pipeline"))

    assert placed(files) == {
        ("checkpoints", "single-file.safetensors"),
        ("loras", "detail.safetensors"),
    }


async def test_a_folder_link_plans_the_folder_and_its_name_sets_the_destination(
    hf_server: HFServer, make_source: Factory
) -> None:
    hf_server.add_repo(
        "Comfy-Org/Repackaged",
        {
            "split_files/vae/ae.safetensors": safetensors_bytes({"w.weight": (4, 4)}, seed=1),
            "split_files/diffusion_models/model.safetensors": safetensors_bytes(
                FLUX_TRANSFORMER, seed=2
            ),
        },
    )
    link = f"{hf_server.url}/Comfy-Org/Repackaged/tree/main/split_files/vae"

    [planned] = await make_source().plan(parse_reference(link, hf_endpoint=hf_server.url))

    assert (planned.folder, planned.filename) == ("vae", "ae.safetensors")
    assert "'vae' folder" in planned.folder_reason


async def test_include_and_exclude_patterns_pick_files(
    hf_server: HFServer, make_source: Factory
) -> None:
    hf_server.add_repo(
        "someone/quants",
        {
            "flux1-dev-Q4_0.gguf": b"GGUF" + random_bytes(60, 1),
            "flux1-dev-Q8_0.gguf": b"GGUF" + random_bytes(60, 2),
            "4x-upscaler.pth": random_bytes(64, 3),
        },
    )
    source = make_source()
    ref = HFRef("someone/quants")

    assert placed(await source.plan(ref)) == {
        ("diffusion_models", "flux1-dev-Q4_0.gguf"),
        ("diffusion_models", "flux1-dev-Q8_0.gguf"),
    }
    assert placed(await source.plan(ref, exclude=["*Q4*"])) == {
        ("diffusion_models", "flux1-dev-Q8_0.gguf")
    }
    assert placed(await source.plan(ref, include=["*.pth"])) == {
        ("upscale_models", "4x-upscaler.pth")
    }


async def test_a_repository_without_models_says_what_it_holds(
    hf_server: HFServer, make_source: Factory
) -> None:
    hf_server.add_repo("someone/docs", {"README.md": b"# hi\n", "config.json": b"{}"})

    with pytest.raises(NothingToFetchError) as caught:
        await make_source().plan(HFRef("someone/docs"))

    assert "README.md" in caught.value.detail
    assert "config.json" in caught.value.detail


async def test_long_listings_are_followed_across_pages(
    hf_server: HFServer, make_source: Factory
) -> None:
    files = {f"lora_{i}.safetensors": safetensors_bytes(LORA, seed=i) for i in range(5)}
    hf_server.add_repo("someone/many", files)
    hf_server.page_size = 2

    planned = await make_source().plan(HFRef("someone/many"))

    assert {f.filename for f in planned} == set(files)


async def test_same_names_in_two_repository_folders_do_not_collide(
    hf_server: HFServer, make_source: Factory
) -> None:
    hf_server.add_repo(
        "someone/styles",
        {
            "ink/style_lora.safetensors": safetensors_bytes(LORA, seed=1),
            "oil/style_lora.safetensors": safetensors_bytes(LORA, seed=2),
        },
    )

    planned = await make_source().plan(HFRef("someone/styles"))

    assert {f.relpath for f in planned} == {
        "loras/ink/style_lora.safetensors",
        "loras/oil/style_lora.safetensors",
    }


async def test_header_reads_are_capped_per_plan(hf_server: HFServer, make_source: Factory) -> None:
    files = {f"model_{i}.safetensors": safetensors_bytes(LORA, seed=i) for i in range(3)}
    hf_server.add_repo("someone/unnamed", files)

    planned = await make_source(max_header_reads=1).plan(HFRef("someone/unnamed"))

    assert sorted(f.folder for f in planned) == ["checkpoints", "checkpoints", "loras"]
    assert len([r for r in hf_server.cdn.requests if r.method == "GET"]) == 2


# -- access ---------------------------------------------------------------------------------------
async def test_a_gated_repo_without_a_token_names_the_licence_before_any_byte_moves(
    hf_server: HFServer, make_source: Factory, family: FluxStandIns
) -> None:
    with pytest.raises(GatedError) as caught:
        await make_source(catalog=family.catalog).plan(HFRef(FLUX_DEV))

    licence = f"{hf_server.url}/{FLUX_DEV}"
    assert caught.value.licence_url == licence
    assert caught.value.hint is not None
    assert "HF_TOKEN" in caught.value.hint and licence in caught.value.hint
    assert caught.value.status == 401
    assert hf_server.resolve_requests() == []
    assert hf_server.cdn.requests == []


async def test_a_token_without_access_is_told_to_accept_the_licence(
    hf_server: HFServer, make_source: Factory, family: FluxStandIns
) -> None:
    hf_server.add_token(OTHER)

    with pytest.raises(GatedError) as caught:
        await make_source(OTHER, catalog=family.catalog).plan(HFRef(FLUX_DEV))

    licence = f"{hf_server.url}/{FLUX_DEV}"
    assert caught.value.hint == f"Accept the licence at {licence}, then retry."
    assert caught.value.status == 403
    assert hf_server.resolve_requests() == []


async def test_a_refused_token_says_to_set_hf_token_and_never_shows_it(
    hf_server: HFServer, make_source: Factory
) -> None:
    add_models_repo(hf_server)
    bad = "hf_notAvalidTOKEN0123456789"

    with pytest.raises(AuthError) as caught:
        await make_source(bad).plan(HFRef("someone/models", "mystery.safetensors"))

    assert "HF_TOKEN" in str(caught.value)
    assert bad not in str(caught.value)
    assert bad not in json.dumps(caught.value.to_dict())


async def test_a_login_stored_on_the_machine_is_not_used(
    hf_server: HFServer, make_source: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_models_repo(hf_server)
    # huggingface_hub would send this on its own if Phoenix let it; the hub refuses it.
    monkeypatch.setenv("HF_TOKEN", "hf_storedLOGINunknownToTheHub")

    [planned] = await make_source().plan(HFRef("someone/models", "mystery.safetensors"))

    assert planned.sha256 == sha256(MYSTERY)
    assert no_auth(hf_server.requests)


# -- bytes ----------------------------------------------------------------------------------------
async def test_an_lfs_endpoint_is_the_cdn_without_the_token(
    hf_server: HFServer, make_source: Factory, family: FluxStandIns
) -> None:
    source = make_source(TOKEN, catalog=family.catalog)
    files = await source.plan(HFRef(FLUX_DEV))
    [ae] = [f for f in files if f.filename == "ae.safetensors"]

    endpoint = await source.endpoint(ae)

    assert endpoint.url.startswith(hf_server.cdn_url)
    assert "authorization" not in {k.lower() for k in endpoint.headers}
    async with aiohttp.ClientSession() as session, session.get(endpoint.url) as response:
        assert await response.read() == family.data(FLUX_DEV, "ae.safetensors")
    assert hf_server.cdn.requests and no_auth(hf_server.cdn.requests)
    [asked] = hf_server.resolve_requests()
    assert asked.headers.get("Authorization") == f"Bearer {TOKEN}"


async def test_a_small_file_is_served_by_the_hub_with_the_token(
    hf_server: HFServer, make_source: Factory
) -> None:
    data = safetensors_bytes(LORA, seed=3)
    hf_server.add_repo(
        "someone/private",
        {"tiny_lora.safetensors": data},
        tokens_with_access={TOKEN},
        private=True,
        lfs=set(),
    )
    source = make_source(TOKEN)

    [planned] = await source.plan(HFRef("someone/private", "tiny_lora.safetensors"))
    endpoint = await source.endpoint(planned)

    assert planned.token == "huggingface" and planned.sha256 is None
    assert endpoint.url == planned.url
    assert endpoint.headers["Authorization"] == f"Bearer {TOKEN}"


def test_huggingface_hub_downloads_from_the_local_hub(
    hf_server: HFServer, tmp_path: Path, family: FluxStandIns
) -> None:
    path = hf_hub_download(
        FLUX_DEV, "ae.safetensors", endpoint=hf_server.url, local_dir=tmp_path / "dl", token=TOKEN
    )

    assert Path(path).read_bytes() == family.data(FLUX_DEV, "ae.safetensors")
    assert hf_server.cdn.requests and no_auth(hf_server.cdn.requests)


# -- remote headers -------------------------------------------------------------------------------
async def test_a_remote_header_is_read_with_two_small_ranges(file_server: FileServer) -> None:
    data = safetensors_bytes(CLIP_L, pad_to=200_000, metadata={"format": "pt"})
    file_server.add("clip.safetensors", data)
    endpoint = Endpoint(f"{file_server.base_url}/files/clip.safetensors")  # type: ignore[attr-defined]

    async with aiohttp.ClientSession() as session:
        header = await read_remote_safetensors_header(session, endpoint)

    assert header is not None
    assert header["__metadata__"] == {"format": "pt"}
    assert "text_model.encoder.layers.0.self_attn.q_proj.weight" in header
    assert file_server.bytes_sent < 2048


@pytest.mark.parametrize(
    ("name", "data", "faults"),
    [
        ("ignores-range.safetensors", safetensors_bytes(CLIP_L), {"ignore_range": True}),
        ("page.safetensors", b"<!DOCTYPE html><html>" + b" " * 64, {}),
        ("huge.safetensors", (10**12).to_bytes(8, "little") + b"{}", {}),
        ("broken.safetensors", (16).to_bytes(8, "little") + b"not json at all!", {}),
    ],
)
async def test_a_remote_header_that_cannot_be_read_cheaply_is_none(
    file_server: FileServer, name: str, data: bytes, faults: dict[str, Any]
) -> None:
    file_server.add(name, data)
    if faults:
        file_server.faults(name, repeat=True, **faults)
    endpoint = Endpoint(f"{file_server.base_url}/files/{name}")  # type: ignore[attr-defined]

    async with aiohttp.ClientSession() as session:
        assert await read_remote_safetensors_header(session, endpoint) is None


async def test_a_header_above_the_limit_is_refused(file_server: FileServer) -> None:
    file_server.add("clip.safetensors", safetensors_bytes(CLIP_L))
    endpoint = Endpoint(f"{file_server.base_url}/files/clip.safetensors")  # type: ignore[attr-defined]

    async with aiohttp.ClientSession() as session:
        assert await read_remote_safetensors_header(session, endpoint, max_bytes=16) is None


async def test_one_unusable_name_does_not_sink_a_whole_repository(
    hf_server: HFServer, make_source: Factory
) -> None:
    hf_server.add_repo(
        "someone/mixed",
        {
            "good_lora.safetensors": safetensors_bytes(LORA, seed=6),
            "con.safetensors": safetensors_bytes(LORA, seed=7),
        },
    )
    files = await make_source().plan(HFRef("someone/mixed"))
    assert placed(files) == {("loras", "good_lora.safetensors")}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_unreachable_hub_is_one_sentence_whichever_client_line_is_installed(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    # huggingface_hub 0.x raises requests' ConnectionError here, 1.x and 2.x httpx's.
    monkeypatch.setattr("comfyui_phoenix.net.retry.BACKOFF_BASE", 0.01)
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    settings = make_settings(hf_endpoint=endpoint)
    policy = HostPolicy(settings)
    async with make_session(policy) as session:
        source = HuggingFaceSource(SourceContext(settings, session, policy, Tokens()))
        with pytest.raises(TransientError) as caught:
            await source.plan(parse_reference("someone/models/mystery.safetensors"))
    assert caught.value.detail.startswith(f"Could not reach HuggingFace at {endpoint}")
    assert "tried 6 times" in str(caught.value.hint)


async def test_a_busy_hub_is_waited_out_while_planning(
    hf_server: HFServer, make_source: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("comfyui_phoenix.net.retry.BACKOFF_BASE", 0.01)
    add_models_repo(hf_server)
    hf_server.fail_next(503, times=3)
    files = await make_source().plan(parse_reference("someone/models/mystery.safetensors"))
    assert placed(files) == {("diffusion_models", "mystery.safetensors")}
