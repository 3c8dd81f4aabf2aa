"""What the start-up benchmark runs: Phoenix's CLI two ways, the interpreter's floor, a peer.

Console scripts are taken from the folder of the interpreter running the benchmark (the
venv in use), not from ``PATH``, where a version manager's shim (pyenv's is a shell
script) would add its own start-up to every run. Every child imports Phoenix from this
checkout: its root goes first on ``PYTHONPATH``, ahead of any installed copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLI_MODULE = "comfyui_phoenix.surfaces.cli"
#: The ``hf`` command of huggingface_hub 1.x, or the older ``huggingface-cli``.
PEER_SCRIPTS = ("hf", "huggingface-cli")
FLOOR = "python -c pass"
PHOENIX_HELP = "phoenix --help"
PHOENIX_MODULE_HELP = f"python -m {CLI_MODULE} --help"
#: The commands the budget is for.
PHOENIX_COMMANDS = (PHOENIX_HELP, PHOENIX_MODULE_HELP)


def child_env() -> dict[str, str]:
    """The caller's environment without Phoenix, CivitAI or HuggingFace settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PHOENIX_", "CIVITAI_", "HF_", "HUGGING_FACE_", "COMFY_"))
    }
    env.update(
        HF_HUB_DISABLE_TELEMETRY="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    return env


def console_script(name: str) -> str | None:
    """The console script ``name`` beside this interpreter, else on ``PATH``."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def commands() -> dict[str, list[str]]:
    """The commands compared, by the label the table gives them.

    Raises:
        SystemExit: when no ``phoenix`` console script is installed.
    """
    phoenix = console_script("phoenix")
    if phoenix is None:
        raise SystemExit("no `phoenix` console script: install the package (pip install -e .)")
    found = {
        FLOOR: [sys.executable, "-c", "pass"],
        PHOENIX_HELP: [phoenix, "--help"],
        PHOENIX_MODULE_HELP: [sys.executable, "-m", CLI_MODULE, "--help"],
    }
    for name in PEER_SCRIPTS:
        peer = console_script(name)
        if peer is not None:
            found[f"{name} --help"] = [peer, "--help"]
            break
    return found


def imported_from(env: dict[str, str]) -> str:
    """The folder a child with ``env`` imports ``comfyui_phoenix`` from."""
    code = "import comfyui_phoenix, os; print(os.path.dirname(comfyui_phoenix.__file__))"
    answer = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return answer.stdout.strip()
