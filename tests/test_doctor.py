"""The GPU compatibility check (comfyui_phoenix.gpu_check) and the launch-flag table (bootstrap.launch_flags)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bootstrap.launch_flags import (
    FlagChoice,
    choose_comfy_flags,
    explain_omitted_flags,
    filter_known_flags,
    yield_to_user_args,
)
from comfyui_phoenix.gpu_check import (
    GIB,
    Check,
    DoctorReport,
    Place,
    TorchInfo,
    build_report,
    check_compatibility,
    format_report,
    parse_cuda_version,
    parse_torch_probe,
    probe_torch,
    report_ok,
)

COMFYUI_DIR = os.environ.get("COMFYUI_DIR")
COMFYUI_PYTHON = os.environ.get("COMFYUI_PYTHON")
needs_comfyui = pytest.mark.skipif(
    not (COMFYUI_DIR and COMFYUI_PYTHON), reason="COMFYUI_DIR and COMFYUI_PYTHON are not set"
)
STAND_IN_COMFYUI = Path(__file__).parent / "stand_ins" / "comfyui"

NGC_2503 = ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120", "compute_120"]
OLD_TORCH = ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"]


def verdicts(checks: list[Check]) -> dict[str, bool | None]:
    return {c.name: c.ok for c in checks}


# -- compatibility ---------------------------------------------------------------------------


def test_all_good_on_a_5090() -> None:
    checks = check_compatibility((12, 0), NGC_2503, "12.8", "12.8", "570.124.06")
    assert verdicts(checks) == {"gpu": True, "arch": True, "driver": True}
    assert all(c.mark == "✅" for c in checks)


def test_sm_120_missing_from_torch_fails_with_a_fix() -> None:
    checks = check_compatibility((12, 0), OLD_TORCH, "12.4", "12.8", "570.86")
    arch = next(c for c in checks if c.name == "arch")
    assert arch.ok is False
    assert "sm_120" in arch.message and "sm_90" in arch.message
    assert arch.fix is not None and "CUDA ≥ 12.8" in arch.fix


def test_old_driver_names_the_driver_branch() -> None:
    checks = check_compatibility((12, 0), NGC_2503, "12.8", "12.4", "550.54.15")
    driver = next(c for c in checks if c.name == "driver")
    assert driver.ok is False
    assert "550.54.15" in driver.message and "12.4" in driver.message
    assert driver.fix == "Pick a host with driver ≥ R570 for CUDA 12.8."


@pytest.mark.parametrize(
    ("torch_cuda", "floor"),
    [("12.8", "R570"), ("12.9", "R575"), ("13.0", "R580"), ("13.4", "R580")],
)
def test_driver_floor_per_cuda_version(torch_cuda: str, floor: str) -> None:
    checks = check_compatibility((9, 0), ["sm_90"], torch_cuda, "12.4", "550.1")
    assert floor in (next(c for c in checks if c.name == "driver").fix or "")


def test_forward_compatibility_counts_when_cuda_initialised() -> None:
    # An H100 on R550 running a CUDA 12.8 image through NVIDIA's compat libraries.
    checks = check_compatibility(
        (9, 0), NGC_2503, "12.8", "12.4", "550.54", torch_cuda_available=True
    )
    assert verdicts(checks)["driver"] is True


def test_no_gpu_is_one_clear_check() -> None:
    checks = check_compatibility(None, NGC_2503, "12.8", None, None)
    assert [c.name for c in checks] == ["gpu"]
    assert checks[0].ok is False
    assert "PHOENIX_CPU_MODE=true" in (checks[0].fix or "")


@pytest.mark.parametrize(
    ("capability", "arch_list", "ok"),
    [
        ((8, 9), ["sm_80", "sm_86"], True),  # an sm_86 cubin runs on sm_89 (same major)
        ((12, 0), ["sm_90", "compute_90"], True),  # PTX compiles for newer GPUs
        ((12, 0), ["sm_90a", "sm_100"], False),  # sm_100 cubins do not run on 12.0
        ((9, 0), ["sm_90a"], True),  # arch-specific, exact match
        ((12, 0), ["sm_120"], True),
    ],
)
def test_binary_and_ptx_compatibility(
    capability: tuple[int, int], arch_list: list[str], ok: bool
) -> None:
    checks = check_compatibility(capability, arch_list, "12.8", "12.8", "570.1")
    assert verdicts(checks)["arch"] is ok


def test_cpu_only_torch_is_called_a_replaced_torch() -> None:
    checks = check_compatibility((12, 0), [], None, "12.8", "570.1")
    arch = next(c for c in checks if c.name == "arch")
    assert arch.ok is False and "without CUDA" in arch.message


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("12.8", (12, 8)), ("12.8.1", (12, 8)), ("12080", (12, 8)), ("13000", (13, 0)), (None, None)],
)
def test_cuda_versions(text: str | None, parsed: tuple[int, int] | None) -> None:
    assert parse_cuda_version(text) == parsed


def test_report_round_trips_and_recomputes_checks() -> None:
    data = {
        "devices": [
            {"index": 0, "name": "RTX 5090", "capability": [12, 0], "vram_total": 32 * GIB}
        ],
        "driver_version": "550.54",
        "driver_cuda": "12.4",
        "torch": {
            "version": "2.7.0",
            "cuda": "12.8",
            "arch_list": NGC_2503,
            "sage_version": "2.2.0",
        },
        "checks": [{"name": "driver", "ok": True, "message": "forged"}],
    }
    report = DoctorReport.from_dict(data)
    assert not report_ok(report)  # the file's own verdicts are not trusted
    assert report.torch.sage_available
    again = DoctorReport.from_dict(report.to_dict())
    assert again.to_dict() == report.to_dict()
    text = format_report(report)
    assert "RTX 5090 (sm_120, 32.0 GiB)" in text and "R570" in text


@pytest.mark.parametrize(("version", "usable"), [("2.2.0", True), ("1.0.6", False), (None, False)])
def test_only_sageattention_2_counts(version: str | None, usable: bool) -> None:
    report = DoctorReport.from_dict({"torch": {"sage_version": version}})
    assert report.torch.sage_available is usable


def test_torch_probe_runs_in_a_child_and_reports_failure() -> None:
    # This interpreter has no torch: the probe says so instead of raising.
    info = probe_torch(sys.executable, env={"PATH": os.environ.get("PATH", "")})
    if info.version is None:
        assert info.error and "torch" in info.error
    assert parse_torch_probe("garbage", 1).error is not None


def test_gather_on_a_machine_without_a_gpu_explains_itself() -> None:
    from comfyui_phoenix.gpu_check import gather, read_nvml

    if read_nvml().devices:
        pytest.skip("this machine has a GPU")
    report = gather(sys.executable, env={"PATH": os.environ.get("PATH", "")})
    assert not report_ok(report)
    assert report.nvml_error  # no library or no device, said in words
    assert "No NVIDIA GPU is visible" in format_report(report)
    json.dumps(report.to_dict())  # JSON-ready for `phoenix doctor --json`


def test_nvml_s_reason_is_said_once() -> None:
    text = format_report(DoctorReport.from_dict({"nvml_error": "NVML says: Driver Not Loaded"}))
    assert "No NVIDIA GPU is visible to this machine (NVML says: Driver Not Loaded)." in text
    assert text.count("Driver Not Loaded") == 1


def doctor(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``phoenix doctor`` as a process, with none of this machine's Phoenix settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")}
    return subprocess.run(
        [sys.executable, "-m", "comfyui_phoenix.surfaces.cli", "doctor", *args],
        env={**clean, "PHOENIX_RUNTIME_ENV": os.devnull, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_doctor_without_a_gpu_says_why_in_one_phrase() -> None:
    from comfyui_phoenix.gpu_check import read_nvml

    if read_nvml().devices:
        pytest.skip("this machine has a GPU")
    done = doctor()
    assert "No NVIDIA GPU" in done.stdout
    assert "NVML: NVML" not in done.stdout


# -- on a local install and in the container ---------------------------------------------------

LOCAL = Place(container=False)
#: Advice that only makes sense for Phoenix's image on a GPU pod.
CONTAINER_ONLY = ("image", "pod", "Redeploy", "rebuild", "PHOENIX_CPU_MODE")
GPU_STAND_INS = STAND_IN_COMFYUI.parent / "gpu"
RTX_5090 = "NVIDIA GeForce RTX 5090|12.0|34190917632"


def stand_in_machine(gpu: str | None, **torch: str) -> dict[str, str]:
    """The environment for a ``phoenix doctor`` that sees a stand-in NVML and PyTorch."""
    env = {
        "PYTHONPATH": str(GPU_STAND_INS),
        "STANDIN_TORCH_CUDA": "12.8",
        "STANDIN_TORCH_ARCHS": " ".join(NGC_2503),
        "STANDIN_TORCH_CUDA_AVAILABLE": "1" if gpu else "0",
        **torch,
    }
    return {**env, "STANDIN_NVML_GPU": gpu} if gpu else env


def test_no_gpu_on_a_local_install_is_no_failure() -> None:
    checks = check_compatibility(None, [], None, None, None, place=LOCAL)
    assert [(c.name, c.ok) for c in checks] == [("gpu", None)]
    assert "runs on the CPU" in checks[0].message and "nvidia-smi" in (checks[0].fix or "")
    cpu_mode = check_compatibility(None, [], "12.8", None, None, place=Place(cpu_mode=True))
    assert cpu_mode[0].ok is None and "PHOENIX_CPU_MODE=true" in cpu_mode[0].message


def test_local_fixes_name_the_driver_and_pytorch_never_the_image() -> None:
    arch = check_compatibility((12, 0), OLD_TORCH, "12.4", "12.8", "570.86", place=LOCAL)[1]
    driver = check_compatibility((12, 0), NGC_2503, "12.8", "12.4", "550.54", place=LOCAL)[2]
    cpu_build = check_compatibility((12, 0), [], None, "12.8", "570.1", place=LOCAL)[1]
    assert [arch.ok, driver.ok, cpu_build.ok] == [False, False, False]
    assert "CUDA ≥ 12.8" in (arch.fix or "") and "sm_120" in (arch.fix or "")
    assert "R570 or newer" in (driver.fix or "")
    assert "CUDA build of PyTorch" in (cpu_build.fix or "")
    for check in (arch, driver, cpu_build):
        assert not any(word in f"{check.message} {check.fix}" for word in CONTAINER_ONLY)


def test_a_python_without_torch_is_noted_locally_and_fails_in_the_container() -> None:
    missing = TorchInfo(error="ModuleNotFoundError: No module named 'torch'")
    facts = {"driver_version": None, "driver_cuda": None, "nvml_error": None, "torch": missing}
    here, there = build_report((), **facts, place=LOCAL), build_report((), **facts)
    assert report_ok(here) and not report_ok(there)
    assert "ComfyUI's Python environment" in format_report(here)
    broken = TorchInfo(error="OSError: libcudart.so.12: cannot open shared object file")
    assert not report_ok(build_report((), **{**facts, "torch": broken}, place=LOCAL))


def test_doctor_on_this_machine_without_a_gpu_says_so_and_exits_0() -> None:
    from comfyui_phoenix.gpu_check import read_nvml

    if read_nvml().devices:
        pytest.skip("this machine has a GPU")
    done = doctor()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No NVIDIA GPU was found on this machine" in done.stdout
    assert "runs on the CPU" in done.stdout and "nvidia-smi" in done.stdout
    assert "NVML: NVML" not in done.stdout
    assert not [word for word in CONTAINER_ONLY if word in done.stdout]
    assert json.loads(doctor("--json").stdout)["ok"] is True


def test_doctor_on_a_local_install_with_an_incompatible_gpu_exits_1() -> None:
    done = doctor(**stand_in_machine(RTX_5090, STANDIN_TORCH_ARCHS="sm_80 sm_86 sm_90"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "GPU 0: NVIDIA GeForce RTX 5090 (sm_120, 31.8 GiB)" in done.stdout
    assert "❌ arch: This PyTorch has no kernels for sm_120" in done.stdout
    assert "pytorch.org" in done.stdout
    assert not [word for word in CONTAINER_ONLY if word in done.stdout]


@pytest.mark.parametrize(("cpu_mode", "status"), [("false", 1), ("true", 0)])
def test_doctor_in_the_container_without_a_gpu_fails_unless_cpu_mode(
    cpu_mode: str, status: int
) -> None:
    done = doctor(PHOENIX_CONTAINER="1", PHOENIX_CPU_MODE=cpu_mode, **stand_in_machine(None))
    assert done.returncode == status, done.stdout + done.stderr
    assert "No NVIDIA GPU is visible to this machine (NVML says: Driver Not Loaded)" in done.stdout
    if status:
        assert "GPU pod" in done.stdout
    else:
        assert "PHOENIX_CPU_MODE=true: ComfyUI runs on the CPU" in done.stdout


@needs_comfyui
def test_torch_probe_in_the_real_comfyui_python() -> None:
    info = probe_torch(str(COMFYUI_PYTHON))
    assert info.error is None and info.version
    assert info.arch_list  # compiled kernels are listed even without a GPU


# -- launch flags ------------------------------------------------------------------------------

FP8_FAST = ("--fast", ("fp8_matrix_mult",))


def flag_table(
    arch: str | None, vram_gib: float | None, **inputs: bool
) -> list[tuple[str, tuple[str, ...]]]:
    vram = int(vram_gib * GIB) if vram_gib is not None else None
    values = {"sage_available": True, "cpu_mode": False, "preload_has_fp8": True, **inputs}
    return [(f.flag, f.values) for f in choose_comfy_flags(arch, vram, **values)]


@pytest.mark.parametrize(
    ("arch", "vram_gib", "expected"),
    [
        # RTX 5090: 32 GB cannot hold bf16 FLUX + fp16 T5, so no --highvram.
        ("sm_120", 31.8, [("--use-sage-attention", ()), FP8_FAST]),
        # RTX PRO 6000 Blackwell: same architecture, room for everything.
        ("sm_120", 95.0, [("--use-sage-attention", ()), FP8_FAST, ("--highvram", ())]),
        # B200: fp8, lots of memory, no SageAttention 2 kernels.
        ("sm_100", 178.0, [FP8_FAST, ("--highvram", ())]),
        ("sm_90", 79.6, [("--use-sage-attention", ()), FP8_FAST, ("--highvram", ())]),
        ("sm_89", 23.6, [("--use-sage-attention", ()), FP8_FAST]),
        # RTX 3090: no fp8 tensor cores.
        ("sm_86", 23.6, [("--use-sage-attention", ())]),
        (None, None, [("--cpu", ())]),
    ],
)
def test_flags_per_architecture(
    arch: str | None, vram_gib: float | None, expected: list[tuple[str, tuple[str, ...]]]
) -> None:
    assert flag_table(arch, vram_gib) == expected


def test_fp8_matmul_only_with_fp8_weights_and_sage_only_when_it_imports() -> None:
    assert flag_table("sm_120", 31.8, preload_has_fp8=False, sage_available=False) == []
    notes = explain_omitted_flags(
        "sm_120", int(31.8 * GIB), sage_available=False, cpu_mode=False, preload_has_fp8=False
    )
    text = " ".join(notes)
    assert "only fp8 weights" in text
    assert "WITH_SAGEATTENTION=1" in text
    assert "--highvram" in text and "32 GiB" in text
    assert "--bf16-unet" in text


def test_cpu_mode_wins_over_any_gpu() -> None:
    assert flag_table("sm_120", 31.8, cpu_mode=True) == [("--cpu", ())]


def test_every_flag_has_a_reason() -> None:
    for arch in ("sm_120", "sm_100", "sm_90", "sm_89", "sm_86", "sm_75", None):
        for choice in choose_comfy_flags(
            arch, 80 * GIB, sage_available=True, cpu_mode=False, preload_has_fp8=True
        ):
            assert len(choice.reason) > 20


# -- the --help filter ---------------------------------------------------------------------------


def stand_in_help(**env: str) -> str:
    done = subprocess.run(
        [sys.executable, "main.py", "--help"],
        cwd=STAND_IN_COMFYUI,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    )
    return done.stdout


def all_arch_flags() -> list[FlagChoice]:
    flags: list[FlagChoice] = []
    for arch in ("sm_120", "sm_100", "sm_90", "sm_89", "sm_86"):
        flags += choose_comfy_flags(
            arch, 96 * GIB, sage_available=True, cpu_mode=False, preload_has_fp8=True
        )
    return flags + choose_comfy_flags(
        None, None, sage_available=False, cpu_mode=True, preload_has_fp8=False
    )


def test_help_filter_keeps_known_flags() -> None:
    kept, dropped = filter_known_flags(all_arch_flags(), stand_in_help())
    assert dropped == []
    assert {f.flag for f in kept} == {"--use-sage-attention", "--fast", "--highvram", "--cpu"}


def test_help_filter_drops_what_an_older_comfyui_lacks() -> None:
    help_text = stand_in_help(
        STANDIN_COMFY_MISSING="--use-sage-attention", STANDIN_FAST_VALUES="fp16_accumulation"
    )
    kept, dropped = filter_known_flags(all_arch_flags(), help_text)
    assert {f.flag for f in dropped} == {"--use-sage-attention", "--fast"}
    assert {f.flag for f in kept} == {"--highvram", "--cpu"}


@needs_comfyui
def test_help_filter_with_the_real_comfyui() -> None:
    done = subprocess.run(
        [str(COMFYUI_PYTHON), "main.py", "--help"],
        cwd=str(COMFYUI_DIR),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    bogus = FlagChoice("--make-it-fast", "a flag no ComfyUI has")
    kept, dropped = filter_known_flags([*all_arch_flags(), bogus], done.stdout)
    assert dropped == [bogus]
    assert {f.flag for f in kept} == {"--use-sage-attention", "--fast", "--highvram", "--cpu"}


def test_user_args_win_over_chosen_flags() -> None:
    chosen = [
        FlagChoice("--highvram", "x" * 30),
        FlagChoice("--use-sage-attention", "x" * 30),
        FlagChoice("--port", "x" * 30, ("7860",)),
    ]
    kept, overridden = yield_to_user_args(chosen, ["--lowvram", "--port=9000"])
    assert [f.flag for f in kept] == ["--use-sage-attention"]
    assert [f.flag for f in overridden] == ["--highvram", "--port"]
