"""GPU, driver and PyTorch compatibility, and the ComfyUI launch flags that follow from them.

One check serves the container's bootstrap and ``phoenix doctor``. The rules are pure
functions over plain inputs (a device's compute capability, PyTorch's architecture
list and CUDA version, the driver's CUDA version), so each case is a row in a table.
:func:`gather` collects those inputs on the running machine: NVML through ``pynvml``
(imported lazily, every error tolerated) and PyTorch through a ``python -c`` probe in a
child process, because importing torch takes seconds and the caller may not want it in
its own memory.

Launch flags are chosen per GPU architecture (:func:`choose_comfy_flags`), each with a
reason for the boot report, then checked against the installed ComfyUI's ``--help``
(:func:`filter_known_flags`) so that a different ComfyUI commit never fails to start.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

GIB = 1 << 30

#: The oldest NVIDIA driver branch for each CUDA toolkit (CUDA release notes, table 3).
CUDA_DRIVER_FLOOR: dict[tuple[int, int], int] = {
    (11, 8): 520,
    (12, 0): 525,
    (12, 1): 530,
    (12, 2): 535,
    (12, 3): 545,
    (12, 4): 550,
    (12, 5): 555,
    (12, 6): 560,
    (12, 8): 570,
    (12, 9): 575,
    (13, 0): 580,
}

#: The first CUDA toolkit that compiles for each architecture.
ARCH_MIN_CUDA: dict[str, str] = {
    "sm_80": "11.0",
    "sm_86": "11.1",
    "sm_89": "11.8",
    "sm_90": "11.8",
    "sm_100": "12.8",
    "sm_120": "12.8",
}

_ARCH = re.compile(r"^(sm|compute)_(\d+)(\d)([a-z]?)$")


# -- compatibility ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One verdict: ``ok`` is True (✅), False (❌) or None (could not tell)."""

    name: str
    ok: bool | None
    message: str
    fix: str | None = None

    @property
    def mark(self) -> str:
        return {True: "✅", False: "❌", None: "ℹ️"}[self.ok]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def arch_name(capability: tuple[int, int]) -> str:
    """``(12, 0)`` → ``sm_120``, PyTorch's spelling in ``torch.cuda.get_arch_list()``."""
    return f"sm_{capability[0]}{capability[1]}"


