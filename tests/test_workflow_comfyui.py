"""A workflow's models arrive in the real ComfyUI, seen in Chromium: the offer, the panel, the CLI.

Each run starts the real ComfyUI (``COMFYUI_DIR``/``COMFYUI_PYTHON``) with its own frontend
and, when ``COMFYUI_FRONTEND_PACKAGE`` names one, the newest frontend. A workflow is loaded
as a user opens one (``app.loadGraphData``); ComfyUI reports its models missing its own
way (a dialog in 1.27, a notice in 1.49 and later), and Phoenix's offer, its panel and its
``phoenix fetch --workflow`` bring each one; the loader's dropdown then lists it.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import test_panel_browser as panel_tests
from peers.comfyui import ComfyUI, frontend_root, needs_comfyui
from peers.files import FileServer
from peers.models import FLUX_VAE, LORA, safetensors_bytes
from test_panel_browser import (
    ARTIFACTS,
    COMFYUI_DIR,
    COMFYUI_PYTHON,
    FRONTENDS,
    TAB_BUTTON,
    Panel,
    PhoenixProblems,
)

# The panel tests' fixture, used here by name.
browser = panel_tests.browser

OFFER = "dialog.phx-workflow-offer[open]"
APP = "window.comfyAPI.app.app"

pytestmark = [pytest.mark.browser, *needs_comfyui]


def loader(node_id: int, kind: str, widget: str, entry: dict[str, Any]) -> dict[str, Any]:
    """A core loader node that selects ``entry``'s file and carries it in properties.models."""
    values: list[Any] = [entry["name"], 1.0, 1.0] if kind == "LoraLoader" else [entry["name"]]
    return {
        "id": node_id,
        "type": kind,
        "pos": [100 + 350 * node_id, 100],
        "size": [320, 100],
        "flags": {},
        "order": node_id,
        "mode": 0,
        "inputs": [],
        "outputs": [],
        "properties": {"Node name for S&R": kind, "models": [entry]},
        "widgets_values": values,
    }


