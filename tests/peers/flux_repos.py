"""Stand-ins for the FLUX family's repositories, laid out from Phoenix's own catalog.

Every repository the catalog names is hosted at its pinned commit (a derived one
where none is pinned), gated like the real one, with a file at each catalog
path: a small safetensors file whose tensor names are what ComfyUI reads for
that member and role, and, with ``loadable``, the shapes its loaders check
(:mod:`peers.models`). The members' own repositories also hold the diffusers
copies the real ones do. The stand-in catalog written beside them is the
shipped one with the stand-ins' own sizes and hashes pinned instead.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from comfyui_phoenix.sources.hf.flux import Catalog, load_catalog
from comfyui_phoenix.sources.hf.flux.catalog import SHIPPED
from peers.hf import HFServer
from peers.models import (
    CLIP_L,
    CLIP_L_LOADABLE,
    FLUX1_AE,
    FLUX2_AE,
    FLUX_TRANSFORMER,
    FLUX_VAE,
    MISTRAL_FLUX2,
    QWEN3_4B,
    QWEN3_8B,
    REDUX,
    SIGCLIP_384,
    T5_ENCODER,
    T5_XXL_LOADABLE,
    flux1_transformer,
    flux2_transformer,
    random_bytes,
    safetensors_bytes,
    tekken_tokenizer,
)

#: Latent input channels after 2x2 patches, by member (FLUX.1 [dev] and most others: 64).
FLUX1_IN_CHANNELS = {"flux1-fill-dev": 384, "flux1-canny-dev": 128, "flux1-depth-dev": 128}
#: FLUX.2 text encoders' output width: three stacked hidden layers.
FLUX2_CONTEXT = {"flux2-dev": 15360, "flux2-klein-4b": 7680, "flux2-klein-9b": 12288}
DTYPES = {"fp8": "F8_E4M3", "nvfp4": "U8"}
DIFFUSERS_COPIES = (
    "model_index.json",
    "transformer/config.json",
    "transformer/diffusion_pytorch_model-00001-of-00003.safetensors",
    "text_encoder_2/model-00001-of-00002.safetensors",
    "vae/diffusion_pytorch_model.safetensors",
)


@dataclass
class FluxStandIns:
    """The hosted family: its stand-in catalog, and every file's bytes by (repo, path)."""

    catalog_path: Path
    catalog: Catalog
    contents: dict[tuple[str, str], bytes] = field(default_factory=dict)

    def data(self, repo: str, path: str) -> bytes:
        return self.contents[(repo, path)]

    def data_sha256(self, repo: str, path: str) -> str:
        return hashlib.sha256(self.data(repo, path)).hexdigest()


def add_flux_family(
    hub: HFServer, work: Path, *, token: str | None, loadable: bool = False
) -> FluxStandIns:
    """Host every repository of the shipped catalog on ``hub``; gated ones open to ``token``.

    With ``token`` None every repository is public (for tests about something else).
    """
    shipped = load_catalog()
    spec = json.loads(SHIPPED.read_text(encoding="utf-8"))
    repos: dict[str, dict[str, bytes]] = {repo: {} for repo in spec["repos"]}
    for member in shipped.members:
        for part in member.parts:
            for variant, pin in part.variants.items():
                files = repos[pin.repo]
                if pin.path not in files:
                    seed = len(files) + 7 * len(repos)
                    files[pin.path] = stand_in(member.key, part.role, variant, loadable, seed)
        for path in DIFFUSERS_COPIES:
            repos[member.repo].setdefault(path, random_bytes(64, len(path)))
    for repo_id, files in repos.items():
        about = spec["repos"][repo_id]
        gated = "manual" if about["gated"] and token is not None else False
        hub.add_repo(
            repo_id,
            files,
            gated=gated,
            tokens_with_access={token} if token else set(),
            commit=about["revision"],
        )
    for entry in spec["files"].values():
        data = repos[entry["repo"]][entry["path"]]
        entry["size"], entry["sha256"] = len(data), hashlib.sha256(data).hexdigest()
    work.mkdir(parents=True, exist_ok=True)
    path = work / "flux-catalog.json"
    path.write_text(json.dumps(spec, indent=1), encoding="utf-8")
    contents = {(repo, p): data for repo, files in repos.items() for p, data in files.items()}
    return FluxStandIns(path, load_catalog(path), contents)


def stand_in(member: str, role: str, variant: str, loadable: bool, seed: int) -> bytes:
    """A small file shaped like ``member``'s ``role`` file; ``loadable`` for its 16-bit files."""
    dtype = DTYPES.get(variant, "BF16")
    real = loadable and variant in ("bf16", "fp16")
    if role == "transformer":
        if member.startswith("flux2"):
            tiny = {"img_in.weight": (8, 8), "double_stream_modulation_img.lin.weight": (8, 8)}
            tensors = flux2_transformer(FLUX2_CONTEXT[member]) if real else tiny
        elif real:
            guided = member != "flux1-schnell"
            tensors = flux1_transformer(FLUX1_IN_CHANNELS.get(member, 64), guidance=guided)
        else:
            tensors = dict(FLUX_TRANSFORMER)
        return safetensors_bytes(tensors, dtype=dtype, seed=seed)
    if role == "text_encoder":
        layout = {
            "flux2-dev": MISTRAL_FLUX2,
            "flux2-klein-4b": QWEN3_4B,
            "flux2-klein-9b": QWEN3_8B,
        }
        raw = {"tekken_model": tekken_tokenizer()} if member == "flux2-dev" else None
        return safetensors_bytes(layout[member], dtype=dtype, seed=seed, raw=raw)
    if role == "style_model":
        shapes = REDUX if real else {"redux_up.weight": (8, 8), "redux_down.weight": (8, 8)}
        return safetensors_bytes(shapes, dtype=dtype, zeros=True)
    layouts = {
        "vae": (FLUX2_AE if member.startswith("flux2") else FLUX1_AE) if real else FLUX_VAE,
        "clip_l": CLIP_L_LOADABLE if real else CLIP_L,
        "t5": T5_XXL_LOADABLE if real else T5_ENCODER,
        "clip_vision": SIGCLIP_384,
    }
    return safetensors_bytes(layouts[role], dtype=dtype, seed=seed)


def host_public_flux(hub: HFServer, work: Path) -> Path:
    """The family, tiny and public, for tests about something else; its catalog's path."""
    return add_flux_family(hub, work, token=None).catalog_path