def parse_cuda_version(text: str | None) -> tuple[int, int] | None:
    """``"12.8"``, ``"12.8.1"`` or NVML's ``12080`` → ``(12, 8)``; None when unreadable."""
    if text is None:
        return None
    text = str(text).strip()
    if text.isdigit() and len(text) >= 4:
        number = int(text)
        return number // 1000, (number % 1000) // 10
    match = re.match(r"^(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def driver_floor(cuda: tuple[int, int]) -> int | None:
    """The driver branch (570, 575, 580…) that a CUDA toolkit version needs, if known."""
    return CUDA_DRIVER_FLOOR.get(cuda)


def check_compatibility(
    device_capability: tuple[int, int] | None,
    torch_arch_list: list[str],
    torch_cuda: str | None,
    driver_cuda: str | None,
    driver_version: str | None,
    *,
    torch_cuda_available: bool | None = None,
) -> list[Check]:
    """Can this PyTorch run on this GPU with this driver?

    Args:
        device_capability: the GPU's compute capability, e.g. ``(12, 0)``; None: no GPU.
        torch_arch_list: ``torch.cuda.get_arch_list()``, e.g. ``["sm_90", "sm_120"]``.
        torch_cuda: ``torch.version.cuda`` (``"12.8"``); None for a CPU-only build.
        driver_cuda: the newest CUDA the driver supports (NVML), e.g. ``"12.8"``.
        driver_version: the driver's version string, e.g. ``"570.124.06"``.
        torch_cuda_available: ``torch.cuda.is_available()`` when known. A driver older
            than PyTorch's CUDA can still work through NVIDIA's forward-compatibility
            libraries (data-center GPUs); CUDA initialising proves it does.

    Returns:
        The checks in order: ``gpu``, then ``arch`` and ``driver`` when there is a GPU.
    """
    if device_capability is None:
        return [
            Check(
                "gpu",
                False,
                "No NVIDIA GPU is visible to this machine.",
                "Deploy on a GPU pod (an RTX 5090 needs a host with driver ≥ R570), "
                "or set PHOENIX_CPU_MODE=true to try the image on the CPU.",
            )
        ]
    major, minor = device_capability
    gpu = Check(
        "gpu", True, f"Compute capability {major}.{minor} ({arch_name(device_capability)})."
    )
    return [
        gpu,
        _arch_check(device_capability, torch_arch_list, torch_cuda),
        _driver_check(torch_cuda, driver_cuda, driver_version, torch_cuda_available),
    ]


def _arch_check(capability: tuple[int, int], arch_list: list[str], torch_cuda: str | None) -> Check:
    arch = arch_name(capability)
    if torch_cuda is None:
        return Check(
            "arch",
            False,
            "This PyTorch was built without CUDA, so it cannot use the GPU.",
            "Something replaced the image's PyTorch (a custom node or EXTRA_PYTHON_PACKAGES "
            "without the constraints file?): rebuild or redeploy the image.",
        )
    if not arch_list:
        return Check(
            "arch", None, f"PyTorch did not report its architectures; cannot confirm {arch}."
        )
    native, via_ptx = _arch_support(capability, arch_list)
    listed = " ".join(arch_list)
    if native:
        return Check("arch", True, f"PyTorch carries kernels for {arch} ({native}).")
    if via_ptx:
        return Check(
            "arch",
            True,
            f"PyTorch has no {arch} kernels but its {via_ptx} PTX compiles for this GPU at first "
            "use (slower start; some fused kernels may be missing).",
        )
    needed = ARCH_MIN_CUDA.get(arch)
    build = f" built with CUDA ≥ {needed}" if needed else ""
    return Check(
        "arch",
        False,
        f"This PyTorch has no kernels for {arch} (it carries: {listed}).",
        f"Use an image whose PyTorch is{build} and lists {arch}, or pick a GPU whose "
        f"architecture is in that list.",
    )


def _arch_support(capability: tuple[int, int], arch_list: Iterable[str]) -> tuple[str, str]:
    """The native cubin and the PTX entry that run on ``capability`` ("" when none)."""
    native = ptx = ""
    for entry in arch_list:
        match = _ARCH.match(entry.strip())
        if not match:
            continue
        kind, major, minor, suffix = (
            match.group(1),
            int(match.group(2)),
            int(match.group(3)),
            match.group(4),
        )
        if kind == "sm":
            # A cubin runs on its own major version at an equal or higher minor; an
            # arch-specific one ("sm_90a") only on exactly that architecture.
            exact = (major, minor) == capability
            same_family = major == capability[0] and minor <= capability[1] and suffix != "a"
            if (exact or same_family) and not native:
                native = entry
        elif not suffix and (major, minor) <= capability and not ptx:
            # PTX is compiled by the driver for any newer architecture.
            ptx = entry
    return native, ptx


def _driver_check(
    torch_cuda: str | None,
    driver_cuda: str | None,
    driver_version: str | None,
    cuda_available: bool | None,
) -> Check:
    needed = parse_cuda_version(torch_cuda)
    have = parse_cuda_version(driver_cuda)
    driver = f"driver {driver_version}" if driver_version else "the driver"
    if needed is None:
        return Check("driver", None, "PyTorch has no CUDA version to compare with the driver.")
    if have is None:
        return Check("driver", None, f"Could not read which CUDA version {driver} supports.")
    wanted = f"{needed[0]}.{needed[1]}"
    if have >= needed:
        return Check(
            "driver", True, f"{driver.capitalize()} supports CUDA {have[0]}.{have[1]} ≥ {wanted}."
        )
    if cuda_available:
        return Check(
            "driver",
            True,
            f"{driver.capitalize()} supports CUDA {have[0]}.{have[1]} < {wanted}, but CUDA "
            "initialised through the forward-compatibility libraries.",
        )
    floor = driver_floor(needed)
    host = f"driver ≥ R{floor}" if floor else "a driver that supports it"
    return Check(
        "driver",
        False,
        f"{driver.capitalize()} supports CUDA {have[0]}.{have[1]}, but this image's PyTorch "
        f"needs CUDA {wanted}.",
        f"Pick a host with {host} for CUDA {wanted}.",
    )


# -- what is on this machine ---------------------------------------------------------------


@dataclass(frozen=True)
class GpuDevice:
    index: int
    name: str
    capability: tuple[int, int] | None
    vram_total: int | None

    @property
    def arch(self) -> str | None:
        return arch_name(self.capability) if self.capability else None


@dataclass(frozen=True)
class TorchInfo:
    """What the ``python -c`` probe learned about PyTorch (and SageAttention)."""

    version: str | None = None
    cuda: str | None = None
    arch_list: tuple[str, ...] = ()
    cuda_available: bool | None = None
    sage_version: str | None = None
    error: str | None = None

    @property
    def sage_available(self) -> bool:
        """SageAttention 2 or later imports. 1.x (PyPI's 1.0.6) renders black images."""
        match = re.match(r"^(\d+)", self.sage_version or "")
        return match is not None and int(match.group(1)) >= 2


@dataclass(frozen=True)
class DoctorReport:
    """Everything ``phoenix doctor`` and the boot report show about the GPU; JSON-ready."""

    devices: tuple[GpuDevice, ...] = ()
    driver_version: str | None = None
    driver_cuda: str | None = None
    nvml_error: str | None = None
    torch: TorchInfo = field(default_factory=TorchInfo)
    checks: tuple[Check, ...] = ()

    @property
    def device(self) -> GpuDevice | None:
        """The GPU ComfyUI uses by default: the first one."""
        return self.devices[0] if self.devices else None

    @property
    def ok(self) -> bool:
        return all(check.ok is not False for check in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "devices": [
                {
                    **asdict(d),
                    "capability": list(d.capability) if d.capability else None,
                    "arch": d.arch,
                }
                for d in self.devices
            ],
            "driver_version": self.driver_version,
            "driver_cuda": self.driver_cuda,
            "nvml_error": self.nvml_error,
            "torch": {**asdict(self.torch), "arch_list": list(self.torch.arch_list)},
            "sage_attention": self.torch.sage_available,
            "checks": [c.to_dict() for c in self.checks],
            "ok": self.ok,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DoctorReport:
        """Rebuild a report's inputs from JSON; its checks are computed again, never trusted."""
        devices = tuple(
            GpuDevice(
                index=int(d.get("index", i)),
                name=str(d.get("name", "GPU")),
                capability=_capability(d.get("capability")),
                vram_total=_int_or_none(d.get("vram_total")),
            )
            for i, d in enumerate(data.get("devices") or [])
        )
        raw = data.get("torch") or {}
        torch = TorchInfo(
            version=raw.get("version"),
            cuda=raw.get("cuda"),
            arch_list=tuple(raw.get("arch_list") or ()),
            cuda_available=raw.get("cuda_available"),
            sage_version=raw.get("sage_version"),
            error=raw.get("error"),
        )
        return build_report(
            devices,
            driver_version=data.get("driver_version"),
            driver_cuda=data.get("driver_cuda"),
            nvml_error=data.get("nvml_error"),
            torch=torch,
        )


def _capability(value: Any) -> tuple[int, int] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return int(value[0]), int(value[1])
    return None


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) else None


def build_report(
    devices: Sequence[GpuDevice],
    *,
    driver_version: str | None,
    driver_cuda: str | None,
    nvml_error: str | None,
    torch: TorchInfo,
) -> DoctorReport:
    """Put the gathered facts together and run :func:`check_compatibility` on GPU 0."""
    first = devices[0] if devices else None
    checks = check_compatibility(
        first.capability if first else None,
        list(torch.arch_list),
        torch.cuda,
        driver_cuda,
        driver_version,
        torch_cuda_available=torch.cuda_available,
    )
    if torch.error:
        checks.insert(
            0,
            Check(
                "torch",
                False,
                f"PyTorch could not be imported: {torch.error}",
                "Redeploy the image; if you installed packages, one of them broke PyTorch.",
            ),
        )
    return DoctorReport(
        devices=tuple(devices),
        driver_version=driver_version,
        driver_cuda=driver_cuda,
        nvml_error=nvml_error,
        torch=torch,
        checks=tuple(checks),
    )


@dataclass(frozen=True)
class NvmlInfo:
    devices: tuple[GpuDevice, ...] = ()
    driver_version: str | None = None
    driver_cuda: str | None = None
    error: str | None = None


def read_nvml() -> NvmlInfo:
    """The GPUs and driver as NVML sees them; an error (no library, no GPU) is reported, not raised."""
    try:
        import pynvml
    except ImportError:
        return NvmlInfo(error="pynvml (nvidia-ml-py) is not installed")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return NvmlInfo(error=f"NVML: {exc}")
    try:
        return _read_nvml_devices(pynvml)
    except pynvml.NVMLError as exc:
        return NvmlInfo(error=f"NVML: {exc}")
    finally:
        pynvml.nvmlShutdown()


def _read_nvml_devices(pynvml: Any) -> NvmlInfo:
    devices = []
    for index in range(pynvml.nvmlDeviceGetCount()):
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        name = pynvml.nvmlDeviceGetName(handle)
        major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
        memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
        devices.append(
            GpuDevice(
                index=index,
                name=name.decode() if isinstance(name, bytes) else str(name),
                capability=(int(major), int(minor)),
                vram_total=int(memory.total),
            )
        )
    driver = pynvml.nvmlSystemGetDriverVersion()
    cuda = parse_cuda_version(str(pynvml.nvmlSystemGetCudaDriverVersion()))
    return NvmlInfo(
        devices=tuple(devices),
        driver_version=driver.decode() if isinstance(driver, bytes) else str(driver),
        driver_cuda=f"{cuda[0]}.{cuda[1]}" if cuda else None,
    )


#: Run with ``python -c``: prints one JSON object about torch and SageAttention.
TORCH_PROBE = r"""
import json
out = {}
try:
    import torch
    out["version"] = torch.__version__
    out["cuda"] = torch.version.cuda
    flags = getattr(torch._C, "_cuda_getArchFlags", None)
    # get_arch_list() is empty when CUDA cannot initialise (an old driver, say),
    # which is exactly when the list matters; the compiled flags are always there.
    out["arch_list"] = (flags() or "").split() if flags else torch.cuda.get_arch_list()
    out["cuda_available"] = bool(torch.cuda.is_available())
except Exception as exc:
    out["error"] = type(exc).__name__ + ": " + str(exc)[:300]
if "error" not in out:
    try:
        import importlib.metadata
        import sageattention
        out["sage_version"] = importlib.metadata.version("sageattention")
    except Exception:
        out["sage_version"] = None
print(json.dumps(out))
"""


def torch_probe_argv(python: str) -> list[str]:
    """The command that runs :data:`TORCH_PROBE` with ``python``."""
    return [python, "-c", TORCH_PROBE]


def parse_torch_probe(stdout: str, returncode: int = 0) -> TorchInfo:
    """Read the probe's last JSON line; anything else becomes :attr:`TorchInfo.error`."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict):
            return TorchInfo(
                version=data.get("version"),
                cuda=data.get("cuda"),
                arch_list=tuple(data.get("arch_list") or ()),
                cuda_available=data.get("cuda_available"),
                sage_version=data.get("sage_version"),
                error=data.get("error"),
            )
    return TorchInfo(error=f"the PyTorch probe exited with status {returncode} and no answer")


def probe_torch(
    python: str = sys.executable, *, env: Mapping[str, str] | None = None, timeout: float = 120
) -> TorchInfo:
    """Import torch in a child process and report what it says (blocking)."""
    try:
        done = subprocess.run(
            torch_probe_argv(python),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return TorchInfo(error=f"the PyTorch probe did not run: {exc}")
    return parse_torch_probe(done.stdout, done.returncode)


def gather(
    python: str = sys.executable, *, env: Mapping[str, str] | None = None, timeout: float = 120
) -> DoctorReport:
    """Read NVML and probe PyTorch, then check them against each other (blocking)."""
    nvml = read_nvml()
    torch = probe_torch(python, env=env, timeout=timeout)
    return build_report(
        nvml.devices,
        driver_version=nvml.driver_version,
        driver_cuda=nvml.driver_cuda,
        nvml_error=nvml.error,
        torch=torch,
    )


def format_report(report: DoctorReport) -> str:
    """The report as a few lines for a terminal (``phoenix doctor``)."""
    lines = []
    for device in report.devices:
        vram = f", {device.vram_total / GIB:.1f} GiB" if device.vram_total else ""
        lines.append(f"GPU {device.index}: {device.name} ({device.arch}{vram})")
    if not report.devices and report.nvml_error:
        lines.append(f"NVML: {report.nvml_error}")
    if report.driver_version:
        lines.append(f"Driver {report.driver_version} (CUDA {report.driver_cuda or '?'})")
    torch = report.torch
    if torch.version:
        lines.append(
            f"PyTorch {torch.version} (CUDA {torch.cuda or 'none'}): {' '.join(torch.arch_list)}"
        )
    for check in report.checks:
        lines.append(f"{check.mark} {check.name}: {check.message}")
        if check.fix and check.ok is False:
            lines.append(f"   → {check.fix}")
    return "\n".join(lines)


def report_ok(report: DoctorReport) -> bool:
    """False when any check failed: ``phoenix doctor`` exits non-zero then."""
    return report.ok


# -- launch flags ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FlagChoice:
    """A ComfyUI command-line flag, its values, and why it was chosen.

    ``values_are_choices``: the values are names from a fixed list (``--fast``'s
    optimisations), so they must also appear in ``--help`` for the flag to be kept.
    """

    flag: str
    reason: str
    values: tuple[str, ...] = ()
    values_are_choices: bool = False

    @property
    def argv(self) -> list[str]:
        return [self.flag, *self.values]

    def to_dict(self) -> dict[str, Any]:
        return {"flag": self.flag, "values": list(self.values), "reason": self.reason}


@dataclass(frozen=True)
class ArchProfile:
    """What one GPU architecture can do that changes ComfyUI's flags."""

    family: str
    fp8: bool  # fp8 tensor cores: Ada, Hopper, Blackwell
    sage: bool  # SageAttention 2 ships kernels for it


ARCH_PROFILES: dict[str, ArchProfile] = {
    "sm_120": ArchProfile("Blackwell (RTX 50 series, RTX PRO 6000)", fp8=True, sage=True),
    # SageAttention 2's kernels cover sm_80 to sm_90 and sm_120; B200 is not among them.
    "sm_100": ArchProfile("Blackwell data center (B200)", fp8=True, sage=False),
    "sm_90": ArchProfile("Hopper (H100, H200)", fp8=True, sage=True),
    "sm_89": ArchProfile("Ada (RTX 4090, L40S)", fp8=True, sage=True),
    "sm_86": ArchProfile("Ampere (RTX 3090, A6000)", fp8=False, sage=True),
    "sm_80": ArchProfile("Ampere (A100)", fp8=False, sage=True),
}

#: bf16 FLUX.1-dev (23.8 GB) + fp16 T5-XXL (9.5 GB) + CLIP-L and VAE, about 33.7 GB
#: (FACTS §10), plus room for activations: below this, ComfyUI must swap models out.
FLUX_RESIDENT_VRAM = 40 * GIB


def arch_profile(arch: str) -> ArchProfile:
    """The table row for ``arch``; an unknown one is judged by its compute capability."""
    if arch in ARCH_PROFILES:
        return ARCH_PROFILES[arch]
    match = _ARCH.match(arch)
    capability = (int(match.group(2)), int(match.group(3))) if match else (0, 0)
    return ArchProfile(f"unknown ({arch})", fp8=capability >= (8, 9), sage=False)


def choose_comfy_flags(
    arch: str | None,
    vram_bytes: int | None,
    *,
    sage_available: bool,
    cpu_mode: bool,
    preload_has_fp8: bool,
) -> list[FlagChoice]:
    """ComfyUI's performance flags for this GPU, each with the reason it is there.

    Args:
        arch: the GPU's architecture (``sm_120``); None when there is no GPU.
        vram_bytes: the GPU's memory.
        sage_available: SageAttention 2 imports in ComfyUI's Python.
        cpu_mode: ``PHOENIX_CPU_MODE``: run on the CPU whatever the hardware.
        preload_has_fp8: some diffusion model the preload fetches (or that is on the
            volume) has fp8 weights.
    """
    if cpu_mode or arch is None:
        why = "PHOENIX_CPU_MODE=true" if cpu_mode else "no GPU is visible"
        return [FlagChoice("--cpu", f"{why}: ComfyUI runs everything on the CPU (slow).")]
    profile = arch_profile(arch)
    flags = []
    if sage_available and profile.sage:
        flags.append(
            FlagChoice(
                "--use-sage-attention",
                f"SageAttention 2 imports and has {arch} kernels; with fp8 weights it is the "
                "fastest measured FLUX path on an RTX 5090.",
            )
        )
    if profile.fp8 and preload_has_fp8:
        flags.append(
            FlagChoice(
                "--fast",
                f"{profile.family} has fp8 tensor cores and fp8 weights are present: fp8 "
                "matrix multiplication speeds up exactly those.",
                values=("fp8_matrix_mult",),
                values_are_choices=True,
            )
        )
    if vram_bytes is not None and vram_bytes >= FLUX_RESIDENT_VRAM:
        flags.append(
            FlagChoice(
                "--highvram",
                f"{vram_bytes / GIB:.0f} GiB of VRAM holds FLUX.1-dev in 16 bit with its text "
                "encoders (about 34 GB): models stay on the GPU between runs.",
            )
        )
    return flags


def explain_omitted_flags(
    arch: str | None,
    vram_bytes: int | None,
    *,
    sage_available: bool,
    cpu_mode: bool,
    preload_has_fp8: bool,
) -> list[str]:
    """Why the flags people expect are *not* set here: one sentence each, for the boot report."""
    if cpu_mode or arch is None:
        return []
    profile = arch_profile(arch)
    notes = []
    if vram_bytes is not None and vram_bytes < FLUX_RESIDENT_VRAM:
        notes.append(
            f"--highvram/--gpu-only: not set: bf16 FLUX (23.8 GB) plus the fp16 T5 (9.5 GB) "
            f"exceed this GPU's {vram_bytes / GIB:.0f} GiB, so ComfyUI must be free to swap "
            "the text encoder out."
        )
    if not profile.fp8:
        notes.append(f"--fast fp8_matrix_mult: not set: {arch} has no fp8 tensor cores.")
    elif not preload_has_fp8:
        notes.append(
            "--fast fp8_matrix_mult: not set: it speeds only fp8 weights, and none are being "
            "fetched or present."
        )
    if not sage_available:
        notes.append(
            "--use-sage-attention: not set: SageAttention 2 is not installed (build the image "
            "with WITH_SAGEATTENTION=1); PyTorch's own attention is used."
        )
    elif not profile.sage:
        notes.append(f"--use-sage-attention: not set: SageAttention 2 has no {arch} kernels.")
    notes.append(
        "--bf16-unet: not set: FLUX weights are bf16 already and ComfyUI picks bf16 on this "
        "GPU; forcing it would also turn fp8 weights into bf16 (twice the VRAM, no fp8 matmul)."
    )
    notes.append(
        "--cuda-malloc: not set: ComfyUI enables cudaMallocAsync by itself with torch ≥ 2."
    )
    return notes


_LONG_OPTION = re.compile(r"(?<![\w-])(--[A-Za-z0-9][\w-]*)")


def known_flags(help_text: str) -> set[str]:
    """Every long option named in a ``--help`` output."""
    return set(_LONG_OPTION.findall(help_text))


def filter_known_flags(
    flags: Sequence[FlagChoice], help_text: str
) -> tuple[list[FlagChoice], list[FlagChoice]]:
    """Split ``flags`` into those this ComfyUI's ``--help`` knows and those it does not.

    A flag whose values are choices (``--fast fp8_matrix_mult``) is kept only when each
    value is named in the help too: argparse rejects an unknown one and ComfyUI would
    not start.
    """
    options = known_flags(help_text)
    words = set(re.findall(r"[\w.-]+", help_text))
    kept: list[FlagChoice] = []
    dropped: list[FlagChoice] = []
    for choice in flags:
        known = choice.flag in options and (
            not choice.values_are_choices or all(v in words for v in choice.values)
        )
        (kept if known else dropped).append(choice)
    return kept, dropped


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
