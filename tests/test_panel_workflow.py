"""This workflow's models and the missing-models offer, in real Chromium against the real routes.

The page is the panel harness (see ``test_panel_browser``); ``harness.loadWorkflow`` loads
a graph as ComfyUI does, running the extensions' ``beforeConfigureGraph`` and
``afterConfigureGraph`` hooks around it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import test_panel_browser as panel_tests
from peers.files import FileServer
from peers.hf import HFServer
from peers.models import FLUX_VAE, LORA, safetensors_bytes
from test_panel_browser import ARTIFACTS, TAB_BUTTON, Panel, file_url, host_lora

# The panel tests' fixtures, used here by name.
browser = panel_tests.browser
open_panel = panel_tests.open_panel
slow_files = panel_tests.slow_files

OFFER = "dialog.phx-workflow-offer[open]"

pytestmark = pytest.mark.browser


def lora_node(node_id: int, ref: str, title: str = "") -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "PhoenixLoraLoader",
        "title": title,
        "widgets": [{"name": "reference", "value": ref}, {"name": "strength_model", "value": 1}],
    }


def vae_node(node_id: int, name: str, url: str, **entry: Any) -> dict[str, Any]:
    model = {"name": name, "url": url, "directory": "vae", **entry}
    return {
        "id": node_id,
        "type": "VAELoader",
        "title": "Load VAE",
        "widgets": [{"name": "vae_name", "value": name}],
        "properties": {"models": [model]},
    }


def offer_off(panel: Panel) -> None:
    """Phoenix's setting that turns the missing-models offer off."""
    panel.page.evaluate(
        "() => { window.__harness.settings['Phoenix.Workflow.OfferServerDownload'] = false; }"
    )


def load(panel: Panel, workflow: dict[str, Any]) -> None:
    panel.page.evaluate("(wf) => window.__harness.loadWorkflow(wf)", workflow)


def names(section: Any) -> list[str]:
    return [n.strip() for n in section.locator(".phx-item__name").all_inner_texts()]


def test_switching_workflows_lists_the_new_ones_models_at_once_with_names_and_sizes(
    open_panel: Callable[..., Panel],
    slow_files: FileServer,
    hf_server: HFServer,
) -> None:
    host_lora(slow_files, "film-grain.safetensors", size=200_000)
    pack = {
        "style-a.safetensors": safetensors_bytes(LORA, pad_to=120_000, seed=1),
        "style-b.safetensors": safetensors_bytes(LORA, pad_to=80_000, seed=2),
    }
    hf_server.add_repo("black-forest-labs/FLUX.1-style-pack", pack)
    panel = open_panel(hf_endpoint=hf_server.url)
    offer_off(panel)
    panel.open()
    # The sidebar's default width.
    panel.page.evaluate(
        "() => { document.querySelector('.sidebar-content').style.width = '250px'; }"
    )
    section = panel.page.locator('.phx-section[data-section="workflow"]')
    assert section.get_attribute("open") is not None, "open by default"

    load(panel, {"nodes": [lora_node(4, file_url(slow_files, "film-grain.safetensors"), "Grain")]})
    section.locator('.phx-item__name:text-is("film-grain.safetensors")').wait_for()
    item = section.locator(".phx-workflow__need")
    assert "200 KB" in item.inner_text() and "Grain #4" in item.inner_text()

    # Another workflow: its list, without Rescan.
    load(panel, {"nodes": [lora_node(9, "black-forest-labs/FLUX.1-style-pack")]})
    section.locator('.phx-item__name:text-is("FLUX.1-style-pack")').wait_for()
    assert names(section) == ["FLUX.1-style-pack"]
    files = section.locator(".phx-subitem").all_inner_texts()
    assert any("loras/style-a.safetensors" in f and "120 KB" in f for f in files), files
    assert any("loras/style-b.safetensors" in f and "80.0 KB" in f for f in files), files
    # Nothing is cut off at this width: names, sizes and folders read in full.
    clipped = panel.page.eval_on_selector_all(
        ".phx-workflow__need .phx-item__name, .phx-workflow__need .phx-subitem span",
        "els => els.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)",
    )
    assert clipped == []
    overflow = panel.page.eval_on_selector(".phx-panel", "el => el.scrollWidth - el.clientWidth")
    assert overflow <= 0
    ARTIFACTS.mkdir(exist_ok=True)
    panel.page.locator(".sidebar-content").screenshot(path=str(ARTIFACTS / "workflow-250px.png"))