def workflow(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {
        "last_node_id": max(n["id"] for n in nodes),
        "last_link_id": 0,
        "nodes": list(nodes),
        "links": [],
        "groups": [],
        "config": {},
        "extra": {},
        "version": 0.4,
    }


def offered(server: FileServer, name: str, directory: str, data: bytes) -> dict[str, Any]:
    server.add(name, data)
    url = f"{server.base_url}/files/{name}"  # type: ignore[attr-defined]
    digest = hashlib.sha256(data).hexdigest()
    return {"name": name, "url": url, "directory": directory, "hash": digest, "hash_type": "SHA256"}


def listed(page: Any, kind: str, widget: str) -> list[str]:
    """What the first ``kind`` node's dropdown offers now."""
    values: list[str] = page.evaluate(
        f"""([kind, widget]) => {{
          const node = {APP}.graph.nodes.find(n => n.type === kind);
          const options = node.widgets.find(w => w.name === widget).options.values;
          return typeof options === "function" ? options() : options;
        }}""",
        [kind, widget],
    )
    return values


def wait_listed(page: Any, kind: str, widget: str, name: str) -> None:
    page.wait_for_function(
        f"""([kind, widget, name]) => {{
          const node = {APP}.graph.nodes.find(n => n.type === kind);
          const options = node?.widgets?.find(w => w.name === widget)?.options?.values;
          const values = typeof options === "function" ? options() : options;
          return Array.isArray(values) && values.includes(name);
        }}""",
        arg=[kind, widget, name],
        timeout=30_000,
    )


def close_comfyuis_dialog(page: Any) -> None:
    """Close ComfyUI's modal missing-models dialog (frontend 1.27), as its user would."""
    if page.locator(".p-dialog-mask").count():
        page.keyboard.press("Escape")
        page.locator(".p-dialog-mask").wait_for(state="detached")


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_a_workflows_models_arrive_through_the_offer_the_panel_and_the_cli(
    browser: Any,
    tmp_path: Path,
    file_server: FileServer,
    frontend: str,
    request: pytest.FixtureRequest,
) -> None:
    file_server.per_connection_rate = 2_000_000
    vae = offered(
        file_server,
        "offer_vae.safetensors",
        "vae",
        safetensors_bytes(FLUX_VAE, pad_to=3_000_000, seed=51),
    )
    lora = offered(
        file_server,
        "panel_lora.safetensors",
        "loras",
        safetensors_bytes(LORA, pad_to=400_000, seed=52),
    )
    cli = offered(
        file_server,
        "cli_lora.safetensors",
        "loras",
        safetensors_bytes(LORA, pad_to=300_000, seed=53),
    )
    args = []
    if frontend:
        args = ["--front-end-root", str(frontend_root(Path(frontend), tmp_path / "frontend"))]
    comfy = ComfyUI(Path(COMFYUI_DIR), Path(COMFYUI_PYTHON), tmp_path / "comfyui")
    env = {
        "PHOENIX_ALLOWED_HOSTS": "127.0.0.1",
        "PHOENIX_ALLOW_PRIVATE_NETWORKS": "true",
        "PHOENIX_ENGINE": "python",
    }
    models = comfy.base / "models"
    page = None
    shots = ARTIFACTS / f"workflow-comfyui-{request.node.callspec.id}"
    try:
        comfy.start(env=env, args=args)
        assert comfy.import_failure() is None, comfy.log_tail()
        page = browser.new_page(viewport={"width": 1500, "height": 950})
        problems = PhoenixProblems()
        problems.watch(page)
        page.goto(comfy.url + "/")
        page.locator(TAB_BUTTON).first.wait_for(timeout=90_000)
        panel = Panel(page, comfy.url)
        ARTIFACTS.mkdir(exist_ok=True)

        # 1. ComfyUI finds the VAE missing; Phoenix offers it on the server.
        page.evaluate(
            f"(wf) => {APP}.loadGraphData(wf)", workflow(loader(1, "VAELoader", "vae_name", vae))
        )
        offer = page.locator(OFFER)
        offer.wait_for(timeout=30_000)
        assert "vae/offer_vae.safetensors" in offer.inner_text()
        page.screenshot(path=f"{shots}-offer.png")
        # From now on only Phoenix's offer: ComfyUI's own warning is turned off.
        offer.locator(".phx-workflow-offer__stock").check()
        offer.get_by_role("button", name="Download on the server").click()
        offer.wait_for(state="detached")
        close_comfyuis_dialog(page)
        section = page.locator('.phx-section[data-section="workflow"]')
        section.locator(
            ".phx-workflow__progress, .phx-workflow__need[data-state=present]"
        ).first.wait_for()
        page.screenshot(path=f"{shots}-progress.png")
        section.locator('.phx-workflow__need[data-state="present"]').wait_for(timeout=30_000)
        assert (models / "vae" / "offer_vae.safetensors").is_file()
        wait_listed(page, "VAELoader", "vae_name", "offer_vae.safetensors")

        # 2. Declined in the offer, fetched from the panel's section.
        page.evaluate(
            f"(wf) => {APP}.loadGraphData(wf)", workflow(loader(2, "LoraLoader", "lora_name", lora))
        )
        offer.wait_for(timeout=30_000)
        assert page.locator(".p-dialog-mask").count() == 0, "ComfyUI's own warning stays off"
        page.screenshot(path=f"{shots}-offer-only.png")
        offer.get_by_role("button", name="Not now").click()
        offer.wait_for(state="detached")
        if page.locator(".phx-panel").count() == 0:
            panel.open()
        fetch = section.get_by_role("button", name="Fetch all missing (400 KB)")
        fetch.wait_for(timeout=30_000)
        fetch.click()
        section.locator('.phx-workflow__need[data-state="present"]').wait_for(timeout=30_000)
        assert (models / "loras" / "panel_lora.safetensors").is_file()
        wait_listed(page, "LoraLoader", "lora_name", "panel_lora.safetensors")

        # 3. The CLI, on the same models folder, while ComfyUI runs.
        saved = tmp_path / "cli-workflow.json"
        saved.write_text(json.dumps(workflow(loader(3, "LoraLoader", "lora_name", cli))))
        result = subprocess.run(
            [sys.executable, "-m", "comfyui_phoenix.surfaces.cli", "fetch", "--workflow", str(saved), "--models-dir", str(models)],
            env={**panel_tests.os.environ, **env, "PHOENIX_RUNTIME_ENV": str(tmp_path / "none.env")},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert (models / "loras" / "cli_lora.safetensors").is_file()
        page.evaluate(f"() => {APP}.refreshComboInNodes()")
        wait_listed(page, "LoraLoader", "lora_name", "cli_lora.safetensors")
        assert "panel_lora.safetensors" in listed(page, "LoraLoader", "lora_name")
        page.screenshot(path=f"{shots}-done.png")
        assert problems.items == []
    finally:
        if page is not None:
            page.close()
        comfy.stop()
