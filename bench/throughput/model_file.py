"""The file every client downloads: a valid, incompressible safetensors file of any size."""

from __future__ import annotations

import hashlib
import json
import random
import struct
from pathlib import Path
from typing import Any

from .units import MiB

REPO_ID = "bench/model"
FILENAME = "model.safetensors"
BLOCK = 64 * MiB


def safetensors_header(size: int) -> bytes:
    """A safetensors header for a file of exactly ``size`` bytes.

    A few FLUX-transformer tensor names make the classifier place it in
    ``diffusion_models``; one ``padding`` tensor takes up the rest.
    """
    tensors = {
        "double_blocks.0.img_attn.qkv.weight": [24, 8],
        "single_blocks.0.linear1.weight": [16, 8],
        "img_in.weight": [8, 4],
        "guidance_in.in_layer.weight": [8, 4],
    }
    header: dict[str, Any] = {}
    offset = 0
    for name, shape in tensors.items():
        length = shape[0] * shape[1] * 2
        header[name] = {"dtype": "F16", "shape": shape, "data_offsets": [offset, offset + length]}
        offset += length
    # The padding tensor's length changes the header's length; a few rounds settle it.
    encoded = b""
    for _ in range(3):
        rest = size - len(encoded) - offset
        header["padding"] = {
            "dtype": "U8",
            "shape": [rest],
            "data_offsets": [offset, offset + rest],
        }
        raw = json.dumps(header, separators=(",", ":")).encode()
        raw += b" " * (-len(raw) % 8)
        encoded = struct.pack("<Q", len(raw)) + raw
    if len(encoded) + offset + header["padding"]["shape"][0] != size:
        raise ValueError(f"cannot build a safetensors file of {size} bytes")
    return encoded


def write_model(path: Path, size: int, seed: int = 7) -> str:
    """Write a valid, incompressible safetensors file of ``size`` bytes; return its SHA256.

    Streamed in 64 MiB blocks, so memory stays flat whatever the size.
    """
    rng = random.Random(seed)
    digest = hashlib.sha256()
    header = safetensors_header(size)
    with open(path, "wb") as handle:
        handle.write(header)
        digest.update(header)
        left = size - len(header)
        while left:
            block = rng.randbytes(min(BLOCK, left))
            handle.write(block)
            digest.update(block)
            left -= len(block)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    """The SHA256 of the file at ``path``, read in 8 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(8 * MiB):
            digest.update(block)
    return digest.hexdigest()
