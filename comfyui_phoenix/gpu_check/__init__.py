"""The GPU check: GPU, driver and PyTorch compatibility, for ``phoenix doctor`` and the boot.

- :mod:`.cuda_tables`: the facts the rules use: driver floors per CUDA version, the
  first CUDA per architecture, architecture names, cubin and PTX compatibility.
- :mod:`.compatibility`: the rules, as pure functions over plain facts; :class:`Check`,
  one verdict; :class:`Place`, the container or a local install, which decides what a
  missing GPU means and what a fix says.
- :mod:`.report`: :class:`DoctorReport` (devices, driver, PyTorch, checks) and its JSON
  form; :func:`build_report` runs the rules over the facts.
- :mod:`.probes`: reading this machine (NVML, the PyTorch probe in a child process) and
  :func:`gather`.
- :mod:`.text_report`: the report for a terminal and the verdict ``phoenix doctor`` exits with.
"""

from .compatibility import Check, Place, check_compatibility
from .cuda_tables import arch_capability, parse_cuda_version
from .probes import (
    gather,
    parse_torch_probe,
    probe_torch,
    read_nvml,
    torch_probe_argv,
)
from .report import GIB, DoctorReport, TorchInfo, build_report
from .text_report import format_report, report_ok

__all__ = [
    "GIB",
    "Check",
    "DoctorReport",
    "Place",
    "TorchInfo",
    "arch_capability",
    "build_report",
    "check_compatibility",
    "format_report",
    "gather",
    "parse_cuda_version",
    "parse_torch_probe",
    "probe_torch",
    "read_nvml",
    "report_ok",
    "torch_probe_argv",
]
