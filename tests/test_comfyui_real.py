"""Phoenix inside the real ComfyUI (CPU): loading, routes, nodes and a queued prompt.

Runs when COMFYUI_DIR (a ComfyUI checkout) and COMFYUI_PYTHON (an interpreter with its
requirements) are set; ComfyUI is not installable from PyPI, so it skips otherwise.
ComfyUI runs with ``--base-directory`` in a temporary folder whose ``custom_nodes``
links to this repository, so the shared checkout is never modified.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from peers.comfyui import COMFYUI_DIR, COMFYUI_PYTHON, NODE_NAME, ComfyUI, needs_comfyui, plain_log
from peers.files import FileServer
from peers.hf import HFServer, start_hf_server
from peers.models import FLUX_TRANSFORMER, FLUX_VAE, safetensors_bytes
from peers.runner import ServerThread
from peers.workflows import api_prompt

from comfyui_phoenix.surfaces.nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

ROOT = Path(__file__).resolve().parents[1]
NODE_IDS = {
    "PhoenixFetchModel",
    "PhoenixCheckpointLoader",
    "PhoenixDiffusionModelLoader",
    "PhoenixLoraLoader",
    "PhoenixVAELoader",
    "PhoenixFluxTextEncoderLoader",
    "PhoenixFlux2TextEncoderLoader",
    "PhoenixCLIPVisionLoader",
    "PhoenixStyleModelLoader",
}

pytestmark = needs_comfyui


@dataclass
class Comfy:
    url: str
    base: Path
    log: Path
    files: FileServer
    hub: HFServer

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:  # noqa: S310 - loopback
            return json.loads(response.read())

    def post(self, path: str, body: Any) -> Any:
        request = urllib.request.Request(  # noqa: S310 - loopback
            self.url + path, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            body = response.read()
        return json.loads(body) if body else None


@pytest.fixture(scope="module")
def comfy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Comfy]:
    base = tmp_path_factory.mktemp("comfy-base")
    files = FileServer(base.parent / "served")
    thread = ServerThread(files.app).start()
    files.base_url = thread.url  # type: ignore[attr-defined]
    hub, hub_thread, cdn_thread = start_hf_server(base.parent / "hub")
    hub.add_repo(
        "black-forest-labs/FLUX.1-dev",
        {
            "flux1-dev.safetensors": safetensors_bytes(FLUX_TRANSFORMER),
            "ae.safetensors": safetensors_bytes(FLUX_VAE),
        },
        gated="manual",
    )
    env = {
        "PHOENIX_ALLOWED_HOSTS": "127.0.0.1",
        "PHOENIX_ALLOW_PRIVATE_NETWORKS": "true",
        "PHOENIX_ENGINE": "python",
        "HF_ENDPOINT": hub.url,
        "PYTHONUNBUFFERED": "1",
    }
    comfyui = ComfyUI(Path(COMFYUI_DIR), Path(COMFYUI_PYTHON), base)
    try:
        comfyui.start(env=env)
        yield Comfy(comfyui.url, base, comfyui.log_path, files, hub)
    finally:
        comfyui.stop()
        for server in (thread, hub_thread, cdn_thread):
            server.stop()


def test_phoenix_imports_cleanly_and_fast(comfy: Comfy) -> None:
    text = plain_log(comfy.log)
    row = re.search(
        rf"^\s*([0-9.]+) seconds( \(IMPORT FAILED\))?: .*/custom_nodes/{NODE_NAME}$", text, re.M
    )
    assert row, f"no import-time row for Phoenix in:\n{text[-3000:]}"
    assert row.group(2) is None, text[-3000:]
    assert float(row.group(1)) <= 0.1, f"Phoenix took {row.group(1)} s to import"


def test_routes_answer_under_api(comfy: Comfy) -> None:
    status = comfy.get("/api/phoenix/status")
    assert status["engine"] == "python" and "gpu" in status
    assert comfy.get("/phoenix/health")["ok"] is True
    caps = comfy.get("/api/phoenix/capabilities")
    assert caps["models_root"] == str(comfy.base / "models")


def test_nodes_are_registered(comfy: Comfy) -> None:
    info = comfy.get("/object_info")
    assert set(info) >= NODE_IDS
    assert info["PhoenixLoraLoader"]["category"] == "Phoenix"


def _served_input(served: list[Any]) -> tuple[Any, dict[str, Any]]:
    """A served input's type and options; V3 serves a dropdown as ``COMBO`` with its options."""
    kind, options = served[0], (served[1] if len(served) > 1 else {})
    return (options["options"], options) if kind == "COMBO" else (kind, options)


