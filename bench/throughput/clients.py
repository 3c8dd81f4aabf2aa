"""The clients raced against each other, each as the command line it runs as.

1. ``phoenix fetch`` with ``PHOENIX_ENGINE=aria2``, then with ``PHOENIX_ENGINE=python``
   (through :mod:`.phoenix_client`, so the tail's flushes are timed);
2. ``huggingface_hub.hf_hub_download`` (its plain-HTTP path: the local hub sends no
   ``X-Xet-*`` headers, so no Xet transfer is involved);
3. ``curl -o``, one stream, so at most the per-connection cap.

Each gets an environment without the caller's Phoenix, CivitAI or HuggingFace settings,
and imports Phoenix from this checkout.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from .model_file import FILENAME, REPO_ID
from .paths import ENTRY, ROOT
from .throttled_server import Server

PHOENIX_CLIENTS = ("phoenix-aria2", "phoenix-python")
ALL_CLIENTS = (*PHOENIX_CLIENTS, "hf_hub_download", "curl")

_HF_SCRIPT = """
import sys
from huggingface_hub import hf_hub_download
print(hf_hub_download(sys.argv[1], sys.argv[2], endpoint=sys.argv[3], local_dir=sys.argv[4]))
"""


@dataclass
class Client:
    """A client's name, its command line and environment, and the note the table shows."""

    name: str
    command: list[str]
    env: dict[str, str]
    note: str = ""


def _base_env(scratch: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PHOENIX_", "CIVITAI_", "HF_", "HUGGING_FACE_"))
    }
    env.update(
        HF_HOME=str(scratch / "hf-home"),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    return env


def make_client(name: str, server: Server, folder: Path, scratch: Path) -> Client:
    """The client ``name`` (one of :data:`ALL_CLIENTS`), downloading into ``folder``."""
    env = _base_env(scratch)
    if name in PHOENIX_CLIENTS:
        env.update(
            HF_ENDPOINT=server.hub,
            PHOENIX_ENGINE=name.split("-")[1],
            PHOENIX_ALLOWED_HOSTS="127.0.0.1",
            PHOENIX_ALLOW_PRIVATE_NETWORKS="true",
            PHOENIX_RUNTIME_ENV="/nonexistent",
        )
        command = [
            sys.executable, str(ENTRY), "_phoenix", "-v", "fetch",
            f"hf:{REPO_ID}/{FILENAME}", "--models-dir", str(folder),
        ]  # fmt: skip
        return Client(name, command, env)
    if name == "hf_hub_download":
        command = [sys.executable, "-c", _HF_SCRIPT, REPO_ID, FILENAME, server.hub, str(folder)]
        return Client(name, command, env, "plain HTTP: the local hub sends no X-Xet headers")
    command = ["curl", "-sS", "-f", "-o", str(folder / FILENAME), server.cdn_file]
    return Client(name, command, env, "one stream, CDN URL")