def test_a_gated_file_says_it_is_gated_why_and_where_to_accept_the_licence(
    open_panel: Callable[..., Panel], hf_server: HFServer
) -> None:
    vae = safetensors_bytes(FLUX_VAE, pad_to=50_000, seed=3)
    hf_server.add_repo("acme/gated-vae", {"ae.safetensors": vae}, gated="manual")
    url = f"{hf_server.url}/acme/gated-vae/resolve/main/ae.safetensors"
    panel = open_panel(hf_endpoint=hf_server.url)
    offer_off(panel)
    panel.open()
    load(panel, {"nodes": [vae_node(2, "ae.safetensors", url)]})
    section = panel.page.locator('.phx-section[data-section="workflow"]')
    row = section.locator('.phx-workflow__need[data-state="gated"]')
    row.wait_for()
    assert row.locator('.phx-badge:text-is("gated")').is_visible()
    assert "acme/gated-vae" in row.locator(".phx-problem__detail").inner_text()
    assert row.locator(".phx-problem__hint").inner_text().strip()
    assert row.locator("a.phx-link").get_attribute("href").startswith(hf_server.url)
    summary = section.locator(".phx-workflow__summary").inner_text()
    assert "needs its licence accepted" in summary and "missing" not in summary
    assert section.locator(".phx-workflow__fetch").is_hidden()


def test_the_offer_downloads_on_the_server_and_the_panel_shows_the_progress(
    open_panel: Callable[..., Panel], slow_files: FileServer, models_dir: Path
) -> None:
    data = host_lora(slow_files, "vae-by-name.safetensors", size=3_000_000)
    url = file_url(slow_files, "vae-by-name.safetensors")
    digest = hashlib.sha256(data).hexdigest()
    panel = open_panel()
    load(
        panel, {"nodes": [vae_node(3, "flux_ae.safetensors", url, hash=digest, hash_type="SHA256")]}
    )

    offer = panel.page.locator(OFFER)
    offer.wait_for()
    assert "flux_ae.safetensors" in offer.inner_text() and "3.00 MB" in offer.inner_text()
    assert "not into this browser's Downloads" in offer.inner_text()
    # Keyboard: the offer takes focus on its first action; Enter accepts it.
    focused = panel.page.evaluate("() => document.activeElement.textContent")
    assert focused == "Download on the server"
    panel.page.keyboard.press("Enter")
    offer.wait_for(state="detached")

    section = panel.page.locator('.phx-section[data-section="workflow"]')
    section.wait_for()
    section.locator(".phx-workflow__progress [role=progressbar]").wait_for()
    panel.page.wait_for_function(
        """() => {
          const bar = document.querySelector(".phx-workflow__progress [role=progressbar]");
          return Number(bar?.getAttribute("aria-valuenow") || 0) > 0;
        }"""
    )
    section.locator('.phx-workflow__need[data-state="present"]').wait_for(timeout=20_000)
    assert (models_dir / "vae" / "flux_ae.safetensors").read_bytes() == data
    assert "Its model is here." in section.locator(".phx-workflow__summary").inner_text()
    toasts = panel.harness_value("toasts")
    assert any(t["summary"] == "Downloading on the server" for t in toasts), toasts
    panel.page.wait_for_function("() => window.__harness.refreshes > 0")


def test_not_now_is_remembered_for_that_workflow_and_the_setting_turns_the_offer_off(
    open_panel: Callable[..., Panel], slow_files: FileServer
) -> None:
    host_lora(slow_files, "a.safetensors", size=100_000)
    host_lora(slow_files, "b.safetensors", size=100_000)
    panel = open_panel()
    first = {"nodes": [vae_node(1, "a.safetensors", file_url(slow_files, "a.safetensors"))]}
    load(panel, first)
    offer = panel.page.locator(OFFER)
    offer.wait_for()
    panel.page.keyboard.press("Escape")
    offer.wait_for(state="detached")

    load(panel, first)  # back to the same workflow (a tab switch): not offered again
    second = {"nodes": [vae_node(1, "b.safetensors", file_url(slow_files, "b.safetensors"))]}
    load(panel, second)
    offer.wait_for()
    assert "b.safetensors" in offer.inner_text() and "a.safetensors" not in offer.inner_text()
    offer.get_by_role("button", name="Not now").click()
    offer.wait_for(state="detached")

    offer_off(panel)
    third = {"nodes": [vae_node(5, "c.safetensors", file_url(slow_files, "b.safetensors"))]}
    load(panel, third)
    panel.page.wait_for_timeout(500)
    assert panel.page.locator(OFFER).count() == 0
    assert panel.page.locator(TAB_BUTTON).count() == 1


