"""NVIDIA GPUs as NVML reports them, sampled in the background.

:func:`read_gpus` takes one reading; :class:`GpuSampler` takes one about every second in
a worker thread so a status request only copies the latest. Without the
``nvidia-ml-py`` package, the NVIDIA driver or a GPU, the report says
``available=False`` and why, and everything else in Phoenix carries on. A field the
driver cannot report on a given GPU (power on some boards, temperature in some VMs)
is ``None``; it never fails the whole reading.

``pynvml`` is imported only when a reading is taken, so importing Phoenix stays fast
on machines that have no GPU.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from types import ModuleType
from typing import Any, TypeVar

from .sampler import Sampler

log = logging.getLogger(__name__)

T = TypeVar("T")

NO_PACKAGE = "NVML is not available: the Python package nvidia-ml-py is not installed."
NO_DRIVER = (
    "NVML is not available: the NVIDIA driver is not installed or this machine has no NVIDIA GPU."
)
NO_DEVICES = (
    "NVML is running but sees no GPU: start the container with GPU access "
    "(docker run --gpus all, or a GPU pod)."
)
NOT_SAMPLED = "The first GPU reading has not been taken yet."

# NVML's exception classes are generated per error code; these are the ones a user can
# act on, by the class name pynvml gives them.
_INIT_REASONS = {
    "NVMLError_LibraryNotFound": NO_DRIVER,
    "NVMLError_DriverNotLoaded": (
        "NVML is not available: the NVIDIA driver is installed but not loaded; "
        "restart the machine or load the nvidia kernel module."
    ),
    "NVMLError_LibRmVersionMismatch": (
        "NVML is not available: the NVIDIA driver library does not match the loaded kernel "
        "module; restart the machine after a driver update."
    ),
    "NVMLError_NoPermission": ("NVML is not available: this user is not allowed to query the GPU."),
}


@dataclass(frozen=True)
class GpuInfo:
    """One GPU. Bytes are ints, power in watts; ``None`` where the driver cannot tell."""

    index: int
    name: str | None = None
    uuid: str | None = None
    compute_capability: str | None = None  # "12.0"
    sm: str | None = None  # "sm_120", as CUDA kernels are named
    vram_total: int | None = None
    vram_used: int | None = None
    vram_free: int | None = None
    utilization_gpu: int | None = None  # percent of the last sample period the GPU was busy
    temperature_c: int | None = None
    power_w: float | None = None
    power_limit_w: float | None = None


@dataclass(frozen=True)
class GpuReport:
    """Every GPU NVML sees, or why none can be seen.

    ``sampled_at`` is seconds since the epoch, or None before the first reading.
    """

    available: bool
    reason: str | None = None
    driver_version: str | None = None
    cuda_driver_version: str | None = None  # "12.8": the newest CUDA the driver supports
    gpus: list[GpuInfo] = field(default_factory=list)
    sampled_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return asdict(self)


def cuda_version_text(value: int) -> str:
    """NVML's CUDA version number as people write it: ``12080`` → ``"12.8"``."""
    return f"{value // 1000}.{value % 1000 // 10}"


def sm_name(major: int, minor: int) -> str:
    """The architecture name CUDA builds use for a compute capability: (12, 0) → ``sm_120``."""
    return f"sm_{major}{minor}"


def vram_of_largest(report: GpuReport) -> int | None:
    """Total VRAM in bytes of the GPU with the most, or None when no GPU can be read."""
    totals = [gpu.vram_total for gpu in report.gpus if gpu.vram_total is not None]
    if not report.available or not totals:
        return None
    return max(totals)


def read_gpus() -> GpuReport:
    """Take one NVML reading of every GPU. Blocking: call it from a worker thread.

    Returns:
        A report with ``available=False`` and a one-sentence reason when pynvml, the
        driver or a GPU is missing; never raises for those.
    """
    nvml = _open_nvml()
    if isinstance(nvml, GpuReport):
        return nvml
    try:
        return _read_report(nvml)
    finally:
        _close_nvml(nvml)


