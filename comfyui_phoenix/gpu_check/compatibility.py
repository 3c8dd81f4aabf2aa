"""Can this PyTorch run on this GPU with this driver? The rules, as pure functions.

The inputs are plain facts (a device's compute capability, PyTorch's architecture list
and CUDA version, the driver's CUDA version), so each case is a row in a table and the
tests need no GPU. :mod:`.probes` reads those facts on the running machine; the tables they are
judged by are in :mod:`.cuda_tables`.

What a verdict means, and what its fix may say, depends on the :class:`Place`. In
Phoenix's container a missing GPU is a failure (unless ``PHOENIX_CPU_MODE``) and the
fixes name the image and the pod's host. On a local install, no NVIDIA GPU is what a
CPU machine or another backend looks like: it is said in plain words and fails
nothing, and the fixes name the driver and PyTorch, never an image.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .cuda_tables import ARCH_MIN_CUDA, arch_name, arch_support, driver_floor, parse_cuda_version


@dataclass(frozen=True)
class Check:
    """One verdict: ``ok`` is True (✅), False (❌) or None (could not tell, or nothing wrong)."""

    name: str
    ok: bool | None
    message: str
    fix: str | None = None

    @property
    def mark(self) -> str:
        return {True: "✅", False: "❌", None: "ℹ️"}[self.ok]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Place:
    """Where the check runs: Phoenix's container (the default) or a local install.

    Attributes:
        container: ``PHOENIX_CONTAINER``: Phoenix's own image, built for a GPU pod.
        cpu_mode: ``PHOENIX_CPU_MODE``: the container runs ComfyUI on the CPU on
            purpose, so a missing GPU is no failure there.
    """

    container: bool = True
    cpu_mode: bool = False


CONTAINER = Place()

#: pytorch.org's page that builds the right ``pip install`` line for a platform.
PYTORCH_INSTALL = "https://pytorch.org/get-started/locally/"


def check_compatibility(
    device_capability: tuple[int, int] | None,
    torch_arch_list: list[str],
    torch_cuda: str | None,
    driver_cuda: str | None,
    driver_version: str | None,
    *,
    torch_cuda_available: bool | None = None,
    no_gpu_reason: str | None = None,
    torch_imported: bool = True,
    place: Place = CONTAINER,
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
        no_gpu_reason: why NVML found no GPU, in its words (``"NVML says: Driver Not
            Loaded"``), for the ``gpu`` check to repeat.
        torch_imported: False when PyTorch could not be imported at all: then nothing is
            known about its kernels (:func:`check_torch_import` says why).
        place: where the check runs, which decides what a missing GPU means and what
            each fix says.

    Returns:
        The checks in order: ``gpu``, then ``arch`` and ``driver`` when there is a GPU.
    """
    if device_capability is None:
        return [_no_gpu(no_gpu_reason, place)]
    major, minor = device_capability
    gpu = Check(
        "gpu", True, f"Compute capability {major}.{minor} ({arch_name(device_capability)})."
    )
    if not torch_imported:
        arch = Check(
            "arch",
            None,
            f"PyTorch could not be imported, so whether it has kernels for "
            f"{arch_name(device_capability)} is not known.",
        )
    else:
        arch = _arch_check(device_capability, torch_arch_list, torch_cuda, place)
    return [
        gpu,
        arch,
        _driver_check(torch_cuda, driver_cuda, driver_version, torch_cuda_available, place),
    ]


def check_torch_import(
    error: str | None, *, not_installed: bool, place: Place = CONTAINER
) -> Check | None:
    """The ``torch`` verdict when the probe could not import PyTorch; None when it could.

    Args:
        error: what the probe reported, e.g. ``"ModuleNotFoundError: No module named
            'torch'"``; None when PyTorch imported.
        not_installed: PyTorch is not installed in the probed Python at all. On a local
            install that is no failure: ``phoenix`` may run in another Python than
            ComfyUI.
        place: where the check runs.
    """
    if error is None:
        return None
    message = f"PyTorch could not be imported: {error}"
    if place.container:
        return Check(
            "torch",
            False,
            message,
            "Redeploy the image; if you installed packages, one of them broke PyTorch.",
        )
    if not_installed:
        return Check(
            "torch",
            None,
            "PyTorch is not installed in the Python that runs phoenix, so it is not checked here.",
            "To check the PyTorch that ComfyUI uses, run phoenix doctor in ComfyUI's Python "
            "environment.",
        )
    return Check(
        "torch",
        False,
        message,
        f"Reinstall PyTorch in this Python ({PYTORCH_INSTALL}); if you installed packages "
        "recently, one of them may have broken it.",
    )


