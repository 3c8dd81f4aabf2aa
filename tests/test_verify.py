"""Hashing while bytes arrive, refusing what is not a model, and publishing atomically."""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path

import pytest
from blake3 import blake3
from peers.models import LORA, safetensors_bytes

from comfyui_phoenix.engines.verify import (
    StreamingHasher,
    check_size_and_hash,
    publish,
    sniff_content,
)
from comfyui_phoenix.errors import IntegrityError

MODEL = safetensors_bytes(LORA, pad_to=200_000, seed=3)


@pytest.mark.parametrize("algorithm", ["sha256", "blake3"])
def test_hash_of_a_growing_file_matches_the_whole_file(tmp_path: Path, algorithm: str) -> None:
    part = tmp_path / "model.safetensors.part"
    part.write_bytes(b"")
    hasher = StreamingHasher(part, algorithm)
    with open(part, "r+b") as handle:
        for start in range(0, len(MODEL), 30_001):
            handle.write(MODEL[start : start + 30_001])
            handle.flush()
            hasher.advance(handle.tell())

    digest = hasher.finish(len(MODEL))

    reference = hashlib.sha256(MODEL) if algorithm == "sha256" else blake3(MODEL)
    assert digest == reference.hexdigest()
    assert hasher.hashed == len(MODEL)


def test_hasher_refuses_a_file_shorter_than_announced(tmp_path: Path) -> None:
    part = tmp_path / "model.part"
    part.write_bytes(MODEL[:1000])
    hasher = StreamingHasher(part, "sha256")
    hasher.advance(1000)

    with pytest.raises(IntegrityError, match="ended at 1000"):
        hasher.finish(2000)


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html><body>Sign in</body></html>",
        b"  <html><head></head></html>",
        b'{"error": "Unauthorized"}',
    ],
)
def test_web_pages_and_api_errors_are_refused(tmp_path: Path, body: bytes) -> None:
    path = tmp_path / "model.safetensors.part"
    path.write_bytes(body)

    with pytest.raises(IntegrityError, match="web page or an error message"):
        sniff_content(path, "model.safetensors")


def test_truncated_safetensors_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors.part"
    path.write_bytes(MODEL[:-10])

    with pytest.raises(IntegrityError, match="truncated"):
        sniff_content(path, "model.safetensors")


def test_safetensors_with_a_broken_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors.part"
    path.write_bytes(struct.pack("<Q", 50) + b"not json at all" + b"\0" * 100)

    with pytest.raises(IntegrityError, match="not a valid safetensors"):
        sniff_content(path, "model.safetensors")


def test_valid_safetensors_header_is_returned(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors.part"
    path.write_bytes(MODEL)

    header = sniff_content(path, "model.safetensors")

    assert header is not None
    assert set(LORA) <= set(header)
    (length,) = struct.unpack("<Q", MODEL[:8])
    assert header == json.loads(MODEL[8 : 8 + length])


def test_publish_renames_in_place_over_an_old_file(models_dir: Path) -> None:
    part = models_dir / "model.safetensors.part"
    final = models_dir / "model.safetensors"
    part.write_bytes(MODEL)
    final.write_bytes(b"old version")
    inode = part.stat().st_ino

    publish(part, final)

    assert not part.exists()
    assert final.read_bytes() == MODEL
    # the same inode: a rename, never a copy that a crash could leave half-written
    assert final.stat().st_ino == inode
    assert os.listdir(models_dir) == ["model.safetensors"]


def test_size_and_hash_mismatches_name_the_problem() -> None:
    check_size_and_hash("m.safetensors", 10, 10, "ab", ("sha256", "AB"))
    with pytest.raises(IntegrityError, match="has 9 bytes, the source promised 10"):
        check_size_and_hash("m.safetensors", 9, 10, None, None)
    with pytest.raises(IntegrityError, match="SHA256 checksum"):
        check_size_and_hash("m.safetensors", 10, 10, "ab", ("sha256", "cd"))


def test_a_header_with_nonsense_offsets_is_an_integrity_error(tmp_path: Path) -> None:
    import json
    import struct

    header = json.dumps({"w": {"dtype": "F16", "shape": [1], "data_offsets": ["0", "x"]}}).encode()
    path = tmp_path / "odd.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0\0")
    with pytest.raises(IntegrityError):
        sniff_content(path, path.name)
