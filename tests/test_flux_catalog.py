"""The shipped FLUX catalog, the example workflows built on it, and the README's account of both."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from comfyui_phoenix.sources.hf.flux import Catalog, flux_plan, load_catalog
from comfyui_phoenix.status.gpu_facts import GpuFacts

GB = 1000**3
CPU = GpuFacts()


# -- the shipped catalog -----------------------------------------------------------------------
def test_the_shipped_catalog_covers_the_family_and_no_two_files_share_a_name() -> None:
    catalog = load_catalog()

    keys = {m.key for m in catalog.members}
    assert keys == {
        "flux1-dev",
        "flux1-schnell",
        "flux1-kontext-dev",
        "flux1-krea-dev",
        "flux1-fill-dev",
        "flux1-canny-dev",
        "flux1-depth-dev",
        "flux1-redux-dev",
        "flux2-dev",
        "flux2-klein-4b",
        "flux2-klein-9b",
    }
    hashes: dict[tuple[str, str], set[str]] = {}
    for member in catalog.members:
        roles = {p.role for p in member.parts}
        assert {"transformer", "vae"} <= roles
        assert roles & {"text_encoder", "t5"}
        for part in member.parts:
            assert "bf16" in part.variants or "fp16" in part.variants
            for pin in part.variants.values():
                name = (part.folder, pin.path.rsplit("/", 1)[-1])
                hashes.setdefault(name, set()).update([pin.sha256] if pin.sha256 else [])
    # Two files with one name in one folder would overwrite each other on disk.
    assert all(len(known) <= 1 for known in hashes.values()), hashes


def test_other_repositories_have_no_flux_plan() -> None:
    catalog: Catalog = load_catalog()

    assert flux_plan(catalog, "Comfy-Org/flux1-dev") is None
    assert flux_plan(catalog, "black-forest-labs/flux.1-DEV") is not None


# -- the example workflows -----------------------------------------------------------------------
EXAMPLES = Path(__file__).resolve().parents[1] / "example_workflows"
LOADER_ROLES = {
    "PhoenixDiffusionModelLoader": {0: "transformer"},
    "PhoenixFluxTextEncoderLoader": {0: "clip_l", 1: "t5"},
    "PhoenixFlux2TextEncoderLoader": {0: "text_encoder"},
    "PhoenixVAELoader": {0: "vae"},
    "PhoenixCLIPVisionLoader": {0: "clip_vision"},
    "PhoenixStyleModelLoader": {0: "style_model"},
}


@pytest.mark.parametrize("key", sorted(m.key for m in load_catalog().members))
def test_each_example_loads_every_file_its_member_plans_and_nothing_else(key: str) -> None:
    # What the boot preload of the member's repository places is what its example loads.
    member = load_catalog().member(key)
    workflow = json.loads((EXAMPLES / f"{key}-phoenix.json").read_text())

    loaded: set[str] = set()
    for node in workflow["nodes"]:
        for index, role in LOADER_ROLES.get(node["type"], {}).items():
            assert node["widgets_values"][index] == member.repo, (node["type"], role)
            loaded.add(role)
    assert loaded == {p.role for p in member.parts}


# -- the README's table ------------------------------------------------------------------------
README_GPUS = {
    "no GPU": CPU,
    "RTX 3090 24 GB": GpuFacts(int(25.4 * GB), (8, 6), "12.8"),
    "RTX 4090 24 GB": GpuFacts(int(25.4 * GB), (8, 9), "12.8"),
    "H100 80 GB": GpuFacts(85 * GB, (9, 0), "12.8"),
    "RTX 5090, CUDA 12.8 torch": GpuFacts(int(34.2 * GB), (12, 0), "12.8"),
    "RTX 5090, CUDA 13 torch": GpuFacts(int(34.2 * GB), (12, 0), "13.0"),
}


def _precision(path: str, role: str) -> str:
    if "fp4" in path:
        return "NVFP4"
    if "fp8" in path:
        return "fp8"
    return "fp16" if role == "t5" else "bf16"


def test_the_readmes_precision_table_is_what_the_plans_pick() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    header = "| member | " + " | ".join(README_GPUS) + " |"
    rows = readme.split(header, 1)[1].split("\n\n", 1)[0].strip().splitlines()[1:]
    catalog = load_catalog()
    names = {m.name: m for m in catalog.members}
    checked = 0
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        label, picks = cells[0], cells[1:]
        group = label.replace(" [dev]", "").removeprefix("FLUX.1 ").split(", ")
        members = [names[f"FLUX.1 {g} [dev]"] for g in group] if len(group) > 1 else [names[label]]
        for member in members:
            for (gpu_name, gpu), pick in zip(README_GPUS.items(), picks, strict=True):
                plan = flux_plan(catalog, member.repo, gpu=gpu)
                assert plan is not None
                got = [
                    _precision(f.pin.path, f.role)
                    for f in plan.files
                    if f.role in ("transformer", "text_encoder", "t5")
                ]
                assert " + ".join(got) == pick, (member.name, gpu_name)
                checked += 1
    assert checked == len(catalog.members) * len(README_GPUS)
