"""Build-time helpers the Dockerfile runs with the base image's Python (standard library only).

``check-base`` refuses a base image whose PyTorch cannot serve the GPUs this template is
for: kernels for each listed architecture and a CUDA build at least as new as asked.
``lock-additions`` reads the image's lock file and prints only the packages the base image
does not have: the base's own packages are pinned by its constraints file, and replacing
one would break that promise. ``constraints`` prints Phoenix's constraints file, which keeps
the base image's own pins (NVIDIA's ``/etc/pip/constraint.txt``, by reference) and freezes
the torch stack; every later pip run, at build and at boot, uses it. ``check-audio`` proves
that torchaudio works beside the base's torch, since ComfyUI imports it at start.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

#: The packages a custom node or EXTRA_PYTHON_PACKAGES must never replace.
FROZEN = ("torch", "torchvision", "torchaudio", "triton", "numpy")

#: NVIDIA's NGC PyTorch images pin every package they ship here (since release 25.03).
BASE_CONSTRAINTS = Path("/etc/pip/constraint.txt")


def constraints(names: Iterable[str] = FROZEN, include: Path | None = BASE_CONSTRAINTS) -> str:
    """``-c`` the base image's constraints (when it has some), then ``name==version`` pins.

    The base file is named, not copied: pip reads it where NVIDIA put it, so its pins stay
    exactly NVIDIA's, and a pin of ours cannot silently replace one of theirs.
    """
    lines = [f"-c {include}"] if include is not None and include.is_file() else []
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
CUDA_PROBE = "import torch; print(torch.version.cuda or '')"


def _probe(python: str, code: str) -> str:
    done = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    return done.stdout.strip()


def missing_arches(required: Sequence[str], python: str = sys.executable) -> list[str]:
    """The architectures in ``required`` that the installed PyTorch has no kernels for."""
    if importlib.util.find_spec("torch") is None and python == sys.executable:
        return list(required)
    have = set(_probe(python, ARCH_PROBE).split())
    return [arch for arch in required if arch not in have]


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:2])


def cuda_problem(minimum: str, python: str = sys.executable) -> str | None:
    """Why the installed PyTorch's CUDA is not at least ``minimum``, or None when it is."""
    if importlib.util.find_spec("torch") is None and python == sys.executable:
        return "this Python has no PyTorch"
    built = _probe(python, CUDA_PROBE)
    if not built:
        return "its PyTorch is built without CUDA"
    if _version_tuple(built) < _version_tuple(minimum):
        return f"its PyTorch is built with CUDA {built}, older than {minimum}"
    return None


def normalize(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_entries(text: str) -> Iterator[tuple[str, str]]:
    """Each ``(name, entry)`` of a ``uv pip compile`` / pip-tools lock, hash lines included."""
    name = ""
    block: list[str] = []
    for line in text.splitlines():
        starts = line[:1] not in ("", " ", "\t", "#")
        if starts:
            if block:
                yield name, "\n".join(block)
            name = normalize(re.split(r"[=<>!~;\s\[]", line, maxsplit=1)[0])
            block = [line]
        elif block and line.strip().startswith("--hash"):
            block.append(line)
    if block:
        yield name, "\n".join(block)


def installed_distributions() -> dict[str, str]:
    """Every distribution this Python sees, by normalized name, with its version."""
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(normalize(name), dist.version)
    return found


def lock_additions(text: str, installed: dict[str, str]) -> tuple[list[str], list[str]]:
    """The lock's entries for packages not installed, and a note for each one kept."""
    added, kept = [], []
    for name, entry in lock_entries(text):
        if name in installed:
            pinned = entry.split("\n", 1)[0].split("==", 1)[-1].split()[0]
            kept.append(f"{name} {installed[name]} (lock: {pinned})")
        else:
            added.append(entry)
    return added, kept


def audio_problem() -> str | None:
    """Why torchaudio cannot do what ComfyUI asks of it on this torch, or None."""
    try:
        import torch
        import torchaudio
    except Exception as error:  # noqa: BLE001 - ImportError, OSError (a missing library), RuntimeError: each is the answer
        return f"importing torchaudio failed: {type(error).__name__}: {error}"
    wave = torch.randn(1, 16000)
    try:
        torchaudio.functional.resample(wave, 16000, 44100)
        torchaudio.functional.bass_biquad(wave, 16000, 3.0)
        torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_mels=64)(wave)
    except Exception as error:  # noqa: BLE001 - whatever torchaudio raises is the answer
        return f"torchaudio failed on torch {torch.__version__}: {type(error).__name__}: {error}"
    return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="image.py", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    base = commands.add_parser("check-base", help="refuse a base image's PyTorch")
    base.add_argument("--min-cuda", default="13.0")
    base.add_argument("arches", nargs="+")
    arch = commands.add_parser("check-arch", help="refuse a PyTorch without these kernels")
    arch.add_argument("arches", nargs="+")
    lock = commands.add_parser("lock-additions", help="the lock's packages the base lacks")
    lock.add_argument("lock", type=Path)
    commands.add_parser("constraints", help="Phoenix's constraints file")
    commands.add_parser("check-audio", help="torchaudio works beside this torch")
    return parser


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return 1


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command in ("check-base", "check-arch"):
        missing = missing_arches(args.arches)
        if missing:
            return _fail(
                f"The base image's PyTorch has no kernels for {' '.join(missing)}: pick a "
                "BASE_IMAGE (a dated NGC PyTorch tag) built with CUDA 13 that lists them."
            )
        problem = cuda_problem(args.min_cuda) if args.command == "check-base" else None
        if problem:
            return _fail(
                f"The base image cannot be used: {problem}. Pick a BASE_IMAGE (a dated NGC "
                f"PyTorch tag) built with CUDA ≥ {args.min_cuda}."
            )
        return 0
    if args.command == "lock-additions":
        added, kept = lock_additions(args.lock.read_text(), installed_distributions())
        sys.stdout.write("".join(entry + "\n" for entry in added))
        print(
            f"{len(added)} packages from {args.lock.name}; the base image's own kept:",
            file=sys.stderr,
        )
        for note in kept:
            print(f"  {note}", file=sys.stderr)
        return 0
    if args.command == "constraints":
        sys.stdout.write(constraints())
        return 0
    problem = audio_problem()
    if problem:
        return _fail(
            f"ComfyUI imports torchaudio at start, and {problem}. Pick a BASE_IMAGE whose "
            "torch runs the locked torchaudio, or update bootstrap/requirements-image.lock."
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