class GpuSampler(Sampler[GpuReport]):
    """Reads the GPUs about once a second in a worker thread; :meth:`latest` never blocks.

    While NVML is unavailable it checks again only every ``unavailable_interval`` seconds:
    a machine without a driver does not grow one, and each attempt loads a library.
    NVML stays initialised between readings (initialising it can take a noticeable
    fraction of a second) and is shut down by :meth:`stop`.
    """

    def __init__(self, *, interval: float = 1.0, unavailable_interval: float = 60.0) -> None:
        super().__init__(GpuReport(available=False, reason=NOT_SAMPLED), interval=interval)
        self.unavailable_interval = unavailable_interval
        # Readings run in worker threads; the lock keeps stop() from shutting NVML down
        # under a reading that is still in flight.
        self._lock = threading.Lock()
        self._nvml: ModuleType | None = None
        self._closed = False

    def read(self) -> GpuReport:
        """Take one reading, keeping NVML initialised for the next."""
        with self._lock:
            if self._closed:
                return self.latest()
            if self._nvml is None:
                opened = _open_nvml()
                if isinstance(opened, GpuReport):
                    return opened
                self._nvml = opened
            report = _read_report(self._nvml)
            if not report.available:
                self._release()
            return report

    def next_delay(self, value: GpuReport) -> float:
        """Sample every ``interval`` while GPUs answer, rarely while NVML is unavailable."""
        return self.interval if value.available else self.unavailable_interval

    async def start(self) -> None:
        """Start sampling in the background; the first reading follows at once."""
        self._closed = False
        await super().start()

    async def stop(self) -> None:
        """Stop sampling and shut NVML down."""
        await super().stop()
        await asyncio.to_thread(self._shutdown)

    def _shutdown(self) -> None:
        with self._lock:
            self._closed = True
            self._release()

    def _release(self) -> None:
        if self._nvml is not None:
            _close_nvml(self._nvml)
            self._nvml = None


def _unavailable(reason: str) -> GpuReport:
    return GpuReport(available=False, reason=reason, sampled_at=time.time())


def _open_nvml() -> ModuleType | GpuReport:
    """Import pynvml and initialise NVML, or say why that is impossible."""
    try:
        import pynvml
    except ImportError:
        return _unavailable(NO_PACKAGE)
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return _unavailable(_init_reason(exc))
    module: ModuleType = pynvml
    return module


def _init_reason(exc: Exception) -> str:
    known = _INIT_REASONS.get(type(exc).__name__)
    return known or f"NVML is not available: initialising it failed ({exc})."


def _close_nvml(nvml: ModuleType) -> None:
    try:
        nvml.nvmlShutdown()
    except nvml.NVMLError as exc:
        # Shutting down only releases NVML's reference count; failing to is harmless.
        log.debug("nvmlShutdown failed: %s", exc)


def _read_report(nvml: ModuleType) -> GpuReport:
    try:
        count = int(nvml.nvmlDeviceGetCount())
    except nvml.NVMLError as exc:
        return _unavailable(f"NVML is running but could not count the GPUs ({exc}).")
    if count == 0:
        return _unavailable(NO_DEVICES)
    cuda = _field(nvml, nvml.nvmlSystemGetCudaDriverVersion_v2)
    return GpuReport(
        available=True,
        driver_version=_text(_field(nvml, nvml.nvmlSystemGetDriverVersion)),
        cuda_driver_version=None if cuda is None else cuda_version_text(int(cuda)),
        gpus=[_read_device(nvml, index) for index in range(count)],
        sampled_at=time.time(),
    )


def _read_device(nvml: ModuleType, index: int) -> GpuInfo:
    handle = _field(nvml, lambda: nvml.nvmlDeviceGetHandleByIndex(index))
    if handle is None:
        return GpuInfo(index=index)
    capability = _field(nvml, lambda: nvml.nvmlDeviceGetCudaComputeCapability(handle))
    memory = _field(nvml, lambda: nvml.nvmlDeviceGetMemoryInfo(handle))
    utilization = _field(nvml, lambda: nvml.nvmlDeviceGetUtilizationRates(handle))
    temperature = _field(
        nvml, lambda: nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU)
    )
    return GpuInfo(
        index=index,
        name=_text(_field(nvml, lambda: nvml.nvmlDeviceGetName(handle))),
        uuid=_text(_field(nvml, lambda: nvml.nvmlDeviceGetUUID(handle))),
        compute_capability=None if capability is None else f"{capability[0]}.{capability[1]}",
        sm=None if capability is None else sm_name(int(capability[0]), int(capability[1])),
        vram_total=None if memory is None else int(memory.total),
        vram_used=None if memory is None else int(memory.used),
        vram_free=None if memory is None else int(memory.free),
        utilization_gpu=None if utilization is None else int(utilization.gpu),
        temperature_c=None if temperature is None else int(temperature),
        power_w=_watts(_field(nvml, lambda: nvml.nvmlDeviceGetPowerUsage(handle))),
        power_limit_w=_watts(_field(nvml, lambda: nvml.nvmlDeviceGetEnforcedPowerLimit(handle))),
    )


def _field(nvml: ModuleType, call: Callable[[], T]) -> T | None:
    """One NVML call; a field the driver cannot report (NotSupported, …) becomes None."""
    try:
        return call()
    except nvml.NVMLError:
        return None


def _text(value: object) -> str | None:
    # Older pynvml releases return bytes where newer ones return str.
    if value is None:
        return None
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _watts(milliwatts: int | None) -> float | None:
    return None if milliwatts is None else int(milliwatts) / 1000
