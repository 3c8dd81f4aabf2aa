"""``phoenix fetch --workflow FILE.json``, run as a real process against local peers."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from peers.files import FileServer
from peers.hf import HFServer
from peers.models import FLUX_VAE, LORA, safetensors_bytes
from test_cli import _env, _link, phoenix

VAE = safetensors_bytes(FLUX_VAE, pad_to=2 << 20, seed=41)
STYLE = safetensors_bytes(LORA, pad_to=1 << 20, seed=42)


def _workflow(path: Path, **workflow: Any) -> Path:
    path.write_text(json.dumps({"nodes": [], **workflow}))
    return path


def test_every_model_a_workflow_names_is_fetched_verified_and_placed(
    file_server: FileServer, hf_server: HFServer, models_dir: Path, tmp_path: Path
) -> None:
    hf_server.add_repo("acme/flux-parts", {"split_files/vae/ae.safetensors": VAE})
    file_server.add("style.safetensors", STYLE)
    vae_url = f"{hf_server.url}/acme/flux-parts/resolve/main/split_files/vae/ae.safetensors"
    workflow = _workflow(
        tmp_path / "flux.json",
        nodes=[
            {
                "id": 1,
                "type": "VAELoader",
                "widgets_values": ["ae.safetensors"],
                "properties": {
                    "models": [
                        {
                            "name": "ae.safetensors",
                            "url": vae_url,
                            "directory": "vae",
                            "hash": hashlib.sha256(VAE).hexdigest(),
                            "hash_type": "SHA256",
                        }
                    ]
                },
            },
            {
                "id": 2,
                "type": "PhoenixLoraLoader",
                "widgets_values": [_link(file_server, "style.safetensors"), 1.0, 1.0],
            },
        ],
    )
    env = _env(models_dir, HF_ENDPOINT=hf_server.url, PHOENIX_ENGINE="python")
    result = phoenix("fetch", "--workflow", str(workflow), env=env)
    assert result.returncode == 0, result.stderr
    assert "vae/ae.safetensors" in result.stdout and "loras/style.safetensors" in result.stdout
    assert (models_dir / "vae" / "ae.safetensors").read_bytes() == VAE
    assert (models_dir / "loras" / "style.safetensors").read_bytes() == STYLE

    again = phoenix("fetch", "--workflow", str(workflow), "--dry-run", "--json", env=env)
    assert again.returncode == 0, again.stderr
    states = [need["state"] for need in json.loads(again.stdout)["workflow"]["needs"]]
    assert states == ["present", "present"]


def test_a_dry_run_shows_the_workflows_plan_and_writes_nothing(
    file_server: FileServer, models_dir: Path, tmp_path: Path
) -> None:
    file_server.add("style.safetensors", STYLE)
    entry = {"name": "grain.safetensors", "url": _link(file_server, "style.safetensors")}
    workflow = _workflow(tmp_path / "w.json", models=[{**entry, "directory": "loras"}])
    result = phoenix("fetch", "--workflow", str(workflow), "--dry-run", env=_env(models_dir))
    assert result.returncode == 0, result.stderr
    assert "loras/grain.safetensors" in result.stdout and "to fetch" in result.stdout
    assert "the workflow's models entry puts it in loras" in result.stdout
    assert not (models_dir / "loras").exists()


def test_a_file_that_fails_the_workflows_hash_is_not_kept_and_exits_1(
    file_server: FileServer, models_dir: Path, tmp_path: Path
) -> None:
    file_server.add("style.safetensors", STYLE)
    entry = {"name": "style.safetensors", "url": _link(file_server, "style.safetensors")}
    wrong = {**entry, "directory": "loras", "hash": "ab" * 32, "hash_type": "sha256"}
    workflow = _workflow(tmp_path / "w.json", models=[wrong])
    result = phoenix("fetch", "--workflow", str(workflow), env=_env(models_dir))
    assert result.returncode == 1
    assert "loras/style.safetensors" in result.stderr and "SHA256" in result.stderr
    assert not list((models_dir / "loras").glob("style*"))


def test_a_file_that_is_no_workflow_is_one_sentence_and_a_usage_error(
    models_dir: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = phoenix("fetch", "--workflow", str(broken), env=_env(models_dir))
    assert result.returncode == 2
    assert "is not JSON" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    nothing = phoenix("fetch", env=_env(models_dir))
    assert nothing.returncode == 2 and "--workflow" in nothing.stderr


def test_an_unusable_entry_is_named_and_the_rest_still_arrive(
    file_server: FileServer, models_dir: Path, tmp_path: Path
) -> None:
    file_server.add("style.safetensors", STYLE)
    good = {"name": "style.safetensors", "url": _link(file_server, "style.safetensors")}
    workflow = _workflow(
        tmp_path / "w.json",
        models=[{**good, "directory": "loras"}, {"name": "x.safetensors", "directory": "LLM"}],
    )
    result = phoenix("fetch", "--workflow", str(workflow), env=_env(models_dir))
    assert result.returncode == 2  # the workflow itself must change
    assert "x.safetensors" in result.stderr and "download link" in result.stderr
    assert (models_dir / "loras" / "style.safetensors").read_bytes() == STYLE
