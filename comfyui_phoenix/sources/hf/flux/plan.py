"""A FLUX repository reference becomes the files ComfyUI loads, each with its reason.

``black-forest-labs/FLUX.1-dev`` (or any member's repository, or one of its
fp8/NVFP4 repositories) plans the member's transformer, autoencoder and text
encoders, plus Redux's image encoder and adapter, in the precision this machine
gets (:mod:`.precision`), from the pinned files of the catalog (:mod:`.catalog`);
never the diffusers-format copies the official repositories also hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ....refs import Destination, HFRef
from ....status.gpu_facts import GpuFacts
from .catalog import Catalog, Member, Part, Pin, Role
from .precision import Choice, choose_precision, choose_t5, pick


@dataclass(frozen=True)
class FluxFile:
    """One file of a FLUX plan: where it comes from and goes, its role and why."""

    ref: HFRef
    folder: str
    role: Role
    pin: Pin
    reason: str
    #: The core loader node that reads it (``meta["loader"]``).
    loader: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FluxPlan:
    member: Member
    files: list[FluxFile]


def flux_plan(
    catalog: Catalog,
    repo_id: str,
    *,
    precision: str = "auto",
    t5: str = "auto",
    gpu: GpuFacts | None = None,
) -> FluxPlan | None:
    """The files that make ``repo_id`` runnable in ComfyUI; None when it is no FLUX member.

    Args:
        catalog: the FLUX catalog.
        repo_id: a whole-repository reference's repository.
        precision: ``PHOENIX_FLUX_PRECISION``.
        t5: ``PHOENIX_T5``, for FLUX.1's T5-XXL.
        gpu: the largest GPU's facts (unknown: no GPU).
    """
    found = catalog.lookup(repo_id)
    if found is None:
        return None
    member, fixed = found
    gpu = gpu or GpuFacts()
    if fixed is not None:
        choice = Choice(fixed, f"{repo_id} holds {member.name}'s {fixed} files")
    else:
        choice = choose_precision(precision, gpu, _bf16_bytes(member))
    files = []
    for part in member.parts:
        if part.role == "t5":
            t5_precision, why = choose_t5(t5, gpu)
            pin, note = part.variants[t5_precision], f"{t5_precision}: {why}"
        else:
            _, pin, note = pick(part, choice, member.name)
        destination = Destination(part.folder)
        ref = HFRef(pin.repo, pin.path, revision=pin.revision, destination=destination)
        reason = _reason(member, part, note)
        files.append(FluxFile(ref, part.folder, part.role, pin, reason, dict(part.node)))
    return FluxPlan(member, files)


def _bf16_bytes(member: Member) -> float | None:
    """The published size of the bf16 transformer (rounded, as the hub lists it)."""
    transformer = member.part("transformer")
    pin = transformer.variants.get("bf16") if transformer else None
    return None if pin is None else pin.gb * 1000**3


def _reason(member: Member, part: Part, note: str) -> str:
    said = f"{note}; " if note else ""
    return (
        f"{member.name}'s {part.what}, for '{part.loader}' "
        f"({said}{member.name} is under {member.licence})"
    )
