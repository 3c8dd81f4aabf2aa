"""The container's bootstrap booted for real under a temporary root, with stand-in children."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import stat
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CANARY_CIVITAI, CANARY_HF
from stand_ins.harness import (
    NO_GPU,
    REPO,
    STAND_INS,
    BootFactory,
    Boots,
    descendants,
    make_repo,
    proc_cmdline,
    proc_environ,
    proc_status,
    recorded_invocations,
    write_file,
)

CANARY_API = "apiCANARYtoken0123456789abcdef"
CANARY_FB = "fbCANARYpassword0123456789"
CANARY_RUNPOD = "runpodCANARYkey0123456789abcdef"
CANARIES = (CANARY_HF, CANARY_CIVITAI, CANARY_API, CANARY_FB, CANARY_RUNPOD)
STEP_ORDER = [
    "settings",
    "gpu",
    "storage",
    "secrets",
    "installs",
    "filebrowser",
    "comfyui",
    "ready",
    "gate",
]


@pytest.fixture
def boot(tmp_path: Path) -> Iterator[BootFactory]:
    """Start bootstraps; whatever is still running at the end is killed, children first."""
    boots = Boots(tmp_path)
    yield boots.start
    boots.kill_all()


def secret_env() -> dict[str, str]:
    return {
        "HF_TOKEN": CANARY_HF,
        "CIVITAI_TOKEN": CANARY_CIVITAI,
        "PHOENIX_API_TOKEN": CANARY_API,
        "FB_PASSWORD": CANARY_FB,
        "COMFY_PASSWORD": CANARY_FB,
        "RUNPOD_API_KEY": CANARY_RUNPOD,
    }


def files_under(folder: Path) -> Iterator[Path]:
    for path in folder.rglob("*"):
        if path.is_file():
            yield path


def test_boot_runs_every_step_in_order_and_reports_it(boot: BootFactory) -> None:
    booted = boot({"HF_REPOS_TO_DOWNLOAD": "Comfy-Org/flux1-dev/flux1-dev-fp8.safetensors"})
    report = booted.wait_running()
    steps = report["steps"]
    assert [s["name"] for s in steps] == STEP_ORDER
    statuses = [s["status"] for s in steps]
    assert statuses == ["ok", "ok", "ok", "ok", "skipped", "ok", "ok", "ok", "ok"]
    assert all(s["duration_s"] is not None for s in steps)
    # The log shows the same order, each line timestamped and marked.
    log = booted.log()
    positions = [log.index(f" {name}: ") for name in STEP_ORDER]
    assert positions == sorted(positions)
    assert "✅ gpu: NVIDIA GeForce RTX 5090" in log
    # The login gate (on by default in the container) refused every anonymous request.
    assert "✅ gate: The login gate refuses anonymous requests (4 checks)" in log
    assert report["gate"]["ok"] is True and report["gate"]["exposed"] is False
    assert "Login gate   ✅ log in as admin; anonymous requests are refused" in log
    # On a 5090 with fp8 weights coming: fp8 matmul, no --highvram, each with a reason.
    flags = {f["flag"]: f for f in report["launch"]["flags"]}
    assert flags["--fast"]["values"] == ["fp8_matrix_mult"]
    assert "--highvram" not in flags
    assert any("32 GiB" in note for note in report["launch"]["notes"])
    assert "--listen" in flags and "--disable-auto-launch" in flags
    assert report["storage"]["mode"] == "ephemeral"
    # ComfyUI really got those flags.
    argv = proc_cmdline(report["services"]["comfyui"]["pid"])
    assert argv[argv.index("--fast") + 1] == "fp8_matrix_mult"
    assert argv[argv.index("--port") + 1] == str(booted.comfyui_port)


def test_a_bad_variable_stops_the_boot_naming_it(boot: BootFactory) -> None:
    booted = boot({"PHOENIX_MAX_CONCURRENT_DOWNLOADS": "many", "HF_TOKEN": CANARY_HF})
    assert booted.process.wait(20) == 2
    log = booted.log()
    assert "❌ settings: PHOENIX_MAX_CONCURRENT_DOWNLOADS is invalid" in log
    assert "for example 3" in log
    report = booted.report()
    assert report["state"] == "failed"
    assert [s["status"] for s in report["steps"]][:2] == ["failed", "skipped"]
    assert not list(booted.records.glob("*.json"))  # no child was started
    assert CANARY_HF not in log


def test_tokens_never_reach_a_child_or_a_file(boot: BootFactory, tmp_path: Path) -> None:
    # A copy of the stand-ins: the custom node is cloned next to the stand-in ComfyUI, and
    # their Python records pip runs instead of installing.
    stand_ins = tmp_path / "stand_ins"
    shutil.copytree(STAND_INS, stand_ins)
    node = make_repo(tmp_path / "repos", "ComfyUI-Node", "einops\n")
    env = {**secret_env(), "COMFY_CUSTOM_NODE_GIT_URLS": node, "EXTRA_PYTHON_PACKAGES": "rich"}
    booted = boot(env, comfyui_dir=stand_ins / "comfyui", comfyui_python=str(stand_ins / "python"))
    report = booted.wait_running()
    assert report["installs"]["installed"] == ["ComfyUI-Node", "rich"]
    assert (stand_ins / "comfyui" / "custom_nodes" / "ComfyUI-Node" / ".git").is_dir()
    pids = descendants(booted.process.pid)
    assert {report["services"][n]["pid"] for n in ("comfyui", "filebrowser")} <= set(pids)
    for pid in pids:
        environ = "\0".join(f"{k}={v}" for k, v in proc_environ(pid).items())
        cmdline = " ".join(proc_cmdline(pid))
        for canary in CANARIES:
            assert canary not in environ, f"pid {pid} has a token in its environment"
            assert canary not in cmdline
        assert not any(k.startswith("FB_") for k in proc_environ(pid))
    # One-shot children (filebrowser config init, users import, ComfyUI's --help, pip) too.
    invocations = recorded_invocations(booted.records)
    assert sum("pip" in " ".join(i["argv"]) for i in invocations) == 2
    assert not any(canary in json.dumps(invocations) for canary in CANARIES)
    # The extension gets them through secrets.json, 0600, and nowhere else.
    secrets_file = booted.runtime / "secrets.json"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    handed = json.loads(secrets_file.read_text())
    assert handed["huggingface"] == CANARY_HF
    assert handed["civitai"] == CANARY_CIVITAI
    assert handed["api_token"] == CANARY_API
    assert handed["comfy_password_hash"].startswith("pbkdf2_sha256$")
    for path in [*files_under(booted.root), *files_under(stand_ins)]:
        if path != secrets_file:
            text = path.read_bytes()
            assert not any(c.encode() in text for c in CANARIES), path
    # The readiness probe passed the login gate with the bearer token.
    assert report["services"]["comfyui"]["ready"] is True
    # At exit the handoff is gone; the log never showed a token.
    booted.stop()
    assert not secrets_file.exists()
    assert not any(c in booted.log() for c in CANARIES)


def test_generated_filebrowser_password_is_printed_once_and_works(boot: BootFactory) -> None:
    booted = boot()
    booted.wait_running()
    booted.wait_for(lambda r: r["services"].get("filebrowser", {}).get("ready"), what="FileBrowser")
    lines = [line for line in booted.log().splitlines() if "FileBrowser password" in line]
    assert len(lines) == 1
    password = lines[0].rsplit(": ", 1)[1]
    assert len(password) >= 20
    assert booted.log().count(password) == 1
    for path in files_under(booted.root):
        assert password.encode() not in path.read_bytes(), path
    login = json.dumps({"username": "admin", "password": password}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{booted.filebrowser_port}/api/login", data=login, method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
        assert response.status == 200
    # FileBrowser serves the data root, with its command runner off.
    argv = proc_cmdline(booted.service("filebrowser")["pid"])
    assert "--disable-exec" in argv
    assert argv[argv.index("--root") + 1] == str(booted.root / "var" / "lib" / "phoenix")


def test_crashed_comfyui_is_restarted(boot: BootFactory, tmp_path: Path) -> None:
    crash = tmp_path / "crash-comfyui"
    booted = boot({"STANDIN_CRASH_DIR": str(tmp_path)})
    booted.wait_running()
    first = booted.service("comfyui")["pid"]
    crash.touch()
    report = booted.wait_for(
        lambda r: (
            r["services"]["comfyui"].get("restarts") == 1
            and r["services"]["comfyui"].get("ready") is True
        ),
        timeout=15,
        what="ComfyUI to come back",
    )
    assert report["services"]["comfyui"]["pid"] != first
    assert "❌ comfyui: exited with status 3; restarting in 1 s" in booted.log()


def test_sigterm_stops_everything_and_cleans_the_pod_within_ten_seconds(
    boot: BootFactory, tmp_path: Path
) -> None:
    root = tmp_path / "boot0" / "root"
    before = write_file(root / "tmp" / "from-the-image.txt")  # older than the boot marker
    booted = boot(secret_env())
    report = booted.wait_running()
    children = descendants(booted.process.pid)
    # What a session leaves behind: outputs, inputs, a workflow, /tmp files, a history, caches.
    storage = report["storage"]
    left = [
        write_file(Path(storage["output"]) / "ComfyUI_00001_.png"),
        write_file(Path(storage["input"]) / "upload.png"),
        write_file(Path(storage["user"]) / "default" / "workflows" / "mine.json"),
        write_file(Path(storage["temp"]) / "preview.png"),
        write_file(root / "tmp" / "gradio" / "upload.bin"),
        write_file(root / "root" / ".bash_history", "export HF_TOKEN=..."),
        write_file(root / "root" / ".cache" / "pip" / "http" / "wheel"),
        write_file(root / "root" / ".cache" / "huggingface" / "token", CANARY_HF),
    ]
    secrets_file = booted.runtime / "secrets.json"
    size = secrets_file.stat().st_size
    with open(secrets_file, "rb") as handle:  # the inode stays readable after the unlink
        took = booted.stop(signal.SIGTERM)
        handle.seek(0)
        assert handle.read() == bytes(size), "secrets.json was not overwritten before removal"
    assert took < 10, f"stopping took {took:.2f} s"
    assert booted.process.returncode == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in children)
    assert not secrets_file.exists()
    assert [path for path in left if path.exists()] == []
    assert before.exists(), "/tmp files from before the boot are not this run's"
    report = booted.report()
    assert report["state"] == "stopped"
    assert report["stop"]["seconds"] < 10
    assert {s["state"] for s in report["services"].values()} == {"stopped"}
    cleanup = report["cleanup"]
    assert cleanup["ok"] is True and cleanup["storage"]["mode"] == "ephemeral"
    removed = {r["path"]: r for r in cleanup["removed"]}
    assert removed[str(booted.runtime)]["action"] == "overwrite+empty"  # secrets.json's folder
    assert removed[str(booted.runtime / "filebrowser")]["category"] == "filebrowser"
    log = booted.log()
    assert f"✅ stop: cleanup: {len(cleanup['removed'])} removed" in log
    assert "Stopped server" in log  # ComfyUI got SIGINT: its own clean exit
    assert not any(c in log for c in CANARIES)


def test_a_child_that_ignores_the_signal_is_killed_in_time(boot: BootFactory) -> None:
    booted = boot({"STANDIN_IGNORE_SIGNALS": "1", "PHOENIX_BOOT_STOP_GRACE": "1"})
    booted.wait_running()
    took = booted.stop(signal.SIGTERM)
    assert 1 <= took < 10
    assert "did not stop within 1 s; killing it" in booted.log()


def test_a_second_signal_forces_the_stop(boot: BootFactory) -> None:
    booted = boot({"STANDIN_IGNORE_SIGNALS": "1", "PHOENIX_BOOT_STOP_GRACE": "8"})
    booted.wait_running()
    began = time.monotonic()
    booted.process.send_signal(signal.SIGTERM)
    booted.wait_for(lambda r: r["state"] == "stopping", what="stopping")
    booted.process.send_signal(signal.SIGINT)
    booted.process.wait(10)
    assert time.monotonic() - began < 4
    assert "SIGINT again: killing every child now" in booted.log()


def test_no_gpu_starts_comfyui_on_the_cpu_with_a_clear_message(boot: BootFactory) -> None:
    booted = boot(gpu=NO_GPU)
    report = booted.wait_running()
    assert [f["flag"] for f in report["launch"]["flags"]][-1] == "--cpu"
    gpu_step = next(s for s in report["steps"] if s["name"] == "gpu")
    assert gpu_step["status"] == "failed"
    assert "No NVIDIA GPU is visible" in booted.log()
    assert "PHOENIX_CPU_MODE=true" in booted.log()


def test_unknown_flags_are_dropped_before_launch(boot: BootFactory) -> None:
    gpu = json.loads(json.dumps(NO_GPU))
    booted = boot(
        {
            "PHOENIX_CPU_MODE": "true",
            "STANDIN_COMFY_MISSING": "--cpu",
            "COMFYUI_ARGS": "--reserve-vram 2",
        },
        gpu=gpu,
    )
    report = booted.wait_running()
    assert [f["flag"] for f in report["launch"]["dropped"]] == ["--cpu"]
    assert "--cpu: not in this ComfyUI's --help; dropped" in booted.log()
    argv = proc_cmdline(report["services"]["comfyui"]["pid"])
    assert argv[-2:] == ["--reserve-vram", "2"]  # COMFYUI_ARGS last
    gpu_step = next(s for s in report["steps"] if s["name"] == "gpu")
    assert gpu_step["status"] == "info"  # CPU mode was asked for: not a failure


def test_the_log_names_the_chosen_flags_and_not_the_base_ones(boot: BootFactory) -> None:
    booted = boot({"HF_REPOS_TO_DOWNLOAD": "Comfy-Org/flux1-dev/flux1-dev-fp8.safetensors"})
    report = booted.wait_running()
    log = booted.log()
    # Paths, ports and the database are the container's own: the log shows what this GPU got.
    assert f"comfyui: starting on port {booted.comfyui_port} with --fast fp8_matrix_mult\n" in log
    assert "Flags        --fast fp8_matrix_mult\n" in log
    assert "comfyui: --database-url" not in log  # a base flag's reason is a debug line
    assert "--database-url" in proc_cmdline(report["services"]["comfyui"]["pid"])
    base = {f["flag"] for f in report["launch"]["flags"] if f["base"]}
    assert {"--port", "--listen", "--database-url", "--user-directory"} <= base
    assert "--fast" not in base


def test_volume_layout_and_runtime_env(boot: BootFactory, tmp_path: Path) -> None:
    workspace = tmp_path / "boot0" / "root" / "workspace"
    workspace.mkdir(parents=True)
    booted = boot({"USE_VOLUME": "true"})
    report = booted.wait_running()
    storage = report["storage"]
    assert storage["mode"] == "volume"
    assert storage["models"] == str(workspace / "models")
    assert any("not a separate mount" in note for note in storage["notes"])
    assert (workspace / "models" / "diffusion_models").is_dir()
    runtime_env = (booted.root / "etc" / "phoenix" / "runtime.env").read_text()
    assert f"PHOENIX_MODELS_DIR={workspace / 'models'}" in runtime_env
    assert "PHOENIX_STORAGE_MODE=volume" in runtime_env
    assert "PHOENIX_MODELS_CLEANABLE=1" in runtime_env, "the volume's models are Phoenix's own"
    argv = proc_cmdline(report["services"]["comfyui"]["pid"])
    assert argv[argv.index("--output-directory") + 1] == str(workspace / "output")
    assert argv[argv.index("--temp-directory") + 1] == str(booted.root / "var" / "lib" / "phoenix")
    # At exit the volume keeps what the user asked it to keep; temp files still go.
    kept = [
        write_file(workspace / "output" / "ComfyUI_00001_.png"),
        write_file(workspace / "user" / "default" / "workflows" / "mine.json"),
        write_file(workspace / "models" / "loras" / "style.safetensors"),
    ]
    temp = write_file(Path(storage["temp"]) / "preview.png")
    assert booted.stop() < 10
    assert all(path.exists() for path in kept)
    assert not temp.exists()
    assert booted.report()["cleanup"]["storage"]["mode"] == "volume"


def test_entrypoint_execs_into_the_bootstrap(boot: BootFactory) -> None:
    booted = boot(
        {"PHOENIX_BOOTSTRAP_HOME": str(REPO), "PHOENIX_BOOTSTRAP_PYTHON": sys.executable},
        argv=["bash", str(REPO / "bootstrap" / "entrypoint.sh")],
    )
    booted.wait_running()
    # Same PID, now Python: exec replaced the shell, so signals reach the bootstrap.
    assert proc_cmdline(booted.process.pid)[1:3] == ["-m", "bootstrap"]
    assert booted.stop() < 10
    assert booted.process.returncode == 0


def test_entrypoint_explains_a_missing_bootstrap(boot: BootFactory, tmp_path: Path) -> None:
    booted = boot(
        {"PHOENIX_BOOTSTRAP_HOME": str(tmp_path / "nowhere")},
        argv=["bash", str(REPO / "bootstrap" / "entrypoint.sh")],
    )
    assert booted.process.wait(10) == 1
    assert "Fix: rebuild the image" in booted.log()


def _unprivileged_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("nobody").pw_name
    except KeyError:
        return None


SYSTEM_PYTHON = Path("/usr/bin/python3")


@pytest.mark.skipif(
    _unprivileged_user() is None or not SYSTEM_PYTHON.exists(),
    reason="needs root, a 'nobody' user and /usr/bin/python3",
)
def test_children_run_unprivileged_with_umask_077(boot: BootFactory) -> None:
    # pytest's tmp_path and this interpreter may sit under root's private home: the
    # stand-ins run from /usr/bin/python3 in a folder the service user can enter.
    with tempfile.TemporaryDirectory(prefix="phoenix-boot-") as folder:
        os.chmod(folder, 0o755)  # noqa: S103 - the service user must reach its files
        # The checkout may sit in a folder only root can enter (a mktemp clone, say):
        # the service user runs copies of the stand-ins.
        stand_ins = Path(folder) / "stand_ins"
        shutil.copytree(STAND_INS, stand_ins, ignore=shutil.ignore_patterns("__pycache__"))
        for path in [stand_ins, *stand_ins.rglob("*")]:
            path.chmod(0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)
        env = {
            "PHOENIX_BOOT_COMFYUI_DIR": str(stand_ins / "comfyui"),
            "PHOENIX_BOOT_FILEBROWSER_BIN": str(stand_ins / "filebrowser"),
            "PHOENIX_BOOT_USER": "nobody",
            "STANDIN_RECORD_DIR": "",  # not writable by the service user
            "PATH": f"/usr/bin:/bin:{os.environ.get('PATH', '')}",
        }
        booted = boot(env, base=Path(folder), comfyui_python=str(SYSTEM_PYTHON))
        report = booted.wait_running()
        nobody = pwd.getpwnam("nobody")
        for name in ("comfyui", "filebrowser"):
            status = proc_status(report["services"][name]["pid"])
            assert status["Uid"].split()[0] == str(nobody.pw_uid)
            assert status["Umask"] == "0077"
        secrets_file = booted.runtime / "secrets.json"
        assert secrets_file.stat().st_uid == nobody.pw_uid
        assert stat.S_IMODE(booted.runtime.stat().st_mode) == 0o700
        assert booted.stop() < 10
