"""Build-time helpers the Dockerfile runs with the base image's Python (standard library only).

``python image.py constraints`` prints the pins that freeze the base image's torch stack;
every later pip run, at build and at boot, uses them (``PIP_CONSTRAINT``), so nothing can
swap the image's CUDA build of torch for a PyPI one. ``python image.py check-arch sm_90
sm_120`` fails the build when the base image's PyTorch lacks kernels for an
architecture the image promises to run on.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import subprocess
import sys
from collections.abc import Iterable, Sequence

#: The packages a custom node or EXTRA_PYTHON_PACKAGES must never replace.
FROZEN = ("torch", "torchvision", "torchaudio", "triton", "numpy")


def constraints(names: Iterable[str] = FROZEN) -> str:
    """``name==version`` for each of ``names`` that is installed, one per line."""
    lines = []
    for name in names:
        try:
            lines.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return "\n".join(lines) + "\n"


ARCH_PROBE = (
    "import torch; f = getattr(torch._C, '_cuda_getArchFlags', None); "
    "print((f() if f else '') or ' '.join(torch.cuda.get_arch_list()))"
)


def missing_arches(required: Sequence[str], python: str = sys.executable) -> list[str]:
    """The architectures in ``required`` that the installed PyTorch has no kernels for."""
    if importlib.util.find_spec("torch") is None and python == sys.executable:
        return list(required)
    done = subprocess.run(
        [python, "-c", ARCH_PROBE], capture_output=True, text=True, check=True, timeout=300
    )
    have = set(done.stdout.split())
    return [arch for arch in required if arch not in have]


def main(argv: Sequence[str]) -> int:
    if argv[:1] == ["constraints"]:
        sys.stdout.write(constraints())
        return 0
    if argv[:1] == ["check-arch"] and len(argv) > 1:
        missing = missing_arches(argv[1:])
        if missing:
            print(
                f"The base image's PyTorch has no kernels for {' '.join(missing)}: pick a "
                "BASE_IMAGE built with CUDA ≥ 12.8 that lists them.",
                file=sys.stderr,
            )
            return 1
        return 0
    print("usage: image.py constraints | check-arch ARCH...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