def test_nodes_load_through_the_v3_schema_with_the_widgets_they_declare(comfy: Comfy) -> None:
    """Both ComfyUIs have the V3 API; a node there looks as its declaration (the V1 fallback) says."""
    assert "nodes, in ComfyUI's V3 node schema" in plain_log(comfy.log)
    info = comfy.get("/object_info")
    for node_id, node in NODE_CLASS_MAPPINGS.items():
        served, declared = info[node_id], node.INPUT_TYPES()
        assert served["display_name"] == NODE_DISPLAY_NAME_MAPPINGS[node_id]
        assert (served["category"], served["description"]) == (node.CATEGORY, node.DESCRIPTION)
        assert served["output"] == list(node.RETURN_TYPES)
        assert served["output_name"] == list(getattr(node, "RETURN_NAMES", node.RETURN_TYPES))
        assert served["output_node"] is getattr(node, "OUTPUT_NODE", False)
        # V3 adds PROMPT to an output node's hidden inputs of its own accord.
        hidden = {k: [v] for k, v in declared["hidden"].items()}
        assert served["input"]["hidden"].items() >= hidden.items()
        for section in ("required", "optional"):
            widgets = served["input"].get(section, {})
            assert list(widgets) == list(declared.get(section, {})), node_id
            for name, spec in declared.get(section, {}).items():
                kind, options = _served_input(widgets[name])
                assert kind == spec[0], f"{node_id}.{name}"
                for key, value in (spec[1] if len(spec) > 1 else {}).items():
                    assert options[key] == value, f"{node_id}.{name}.{key}"


def test_web_directory_is_served(comfy: Comfy) -> None:
    extensions = comfy.get("/extensions")
    assert f"/extensions/{NODE_NAME}/phoenix.js" in extensions


def test_a_queued_prompt_fetches_and_places_a_model(comfy: Comfy) -> None:
    data = safetensors_bytes(FLUX_VAE, pad_to=1 << 20, seed=21)
    comfy.files.add("ae.safetensors", data)
    link = f"{comfy.files.base_url}/files/ae.safetensors"  # type: ignore[attr-defined]
    prompt = {
        "1": {"class_type": "PhoenixFetchModel", "inputs": {"reference": link, "folder": "auto"}}
    }
    queued = comfy.post("/prompt", {"prompt": prompt})
    assert not queued.get("node_errors"), queued
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        history = comfy.get(f"/history/{queued['prompt_id']}")
        if history:
            break
        time.sleep(0.3)
    entry = history[queued["prompt_id"]]
    assert entry["status"]["status_str"] == "success", entry["status"]
    text = entry["outputs"]["1"]["text"][0]
    placed = comfy.base / "models" / "vae" / "ae.safetensors"
    assert text.startswith("ae.safetensors") and str(placed) in text
    assert placed.read_bytes() == data
    assert "ae.safetensors" in comfy.get("/models/vae"), "listed without a restart"


