"""The bootstrap's security wiring, booted for real: the login gate's fail-closed probe and
PARANOID_MODE's storage on ``/dev/shm`` (a test folder stands in for it)."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from stand_ins.harness import (
    Booted,
    BootFactory,
    Boots,
    proc_cmdline,
    recorded_invocations,
    write_file,
)

DIRECTORY_FLAGS = (
    "--input-directory",
    "--output-directory",
    "--user-directory",
    "--temp-directory",
)


@pytest.fixture
def boot(tmp_path: Path) -> Iterator[BootFactory]:
    boots = Boots(tmp_path)
    yield boots.start
    boots.kill_all()


def _served_comfyui_runs(booted: Booted) -> int:
    """How many times ComfyUI was started to serve (not to print its --help)."""
    return sum(
        1
        for run in recorded_invocations(booted.records)
        if run["argv"][0].endswith("main.py") and "--help" not in run["argv"]
    )


def test_a_comfyui_that_answers_without_login_is_stopped_and_stays_stopped(
    boot: BootFactory,
) -> None:
    # Phoenix failed to load: no gate, ComfyUI answers anyone.
    token = "hf_gateCANARY0123456789abcdef"
    booted = boot({"STANDIN_GATE": "open", "HF_TOKEN": token})
    report = booted.wait_for(
        lambda r: (
            r["state"] == "failed"
            and r["services"]["comfyui"].get("state") == "stopped"
            and r["services"].get("filebrowser", {}).get("ready") is True
            and "Phoenix boot report" in booted.log()
        ),
        what="ComfyUI to be stopped and the boot to end",
    )
    gate = report["gate"]
    assert gate["ok"] is False and gate["exposed"] is True
    assert {c["path"]: c["status"] for c in gate["checks"]}["/system_stats"] == 200
    step = next(s for s in report["steps"] if s["name"] == "gate")
    assert step["status"] == "failed" and "stays stopped" in step["message"]
    log = booted.log()
    assert "❌ gate: ComfyUI answers without login at /system_stats" in log
    assert "find 'comfyui-phoenix' in ComfyUI's log" in log
    assert "ComfyUI      ❌ stopped: it answered without login" in log
    with pytest.raises(OSError):  # nothing listens on ComfyUI's port any more
        urllib.request.urlopen(f"http://127.0.0.1:{booted.comfyui_port}/", timeout=2)
    # FileBrowser stays up (the way to the pod's files); the bootstrap waits for its stop.
    with urllib.request.urlopen(
        f"http://127.0.0.1:{booted.filebrowser_port}/health", timeout=5
    ) as response:
        assert response.status == 200
    assert booted.process.poll() is None
    took = booted.stop()
    assert took < 10 and booted.process.returncode == 1
    assert _served_comfyui_runs(booted) == 1, "ComfyUI was started again"
    final = booted.report()
    assert final["state"] == "failed" and final["cleanup"]["ok"] is True
    assert not (booted.runtime / "secrets.json").exists()
    assert token not in booted.log()


def test_a_comfyui_that_answers_late_is_still_checked(boot: BootFactory) -> None:
    booted = boot(
        {"STANDIN_GATE": "open", "STANDIN_START_DELAY": "1", "PHOENIX_BOOT_READY_TIMEOUT": "0.3"}
    )
    booted.wait_for(lambda r: r["state"] == "running", what="the boot to end")
    steps = {s["name"]: s for s in booted.report()["steps"]}
    assert steps["ready"]["status"] == "failed"
    assert steps["gate"]["status"] == "info"  # not answering yet: checked when it does
    report = booted.wait_for(
        lambda r: r["state"] == "failed" and r["services"]["comfyui"].get("state") == "stopped",
        what="the late ComfyUI to be stopped",
    )
    assert report["gate"]["exposed"] is True
    assert "❌ gate: ComfyUI answers without login" in booted.log()
    assert booted.stop() < 10 and booted.process.returncode == 1


def test_with_the_gate_off_nothing_is_probed_and_the_report_says_so(boot: BootFactory) -> None:
    booted = boot({"COMFY_AUTH": "false"})
    report = booted.wait_running()
    step = next(s for s in report["steps"] if s["name"] == "gate")
    assert step["status"] == "warn" and "COMFY_AUTH=false" in step["message"]
    assert "gate" not in report
    assert "Login gate   ⚠️ off (COMFY_AUTH=false)" in booted.log()


@pytest.mark.parametrize("shm_large_enough", [True, False])
def test_paranoid_mode_keeps_user_data_in_shm_or_says_it_cannot(
    boot: BootFactory, tmp_path: Path, shm_large_enough: bool
) -> None:
    workspace = tmp_path / "boot0" / "root" / "workspace"
    workspace.mkdir(parents=True)
    env = {
        "PARANOID_MODE": "true",
        "USE_VOLUME": "true",
        "PHOENIX_BOOT_SHM_ANY_FS": "1",  # a test folder stands in for /dev/shm
        "PHOENIX_BOOT_SHM_MIN_BYTES": "1" if shm_large_enough else str(10**18),
    }
    booted = boot(env)
    report = booted.wait_running()
    argv = proc_cmdline(report["services"]["comfyui"]["pid"])
    assert "--disable-metadata" in argv  # no prompt or workflow inside images
    shm = booted.root / "dev" / "shm" / "phoenix-data"
    flags = {flag: Path(argv[argv.index(flag) + 1]) for flag in DIRECTORY_FLAGS}
    storage = report["storage"]
    log = booted.log()
    if shm_large_enough:
        assert flags == {
            "--input-directory": shm / "input",
            "--output-directory": shm / "output",
            "--user-directory": shm / "user",
            "--temp-directory": shm,
        }
        assert storage["user_data_on_tmpfs"] is True and storage["notes"] == [
            f"{workspace} is not a separate mount: files there live on the container disk "
            "and vanish when the pod stops. Attach a volume disk or network volume."
        ]
        assert "never reach a disk" in storage["paranoid"]
        assert "Paranoid     ✅ inputs, outputs, temp and workflows on tmpfs" in log
    else:
        assert all(shm not in path.parents for path in flags.values())
        assert flags["--output-directory"] == workspace / "output"
        note = storage["notes"][-1]
        assert note.startswith("PARANOID_MODE=true, but") and "SSDs" in note
        assert f"⚠️ storage: {note}" in log
        step = next(s for s in report["steps"] if s["name"] == "storage")
        assert step["status"] == "warn"
        assert "PARANOID_MODE cannot keep inputs, outputs and workflows off" in step["message"]
        assert "Paranoid     ⚠️ not guaranteed" in log
    # Either way PARANOID_MODE removes user data at exit, even on a volume; models stay.
    output = write_file(flags["--output-directory"] / "ComfyUI_00001_.png")
    model = write_file(workspace / "models" / "loras" / "style.safetensors")
    assert booted.stop() < 10
    assert not output.exists() and model.exists()
