"""The bootstrap with the real ComfyUI (when COMFYUI_DIR and COMFYUI_PYTHON are set)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CANARY_HF
from stand_ins.harness import NO_GPU, Booted, descendants, proc_environ, start_boot, terminate_all

from bootstrap.paths import BootPaths
from bootstrap.storage import VolumeInfo, plan_storage, write_storage_files
from comfyui_phoenix.settings import load_settings

COMFYUI_DIR = os.environ.get("COMFYUI_DIR")
COMFYUI_PYTHON = os.environ.get("COMFYUI_PYTHON")
pytestmark = [
    pytest.mark.comfyui,
    pytest.mark.skipif(
        not (COMFYUI_DIR and COMFYUI_PYTHON), reason="COMFYUI_DIR and COMFYUI_PYTHON are not set"
    ),
]

LOAD_YAML = """
import json, sys
import folder_paths
import utils.extra_config
utils.extra_config.load_extra_path_config(sys.argv[1])
names = ("diffusion_models", "text_encoders", "vae", "loras", "checkpoints")
print(json.dumps({name: folder_paths.get_folder_paths(name) for name in names}))
"""


def test_real_comfyui_loads_the_generated_model_paths(tmp_path: Path) -> None:
    paths = BootPaths.from_env({"PHOENIX_BOOT_ROOT": str(tmp_path)})
    (tmp_path / "workspace").mkdir()
    settings = load_settings({"PHOENIX_CONTAINER": "1", "USE_VOLUME": "true"})
    layout = plan_storage(settings, paths, VolumeInfo(True, True, 1))
    write_storage_files(layout, paths, settings)
    done = subprocess.run(
        [str(COMFYUI_PYTHON), "-c", LOAD_YAML, str(paths.extra_model_paths)],
        cwd=str(COMFYUI_DIR),
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        check=True,
    )
    folders = json.loads(done.stdout.strip().splitlines()[-1])
    models = tmp_path / "workspace" / "models"
    for name, found in folders.items():
        assert found[0] == str(models / name), name  # the volume first: downloads land there
    assert str(models / "unet") in folders["diffusion_models"]  # legacy folder still searched


@pytest.fixture
def booted(tmp_path: Path) -> Iterator[Booted]:
    workspace = tmp_path / "root" / "workspace"
    (workspace / "models" / "diffusion_models").mkdir(parents=True)
    (workspace / "models" / "diffusion_models" / "already-here.safetensors").write_bytes(b"x")
    booted = start_boot(
        tmp_path,
        {
            "PHOENIX_CPU_MODE": "true",
            "USE_VOLUME": "true",
            "HF_TOKEN": CANARY_HF,
            "PYTHONDONTWRITEBYTECODE": "1",
            "PHOENIX_BOOT_READY_TIMEOUT": "240",
        },
        gpu=NO_GPU,
        comfyui_dir=Path(str(COMFYUI_DIR)),
        comfyui_python=str(COMFYUI_PYTHON),
    )
    yield booted
    if booted.process.poll() is None:
        terminate_all(descendants(booted.process.pid))
        booted.kill()


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


def test_real_comfyui_boots_on_the_cpu_and_stops_cleanly(booted: Booted) -> None:
    report = booted.wait_running(timeout=240)
    base = f"http://127.0.0.1:{booted.comfyui_port}"
    stats = get_json(f"{base}/system_stats")
    assert isinstance(stats, dict)
    argv = stats["system"]["argv"]
    assert "--cpu" in argv and "--disable-auto-launch" in argv
    assert argv[argv.index("--user-directory") + 1] == report["storage"]["user"]
    # The generated extra_model_paths.yaml is in force: the volume's models are listed.
    assert get_json(f"{base}/models/diffusion_models") == ["already-here.safetensors"]
    pid = report["services"]["comfyui"]["pid"]
    assert CANARY_HF not in json.dumps(proc_environ(pid))
    took = booted.stop(signal.SIGTERM, timeout=30)
    assert took < 10, f"stopping the real ComfyUI took {took:.2f} s"
    final = booted.report()
    assert final["state"] == "stopped"
    print(
        f"real ComfyUI: ready after {report['services']['comfyui']['ready_after_s']} s, stopped in {took:.2f} s"
    )