def _no_gpu(reason: str | None, place: Place) -> Check:
    found = f" ({reason})" if reason else ""
    if not place.container:
        return Check(
            "gpu",
            None,
            f"No NVIDIA GPU was found on this machine{found}. That is fine for a local "
            "install: ComfyUI then runs on the CPU, or on another backend its PyTorch "
            "supports (Apple MPS, AMD ROCm). Nothing to fix unless you expected an NVIDIA GPU.",
            "If you did: `nvidia-smi` should list it. If it does not, install the NVIDIA "
            "driver, or restart after a driver update so that the driver is loaded.",
        )
    if place.cpu_mode:
        return Check(
            "gpu",
            None,
            f"No NVIDIA GPU is visible to this machine{found}; PHOENIX_CPU_MODE=true: "
            "ComfyUI runs on the CPU.",
        )
    return Check(
        "gpu",
        False,
        f"No NVIDIA GPU is visible to this machine{found}.",
        "Deploy on a GPU pod (this image's CUDA 13 PyTorch needs a host with driver ≥ R580), "
        "or set PHOENIX_CPU_MODE=true to try the image on the CPU.",
    )


def _arch_check(
    capability: tuple[int, int], arch_list: list[str], torch_cuda: str | None, place: Place
) -> Check:
    arch = arch_name(capability)
    if torch_cuda is None:
        return Check(
            "arch",
            False,
            "This PyTorch was built without CUDA, so it cannot use the GPU.",
            "Something replaced the image's PyTorch (a custom node or EXTRA_PYTHON_PACKAGES "
            "without the constraints file?): rebuild or redeploy the image."
            if place.container
            else f"Install a CUDA build of PyTorch in ComfyUI's Python ({PYTORCH_INSTALL}).",
        )
    if not arch_list:
        return Check(
            "arch", None, f"PyTorch did not report its architectures; cannot confirm {arch}."
        )
    native, via_ptx = arch_support(capability, arch_list)
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
        f"architecture is in that list."
        if place.container
        else f"Install a PyTorch{build} that lists {arch} in ComfyUI's Python ({PYTORCH_INSTALL}).",
    )


def _driver_check(
    torch_cuda: str | None,
    driver_cuda: str | None,
    driver_version: str | None,
    cuda_available: bool | None,
    place: Place,
) -> Check:
    needed = parse_cuda_version(torch_cuda)
    have = parse_cuda_version(driver_cuda)
    driver = f"driver {driver_version}" if driver_version else "the driver"
    if needed is None:
        return Check("driver", None, "PyTorch has no CUDA version to compare with the driver.")
    if have is None:
        return Check("driver", None, f"Could not read which CUDA version {driver} supports.")
    wanted = f"{needed[0]}.{needed[1]}"
    supported = f"{have[0]}.{have[1]}"
    if have >= needed:
        return Check("driver", True, f"{driver.capitalize()} supports CUDA {supported} ≥ {wanted}.")
    if cuda_available:
        return Check(
            "driver",
            True,
            f"{driver.capitalize()} supports CUDA {supported} < {wanted}, but CUDA "
            "initialised through the forward-compatibility libraries.",
        )
    floor = driver_floor(needed)
    if place.container:
        host = f"driver ≥ R{floor}" if floor else "a driver that supports it"
        return Check(
            "driver",
            False,
            f"{driver.capitalize()} supports CUDA {supported}, but this image's PyTorch "
            f"needs CUDA {wanted}.",
            f"Pick a host with {host} for CUDA {wanted}.",
        )
    newer = f"R{floor} or newer" if floor else f"a version that supports CUDA {wanted}"
    return Check(
        "driver",
        False,
        f"{driver.capitalize()} supports CUDA {supported}, but this PyTorch needs CUDA {wanted}.",
        f"Update the NVIDIA driver to {newer}, or install a PyTorch built for CUDA "
        f"{supported} or older ({PYTORCH_INSTALL}).",
    )
