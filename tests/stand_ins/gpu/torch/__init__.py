"""A stand-in for PyTorch: what Phoenix's torch probe reads, answered from the environment.

Put the folder above on ``PYTHONPATH`` to use it. ``STANDIN_TORCH_CUDA`` is the CUDA it
was built with (empty: a CPU-only build), ``STANDIN_TORCH_ARCHS`` its compiled
architectures (``sm_80 sm_90``), ``STANDIN_TORCH_CUDA_AVAILABLE=1`` makes CUDA initialise.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

__version__ = "2.7.0+standin"

_ARCHS = os.environ.get("STANDIN_TORCH_ARCHS", "")

version = SimpleNamespace(cuda=os.environ.get("STANDIN_TORCH_CUDA") or None)
_C = SimpleNamespace(_cuda_getArchFlags=lambda: _ARCHS)
cuda = SimpleNamespace(
    get_arch_list=lambda: _ARCHS.split(),
    is_available=lambda: os.environ.get("STANDIN_TORCH_CUDA_AVAILABLE") == "1",
)