def test_the_command_offers_on_demand_and_the_panel_fetches_all_missing(
    open_panel: Callable[..., Panel], slow_files: FileServer, models_dir: Path
) -> None:
    data = host_lora(slow_files, "on-demand.safetensors", size=200_000)
    panel = open_panel()
    offer_off(panel)
    load(panel, {"nodes": [lora_node(2, file_url(slow_files, "on-demand.safetensors"))]})
    assert panel.page.locator(OFFER).count() == 0
    # The command palette's command offers even with the automatic offer turned off.
    panel.page.evaluate("() => window.__harness.runCommand('Phoenix.FetchWorkflowModels')")
    offer = panel.page.locator(OFFER)
    offer.wait_for()
    assert "loras/on-demand.safetensors" in offer.inner_text()
    offer.get_by_role("button", name="Not now").click()
    offer.wait_for(state="detached")
    panel.open()
    section = panel.page.locator('.phx-section[data-section="workflow"]')
    fetch = section.get_by_role("button", name="Fetch all missing (200 KB)")
    fetch.wait_for()
    fetch.focus()
    panel.page.keyboard.press("Enter")
    section.locator('.phx-workflow__need[data-state="present"]').wait_for(timeout=20_000)
    assert (models_dir / "loras" / "on-demand.safetensors").read_bytes() == data
    assert section.locator(".phx-workflow__fetch").is_hidden()


def test_deleting_in_the_library_refreshes_comfyuis_model_lists(
    open_panel: Callable[..., Panel], models_dir: Path
) -> None:
    (models_dir / "loras").mkdir()
    (models_dir / "loras" / "gone.safetensors").write_bytes(b"\0" * 2048)
    panel = open_panel()
    panel.open()
    library = panel.section("library")
    model = library.locator(".phx-model")
    model.wait_for()
    before = panel.harness_value("refreshes")
    model.get_by_role("button", name="Delete gone.safetensors").click()
    model.get_by_role("button", name="Yes, delete gone.safetensors").click()
    model.wait_for(state="detached")
    panel.page.wait_for_function(f"() => window.__harness.refreshes > {before}")
    assert not (models_dir / "loras" / "gone.safetensors").exists()


def test_the_offer_reads_in_both_themes(
    open_panel: Callable[..., Panel], slow_files: FileServer
) -> None:
    host_lora(slow_files, "theme.safetensors", size=100_000)
    panel = open_panel()
    load(
        panel,
        {"nodes": [vae_node(1, "theme.safetensors", file_url(slow_files, "theme.safetensors"))]},
    )
    offer = panel.page.locator(OFFER)
    offer.wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    offer.screenshot(path=str(ARTIFACTS / "workflow-offer-dark.png"))
    panel.page.evaluate(
        """() => {
          const root = document.documentElement.style;
          root.setProperty("--fg-color", "rgb(17, 17, 17)");
          root.setProperty("--comfy-menu-bg", "rgb(240, 240, 240)");
          root.setProperty("--comfy-menu-secondary-bg", "rgb(255, 255, 255)");
          root.setProperty("--descrip-text", "rgb(90, 90, 90)");
        }"""
    )
    colours = panel.page.eval_on_selector(
        OFFER,
        "el => [getComputedStyle(el).backgroundColor, getComputedStyle(el.querySelector('p')).color]",
    )
    assert colours == ["rgb(240, 240, 240)", "rgb(17, 17, 17)"]
    offer.screenshot(path=str(ARTIFACTS / "workflow-offer-light.png"))


def test_at_idle_the_section_asks_nothing_and_a_plan_is_asked_once_per_load(
    open_panel: Callable[..., Panel], slow_files: FileServer
) -> None:
    host_lora(slow_files, "idle.safetensors", size=100_000)
    panel = open_panel()
    offer_off(panel)
    panel.open()
    asked: list[str] = []
    panel.page.on(
        "request",
        lambda r: asked.append(r.url) if "/phoenix/" in r.url and "/events" not in r.url else None,
    )
    load(panel, {"nodes": [lora_node(1, file_url(slow_files, "idle.safetensors"))]})
    section = panel.page.locator('.phx-section[data-section="workflow"]')
    section.locator('.phx-workflow__need[data-state="missing"]').wait_for()
    assert [u.rsplit("/phoenix", 1)[1] for u in asked] == ["/workflow/plan"]
    asked.clear()
    panel.page.wait_for_timeout(1500)
    assert asked == []
