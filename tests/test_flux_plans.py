"""The FLUX family planned as ComfyUI loads it, against stand-in repositories shaped like the real ones.

The stand-ins are laid out from the shipped catalog itself (tests/peers/flux_repos.py): every
repository at its pinned commit, gated like the real one, with the real file names and the
diffusers copies beside them. Only sizes and hashes differ, so the plans run with the catalog
that pins the stand-ins' own.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from peers.flux_repos import FluxStandIns, add_flux_family
from peers.hf import HFServer
from peers.models import FLUX_TRANSFORMER, safetensors_bytes

from comfyui_phoenix.errors import ConfigError, GatedError, SourceError
from comfyui_phoenix.net.http import make_session
from comfyui_phoenix.net.policy import HostPolicy
from comfyui_phoenix.plan import PlannedFile
from comfyui_phoenix.refs import HFRef
from comfyui_phoenix.security.secrets import Tokens
from comfyui_phoenix.settings import Settings
from comfyui_phoenix.sources.base import SourceContext
from comfyui_phoenix.sources.hf import HuggingFaceSource
from comfyui_phoenix.status.gpu_facts import GpuFacts

TOKEN = "hf_phoenixFLUXaccount0123456789"
GB = 1000**3
CPU = GpuFacts()
RTX_5090_CU13 = GpuFacts(32 * GB, (12, 0), "13.0")
RTX_5090_CU128 = GpuFacts(32 * GB, (12, 0), "12.8")
H100 = GpuFacts(80 * GB, (9, 0), "12.8")
RTX_3090 = GpuFacts(24 * GB, (8, 6), "12.8")
A6000 = GpuFacts(48 * GB, (8, 6), "12.8")

FLUX1_ENCODERS = {
    ("text_encoders", "clip_l.safetensors"),
    ("text_encoders", "t5xxl_fp16.safetensors"),
}
FLUX1_VAE = ("vae", "ae.safetensors")
FLUX2_VAE = ("vae", "flux2-vae.safetensors")

#: What each member's repository plans on a machine without a GPU: what loads everywhere.
ON_CPU: dict[str, set[tuple[str, str]]] = {
    "black-forest-labs/FLUX.1-dev": {("diffusion_models", "flux1-dev.safetensors"), FLUX1_VAE}
    | FLUX1_ENCODERS,
    "black-forest-labs/FLUX.1-schnell": {
        ("diffusion_models", "flux1-schnell.safetensors"),
        FLUX1_VAE,
    }
    | FLUX1_ENCODERS,
    "black-forest-labs/FLUX.1-Kontext-dev": {
        ("diffusion_models", "flux1-kontext-dev.safetensors"),
        FLUX1_VAE,
    }
    | FLUX1_ENCODERS,
    "black-forest-labs/FLUX.1-Krea-dev": {
        ("diffusion_models", "flux1-krea-dev.safetensors"),
        FLUX1_VAE,
    }
    | FLUX1_ENCODERS,
    "black-forest-labs/FLUX.1-Fill-dev": {
        ("diffusion_models", "flux1-fill-dev.safetensors"),
        FLUX1_VAE,
    }
    | FLUX1_ENCODERS,
    "black-forest-labs/FLUX.1-Canny-dev": {
        ("diffusion_models", "flux1-canny-dev.safetensors"),
        FLUX1_VAE,
    }
    | FLUX1_ENCODERS,
    "black-forest-labs/FLUX.1-Depth-dev": {
        ("diffusion_models", "flux1-depth-dev.safetensors"),
        FLUX1_VAE,
    }
    | FLUX1_ENCODERS,
    "black-forest-labs/FLUX.1-Redux-dev": {
        ("style_models", "flux1-redux-dev.safetensors"),
        ("clip_vision", "sigclip_vision_patch14_384.safetensors"),
        ("diffusion_models", "flux1-dev.safetensors"),
        FLUX1_VAE,
    }
    | FLUX1_ENCODERS,
    "black-forest-labs/FLUX.2-dev": {
        ("diffusion_models", "flux2-dev.safetensors"),
        FLUX2_VAE,
        ("text_encoders", "mistral_3_small_flux2_bf16.safetensors"),
    },
    "black-forest-labs/FLUX.2-klein-4B": {
        ("diffusion_models", "flux-2-klein-4b.safetensors"),
        FLUX2_VAE,
        ("text_encoders", "qwen_3_4b.safetensors"),
    },
    "black-forest-labs/FLUX.2-klein-9B": {
        ("diffusion_models", "flux-2-klein-9b.safetensors"),
        FLUX2_VAE,
        ("text_encoders", "qwen_3_8b.safetensors"),
    },
}

#: The transformer and (FLUX.2) text encoder each GPU gets, by member repository.
BY_GPU: list[tuple[str, GpuFacts, set[str]]] = [
    ("black-forest-labs/FLUX.1-dev", RTX_5090_CU13, {"flux1-dev-nvfp4.safetensors"}),
    ("black-forest-labs/FLUX.1-dev", RTX_5090_CU128, {"flux1-dev.safetensors"}),
    ("black-forest-labs/FLUX.1-dev", H100, {"flux1-dev-fp8.safetensors"}),
    ("black-forest-labs/FLUX.1-dev", RTX_3090, {"flux1-dev-fp8.safetensors"}),
    ("black-forest-labs/FLUX.1-dev", A6000, {"flux1-dev.safetensors"}),
    (
        "black-forest-labs/FLUX.1-Kontext-dev",
        RTX_5090_CU13,
        {"flux1-kontext-dev-nvfp4.safetensors"},
    ),
    ("black-forest-labs/FLUX.1-Kontext-dev", H100, {"flux1-dev-kontext_fp8_scaled.safetensors"}),
    ("black-forest-labs/FLUX.1-Krea-dev", RTX_5090_CU13, {"flux1-krea-dev_fp8_scaled.safetensors"}),
    ("black-forest-labs/FLUX.1-Krea-dev", H100, {"flux1-krea-dev_fp8_scaled.safetensors"}),
    ("black-forest-labs/FLUX.1-Fill-dev", RTX_5090_CU13, {"flux1-fill-dev.safetensors"}),
    ("black-forest-labs/FLUX.1-schnell", H100, {"flux1-schnell.safetensors"}),
    ("black-forest-labs/FLUX.1-Redux-dev", RTX_5090_CU13, {"flux1-dev-nvfp4.safetensors"}),
    (
        "black-forest-labs/FLUX.2-dev",
        RTX_5090_CU13,
        {"flux2-dev-nvfp4-mixed.safetensors", "mistral_3_small_flux2_fp4_mixed.safetensors"},
    ),
    (
        "black-forest-labs/FLUX.2-dev",
        RTX_5090_CU128,
        {"flux2_dev_fp8mixed.safetensors", "mistral_3_small_flux2_fp8.safetensors"},
    ),
    (
        "black-forest-labs/FLUX.2-dev",
        H100,
        {"flux2_dev_fp8mixed.safetensors", "mistral_3_small_flux2_fp8.safetensors"},
    ),
    (
        "black-forest-labs/FLUX.2-klein-4B",
        RTX_5090_CU13,
        {"flux-2-klein-4b-nvfp4.safetensors", "qwen_3_4b_fp4_flux2.safetensors"},
    ),
    (
        "black-forest-labs/FLUX.2-klein-4B",
        H100,
        {"flux-2-klein-4b-fp8.safetensors", "qwen_3_4b.safetensors"},
    ),
    (
        "black-forest-labs/FLUX.2-klein-9B",
        RTX_5090_CU13,
        {"flux-2-klein-9b-nvfp4.safetensors", "qwen_3_8b_fp8mixed.safetensors"},
    ),
    (
        "black-forest-labs/FLUX.2-klein-9B",
        H100,
        {"flux-2-klein-9b-fp8.safetensors", "qwen_3_8b_fp8mixed.safetensors"},
    ),
    (
        "black-forest-labs/FLUX.2-klein-9B",
        RTX_3090,
        {"flux-2-klein-9b.safetensors", "qwen_3_8b.safetensors"},
    ),
]

Factory = Callable[..., HuggingFaceSource]


@pytest.fixture
def family(hf_server: HFServer, tmp_path: Path) -> FluxStandIns:
    return add_flux_family(hf_server, tmp_path / "catalog", token=TOKEN)


@pytest.fixture
async def make_source(
    hf_server: HFServer, make_settings: Callable[..., Settings], family: FluxStandIns
) -> AsyncIterator[Factory]:
    sessions: list[aiohttp.ClientSession] = []

    def factory(
        token: str | None = TOKEN, gpu: GpuFacts = CPU, **settings: Any
    ) -> HuggingFaceSource:
        values = make_settings(hf_endpoint=hf_server.url, **settings)
        policy = HostPolicy(values)
        session = make_session(policy)
        sessions.append(session)
        ctx = SourceContext(values, session, policy, Tokens(huggingface=token))
        return HuggingFaceSource(ctx, gpu=gpu, catalog=family.catalog)

    yield factory
    for session in sessions:
        await session.close()


def placed(files: list[PlannedFile]) -> set[tuple[str, str]]:
    return {(f.folder, f.filename) for f in files}


def weights(files: list[PlannedFile]) -> set[str]:
    return {f.filename for f in files if f.meta.get("role") in ("transformer", "text_encoder")}


# -- what each member plans ------------------------------------------------------------------
@pytest.mark.parametrize("repo_id", sorted(ON_CPU))
async def test_each_member_plans_exactly_the_files_comfyui_loads(
    repo_id: str, make_source: Factory, family: FluxStandIns, hf_server: HFServer
) -> None:
    files = await make_source().plan(HFRef(repo_id))

    assert placed(files) == ON_CPU[repo_id]
    member, _ = family.catalog.lookup(repo_id) or (None, None)
    assert member is not None
    for planned in files:
        repo, path = planned.meta["repo_id"], planned.meta["path"]
        assert planned.sha256 == family.data_sha256(repo, path)
        part = member.part(planned.meta["role"])
        assert part is not None and part.folder == planned.folder
        assert f"for '{part.loader}'" in planned.folder_reason
        assert member.licence in planned.folder_reason
        assert planned.meta["flux"] == member.key
    # Nothing of the diffusers copies, and no byte moved while planning.
    assert not any("/" in f.meta["path"] and "split_files" not in f.meta["path"] for f in files)
    assert hf_server.resolve_requests() == [] and hf_server.cdn.requests == []


async def test_pinned_revisions_are_the_commits_planned_and_fetched(
    make_source: Factory, family: FluxStandIns
) -> None:
    files = await make_source().plan(HFRef("black-forest-labs/FLUX.2-klein-4B"))

    spec = json.loads(family.catalog_path.read_text())
    for planned in files:
        pinned = spec["repos"][planned.meta["repo_id"]]["revision"]
        assert pinned and planned.revision == pinned
        assert f"/resolve/{pinned}/" in planned.url


@pytest.mark.parametrize(("repo_id", "gpu", "expected"), BY_GPU)
async def test_the_precision_follows_the_gpu(
    repo_id: str, gpu: GpuFacts, expected: set[str], make_source: Factory
) -> None:
    files = await make_source(gpu=gpu).plan(HFRef(repo_id))

    assert weights(files) == expected
    [transformer] = [f for f in files if f.meta["role"] == "transformer"]
    if gpu is RTX_5090_CU13:
        assert "sm_120 GPU with torch for CUDA 13.0" in transformer.folder_reason
    if gpu is RTX_5090_CU128:
        assert "torch is built for CUDA 12.8, and NVFP4 needs CUDA 13" in transformer.folder_reason


async def test_a_precision_that_is_not_published_falls_back_and_says_so(
    make_source: Factory,
) -> None:
    krea = await make_source(gpu=RTX_5090_CU13).plan(HFRef("black-forest-labs/FLUX.1-Krea-dev"))
    fill = await make_source(gpu=H100).plan(HFRef("black-forest-labs/FLUX.1-Fill-dev"))

    [krea_transformer] = [f for f in krea if f.meta["role"] == "transformer"]
    assert "no nvfp4 file is published for FLUX.1 Krea [dev]" in krea_transformer.folder_reason
    [fill_transformer] = [f for f in fill if f.meta["role"] == "transformer"]
    assert "bf16, the only precision published (fp8 would suit" in fill_transformer.folder_reason


@pytest.mark.parametrize(
    ("setting", "gpu", "expected"),
    [
        ("fp8", CPU, {"flux-2-klein-4b-fp8.safetensors", "qwen_3_4b.safetensors"}),
        ("nvfp4", H100, {"flux-2-klein-4b-nvfp4.safetensors", "qwen_3_4b_fp4_flux2.safetensors"}),
        ("bf16", RTX_5090_CU13, {"flux-2-klein-4b.safetensors", "qwen_3_4b.safetensors"}),
    ],
)
async def test_phoenix_flux_precision_overrides_the_gpu(
    setting: str, gpu: GpuFacts, expected: set[str], make_source: Factory
) -> None:
    files = await make_source(gpu=gpu, flux_precision=setting).plan(
        HFRef("black-forest-labs/FLUX.2-klein-4B")
    )

    assert weights(files) == expected
    assert all(
        f"PHOENIX_FLUX_PRECISION={setting}" in f.folder_reason
        for f in files
        if f.meta["role"] == "transformer"
    )


async def test_a_variant_repository_plans_its_member_at_that_precision(
    make_source: Factory,
) -> None:
    files = await make_source(gpu=CPU).plan(HFRef("black-forest-labs/FLUX.2-klein-4b-fp8"))

    assert weights(files) == {"flux-2-klein-4b-fp8.safetensors", "qwen_3_4b.safetensors"}
    assert FLUX2_VAE in placed(files)


@pytest.mark.parametrize(
    ("gpu", "t5"),
    [
        (GpuFacts(16 * 1024**3, (8, 9)), "t5xxl_fp8_e4m3fn.safetensors"),
        (GpuFacts(24 * 1024**3, (8, 9)), "t5xxl_fp16.safetensors"),
        (CPU, "t5xxl_fp16.safetensors"),
    ],
)
async def test_phoenix_t5_auto_still_follows_the_gpus_memory(
    gpu: GpuFacts, t5: str, make_source: Factory
) -> None:
    files = await make_source(gpu=gpu).plan(HFRef("black-forest-labs/FLUX.1-dev"))

    assert ("text_encoders", t5) in placed(files)


async def test_phoenix_t5_wins_over_the_gpu(make_source: Factory) -> None:
    files = await make_source(gpu=H100, t5="fp8").plan(HFRef("black-forest-labs/FLUX.1-schnell"))

    [t5] = [f for f in files if f.meta["role"] == "t5"]
    assert t5.filename == "t5xxl_fp8_e4m3fn.safetensors" and "PHOENIX_T5=fp8" in t5.folder_reason


# -- licence and access first ------------------------------------------------------------------
GATED = sorted(r for r in ON_CPU if r != "black-forest-labs/FLUX.2-klein-4B")


@pytest.mark.parametrize("repo_id", GATED)
async def test_without_a_token_a_gated_member_names_its_licence_page_before_any_byte(
    repo_id: str, make_source: Factory, hf_server: HFServer
) -> None:
    with pytest.raises(GatedError) as caught:
        await make_source(token=None).plan(HFRef(repo_id))

    assert caught.value.licence_url == f"{hf_server.url}/{repo_id}"
    assert hf_server.resolve_requests() == [] and hf_server.cdn.requests == []
    # The member's own repository is the first one asked, whatever else the plan needs.
    first = next(r for r in hf_server.requests if r.path.startswith("/api/models/"))
    assert first.path.startswith(f"/api/models/{repo_id}/")


async def test_a_repackaged_copy_does_not_route_around_the_licence(
    make_source: Factory, hf_server: HFServer
) -> None:
    # On an H100 every FLUX.2 [dev] file comes from Comfy-Org's public copy; the gate still holds.
    with pytest.raises(GatedError):
        await make_source(token=None, gpu=H100).plan(HFRef("black-forest-labs/FLUX.2-dev"))

    assert hf_server.cdn.requests == []


async def test_klein_4b_is_apache_and_plans_without_a_token(make_source: Factory) -> None:
    files = await make_source(token=None, gpu=RTX_5090_CU13).plan(
        HFRef("black-forest-labs/FLUX.2-klein-4B")
    )

    assert all(f.token is None and not f.meta["gated"] for f in files)
    assert all("FLUX.2 [klein] 4B is under Apache-2.0" in f.folder_reason for f in files)


# -- pins ----------------------------------------------------------------------------------------
async def test_a_file_that_is_not_the_pinned_one_is_refused_before_any_byte(
    make_source: Factory, family: FluxStandIns, hf_server: HFServer
) -> None:
    spec = json.loads(family.catalog_path.read_text())
    about = spec["repos"]["black-forest-labs/FLUX.2-klein-4B"]
    swapped = safetensors_bytes(FLUX_TRANSFORMER, seed=99)
    hf_server.add_repo(
        "black-forest-labs/FLUX.2-klein-4B",
        {"flux-2-klein-4b.safetensors": swapped},
        commit=about["revision"],
    )

    with pytest.raises(SourceError) as caught:
        await make_source().plan(HFRef("black-forest-labs/FLUX.2-klein-4B"))

    assert "flux-2-klein-4b.safetensors" in caught.value.detail
    assert "catalog pins" in caught.value.detail
    assert caught.value.hint and "owner/repo/path" in caught.value.hint
    assert hf_server.cdn.requests == []


async def test_a_broken_replacement_catalog_is_one_sentence_naming_the_variable(
    hf_server: HFServer, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    broken = tmp_path / "catalog.json"
    broken.write_text('{"roles": {}}')
    settings = make_settings(hf_endpoint=hf_server.url, flux_catalog=broken)
    policy = HostPolicy(settings)
    async with make_session(policy) as session:
        ctx = SourceContext(settings, session, policy, Tokens(huggingface=TOKEN))
        with pytest.raises(ConfigError) as caught:
            await HuggingFaceSource(ctx).plan(HFRef("black-forest-labs/FLUX.1-dev"))

    assert f"PHOENIX_FLUX_CATALOG ({broken})" in caught.value.detail
    assert caught.value.hint and "unset PHOENIX_FLUX_CATALOG" in caught.value.hint
