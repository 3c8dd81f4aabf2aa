"""Small, valid model files whose safetensors headers look like the real thing."""

from __future__ import annotations

import json
import random
import struct
from collections.abc import Mapping, Sequence

DTYPE_BYTES = {"F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "U8": 1}

#: Tensor names and shapes that identify each kind of model (shapes shrunk to keep files small).
FLUX_TRANSFORMER = {
    "double_blocks.0.img_attn.qkv.weight": (24, 8),
    "single_blocks.0.linear1.weight": (16, 8),
    "img_in.weight": (8, 4),
    "guidance_in.in_layer.weight": (8, 4),
}
FLUX_VAE = {
    "encoder.conv_in.weight": (8, 3, 3, 3),
    "decoder.conv_out.weight": (3, 8, 3, 3),
    "decoder.mid.attn_1.q.weight": (8, 8, 1, 1),
}
T5_ENCODER = {
    "encoder.block.0.layer.0.SelfAttention.q.weight": (8, 8),
    "shared.weight": (16, 8),
}
CLIP_L = {
    "text_model.encoder.layers.0.self_attn.q_proj.weight": (8, 8),
    "text_model.embeddings.token_embedding.weight": (16, 8),
}
SD_CHECKPOINT = {
    "model.diffusion_model.input_blocks.0.0.weight": (8, 4, 3, 3),
    "first_stage_model.decoder.conv_out.weight": (3, 8, 3, 3),
    "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight": (16, 8),
}
LORA = {
    "lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight": (4, 8),
    "lora_unet_double_blocks_0_img_attn_qkv.lora_up.weight": (8, 4),
    "lora_unet_double_blocks_0_img_attn_qkv.alpha": (1,),
}


def safetensors_bytes(
    tensors: Mapping[str, Sequence[int]],
    *,
    dtype: str = "F16",
    pad_to: int = 0,
    seed: int = 0,
    metadata: Mapping[str, str] | None = None,
) -> bytes:
    """A valid safetensors file. ``pad_to`` adds a ``padding`` tensor to reach that size."""
    rng = random.Random(seed)
    width = DTYPE_BYTES[dtype]
    header: dict[str, object] = {}
    offset = 0
    for name, shape in tensors.items():
        count = 1
        for dim in shape:
            count *= dim
        header[name] = {
            "dtype": dtype,
            "shape": list(shape),
            "data_offsets": [offset, offset + count * width],
        }
        offset += count * width
    if metadata:
        header["__metadata__"] = dict(metadata)
    if pad_to:
        base = len(_encode(header, offset)) + offset
        extra = max(0, pad_to - base - 64)
        header["padding"] = {
            "dtype": "U8",
            "shape": [extra],
            "data_offsets": [offset, offset + extra],
        }
        offset += extra
    blob = _encode(header, offset)
    return blob + rng.randbytes(offset)


def _encode(header: Mapping[str, object], _data_len: int) -> bytes:
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw


def random_bytes(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)
