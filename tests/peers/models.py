"""Small, valid model files whose safetensors headers look like the real thing."""

from __future__ import annotations

import base64
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
    raw: Mapping[str, bytes] | None = None,
    zeros: bool = False,
) -> bytes:
    """A valid safetensors file. ``pad_to`` adds a ``padding`` tensor to reach that size.

    ``raw`` adds U8 tensors holding the given bytes (ComfyUI keeps tokenizers so);
    ``zeros`` fills the other tensors with zeros instead of random bytes.
    """
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
    data_end = offset
    for name, blob in (raw or {}).items():
        header[name] = {
            "dtype": "U8",
            "shape": [len(blob)],
            "data_offsets": [offset, offset + len(blob)],
        }
        offset += len(blob)
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
    body = bytes(data_end) if zeros else rng.randbytes(data_end)
    tail = b"".join((raw or {}).values())
    return blob + body + tail + rng.randbytes(offset - data_end - len(tail))


def _encode(header: Mapping[str, object], _data_len: int) -> bytes:
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw


def random_bytes(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


# -- FLUX family stand-ins ComfyUI's own loaders accept ---------------------------------------------
# Each holds the tensors ComfyUI's detection reads (comfy/model_detection.py, comfy/sd.py), at
# their real shapes where the older ComfyUI fixes the architecture; every other weight is left
# out, so the models load (uninitialised) but cannot draw anything meaningful.
FLUX1_HIDDEN = 3072  # ComfyUI 0.3.x does not infer it: the shapes must be the real ones


def flux1_transformer(
    in_channels: int = 64, *, guidance: bool = True
) -> dict[str, tuple[int, ...]]:
    """FLUX.1: 16 latent channels (64 after 2x2 patches); Fill 384, Canny and Depth 128."""
    tensors: dict[str, tuple[int, ...]] = {
        "img_in.weight": (FLUX1_HIDDEN, in_channels),
        "vector_in.in_layer.weight": (FLUX1_HIDDEN, 768),
        "double_blocks.0.img_attn.norm.key_norm.scale": (128,),
        "single_blocks.0.norm.key_norm.scale": (128,),
    }
    if guidance:  # [schnell] has no guidance embedding
        tensors["guidance_in.in_layer.weight"] = (FLUX1_HIDDEN, 256)
    return tensors


def flux2_transformer(context: int, hidden: int = 128) -> dict[str, tuple[int, ...]]:
    """FLUX.2, hidden size shrunk (ComfyUI infers it); ``context``: the text encoder's width."""
    return {
        "img_in.weight": (hidden, 128),
        "txt_in.weight": (hidden, context),
        "double_blocks.0.img_attn.norm.key_norm.scale": (128,),
        "double_stream_modulation_img.lin.weight": (6 * hidden, hidden),
        "single_blocks.0.norm.key_norm.scale": (128,),
    }


# The second encoder down-sampler tells a FLUX autoencoder from SD's x4 upscaler VAE.
FLUX1_AE = {
    "decoder.conv_in.weight": (512, 16, 3, 3),
    "encoder.down.2.downsample.conv.weight": (512, 512, 3, 3),
}
FLUX2_AE = {
    "decoder.conv_in.weight": (512, 32, 3, 3),
    "encoder.down.2.downsample.conv.weight": (512, 512, 3, 3),
    "bn.running_mean": (128,),
}
# DualCLIPLoader tells CLIP-L from T5 by CLIP's second layer.
CLIP_L_LOADABLE = {
    "text_model.encoder.layers.0.mlp.fc1.weight": (3072, 768),
    "text_model.encoder.layers.1.mlp.fc1.weight": (3072, 768),
}
T5_XXL_LOADABLE = {"encoder.final_layer_norm.weight": (4096,)}
MISTRAL_FLUX2 = {"model.layers.0.post_attention_layernorm.weight": (5120,)}  # no layer 39: pruned
QWEN3_4B = {
    "model.layers.0.post_attention_layernorm.weight": (2560,),
    "model.layers.0.self_attn.q_norm.weight": (128,),
}
QWEN3_8B = {
    "model.layers.0.post_attention_layernorm.weight": (4096,),
    "model.layers.0.self_attn.q_norm.weight": (128,),
}
SIGCLIP_384 = {
    "vision_model.encoder.layers.0.layer_norm1.weight": (1152,),
    "vision_model.encoder.layers.22.layer_norm1.weight": (1152,),
    "vision_model.embeddings.position_embedding.weight": (729, 1152),
    "vision_model.embeddings.patch_embedding.weight": (1152, 3, 14, 14),  # 4-D: not SigLIP 2
}
# ComfyUI loads the Redux adapter strictly: it is its real size (129 MB), in zeros.
REDUX = {
    "redux_up.weight": (12288, 1152),
    "redux_up.bias": (12288,),
    "redux_down.weight": (4096, 12288),
    "redux_down.bias": (4096,),
}


def tekken_tokenizer(special: int = 16) -> bytes:
    """A Mistral tekken tokenizer of single bytes, as FLUX.2 [dev]'s encoder file embeds one."""
    vocab = [{"rank": i, "token_bytes": base64.b64encode(bytes([i])).decode()} for i in range(256)]
    config = {"default_num_special_tokens": special, "default_vocab_size": special + 256}
    specials = [{"rank": i, "token_str": f"<s{i}>"} for i in range(special)]
    return json.dumps({"config": config, "vocab": vocab, "special_tokens": specials}).encode()
