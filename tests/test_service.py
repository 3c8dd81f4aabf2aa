"""Phoenix assembled: which engine it starts, and what it leaves behind when it cannot."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from peers.files import FileServer
from peers.models import FLUX_TRANSFORMER, safetensors_bytes

from comfyui_phoenix.errors import EngineError
from comfyui_phoenix.jobs.job import JobState
from comfyui_phoenix.service import Phoenix
from comfyui_phoenix.settings import Settings

MODEL = safetensors_bytes(FLUX_TRANSFORMER, pad_to=1 << 20, seed=5)


@pytest.fixture
def broken_aria2c(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An ``aria2c`` first on PATH that exits at once, as a broken installation does."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "aria2c"
    script.write_text("#!/bin/sh\necho 'aria2c: cannot start' >&2\nexit 1\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    return script


async def test_auto_falls_back_to_python_when_aria2c_will_not_start(
    broken_aria2c: Path,
    file_server: FileServer,
    make_settings: Callable[..., Settings],
    models_dir: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    file_server.add("flux-tiny.safetensors", MODEL)
    link = f"{file_server.base_url}/files/flux-tiny.safetensors"  # type: ignore[attr-defined]
    settings = make_settings(engine="auto", runtime_dir_setting=tmp_path / "run")

    with caplog.at_level(logging.WARNING):
        async with Phoenix(settings) as phoenix:
            assert phoenix.engine.name == "python"
            jobs, _ = await phoenix.manager.submit([link], origin="test")
            job = await phoenix.manager.wait(jobs[0].id)

    assert job.state == JobState.DONE, job.error
    assert (models_dir / "diffusion_models" / "flux-tiny.safetensors").read_bytes() == MODEL
    assert any("Python engine" in record.getMessage() for record in caplog.records)


async def test_a_failed_start_closes_what_it_opened(
    broken_aria2c: Path, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    phoenix = Phoenix(make_settings(engine="aria2", runtime_dir_setting=tmp_path / "run"))

    with pytest.raises(EngineError):
        await phoenix.start()

    # An open session would be reported as "Unclosed client session" at exit.
    assert phoenix._session is not None and phoenix._session.closed
    assert list((tmp_path / "run").iterdir()) == []
