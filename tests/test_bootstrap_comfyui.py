"""The bootstrap with the real ComfyUI (when COMFYUI_DIR and COMFYUI_PYTHON are set)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CANARY_HF
from stand_ins.harness import (
    NO_GPU,
    REPO,
    Booted,
    descendants,
    proc_environ,
    start_boot,
    terminate_all,
)

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
    write_storage_files(layout, paths, settings, user="sduser", environ={})
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


API_TOKEN = "apiCANARYrealComfyUI0123456789abcdef"


def comfy_base(tmp_path: Path, *, with_phoenix: bool) -> Path:
    """A ``--base-directory`` for ComfyUI whose ``custom_nodes`` holds (or lacks) Phoenix.

    The shared ComfyUI checkout is never modified: its custom nodes, inputs, outputs and
    user folder all move here (the bootstrap's directory flags move them again).
    """
    base = tmp_path / "comfy-base"
    (base / "custom_nodes").mkdir(parents=True)
    if with_phoenix:
        (base / "custom_nodes" / "comfyui-phoenix").symlink_to(REPO, target_is_directory=True)
    return base


def boot_real(tmp_path: Path, *, with_phoenix: bool = True) -> Booted:
    workspace = tmp_path / "root" / "workspace"
    (workspace / "models" / "diffusion_models").mkdir(parents=True)
    (workspace / "models" / "diffusion_models" / "already-here.safetensors").write_bytes(b"x")
    base = comfy_base(tmp_path, with_phoenix=with_phoenix)
    return start_boot(
        tmp_path,
        {
            "PHOENIX_CPU_MODE": "true",
            # On a volume ComfyUI's own user/comfyui.db is user data the exit keeps: the
            # shared checkout's copy is never touched.
            "USE_VOLUME": "true",
            "HF_TOKEN": CANARY_HF,
            "PHOENIX_API_TOKEN": API_TOKEN,
            "COMFY_USERNAME": "pod-owner",
            "COMFY_PASSWORD": "a long pod password 42",
            "PHOENIX_ENGINE": "python",
            "COMFYUI_ARGS": f"--base-directory {base}",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PHOENIX_BOOT_READY_TIMEOUT": "240",
        },
        gpu=NO_GPU,
        comfyui_dir=Path(str(COMFYUI_DIR)),
        comfyui_python=str(COMFYUI_PYTHON),
    )


@pytest.fixture
def boots() -> Iterator[list[Booted]]:
    started: list[Booted] = []
    yield started
    for booted in started:
        if booted.process.poll() is None:
            terminate_all(descendants(booted.process.pid))
            booted.kill()


def get_json(url: str, token: str | None = None) -> object:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback only
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


def test_real_comfyui_boots_behind_the_gate_on_the_cpu_and_stops_cleanly(
    tmp_path: Path, boots: list[Booted]
) -> None:
    booted = boot_real(tmp_path)
    boots.append(booted)
    report = booted.wait_running(timeout=240)
    booted.wait_for(lambda r: r.get("gate") is not None, what="the gate probe")
    base = f"http://127.0.0.1:{booted.comfyui_port}"
    # Phoenix's gate is in place: the probe passed, anonymous clients are refused.
    gate = booted.report()["gate"]
    assert gate["ok"] is True, gate
    with pytest.raises(urllib.error.HTTPError) as refused:
        get_json(f"{base}/system_stats")
    refused.value.close()
    assert refused.value.code == 401
    stats = get_json(f"{base}/system_stats", API_TOKEN)
    assert isinstance(stats, dict)
    argv = stats["system"]["argv"]
    assert "--cpu" in argv and "--disable-auto-launch" in argv
    assert argv[argv.index("--user-directory") + 1] == report["storage"]["user"]
    # ComfyUI's database is user data: it follows the user folder, not the code.
    assert Path(report["storage"]["user"], "comfyui.db").is_file()
    # The generated extra_model_paths.yaml is in force: the volume's models are listed.
    assert get_json(f"{base}/models/diffusion_models", API_TOKEN) == ["already-here.safetensors"]
    pid = report["services"]["comfyui"]["pid"]
    assert CANARY_HF not in json.dumps(proc_environ(pid))
    took = booted.stop(signal.SIGTERM, timeout=30)
    assert took < 10, f"stopping the real ComfyUI took {took:.2f} s"
    final = booted.report()
    assert final["state"] == "stopped" and final["cleanup"]["ok"] is True
    assert not (booted.runtime / "secrets.json").exists()
    log = booted.log()
    assert CANARY_HF not in log and API_TOKEN not in log
    print(
        f"real ComfyUI: ready after {report['services']['comfyui']['ready_after_s']} s, "
        f"stopped in {took:.2f} s ({final['cleanup']['seconds']} s of cleanup)"
    )


def test_real_comfyui_without_phoenix_is_stopped_rather_than_left_public(
    tmp_path: Path, boots: list[Booted]
) -> None:
    booted = boot_real(tmp_path, with_phoenix=False)
    boots.append(booted)
    report = booted.wait_for(
        lambda r: r["state"] == "failed" and r["services"]["comfyui"].get("state") == "stopped",
        timeout=240,
        what="the public ComfyUI to be stopped",
    )
    assert report["gate"]["exposed"] is True
    assert "❌ gate: ComfyUI answers without login at /system_stats" in booted.log()
    with pytest.raises(OSError):
        get_json(f"http://127.0.0.1:{booted.comfyui_port}/system_stats")
    assert booted.stop(signal.SIGTERM, timeout=30) < 10
    assert booted.process.returncode == 1
