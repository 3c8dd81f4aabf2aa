"""Shared fixtures: an isolated environment for every test and the local protocol peers."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from peers.files import FileServer
from peers.runner import ServerThread

from comfyui_phoenix.settings import Settings

pytest_plugins = ["peers.civitai", "peers.hf"]

_OWNED_PREFIXES = ("PHOENIX_", "HF_", "HUGGINGFACE_", "CIVITAI_", "COMFY", "FB_")
_OWNED_NAMES = {"DEBUG_MODE", "USE_VOLUME", "PARANOID_MODE", "EXTRA_PYTHON_PACKAGES"}

#: A token value that must never show up anywhere it should not.
CANARY_HF = "hf_CANARYtokenHF0123456789abcdef"
CANARY_CIVITAI = "civitaiCANARYtoken0123456789abcdef"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test sees the developer's tokens, caches or settings."""
    for name in list(os.environ):
        if name.startswith(_OWNED_PREFIXES) or name in _OWNED_NAMES:
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("HF_HOME", str(home / ".cache" / "huggingface"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    return home


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    path = tmp_path / "models"
    path.mkdir()
    return path


@pytest.fixture
def make_settings(models_dir: Path) -> Callable[..., Settings]:
    """Settings for tests: local peers allowed, everything else as a user would have it."""

    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "models_dir": models_dir,
            "allowed_hosts": ("127.0.0.1",),
            "allow_private_networks": True,
        }
        values.update(overrides)
        return Settings(**values)

    return factory


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[FileServer]:
    """An unthrottled file host; tests set caps and faults on it."""
    server = FileServer(tmp_path / "served")
    thread = ServerThread(server.app).start()
    server.base_url = thread.url  # type: ignore[attr-defined]
    yield server
    thread.stop()
