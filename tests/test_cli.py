"""The ``phoenix`` command, run as a real process against local peers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import CANARY_CIVITAI
from peers.civitai import CivitaiServer
from peers.files import FileServer
from peers.models import FLUX_VAE, LORA, safetensors_bytes

DATA = safetensors_bytes(FLUX_VAE, pad_to=4 << 20, seed=31)


def _env(models: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PHOENIX_", "CIVITAI_", "HF_TOKEN"))
    }
    env.update(
        PHOENIX_MODELS_DIR=str(models),
        PHOENIX_ALLOWED_HOSTS="127.0.0.1",
        PHOENIX_ALLOW_PRIVATE_NETWORKS="true",
        PHOENIX_RUNTIME_ENV=str(models / "no-runtime.env"),
        **extra,
    )
    return env


def phoenix(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "comfyui_phoenix.surfaces.cli", *args],
        env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def _link(server: FileServer, name: str) -> str:
    return f"{server.base_url}/files/{name}"  # type: ignore[attr-defined]


@pytest.mark.parametrize("engine", ["python", "aria2"])
def test_fetch_plans_downloads_verifies_and_places(
    file_server: FileServer, models_dir: Path, engine: str
) -> None:
    if engine == "aria2" and not _has_aria2c():
        pytest.skip("aria2c is not installed (.ci/run installs it)")
    file_server.add("ae.safetensors", DATA)
    result = phoenix(
        "fetch", _link(file_server, "ae.safetensors"), env=_env(models_dir, PHOENIX_ENGINE=engine)
    )
    assert result.returncode == 0, result.stderr
    assert "vae/ae.safetensors" in result.stdout and "to fetch" in result.stdout
    assert (models_dir / "vae" / "ae.safetensors").read_bytes() == DATA
    again = phoenix(
        "fetch", _link(file_server, "ae.safetensors"), env=_env(models_dir, PHOENIX_ENGINE=engine)
    )
    assert again.returncode == 0 and "present" in again.stdout


def _has_aria2c() -> bool:
    import shutil

    return shutil.which("aria2c") is not None


def test_dry_run_downloads_nothing_and_json_is_machine_readable(
    file_server: FileServer, models_dir: Path
) -> None:
    file_server.add("ae.safetensors", DATA)
    result = phoenix(
        "fetch", "--dry-run", "--json", _link(file_server, "ae.safetensors"), env=_env(models_dir)
    )
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["files"][0]["folder"] == "vae" and plan["files"][0]["present"] is False
    assert not (models_dir / "vae").exists()


def test_a_bad_reference_is_one_sentence_and_a_usage_error(models_dir: Path) -> None:
    result = phoenix("fetch", "12345", env=_env(models_dir))
    assert result.returncode == 2  # nothing to retry: the request must change
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [lines[0]] and "civitai:12345" in lines[0]


def test_bad_setting_names_the_variable(models_dir: Path) -> None:
    result = phoenix("plan", env=_env(models_dir, PHOENIX_MAX_DOWNLOAD_RATE="fast"))
    assert result.returncode == 2
    assert "PHOENIX_MAX_DOWNLOAD_RATE" in result.stderr and "for example" in result.stderr


def test_plan_shows_what_the_environment_would_fetch(
    file_server: FileServer, models_dir: Path
) -> None:
    file_server.add("ae.safetensors", DATA)
    env = _env(models_dir, PHOENIX_MODELS_TO_DOWNLOAD=_link(file_server, "ae.safetensors"))
    result = phoenix("plan", env=env)
    assert result.returncode == 0, result.stderr
    assert "PHOENIX_MODELS_TO_DOWNLOAD" in result.stdout and "vae/ae.safetensors" in result.stdout
    assert "environment asks for no models" in phoenix("plan", env=_env(models_dir)).stdout


def test_kill_9_mid_transfer_then_a_rerun_resumes(
    file_server: FileServer, models_dir: Path
) -> None:
    big = safetensors_bytes(LORA, pad_to=24 << 20, seed=32)
    file_server.add("big_lora.safetensors", big)
    file_server.per_connection_rate = 1 << 20
    env = _env(models_dir, PHOENIX_ENGINE="python")
    process = subprocess.Popen(
        [sys.executable, "-m", "comfyui_phoenix.surfaces.cli", "fetch", _link(file_server, "big_lora.safetensors")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    part = models_dir / "loras" / "big_lora.safetensors.part"
    deadline = time.monotonic() + 30
    while file_server.bytes_sent < len(big) // 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.2)  # let the engine write its resume state (at most once a second)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    assert part.exists() and not (models_dir / "loras" / "big_lora.safetensors").exists()
    first_run = file_server.bytes_sent
    file_server.per_connection_rate = None
    result = phoenix("fetch", _link(file_server, "big_lora.safetensors"), env=env)
    assert result.returncode == 0, result.stderr
    assert (models_dir / "loras" / "big_lora.safetensors").read_bytes() == big
    assert file_server.bytes_sent - first_run < len(big) - first_run * 0.7, "resumed, not restarted"


def test_two_processes_asking_for_one_file_transfer_it_once(
    file_server: FileServer, models_dir: Path
) -> None:
    file_server.add("shared.safetensors", DATA)
    file_server.per_connection_rate = 2 << 20
    env = _env(models_dir, PHOENIX_ENGINE="python")
    args = [
        sys.executable,
        "-m",
        "comfyui_phoenix.surfaces.cli",
        "fetch",
        _link(file_server, "shared.safetensors"),
    ]
    runs = [subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]  # fmt: skip
    errors = [run.communicate(timeout=60)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], errors
    assert (models_dir / "vae" / "shared.safetensors").read_bytes() == DATA
    assert file_server.bytes_sent < len(DATA) * 1.2


def test_the_civitai_token_stays_out_of_output_and_argv(
    civitai_server: CivitaiServer, models_dir: Path
) -> None:
    data = safetensors_bytes(LORA, seed=33)
    civitai_server.tokens.add(CANARY_CIVITAI)
    civitai_server.add_model(
        7, "Locked", "LORA",
        [{"id": 70, "files": [{"id": 700, "name": "locked.safetensors", "data": data, "primary": True}]}],
        requires_auth=True,
    )  # fmt: skip
    env = _env(
        models_dir,
        CIVITAI_TOKEN=CANARY_CIVITAI,
        PHOENIX_CIVITAI_BASE_URL=civitai_server.url,
        DEBUG_MODE="true",
    )
    result = phoenix("-v", "fetch", "civitai:7", env=env)
    assert result.returncode == 0, result.stderr
    assert CANARY_CIVITAI not in result.stdout + result.stderr
    assert (models_dir / "loras" / "locked.safetensors").read_bytes() == data
    without = phoenix(
        "fetch",
        "civitai:7",
        env=_env(models_dir / "other", PHOENIX_CIVITAI_BASE_URL=civitai_server.url),
    )
    assert without.returncode == 1 and "CIVITAI_TOKEN" in without.stderr
