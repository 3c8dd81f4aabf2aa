"""Which precision of a FLUX file this machine gets, and why, in words the plan shows.

``PHOENIX_FLUX_PRECISION=auto`` reads the GPU (:class:`GpuFacts`):

- no GPU found: bf16, which loads on any device (torch cannot move fp8 or NVFP4
  weights to Apple's MPS, and without a GPU they save nothing at run time);
- Blackwell (sm_100, sm_120) with torch built for CUDA 13: NVFP4, the format its
  tensor cores compute in (ComfyUI's NVFP4 kernels need a CUDA 13 build);
- Ada or Hopper (sm_89, sm_90): fp8;
- any other GPU, Blackwell with an older torch included: bf16 while the
  transformer fits in its memory, fp8 otherwise. (An RTX 5090 in an image whose
  torch is built for CUDA 12.8 keeps the bf16 FLUX.1 [dev] it always got.)

A precision that is not published for a file falls back towards bf16
(NVFP4 → fp8 → bf16), and the reason says so. FLUX.1's T5-XXL keeps its own
setting, ``PHOENIX_T5`` (fp8 below 24 GB of VRAM, fp16 otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ....status.gpu_facts import GpuFacts
from .catalog import Part, Pin, Precision, Variant

T5Precision = Literal["fp16", "fp8"]

#: Cards sold as "24 GB" report about 25.7e9 bytes, so a decimal threshold keeps them on fp16.
FP16_MIN_VRAM_BYTES = 24 * 1000**3
#: The share of a GPU's memory a bf16 transformer may fill and still leave room to sample.
BF16_FIT_SHARE = 0.85
#: Compute capabilities from which fp8 and NVFP4 run in hardware.
FP8_FROM = (8, 9)
NVFP4_FROM = (10, 0)
NVFP4_TORCH_CUDA = 13

#: The roles whose precision matters enough to explain when only one is published.
_CHOSEN_ROLES = frozenset({"transformer", "text_encoder"})

_FALLBACK: dict[Precision, tuple[Precision, ...]] = {
    "nvfp4": ("nvfp4", "fp8", "bf16"),
    "fp8": ("fp8", "bf16"),
    "bf16": ("bf16",),
}


@dataclass(frozen=True)
class Choice:
    """A precision and the clause that explains it."""

    precision: Precision
    why: str


def choose_precision(setting: str, gpu: GpuFacts, bf16_bytes: float | None) -> Choice:
    """The precision a member's files aim for.

    Args:
        setting: ``PHOENIX_FLUX_PRECISION``: ``auto``, ``bf16``, ``fp8`` or ``nvfp4``.
        gpu: the largest GPU's facts.
        bf16_bytes: the size of the member's bf16 transformer, for the fit on older GPUs.
    """
    for precision in _FALLBACK:
        if setting == precision:
            return Choice(precision, f"PHOENIX_FLUX_PRECISION={setting}")
    if not gpu.found:
        return Choice("bf16", "no GPU was found, and bf16 loads on any device")
    if gpu.capability is not None and gpu.capability >= NVFP4_FROM:
        cuda = gpu.torch_cuda_major
        if cuda is not None and cuda >= NVFP4_TORCH_CUDA:
            return Choice("nvfp4", f"an {gpu.sm} GPU with torch for CUDA {gpu.torch_cuda}")
        built = (
            "torch's CUDA version is not known"
            if cuda is None
            else f"torch is built for CUDA {gpu.torch_cuda}"
        )
        return _by_memory(gpu, bf16_bytes, f"{built}, and NVFP4 needs CUDA 13; ")
    if gpu.capability is not None and gpu.capability >= FP8_FROM:
        return Choice("fp8", f"an {gpu.sm} GPU computes in fp8")
    return _by_memory(gpu, bf16_bytes)


def _by_memory(gpu: GpuFacts, bf16_bytes: float | None, said: str = "") -> Choice:
    where = f"an {gpu.sm} GPU" if gpu.sm else "this GPU"
    if gpu.vram_bytes is None or bf16_bytes is None:
        return Choice("bf16", f"{said}{where} of unknown memory")
    gigabytes = gpu.vram_bytes / 1000**3
    if bf16_bytes <= gpu.vram_bytes * BF16_FIT_SHARE:
        return Choice("bf16", f"{said}{where} with {gigabytes:.0f} GB holds the bf16 transformer")
    return Choice("fp8", f"{said}the bf16 transformer does not fit {where}'s {gigabytes:.0f} GB")


def pick(part: Part, choice: Choice, member: str) -> tuple[Variant, Pin, str]:
    """The variant of ``part`` for ``choice``, its pin, and the reason in words."""
    single = part.single
    if single is not None:
        variant = next(iter(part.variants))
        if part.role not in _CHOSEN_ROLES or variant == choice.precision:
            return variant, single, ""
        return (
            variant,
            single,
            (
                f"{variant}, the only precision published ({choice.precision} would suit: {choice.why})"
            ),
        )
    for precision in _FALLBACK[choice.precision]:
        pin = part.variants.get(precision)
        if pin is not None:
            if precision == choice.precision:
                return precision, pin, f"{precision}: {choice.why}"
            return (
                precision,
                pin,
                (
                    f"{precision}: {choice.why}, but no {choice.precision} file is published "
                    f"for {member}'s {part.what}"
                ),
            )
    raise LookupError(f"{member}'s {part.what} has no bf16 file")  # the catalog always has one


def choose_t5(t5_choice: str, gpu: GpuFacts) -> tuple[T5Precision, str]:
    """Pick the T5-XXL precision (``PHOENIX_T5``) and say why.

    With ``auto`` the choice follows the largest GPU's memory: fp8 below 24 GB,
    fp16 otherwise; with no GPU fp16, because it loads everywhere.
    """
    if t5_choice == "fp16":
        return "fp16", "PHOENIX_T5=fp16"
    if t5_choice == "fp8":
        return "fp8", "PHOENIX_T5=fp8"
    if gpu.vram_bytes is None:
        return "fp16", "no GPU was found, and fp16 loads on any device"
    gigabytes = gpu.vram_bytes / 1000**3
    if gpu.vram_bytes < FP16_MIN_VRAM_BYTES:
        return "fp8", f"the GPU has {gigabytes:.0f} GB, under 24 GB"
    return "fp16", f"the GPU has {gigabytes:.0f} GB"
