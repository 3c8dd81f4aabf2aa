"""The GPU facts FLUX plans read: the largest GPU, its architecture, torch's CUDA."""

from __future__ import annotations

import sys
import types

import pytest

from comfyui_phoenix.status.gpu import NO_DRIVER, GpuInfo, GpuReport
from comfyui_phoenix.status.gpu_facts import GpuFacts, gpu_facts, loaded_torch_cuda

GIB = 1024**3


def test_the_largest_gpu_speaks_for_the_machine() -> None:
    report = GpuReport(
        available=True,
        gpus=[
            GpuInfo(0, "RTX 4090", compute_capability="8.9", vram_total=24 * GIB),
            GpuInfo(1, "RTX 5090", compute_capability="12.0", vram_total=32 * GIB),
        ],
    )

    facts = gpu_facts(report, "13.0")

    assert facts == GpuFacts(32 * GIB, (12, 0), "13.0")
    assert facts.sm == "sm_120" and facts.torch_cuda_major == 13 and facts.found


def test_no_readable_gpu_is_no_gpu() -> None:
    facts = gpu_facts(GpuReport(available=False, reason=NO_DRIVER), None)

    assert not facts.found and facts.sm is None and facts.torch_cuda_major is None


def test_torch_cuda_is_read_only_from_a_torch_already_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    assert loaded_torch_cuda() is None
    assert "torch" not in sys.modules  # asking did not import it

    fake = types.SimpleNamespace(version=types.SimpleNamespace(cuda="12.8"))
    monkeypatch.setitem(sys.modules, "torch", fake)
    assert loaded_torch_cuda() == "12.8"
    fake.version.cuda = None  # a CPU-only torch
    assert loaded_torch_cuda() is None
