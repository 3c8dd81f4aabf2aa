"""Each FLUX example workflow in the real ComfyUI (CPU), with stand-in weights from a stand-in hub.

The hub holds every repository of the FLUX catalog at its pinned commit (tests/peers/flux_repos.py),
each file carrying the tensors ComfyUI's loaders read at the shapes they check; ComfyUI runs
Phoenix with the catalog that pins those stand-ins. For every example the test asserts what holds
on a CPU with such weights: ComfyUI validates the whole workflow, and each of its Phoenix loaders,
exactly as written, fetches its file into the right folder and ComfyUI's own loader builds the
model from it. It stops there: the weights are stand-ins (no sampling would mean anything) and the
text encoders are full-size architectures a CPU cannot run in a test's time. On a ComfyUI that
predates FLUX.2 the FLUX.2 examples are refused for their missing nodes, and Phoenix's FLUX.2
text-encoder loader says to update ComfyUI before fetching anything.
"""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from peers.comfyui import COMFYUI_DIR, COMFYUI_PYTHON, NODE_NAME, ComfyUI, needs_comfyui
from peers.files import FileServer
from peers.flux_repos import FluxStandIns, add_flux_family
from peers.hf import HFServer, start_hf_server
from peers.models import FLUX_VAE, safetensors_bytes
from peers.runner import ServerThread
from peers.workflows import api_prompt, missing_node_types

from comfyui_phoenix.sources.hf.flux import flux_plan, load_catalog

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "example_workflows"
TOKEN = "hf_phoenixCOMFYflux0123456789"
#: What each Phoenix loader hands on, as ComfyUI's own loaders build it.
LOADERS = {
    "PhoenixDiffusionModelLoader": (("transformer",), "ModelPatcher"),
    "PhoenixFluxTextEncoderLoader": (("clip_l", "t5"), "CLIP"),
    "PhoenixFlux2TextEncoderLoader": (("text_encoder",), "CLIP"),
    "PhoenixVAELoader": (("vae",), "VAE"),
    "PhoenixCLIPVisionLoader": (("clip_vision",), "ClipVisionModel"),
    "PhoenixStyleModelLoader": (("style_model",), "StyleModel"),
}

pytestmark = needs_comfyui
_HOLDS = itertools.count()


@dataclass
class Comfy:
    url: str
    base: Path
    hub: HFServer
    family: FluxStandIns
    files: FileServer
    info: dict[str, Any]

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=30) as response:  # noqa: S310 - loopback
            return json.loads(response.read())

    def post(self, path: str, body: Any) -> Any:
        request = urllib.request.Request(  # noqa: S310 - loopback
            self.url + path, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            data = response.read()
        return json.loads(data) if data else None

    def history(self, prompt_id: str, timeout: float = 180) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.get(f"/history/{prompt_id}")
            if found:
                return found[prompt_id]
            time.sleep(0.3)
        pytest.fail(f"prompt {prompt_id} did not finish within {timeout:.0f} s")


@pytest.fixture(scope="module")
def comfy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Comfy]:
    base = tmp_path_factory.mktemp("comfy-flux")
    hub, hub_thread, cdn_thread = start_hf_server(base.parent / "flux-hub")
    family = add_flux_family(hub, base.parent / "flux-catalog", token=TOKEN, loadable=True)
    files = FileServer(base.parent / "flux-served")
    files_thread = ServerThread(files.app).start()
    files.base_url = files_thread.url  # type: ignore[attr-defined]
    env = {
        "HF_ENDPOINT": hub.url,
        "HF_TOKEN": TOKEN,
        "PHOENIX_FLUX_CATALOG": str(family.catalog_path),
        "PHOENIX_ALLOWED_HOSTS": "127.0.0.1",
        "PHOENIX_ALLOW_PRIVATE_NETWORKS": "true",
        "PHOENIX_ENGINE": "python",
        "PYTHONUNBUFFERED": "1",
    }
    comfyui = ComfyUI(Path(COMFYUI_DIR), Path(COMFYUI_PYTHON), base)
    try:
        comfyui.start(env=env)
        with urllib.request.urlopen(comfyui.url + "/object_info", timeout=60) as response:  # noqa: S310
            info = json.loads(response.read())
        yield Comfy(comfyui.url, base, hub, family, files, info)
    finally:
        comfyui.stop()
        for thread in (hub_thread, cdn_thread, files_thread):
            thread.stop()


def examples() -> list[str]:
    return sorted(p.stem for p in EXAMPLES.glob("*-phoenix.json"))


def test_every_family_member_has_an_example_and_comfyui_lists_them(comfy: Comfy) -> None:
    keys = {m.key for m in load_catalog().members}

    assert {f"{key}-phoenix" for key in keys} <= set(examples())
    listed = comfy.get("/api/workflow_templates")[NODE_NAME]
    assert set(examples()) <= set(listed)