def test_a_bad_reference_is_a_validation_error_not_a_crash(comfy: Comfy) -> None:
    prompt = {
        "1": {"class_type": "PhoenixFetchModel", "inputs": {"reference": "12345", "folder": "auto"}}
    }
    request = urllib.request.Request(  # noqa: S310
        comfy.url + "/prompt",
        json.dumps({"prompt": prompt}).encode(),
        {"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310
    body = json.loads(info.value.read())
    assert "civitai:12345" in json.dumps(body["node_errors"])


def test_the_flux_example_workflow_is_listed_and_valid(comfy: Comfy) -> None:
    templates = comfy.get("/api/workflow_templates")
    assert "flux1-dev-phoenix" in templates[NODE_NAME]
    workflow = json.loads((ROOT / "example_workflows" / "flux1-dev-phoenix.json").read_text())
    prompt = api_prompt(workflow, comfy.get("/object_info"))
    queued = comfy.post("/prompt", {"prompt": prompt})
    assert not queued.get("node_errors"), queued
    # No token, gated FLUX: the loader fails with the sentence that names the licence page.
    entry = _wait_history(comfy, queued["prompt_id"])
    assert entry["status"]["status_str"] == "error"
    messages = json.dumps(entry["status"]["messages"])
    assert f"{comfy.hub.url}/black-forest-labs/FLUX.1-dev" in messages
    assert "HF_TOKEN" in messages


def _wait_history(comfy: Comfy, prompt_id: str) -> Any:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        history = comfy.get(f"/history/{prompt_id}")
        if history:
            return history[prompt_id]
        time.sleep(0.3)
    pytest.fail("the prompt did not finish")


def test_the_same_reference_in_two_nodes_downloads_once(comfy: Comfy) -> None:
    data = safetensors_bytes(FLUX_VAE, pad_to=2 << 20, seed=22)
    comfy.files.add("twice_vae.safetensors", data)
    link = f"{comfy.files.base_url}/files/twice_vae.safetensors"  # type: ignore[attr-defined]
    before = comfy.files.bytes_sent
    prompt = {
        str(i): {"class_type": "PhoenixFetchModel", "inputs": {"reference": link, "folder": folder}}
        for i, folder in ((1, "auto"), (2, "vae"))
    }
    queued = comfy.post("/prompt", {"prompt": prompt})
    entry = _wait_history(comfy, queued["prompt_id"])
    assert entry["status"]["status_str"] == "success", entry["status"]
    assert comfy.files.bytes_sent - before < len(data) * 1.2


def test_interrupting_stops_the_wait_and_the_download_carries_on(comfy: Comfy) -> None:
    data = safetensors_bytes(FLUX_VAE, pad_to=6 << 20, seed=23)
    comfy.files.add("slow_vae.safetensors", data)
    comfy.files.per_connection_rate = 1 << 20
    try:
        link = f"{comfy.files.base_url}/files/slow_vae.safetensors"  # type: ignore[attr-defined]
        prompt = {
            "1": {"class_type": "PhoenixFetchModel", "inputs": {"reference": link, "folder": "vae"}}
        }
        queued = comfy.post("/prompt", {"prompt": prompt})
        deadline = time.monotonic() + 20
        while comfy.files.bytes_sent == 0 or not _downloading(comfy):
            assert time.monotonic() < deadline, "the download never started"
            time.sleep(0.1)
        started = time.monotonic()
        comfy.post("/interrupt", {})
        entry = _wait_history(comfy, queued["prompt_id"])
        assert time.monotonic() - started < 5, "the node stopped waiting promptly"
        assert entry["status"]["status_str"] == "error"
        assert "interrupted" in json.dumps(entry["status"]["messages"]).lower()
        comfy.files.per_connection_rate = None
        deadline = time.monotonic() + 30
        placed = comfy.base / "models" / "vae" / "slow_vae.safetensors"
        while not placed.exists():
            assert time.monotonic() < deadline, "the download did not carry on"
            time.sleep(0.2)
        assert placed.read_bytes() == data
    finally:
        comfy.files.per_connection_rate = None


def _downloading(comfy: Comfy) -> bool:
    jobs = comfy.get("/api/phoenix/downloads")["jobs"]
    return any(
        j["filename"] == "slow_vae.safetensors" and j["state"] == "downloading" for j in jobs
    )


def test_comfyuis_websocket_gets_one_notice_per_job_and_no_flood(comfy: Comfy) -> None:
    import asyncio

    import aiohttp

    data = safetensors_bytes(FLUX_VAE, pad_to=3 << 20, seed=24)
    comfy.files.add("ws_vae.safetensors", data)
    link = f"{comfy.files.base_url}/files/ws_vae.safetensors"  # type: ignore[attr-defined]

    async def watch() -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"{comfy.url}/ws?clientId=phoenix-test") as ws,
        ):
            prompt = {
                "1": {
                    "class_type": "PhoenixFetchModel",
                    "inputs": {"reference": link, "folder": "vae"},
                }
            }
            async with session.post(
                f"{comfy.url}/prompt", json={"prompt": prompt, "client_id": "phoenix-test"}
            ) as response:
                queued = await response.json()
            while True:
                message = await asyncio.wait_for(ws.receive(), 30)
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue
                event = json.loads(message.data)
                seen.append(event)
                data = event.get("data") or {}
                if (
                    event["type"] == "executing"
                    and data.get("node") is None
                    and data.get("prompt_id") == queued["prompt_id"]
                ):
                    await asyncio.sleep(0.5)  # a notice sent after the prompt ends still counts
                    while True:
                        try:
                            late = await asyncio.wait_for(ws.receive(), 0.5)
                        except asyncio.TimeoutError:
                            return seen
                        if late.type == aiohttp.WSMsgType.TEXT:
                            seen.append(json.loads(late.data))

    events = asyncio.run(watch())
    phoenix = [e for e in events if e["type"].startswith("phoenix.")]
    assert [e["type"] for e in phoenix] == ["phoenix.job.done"], [e["type"] for e in events]
    assert phoenix[0]["data"]["filename"] == "ws_vae.safetensors"
    assert any(e["type"] == "progress" for e in events), (
        "the node reports through ComfyUI's ProgressBar"
    )


