"""A stand-in for ``pynvml``: the NVML calls Phoenix's GPU check makes, answered from the environment.

Put this folder on ``PYTHONPATH`` to use it. ``STANDIN_NVML_GPU`` is ``name|major.minor|bytes``
(``NVIDIA GeForce RTX 5090|12.0|34190917632``); without it, :func:`nvmlInit` fails as on a
machine whose NVIDIA driver is not loaded. ``STANDIN_NVML_DRIVER`` and
``STANDIN_NVML_CUDA`` (NVML's number, ``12080`` for 12.8) name the driver.
"""

from __future__ import annotations

import os
from types import SimpleNamespace


class NVMLError(Exception):
    """Raised the way pynvml raises: its text is NVML's own words."""


def _gpu() -> list[str]:
    spec = os.environ.get("STANDIN_NVML_GPU")
    if not spec:
        raise NVMLError("Driver Not Loaded")
    return spec.split("|")


def nvmlInit() -> None:
    _gpu()


def nvmlShutdown() -> None:
    return None


def nvmlDeviceGetCount() -> int:
    return 1


def nvmlDeviceGetHandleByIndex(index: int) -> int:
    return index


def nvmlDeviceGetName(handle: int) -> str:
    return _gpu()[0]


def nvmlDeviceGetCudaComputeCapability(handle: int) -> tuple[int, int]:
    major, minor = _gpu()[1].split(".")
    return int(major), int(minor)


def nvmlDeviceGetMemoryInfo(handle: int) -> SimpleNamespace:
    return SimpleNamespace(total=int(_gpu()[2]))


def nvmlSystemGetDriverVersion() -> str:
    return os.environ.get("STANDIN_NVML_DRIVER", "570.124.06")


def nvmlSystemGetCudaDriverVersion() -> int:
    return int(os.environ.get("STANDIN_NVML_CUDA", "12080"))
