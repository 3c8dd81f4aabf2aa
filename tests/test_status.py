"""The status layer: GPUs through NVML, host and disks through psutil, the boot report."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from comfyui_phoenix.runtime import BOOT_REPORT_FILE
from comfyui_phoenix.status.gpu import (
    NO_DRIVER,
    NO_PACKAGE,
    NOT_SAMPLED,
    GpuReport,
    GpuSampler,
    read_gpus,
    vram_of_largest,
)
from comfyui_phoenix.status.report import BootReport, StatusBoard
from comfyui_phoenix.status.system import SystemSampler, is_low_disk, read_system

GB = 1000**3
NVML_PRESENT = read_gpus().available
needs_no_nvml = pytest.mark.skipif(NVML_PRESENT, reason="this machine has a working NVML")
needs_nvml = pytest.mark.skipif(not NVML_PRESENT, reason="this machine has no NVML or no GPU")


# -- GPUs ------------------------------------------------------------------------------


@needs_no_nvml
def test_without_nvml_the_gpu_report_says_why() -> None:
    report = read_gpus()
    assert report.available is False
    assert report.reason == NO_DRIVER
    assert report.gpus == []
    assert vram_of_largest(report) is None


def test_without_the_pynvml_package_the_gpu_report_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` fail
    report = read_gpus()
    assert (report.available, report.reason) == (False, NO_PACKAGE)


@needs_nvml
def test_a_real_gpu_is_read_in_full() -> None:
    report = read_gpus()
    assert report.driver_version and report.cuda_driver_version
    for gpu in report.gpus:
        assert gpu.name and gpu.sm and gpu.sm.startswith("sm_")
        assert gpu.vram_total and gpu.vram_used is not None and gpu.vram_free is not None
        assert gpu.vram_used + gpu.vram_free <= gpu.vram_total
    assert vram_of_largest(report) == max(gpu.vram_total or 0 for gpu in report.gpus)
    json.dumps(report.to_dict())


async def test_the_sampler_answers_at_once_and_leaves_a_missing_nvml_alone() -> None:
    sampler = GpuSampler(interval=0.01, unavailable_interval=60)
    await sampler.start()
    started = time.perf_counter()
    before = sampler.latest()
    assert time.perf_counter() - started < 0.001
    assert before.reason == NOT_SAMPLED or sampler.samples > 0
    try:
        first = await sampler.wait_ready(timeout=10)
        assert first.sampled_at is not None
        await asyncio.sleep(0.1)
        if NVML_PRESENT:
            assert sampler.samples > 1
        else:
            # No driver does not appear within a second: NVML is not probed ten times.
            assert sampler.samples == 1
            assert sampler.latest().reason == NO_DRIVER
        calls = 1000
        started = time.perf_counter()
        for _ in range(calls):
            sampler.latest()
        assert (time.perf_counter() - started) / calls < 0.001
    finally:
        await sampler.stop()
    assert not sampler.running


# NVML cannot be played by a local server and this machine has no GPU, so these tests
# put a minimal stand-in for the pynvml module in its place: just the calls read_gpus
# makes, with the second GPU unable to report power, as some boards and VMs are.


class _NvmlError(Exception):
    pass


class _NotSupported(_NvmlError):
    pass


def _fake_pynvml(calls: dict[str, int]) -> ModuleType:
    module = ModuleType("pynvml")
    boards: list[tuple[Any, ...]] = [
        ("NVIDIA GeForce RTX 5090", (12, 0), 32 * 1024**3, 575_000, 123_456),
        ("NVIDIA L4", (8, 9), 24 * 1024**3, None, None),
    ]

    def count(name: str) -> None:
        calls[name] = calls.get(name, 0) + 1

    def power(handle: int, value_index: int) -> int:
        value = boards[handle][value_index]
        if value is None:
            raise _NotSupported("Not Supported")
        return int(value)

    members: dict[str, Any] = {
        "NVMLError": _NvmlError,
        "NVMLError_NotSupported": _NotSupported,
        "NVML_TEMPERATURE_GPU": 0,
        "nvmlInit": lambda: count("init"),
        "nvmlShutdown": lambda: count("shutdown"),
        "nvmlSystemGetDriverVersion": lambda: "570.124.06",
        "nvmlSystemGetCudaDriverVersion_v2": lambda: 12080,
        "nvmlDeviceGetCount": lambda: len(boards),
        "nvmlDeviceGetHandleByIndex": lambda index: index,
        "nvmlDeviceGetName": lambda h: boards[h][0],
        "nvmlDeviceGetUUID": lambda h: f"GPU-0000000{h}",
        "nvmlDeviceGetCudaComputeCapability": lambda h: boards[h][1],
        "nvmlDeviceGetMemoryInfo": lambda h: SimpleNamespace(
            total=boards[h][2], used=2 * 1024**3, free=boards[h][2] - 2 * 1024**3
        ),
        "nvmlDeviceGetUtilizationRates": lambda h: SimpleNamespace(gpu=87, memory=40),
        "nvmlDeviceGetTemperature": lambda h, sensor: 61,
        "nvmlDeviceGetEnforcedPowerLimit": lambda h: power(h, 3),
        "nvmlDeviceGetPowerUsage": lambda h: power(h, 4),
    }
    for name, value in members.items():
        setattr(module, name, value)
    return module


@pytest.fixture
def nvml_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    calls: dict[str, int] = {}
    monkeypatch.setitem(sys.modules, "pynvml", _fake_pynvml(calls))
    return calls


def test_nvml_readings_are_converted_and_unsupported_fields_are_none(
    nvml_calls: dict[str, int],
) -> None:
    report = read_gpus()
    assert report.available and report.reason is None
    assert (report.driver_version, report.cuda_driver_version) == ("570.124.06", "12.8")
    rtx, l4 = report.gpus
    assert (rtx.name, rtx.compute_capability, rtx.sm) == (
        "NVIDIA GeForce RTX 5090",
        "12.0",
        "sm_120",
    )
    assert (rtx.power_w, rtx.power_limit_w) == (123.456, 575.0)
    assert (rtx.vram_total, rtx.vram_used, rtx.utilization_gpu, rtx.temperature_c) == (
        32 * 1024**3,
        2 * 1024**3,
        87,
        61,
    )
    assert (l4.sm, l4.power_w, l4.power_limit_w, l4.temperature_c) == ("sm_89", None, None, 61)
    assert vram_of_largest(report) == 32 * 1024**3
    assert json.loads(json.dumps(report.to_dict()))["gpus"][1]["power_w"] is None
    assert nvml_calls["init"] == nvml_calls["shutdown"] == 1


async def test_the_sampler_keeps_nvml_open_between_readings_and_shuts_it_down(
    nvml_calls: dict[str, int],
) -> None:
    sampler = GpuSampler(interval=0.01)
    await sampler.start()
    try:
        await sampler.wait_ready(timeout=10)
        while sampler.samples < 3:
            await asyncio.sleep(0.01)
        assert sampler.latest().gpus[0].sm == "sm_120"
    finally:
        await sampler.stop()
    assert nvml_calls["init"] == nvml_calls["shutdown"] == 1


def test_vram_of_largest_needs_a_readable_gpu() -> None:
    assert vram_of_largest(GpuReport(available=False, reason=NO_DRIVER)) is None
    assert vram_of_largest(GpuReport(available=True, gpus=[])) is None


# -- host and disks --------------------------------------------------------------------


def test_system_reading_has_cpu_memory_and_each_disk(tmp_path: Path) -> None:
    reading = read_system({"models": tmp_path, "root": Path("/"), "gone": tmp_path / "nope"})
    assert 0 <= reading["cpu"]["percent"] <= 100
    assert reading["memory"]["total"] > 0 and reading["memory"]["available"] > 0
    assert reading["process"]["rss"] > 0
    models = reading["disks"]["models"]
    assert models["exists"] is True and models["path"] == str(tmp_path)
    assert models["total"] > 0 and 0 <= models["free"] <= models["total"]
    assert isinstance(models["low"], bool)
    assert reading["disks"]["gone"] == {"path": str(tmp_path / "nope"), "exists": False}
    json.dumps(reading)


@pytest.mark.parametrize(
    ("free", "total", "low"),
    [
        (9 * GB, 2000 * GB, True),  # under 10 GB, however large the disk
        (10 * GB, 100 * GB, False),  # exactly 10 GB and 10 %: fine
        (40 * GB, 1000 * GB, True),  # 4 % of a large volume
        (60 * GB, 1000 * GB, False),
        (0, 0, True),
    ],
)
def test_low_disk_thresholds(free: int, total: int, low: bool) -> None:
    assert is_low_disk(free, total) is low


def test_an_unstarted_system_sampler_reads_at_most_once_per_interval(tmp_path: Path) -> None:
    sampler = SystemSampler({"models": tmp_path}, interval=0.05)
    first = sampler.latest()
    assert sampler.latest() is first
    time.sleep(0.06)
    assert sampler.latest() is not first
    assert sampler.samples == 2


# -- boot report and the whole snapshot ------------------------------------------------


def test_boot_report_is_read_again_only_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / BOOT_REPORT_FILE
    boot = BootReport(path)
    assert boot.read() is None
    path.write_text('{"gpu": "ok"}')
    first = boot.read()
    assert first == {"gpu": "ok"}
    # Same size and the same mtime: the cached reading stands, the file is not reparsed.
    stamp = path.stat().st_mtime_ns
    path.write_text('{"gpu": "no"}')
    os.utime(path, ns=(stamp, stamp))
    assert boot.read() is first
    os.utime(path, ns=(stamp + 1_000_000_000, stamp + 1_000_000_000))
    assert boot.read() == {"gpu": "no"}


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "is not valid JSON"), ("[1, 2]", "is not a JSON object"), (b"\xff", "JSON")],
)
def test_a_broken_boot_report_becomes_an_error_entry(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    path = tmp_path / BOOT_REPORT_FILE
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    report = BootReport(path).read()
    assert report is not None and message in report["error"]


def test_no_runtime_dir_means_no_boot_report() -> None:
    assert BootReport(None).read() is None


async def test_the_snapshot_is_json_with_every_section(tmp_path: Path) -> None:
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    (runtime / BOOT_REPORT_FILE).write_text('{"steps": [{"name": "gpu-check", "ok": true}]}')
    gpu = GpuSampler()
    board = StatusBoard(
        gpu=gpu,
        paths={"models": tmp_path, "input": tmp_path / "missing"},
        runtime_dir=runtime,
        version="9.9.9",
    )
    await gpu.start()
    await board.start()
    try:
        await gpu.wait_ready(timeout=10)
        await board.system.wait_ready(timeout=10)
        snapshot = board.snapshot(
            jobs_summary={"running": 1, "queued": 2},
            failures=[{"ref": "civitai:1", "detail": "Not found."}],
            cleanup_report={"removed": 3},
        )
    finally:
        await board.stop()
        await gpu.stop()
    data = json.loads(json.dumps(snapshot))
    assert set(data) == {
        "version",
        "time",
        "gpu",
        "system",
        "disks",
        "jobs",
        "failures",
        "cleanup",
        "boot",
    }
    assert data["version"] == "9.9.9" and abs(data["time"] - time.time()) < 60
    assert data["gpu"]["available"] is NVML_PRESENT
    assert data["system"]["memory"]["total"] > 0 and "disks" not in data["system"]
    assert data["disks"]["models"]["exists"] and not data["disks"]["input"]["exists"]
    assert data["jobs"] == {"running": 1, "queued": 2}
    assert data["failures"][0]["ref"] == "civitai:1"
    assert data["cleanup"] == {"removed": 3}
    assert data["boot"]["steps"][0]["name"] == "gpu-check"