def _queue_with_workflow(comfy: Comfy, prompt: dict[str, Any], workflow: dict[str, Any]) -> Any:
    """Queue ``prompt`` as the frontend does, with its workflow in ``extra_pnginfo``."""
    body = {"prompt": prompt, "extra_data": {"extra_pnginfo": {"workflow": workflow}}}
    queued = comfy.post("/prompt", body)
    assert not queued.get("node_errors"), queued
    return _wait_history(comfy, queued["prompt_id"])


def test_a_node_with_an_empty_reference_fetches_the_model_its_workflow_names(
    comfy: Comfy,
) -> None:
    import hashlib

    data = safetensors_bytes(FLUX_VAE, pad_to=1 << 20, seed=25)
    comfy.files.add("entry_vae.safetensors", data)
    link = f"{comfy.files.base_url}/files/entry_vae.safetensors"  # type: ignore[attr-defined]

    def workflow(digest: str) -> dict[str, Any]:
        model = {"name": "named_by_workflow.safetensors", "url": link, "directory": "vae"}
        model.update(hash=digest, hash_type="SHA256")
        node = {"id": 7, "type": "PhoenixFetchModel", "widgets_values": ["", "vae"]}
        return {"nodes": [{**node, "properties": {"models": [model]}}]}

    prompt = {
        "7": {"class_type": "PhoenixFetchModel", "inputs": {"reference": "", "folder": "vae"}}
    }
    placed = comfy.base / "models" / "vae" / "named_by_workflow.safetensors"
    refused = _queue_with_workflow(comfy, prompt, workflow("0" * 64))
    assert refused["status"]["status_str"] == "error"
    assert "SHA256" in json.dumps(refused["status"]["messages"])
    assert not placed.exists()

    entry = _queue_with_workflow(comfy, prompt, workflow(hashlib.sha256(data).hexdigest()))
    assert entry["status"]["status_str"] == "success", entry["status"]
    assert placed.read_bytes() == data
    assert "named_by_workflow.safetensors" in comfy.get("/models/vae")

    # Deleted through Phoenix, it is gone from what ComfyUI's loaders offer.
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{comfy.url}/api/phoenix/models/vae/named_by_workflow.safetensors", method="DELETE"
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass
    assert "named_by_workflow.safetensors" not in comfy.get("/models/vae")
    options = comfy.get("/object_info/VAELoader")["VAELoader"]["input"]["required"]["vae_name"]
    assert "named_by_workflow.safetensors" not in json.dumps(options)


def test_a_node_with_neither_reference_nor_model_says_what_to_type(comfy: Comfy) -> None:
    inputs = {"reference": "", "folder": "auto"}
    prompt = {"8": {"class_type": "PhoenixFetchModel", "inputs": inputs}}
    entry = _queue_with_workflow(comfy, prompt, {"nodes": []})
    assert entry["status"]["status_str"] == "error"
    assert "names no model of its own" in json.dumps(entry["status"]["messages"])
