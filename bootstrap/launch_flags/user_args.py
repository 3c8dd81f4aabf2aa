"""``COMFYUI_ARGS``: split as a shell would, and the chosen flags that give way to it.

The user's arguments come last on ComfyUI's command line and win. A chosen flag they set
themselves, or one from the same mutually exclusive group of ComfyUI's argparse, is
left out, since argparse would refuse to start with both.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from .choice import FlagChoice

#: ComfyUI's mutually exclusive flag groups (comfy/cli_args.py): argparse refuses two of one.
EXCLUSIVE_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"--cuda-malloc", "--disable-cuda-malloc"}),
    frozenset({"--force-fp32", "--force-fp16"}),
    frozenset(
        {
            "--fp32-unet",
            "--fp64-unet",
            "--bf16-unet",
            "--fp16-unet",
            "--fp8_e4m3fn-unet",
            "--fp8_e5m2-unet",
            "--fp8_e8m0fnu-unet",
        }
    ),
    frozenset({"--fp16-vae", "--fp32-vae", "--bf16-vae"}),
    frozenset(
        {
            "--fp8_e4m3fn-text-enc",
            "--fp8_e5m2-text-enc",
            "--fp16-text-enc",
            "--fp32-text-enc",
            "--bf16-text-enc",
        }
    ),
    frozenset({"--cache-classic", "--cache-lru", "--cache-none"}),
    frozenset(
        {
            "--use-split-cross-attention",
            "--use-quad-cross-attention",
            "--use-pytorch-cross-attention",
            "--use-sage-attention",
            "--use-flash-attention",
        }
    ),
    frozenset({"--gpu-only", "--highvram", "--normalvram", "--lowvram", "--novram", "--cpu"}),
)


def parse_user_args(text: str) -> list[str]:
    """``COMFYUI_ARGS`` split as a shell would (quotes respected)."""
    return shlex.split(text) if text.strip() else []


def yield_to_user_args(
    flags: Sequence[FlagChoice], user_args: Sequence[str]
) -> tuple[list[FlagChoice], list[FlagChoice]]:
    """Drop chosen flags that ``COMFYUI_ARGS`` sets itself or contradicts.

    The user's arguments come last and win; a chosen flag from the same exclusive group
    (``--highvram`` when the user says ``--lowvram``) would make argparse refuse to start.

    Returns:
        (kept, overridden)
    """
    given = {arg.split("=", 1)[0] for arg in user_args if arg.startswith("--")}
    blocked = set(given)
    for group in EXCLUSIVE_GROUPS:
        if group & given:
            blocked |= group
    kept = [f for f in flags if f.flag not in blocked]
    overridden = [f for f in flags if f.flag in blocked]
    return kept, overridden
