"""The ``phoenix`` command where users actually run it: odd folders, interrupted runs, pipes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from peers.files import FileServer
from peers.models import FLUX_VAE, LORA, safetensors_bytes
from test_cli import _env, _link, phoenix

from comfyui_phoenix.jobs.job import Job, JobState
from comfyui_phoenix.plan import PlannedFile
from comfyui_phoenix.surfaces.cli.progress import progress_line

DATA = safetensors_bytes(FLUX_VAE, pad_to=1 << 20, seed=41)


def _one_sentence(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "unexpectedly" not in stderr
    return lines[0]


# -- the models folder ----------------------------------------------------------------------------
def test_a_models_folder_that_is_a_file_is_one_sentence_and_a_usage_error(
    file_server: FileServer, tmp_path: Path
) -> None:
    file_server.add("ae.safetensors", DATA)
    a_file = tmp_path / "models.txt"
    a_file.write_text("not a folder")
    for args in (["fetch"], ["fetch", "--dry-run"]):
        result = phoenix(
            *args, _link(file_server, "ae.safetensors"), "--models-dir", str(a_file),
            env=_env(tmp_path / "unused"),
        )  # fmt: skip
        assert result.returncode == 2
        assert "is a file, not a folder" in _one_sentence(result.stderr)
    assert a_file.read_text() == "not a folder"


def test_a_models_folder_whose_parent_is_missing_is_not_grown_silently(
    file_server: FileServer, tmp_path: Path
) -> None:
    file_server.add("ae.safetensors", DATA)
    typo = tmp_path / "mnt" / "voluem" / "models"
    result = phoenix(
        "fetch", _link(file_server, "ae.safetensors"), "--models-dir", str(typo),
        env=_env(tmp_path / "unused"),
    )  # fmt: skip
    assert result.returncode == 2
    assert f"{typo.parent} does not exist" in _one_sentence(result.stderr)
    assert not (tmp_path / "mnt").exists()


def test_proc_as_the_models_folder_is_refused_before_any_request(
    file_server: FileServer, tmp_path: Path
) -> None:
    file_server.add("ae.safetensors", DATA)
    result = phoenix(
        "fetch", _link(file_server, "ae.safetensors"), "--models-dir", "/proc",
        env=_env(tmp_path / "unused"),
    )  # fmt: skip
    assert result.returncode == 2
    assert "cannot write into /proc" in _one_sentence(result.stderr)
    assert file_server.requests == []


def _read_only_run(
    folder: Path, *args: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """``phoenix ARGS`` with ``folder`` read-only: a read-only mount as root, else mode 0555."""
    command = [sys.executable, "-m", "comfyui_phoenix.surfaces.cli", *args]
    if os.geteuid() != 0:
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
        try:
            return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        finally:
            folder.chmod(stat.S_IRWXU)
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux) to mount a read-only folder as root")
    script = 'mount -t tmpfs -o ro,size=1m phoenix-ro "$0" && exec "$@"'
    wrapped = ["unshare", "--mount", "sh", "-c", script, str(folder), *command]
    result = subprocess.run(wrapped, env=env, capture_output=True, text=True, timeout=60)
    if "mount:" in result.stderr and "phoenix" not in result.stderr:
        pytest.skip(
            f"this machine does not allow a private read-only mount: {result.stderr.strip()}"
        )
    return result


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_read_only_models_folder_is_said_up_front_even_for_a_dry_run(
    file_server: FileServer, tmp_path: Path, dry_run: bool
) -> None:
    file_server.add("ae.safetensors", DATA)
    folder = tmp_path / "models"
    folder.mkdir()
    args = ["fetch", _link(file_server, "ae.safetensors"), "--models-dir", str(folder)]
    result = _read_only_run(folder, *args, *(["--dry-run"] if dry_run else []), env=_env(folder))
    assert result.returncode == 2, result.stdout + result.stderr
    sentence = _one_sentence(result.stderr)
    assert f"cannot write into {folder}" in sentence and "--models-dir" in sentence
    assert "to fetch" not in result.stdout


def test_models_that_do_not_fit_are_refused_before_the_first_byte(
    file_server: FileServer, models_dir: Path
) -> None:
    sparse = models_dir.parent / "huge.bin"
    with open(sparse, "wb") as handle:  # as large as the disk and more, but sparse
        handle.truncate(shutil.disk_usage(models_dir).total + (10 << 30))
    file_server.add_path("huge.safetensors", sparse)
    result = phoenix("fetch", _link(file_server, "huge.safetensors"), env=_env(models_dir))
    assert result.returncode == 1
    assert "free" in _one_sentence(result.stderr)
    assert file_server.bytes_sent < 1 << 20  # the probe and the header, never the file
    assert not list(models_dir.rglob("huge*"))


# -- state that tells the truth ---------------------------------------------------------------------
def test_after_ctrl_c_and_a_rerun_status_lists_nothing_unfinished(
    file_server: FileServer, models_dir: Path
) -> None:
    big = safetensors_bytes(LORA, pad_to=12 << 20, seed=42)
    file_server.add("big.safetensors", big)
    file_server.per_connection_rate = 1 << 20
    env = _env(models_dir, PHOENIX_ENGINE="python")
    process = subprocess.Popen(
        [sys.executable, "-m", "comfyui_phoenix.surfaces.cli", "fetch", _link(file_server, "big.safetensors")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while file_server.bytes_sent < 2 << 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130 and "resume" in stderr
    status = json.loads(phoenix("status", "--json", env=env).stdout)
    assert [d["relpath"] for d in status["unfinished_downloads"]] == ["loras/big.safetensors"]
    file_server.per_connection_rate = None
    assert phoenix("fetch", _link(file_server, "big.safetensors"), env=env).returncode == 0
    status = json.loads(phoenix("status", "--json", env=env).stdout)
    assert status["unfinished_downloads"] == []


def test_plan_json_is_json_when_nothing_is_configured(models_dir: Path) -> None:
    result = phoenix("plan", "--json", env=_env(models_dir))
    assert result.returncode == 0
    assert json.loads(result.stdout) == []


def test_a_failed_download_is_said_once_in_a_pipe_and_shows_no_full_bar(
    file_server: FileServer, models_dir: Path
) -> None:
    file_server.add("flipped.safetensors", DATA)
    # The header's first JSON byte flipped in every answer: the file is complete, and broken.
    file_server.faults("flipped.safetensors", corrupt_at=8, repeat=True)
    result = phoenix("fetch", _link(file_server, "flipped.safetensors"), env=_env(models_dir))
    assert result.returncode == 1
    sentences = [line for line in result.stderr.splitlines() if line.startswith("phoenix: ")]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING")]
    assert len(sentences) == 1 and not warnings, result.stderr
    last_bar = [line for line in result.stderr.splitlines() if "flipped" in line][-2]
    assert "100.0%" not in last_bar and "failed" in last_bar


def test_a_failed_job_draws_an_empty_bar() -> None:
    file = PlannedFile("x", "url", "https://h/x", "x.safetensors", "vae", size=100)
    job = Job("1", file, Path("/m/vae/x.safetensors"), "cli", state=JobState.FAILED)
    job.done_bytes = 100
    line = progress_line(job)
    assert "#" not in line and "100" not in line and line.endswith("failed")


# -- no engine for work that moves no bytes -------------------------------------------------------
def test_dry_runs_plans_and_typos_start_no_aria2c(
    file_server: FileServer, models_dir: Path, tmp_path: Path
) -> None:
    file_server.add("ae.safetensors", DATA)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    marker = tmp_path / "aria2c-ran"
    fake = bin_dir / "aria2c"
    fake.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    fake.chmod(0o755)
    env = _env(models_dir, PHOENIX_ENGINE="aria2", PATH=f"{bin_dir}:{os.environ['PATH']}")
    env["PHOENIX_MODELS_TO_DOWNLOAD"] = _link(file_server, "ae.safetensors")
    assert (
        phoenix("fetch", "--dry-run", _link(file_server, "ae.safetensors"), env=env).returncode == 0
    )
    assert phoenix("plan", env=env).returncode == 0
    assert phoenix("fetsh", "x", env=env).returncode == 2
    assert phoenix("--help", env=env).returncode == 0
    assert not marker.exists()
    phoenix("fetch", _link(file_server, "ae.safetensors"), env=env)
    assert marker.exists(), "the control: a real fetch does start the engine"