@pytest.mark.parametrize("name", examples())
def test_the_example_validates_and_each_of_its_loaders_loads(comfy: Comfy, name: str) -> None:
    workflow = json.loads((EXAMPLES / f"{name}.json").read_text())
    prompt = api_prompt_or_none(workflow, comfy.info)
    if prompt is None:
        _assert_flux2_is_refused_by_an_older_comfyui(comfy, workflow)
        return
    _assert_validates(comfy, prompt)

    loaders = {i: n for i, n in prompt.items() if n["class_type"] in LOADERS}
    assert loaders, "the example loads its models through Phoenix's nodes"
    sinks = {f"p{i}": {"class_type": "PreviewAny", "inputs": {"source": [i, 0]}} for i in loaders}
    queued = comfy.post("/prompt", {"prompt": {**loaders, **sinks}})
    entry = comfy.history(queued["prompt_id"])

    assert entry["status"]["status_str"] == "success", json.dumps(entry["status"])[-3000:]
    for node_id, node in loaders.items():
        roles, built = LOADERS[node["class_type"]]
        shown = entry["outputs"][f"p{node_id}"]["text"][0]
        assert built in shown, (node["class_type"], shown)
        for role in roles:
            _assert_placed(comfy, _reference(node), role)


def api_prompt_or_none(workflow: dict[str, Any], info: dict[str, Any]) -> dict[str, Any] | None:
    return None if missing_node_types(workflow, info) else api_prompt(workflow, info)


def _reference(node: dict[str, Any]) -> str:
    inputs = node["inputs"]
    return str(inputs.get("reference") or inputs.get("clip_l"))


def _assert_placed(comfy: Comfy, repo_id: str, role: str) -> None:
    """The loader's file is where the member's plan (on a CPU) puts it, byte for byte."""
    plan = flux_plan(comfy.family.catalog, repo_id)
    assert plan is not None, repo_id
    [item] = [f for f in plan.files if f.role == role]
    placed = comfy.base / "models" / item.folder / item.pin.path.rsplit("/", 1)[-1]
    assert placed.is_file(), f"{role} of {repo_id} is not at {placed}"
    assert placed.read_bytes() == comfy.family.data(item.pin.repo, item.pin.path)


def _assert_validates(comfy: Comfy, prompt: dict[str, Any]) -> None:
    """ComfyUI validates the whole example; it is taken off the queue before it runs.

    A slow download holds ComfyUI's worker meanwhile, so the example cannot start: its text
    encoders are full-size architectures that a CPU would spend minutes running.
    """
    number = next(_HOLDS)
    data = safetensors_bytes(FLUX_VAE, pad_to=4 << 20, seed=number)
    name = f"hold-{number}.safetensors"
    comfy.files.add(name, data)
    comfy.files.per_connection_rate = 256 << 10
    link = f"{comfy.files.base_url}/files/{name}"  # type: ignore[attr-defined]
    hold = {
        "1": {"class_type": "PhoenixFetchModel", "inputs": {"reference": link, "folder": "vae"}}
    }
    try:
        held = comfy.post("/prompt", {"prompt": hold})
        _wait_until_running(comfy, held["prompt_id"])
        queued = comfy.post("/prompt", {"prompt": prompt})
        assert not queued.get("node_errors"), queued
        comfy.post("/queue", {"delete": [queued["prompt_id"]]})
        comfy.post("/interrupt", {})
        comfy.history(held["prompt_id"])
        assert not comfy.get(f"/history/{queued['prompt_id']}"), "the example itself never ran"
    finally:
        comfy.files.per_connection_rate = None


def _wait_until_running(comfy: Comfy, prompt_id: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        running = comfy.get("/queue")["queue_running"]
        if any(item[1] == prompt_id for item in running):
            return
        time.sleep(0.1)
    pytest.fail("the holding prompt never started")


def _assert_flux2_is_refused_by_an_older_comfyui(comfy: Comfy, workflow: dict[str, Any]) -> None:
    missing = missing_node_types(workflow, comfy.info)
    assert {"EmptyFlux2LatentImage", "Flux2Scheduler"} <= set(missing), missing
    # The encoder loader says so before it fetches a byte of the (in reality 4 to 36 GB) file.
    [encoder] = [n for n in workflow["nodes"] if n["type"] == "PhoenixFlux2TextEncoderLoader"]
    reference = encoder["widgets_values"][0]
    before = len(comfy.hub.resolve_requests())
    prompt = {
        "1": {"class_type": "PhoenixFlux2TextEncoderLoader", "inputs": {"reference": reference}},
        "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}},
    }
    entry = comfy.history(comfy.post("/prompt", {"prompt": prompt})["prompt_id"])
    assert entry["status"]["status_str"] == "error"
    messages = json.dumps(entry["status"]["messages"])
    assert "no 'flux2' type" in messages and "Update ComfyUI" in messages
    assert len(comfy.hub.resolve_requests()) == before
