"""The sidebar panel in real headless Chromium, against the real Phoenix routes.

The page is ``tests/panel_harness``: the panel's own ``web/`` files, Phoenix's routes
(under ``/api/phoenix`` as ComfyUI mounts them) and stand-ins for the few frontend calls the
panel makes. Downloads come from the local peers: a throttled file host and a fake hub.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from panel_harness.server import Harness
from peers.browser import CHROMIUM, CHROMIUM_ARGS, needs_chromium
from peers.comfyui import (
    COMFYUI_DIR,
    COMFYUI_PYTHON,
    NODE_NAME,
    ComfyUI,
    frontend_root,
    needs_comfyui,
)
from peers.files import FileServer
from peers.hf import HFServer
from peers.models import LORA, SD_CHECKPOINT, safetensors_bytes
from peers.runner import ServerThread

from comfyui_phoenix.errors import ConfigError, PhoenixError
from comfyui_phoenix.security.cleanup import CleanupRoots
from comfyui_phoenix.settings import Settings, load_settings
from comfyui_phoenix.surfaces.app import PhoenixApp

# Frontend 1.27 gives the sidebar button a class, newer ones a test id.
TAB_BUTTON = '.phoenix-tab-button, [data-testid="phoenix-tab-button"]'
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
RATE = 1_500_000  # bytes per second per connection: slow enough to watch progress
NEWEST_FRONTEND = os.environ.get("COMFYUI_FRONTEND_PACKAGE", "")

pytestmark = [pytest.mark.browser, needs_chromium]

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Panel:
    """The harness page with the Phoenix tab, and what it logged."""

    page: Any
    url: str
    errors: list[str] = field(default_factory=list)
    allowed_errors: tuple[str, ...] = ()

    # -- navigation ----------------------------------------------------------------------
    def open(self, *, live: bool = True) -> None:
        self.page.click(TAB_BUTTON)
        self.page.wait_for_selector(".phx-panel")
        if live:
            self.page.wait_for_selector(".phx-live[data-state=open]")

    def close(self) -> None:
        self.page.click(TAB_BUTTON)
        self.page.wait_for_selector(".phx-panel", state="detached")

    def section(self, name: str) -> Any:
        section = self.page.locator(f'.phx-section[data-section="{name}"]')
        if section.get_attribute("open") is None:
            section.locator("summary").click()
        return section

    def debug(self) -> dict[str, Any]:
        return dict(self.page.evaluate("() => ({...window.__phoenixDebug})"))

    def harness_value(self, expression: str) -> Any:
        return self.page.evaluate(f"() => window.__harness.{expression}")

    # -- the Add section -------------------------------------------------------------------
    def check(self, ref: str) -> Any:
        add = self.section("add")
        add.locator("input.phx-input").fill(ref)
        add.locator("button[type=submit]").click()
        add.locator(".phx-plan .phx-item, .phx-plan .phx-problem").first.wait_for()
        return add

    def add_download(self, ref: str, folder: str | None = None) -> Any:
        add = self.check(ref)
        if folder:
            add.locator("select").select_option(folder)
            add.locator(f'.phx-plan .phx-item__sub:has-text("{folder}/")').wait_for()
        add.locator(".phx-download").click()
        return self.job(ref.rsplit("/", 1)[-1])

    def job(self, filename: str) -> Any:
        row = self.page.locator(
            ".phx-job", has=self.page.locator(f'.phx-item__name:text-is("{filename}")')
        )
        row.wait_for()
        return row

    def wait_state(self, row: Any, state: str, timeout: float = 20_000) -> None:
        row.and_(self.page.locator(f'[data-state="{state}"]')).wait_for(timeout=timeout)

    def progress(self, row: Any) -> float:
        value = row.locator("[role=progressbar]").get_attribute("aria-valuenow")
        return float(value or 0)

    def wait_progress(self, row: Any, above: float) -> float:
        self.page.wait_for_function(
            "([el, above]) => Number(el.getAttribute('aria-valuenow') || 0) > above",
            arg=[row.locator("[role=progressbar]").element_handle(), above],
            timeout=15_000,
        )
        return self.progress(row)


@pytest.fixture
def open_panel(
    browser: Any, make_settings: Callable[..., Settings]
) -> Iterator[Callable[..., Panel]]:
    """Start the harness with the given settings and load the page (the tab still closed)."""
    started: list[tuple[ServerThread, Panel]] = []

    def factory(
        *,
        width: int = 1100,
        query: str = "",
        app: dict[str, Any] | None = None,
        setup_error: PhoenixError | None = None,
        **overrides: Any,
    ) -> Panel:
        settings = make_settings(engine="python", **overrides)
        harness = Harness(lambda: PhoenixApp(settings, **(app or {})), setup_error=setup_error)
        thread = ServerThread(harness.app).start()
        page = browser.new_page(viewport={"width": width, "height": 1000})
        panel = Panel(page, thread.url)
        page.on("console", lambda m: panel.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: panel.errors.append(f"page error: {e}"))
        page.goto(f"{thread.url}/{query}")
        page.wait_for_function("() => window.__harness && window.__harness.ready")
        started.append((thread, panel))
        return panel

    yield factory
    for thread, panel in started:
        panel.page.close()
        thread.stop()
        unexpected = [e for e in panel.errors if not any(a in e for a in panel.allowed_errors)]
        assert unexpected == [], f"console errors: {unexpected}"


@pytest.fixture
def slow_files(file_server: FileServer) -> FileServer:
    file_server.per_connection_rate = RATE
    return file_server


def host_lora(server: FileServer, name: str, size: int = 3_000_000) -> bytes:
    data = safetensors_bytes(LORA, pad_to=size, seed=len(name))
    server.add(name, data)
    return data


def file_url(server: FileServer, name: str) -> str:
    return f"{server.base_url}/files/{name}"  # type: ignore[attr-defined]


# -- tests --------------------------------------------------------------------------------------
def test_a_download_streams_to_100_percent_and_offers_its_loader_node(
    open_panel: Callable[..., Panel], slow_files: FileServer, models_dir: Path
) -> None:
    data = host_lora(slow_files, "style.safetensors")
    panel = open_panel()
    panel.open()
    add = panel.section("add")
    # Keyboard only: type, Enter checks, then the Download button.
    add.locator("input.phx-input").focus()
    panel.page.keyboard.type(file_url(slow_files, "style.safetensors"))
    panel.page.keyboard.press("Enter")
    plan = add.locator(".phx-plan .phx-item")
    plan.wait_for()
    assert "loras/style.safetensors" in plan.inner_text()
    assert "3.00 MB" in plan.inner_text()
    add.locator(".phx-download").focus()
    panel.page.keyboard.press("Enter")

    row = panel.job("style.safetensors")
    seen = panel.wait_progress(row, 5)
    assert seen < 100, "progress should be visible before the end"
    assert "MB/s" in row.locator(".phx-item__meta").inner_text()
    panel.wait_state(row, "done")
    assert panel.progress(row) == 100
    assert (models_dir / "loras" / "style.safetensors").read_bytes() == data

    toasts = panel.harness_value("toasts")
    assert [t["severity"] for t in toasts] == ["success"]
    assert "loras/style.safetensors" in toasts[0]["detail"]
    panel.page.wait_for_function("() => window.__harness.refreshes > 0")

    row.get_by_role("button", name="Add loader node").click()
    row.locator('.phx-note:has-text("LoraLoader")').wait_for()
    nodes = panel.page.evaluate(
        "() => window.__harness.app.graph.nodes.map(n => [n.type, n.widgets[0].value])"
    )
    assert nodes == [["LoraLoader", "style.safetensors"]]


def test_pause_keeps_the_bytes_and_resume_finishes_the_same_file(
    open_panel: Callable[..., Panel], slow_files: FileServer, models_dir: Path
) -> None:
    data = host_lora(slow_files, "long.safetensors", size=3_000_000)
    panel = open_panel()
    panel.open()
    row = panel.add_download(file_url(slow_files, "long.safetensors"))
    panel.wait_progress(row, 10)
    row.get_by_role("button", name="Pause").click()
    panel.wait_state(row, "paused")
    paused_at = panel.progress(row)
    assert 0 < paused_at < 100
    assert row.get_by_role("button", name="Resume").is_visible()
    panel.page.wait_for_timeout(400)
    assert panel.progress(row) == paused_at, "a paused download must not move"

    row.get_by_role("button", name="Resume").click()
    panel.wait_state(row, "done")
    assert (models_dir / "loras" / "long.safetensors").read_bytes() == data
    ranges = [r.headers.get("Range", "") for r in slow_files.requests if r.method == "GET"]
    assert any(r.startswith("bytes=") and not r.startswith("bytes=0-") for r in ranges), ranges


def test_cancel_stops_the_download_and_removes_the_partial_file(
    open_panel: Callable[..., Panel], slow_files: FileServer, models_dir: Path
) -> None:
    host_lora(slow_files, "unwanted.safetensors", size=3_000_000)
    panel = open_panel()
    panel.open()
    row = panel.add_download(file_url(slow_files, "unwanted.safetensors"))
    panel.wait_progress(row, 5)
    row.get_by_role("button", name="Cancel").click()
    panel.wait_state(row, "cancelled")
    assert row.get_by_role("button", name="Retry").is_visible()
    assert not list((models_dir / "loras").glob("unwanted*"))
    assert panel.harness_value("toasts") == []


def test_a_failed_download_shows_its_sentence_and_hint_then_retry_fetches_it(
    open_panel: Callable[..., Panel], slow_files: FileServer, models_dir: Path
) -> None:
    data = host_lora(slow_files, "moved.safetensors")
    hosted = slow_files.files["moved.safetensors"]
    panel = open_panel()
    panel.open()
    row = panel.add_download(file_url(slow_files, "moved.safetensors"))
    panel.wait_progress(row, 5)
    row.get_by_role("button", name="Pause").click()
    panel.wait_state(row, "paused")
    del slow_files.files["moved.safetensors"]  # the link dies while the download is paused
    row.get_by_role("button", name="Resume").click()
    panel.wait_state(row, "failed")
    problem = row.locator(".phx-problem")
    assert problem.locator(".phx-problem__detail").inner_text().strip()
    assert problem.locator(".phx-problem__hint").inner_text().strip()
    toasts = panel.harness_value("toasts")
    assert [t["severity"] for t in toasts] == ["error"]
    assert "moved.safetensors" in toasts[0]["summary"]

    slow_files.files["moved.safetensors"] = hosted
    row.get_by_role("button", name="Retry").click()
    panel.wait_state(row, "done")
    assert row.locator(".phx-problem").count() == 0
    assert (models_dir / "loras" / "moved.safetensors").read_bytes() == data


def test_a_gated_reference_shows_the_sentence_and_the_licence_link(
    open_panel: Callable[..., Panel], hf_server: HFServer
) -> None:
    weights = safetensors_bytes(SD_CHECKPOINT, pad_to=50_000)
    hf_server.add_repo("acme/gated-model", {"model.safetensors": weights}, gated=True)
    panel = open_panel(hf_endpoint=hf_server.url)
    panel.open()
    add = panel.check("acme/gated-model/model.safetensors")
    problem = add.locator(".phx-problem")
    detail = problem.locator(".phx-problem__detail").inner_text()
    assert "acme/gated-model" in detail
    assert problem.locator(".phx-problem__hint").inner_text().strip()
    link = problem.locator("a.phx-link")
    assert link.get_attribute("href", timeout=1000).startswith(hf_server.url)
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert add.locator(".phx-download").count() == 0


def test_opening_and_closing_the_tab_20_times_leaves_nothing_behind(
    open_panel: Callable[..., Panel],
) -> None:
    panel = open_panel()
    panel.open()
    while_open = panel.debug()
    assert while_open["eventSources"] == 1 and while_open["subscriptions"] > 0
    for _ in range(20):
        panel.close()
        closed = panel.debug()
        assert closed["mounts"] == 0
        assert closed["subscriptions"] == 0
        assert closed["scopeRegistrations"] == 0
        assert closed["eventSources"] == 0
        panel.open()
        again = panel.debug()
        assert again["subscriptions"] == while_open["subscriptions"]
        assert again["scopeRegistrations"] == while_open["scopeRegistrations"]
        assert again["eventSources"] == 1
    panel.close()
    sources = panel.page.evaluate("() => ({...window.__eventSources})")
    assert sources["opened"] == 21 and sources["closed"] == 21
    assert panel.page.locator(".phx-panel").count() == 0


def test_the_panel_reconnects_after_the_stream_drops(
    open_panel: Callable[..., Panel], slow_files: FileServer
) -> None:
    host_lora(slow_files, "after-drop.safetensors", size=1_000_000)
    panel = open_panel()
    # A cut stream logs a failed load; that is the point of this test.
    panel.allowed_errors = (
        "ERR_INCOMPLETE_CHUNKED_ENCODING",
        "ERR_CONNECTION",
        "ERR_EMPTY_RESPONSE",
    )
    panel.open()
    answer = panel.page.request.post(panel.url + "/harness/drop-streams")
    assert answer.json()["dropped"] == 1
    panel.page.wait_for_selector(".phx-live[data-state=retrying]")
    panel.page.wait_for_selector(".phx-live[data-state=open]", timeout=10_000)
    row = panel.add_download(file_url(slow_files, "after-drop.safetensors"))
    panel.wait_state(row, "done")
    assert panel.debug()["eventSources"] == 1


def test_a_setting_phoenix_cannot_start_with_is_said_in_the_panel(
    open_panel: Callable[..., Panel],
) -> None:
    try:
        load_settings({"PHOENIX_MAX_DOWNLOAD_RATE": "fast"})
    except ConfigError as exc:
        error = exc
    panel = open_panel(setup_error=error)
    panel.allowed_errors = ("400 (Bad Request)", "Failed to load resource")
    panel.open(live=False)
    problem = panel.page.wait_for_selector(".phx-header .phx-problem:not([hidden])")
    text = problem.inner_text()
    assert "PHOENIX_MAX_DOWNLOAD_RATE is invalid" in text and "for example 50MB" in text
    assert panel.page.get_attribute(".phx-live", "data-state") != "open"


def test_workflow_models_show_what_is_missing_and_fetch_it(
    open_panel: Callable[..., Panel], slow_files: FileServer, models_dir: Path
) -> None:
    host_lora(slow_files, "needed.safetensors", size=500_000)
    (models_dir / "vae").mkdir()
    (models_dir / "vae" / "ae.safetensors").write_bytes(b"x" * 100)
    panel = open_panel()
    panel.page.evaluate(
        """([ref]) => {
          const graph = window.__harness.app.graph;
          graph.nodes.push({id: 4, type: "PhoenixLoraLoader", title: "Style",
                            widgets: [{name: "reference", value: ref}]});
          graph.models = [{name: "ae.safetensors", directory: "vae",
                           url: "https://huggingface.co/acme/flux/resolve/main/ae.safetensors"}];
        }""",
        [file_url(slow_files, "needed.safetensors")],
    )
    panel.open()
    section = panel.section("workflow")
    items = section.locator(".phx-item")
    section.locator('.phx-badge:text-is("missing")').wait_for()
    section.locator('.phx-badge:text-is("present")').wait_for()
    assert items.count() == 2
    assert "Style #4" in items.nth(0).inner_text()

    section.get_by_role("button", name="Fetch all missing").click()
    row = panel.job("needed.safetensors")
    panel.wait_state(row, "done")
    assert (models_dir / "loras" / "needed.safetensors").is_file()
    section.locator('.phx-badge:text-is("missing")').wait_for(state="detached")


def test_library_filters_and_deletes_only_after_confirmation(
    open_panel: Callable[..., Panel], models_dir: Path
) -> None:
    for folder, name in (("loras", "old-style.safetensors"), ("checkpoints", "base.safetensors")):
        (models_dir / folder).mkdir()
        (models_dir / folder / name).write_bytes(b"\0" * 2048)
    panel = open_panel()
    panel.open()
    library = panel.section("library")
    library.locator(".phx-model").nth(1).wait_for()
    assert library.locator(".phx-model").count() == 2
    library.locator("input[type=search]").fill("old")
    assert library.locator(".phx-model").count() == 1

    model = library.locator(".phx-model")
    model.get_by_role("button", name="Delete old-style.safetensors").click()
    model.get_by_role("button", name="Keep old-style.safetensors").click()
    assert (models_dir / "loras" / "old-style.safetensors").exists()
    model.get_by_role("button", name="Delete old-style.safetensors").click()
    model.get_by_role("button", name="Yes, delete old-style.safetensors").click()
    library.locator(".phx-model").wait_for(state="detached")
    assert not (models_dir / "loras" / "old-style.safetensors").exists()
    assert (models_dir / "checkpoints" / "base.safetensors").exists()


def test_tokens_are_saved_masked_and_never_shown_again(open_panel: Callable[..., Panel]) -> None:
    token = "hf_panelSecretToken0123456789wxyz"
    panel = open_panel()
    panel.open()
    tokens = panel.section("tokens")
    form = tokens.locator('[data-token="huggingface"]')
    form.locator(".phx-token__current").filter(has_text="not set").wait_for()
    field_ = form.locator("input")
    assert field_.get_attribute("type") == "password"
    field_.fill(token)
    field_.press("Enter")
    form.locator(".phx-token__current").filter(has_text="…wxyz").wait_for()
    assert field_.input_value() == ""
    assert token not in panel.page.content()
    answer = panel.page.request.get(panel.url + "/api/phoenix/tokens")
    assert answer.json()["huggingface"]["value"] == "…wxyz"


def test_boot_preload_lists_each_entry_and_its_job(
    open_panel: Callable[..., Panel], slow_files: FileServer
) -> None:
    host_lora(slow_files, "boot.safetensors", size=300_000)
    ref = file_url(slow_files, "boot.safetensors")
    panel = open_panel(models_to_download=ref)
    panel.open()
    preload = panel.section("preload")
    item = preload.locator(".phx-item")
    item.locator(".phx-item__name").filter(has_text=ref).wait_for()
    assert "PHOENIX_MODELS_TO_DOWNLOAD" in item.inner_text()
    item.locator(
        '.phx-subitem:has-text("loras/boot.safetensors") .phx-badge:text-is("done")'
    ).wait_for()


def test_without_sidebar_tabs_a_button_opens_the_panel_in_a_dialog(
    open_panel: Callable[..., Panel],
) -> None:
    panel = open_panel(query="?no-sidebar")
    assert panel.page.locator(TAB_BUTTON).count() == 0
    panel.page.get_by_role("button", name="Open Phoenix").click()
    dialog = panel.page.locator("dialog.phx-dialog[open]")
    dialog.locator(".phx-live[data-state=open]").wait_for()
    assert dialog.locator('.phx-section[data-section="add"] input').is_visible()
    panel.page.keyboard.press("Escape")
    # The panel is torn down in the dialog's close event, which removes the dialog last.
    panel.page.locator("dialog.phx-dialog").wait_for(state="detached")
    closed = panel.debug()
    assert (closed["mounts"], closed["subscriptions"], closed["eventSources"]) == (0, 0, 0)


def test_in_the_container_status_shows_the_boot_report_and_cleanup_asks_before_removing(
    open_panel: Callable[..., Panel], tmp_path: Path
) -> None:
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    report = {
        "steps": [
            {"name": "gpu-check", "ok": True, "detail": "NVIDIA GeForce RTX 5090, sm_120"},
            {"name": "start-comfyui", "ok": True},
        ],
        "flags": [{"flag": "--fast fp16_accumulation", "reason": "Blackwell GPU"}],
    }
    (runtime / "boot-report.json").write_text(json.dumps(report))
    outputs = tmp_path / "output"
    outputs.mkdir()
    (outputs / "ComfyUI_00001_.png").write_bytes(b"\x89PNG" + b"\0" * 5000)
    roots = CleanupRoots(comfy_output=outputs)
    panel = open_panel(
        container=True, runtime_dir_setting=runtime, app={"cleanup_roots": lambda: roots}
    )
    panel.open()
    boot = panel.page.locator(".phx-boot")
    boot.wait_for()
    assert "gpu-check" in boot.inner_text() and "RTX 5090" in boot.inner_text()
    assert "--fast fp16_accumulation: Blackwell GPU" in panel.page.locator(".phx-pre").inner_text()

    cleanup = panel.section("cleanup")
    cleanup.locator(".phx-item__name").filter(has_text=str(outputs)).first.wait_for()
    cleanup.get_by_role("button", name="Clean up").click()
    cleanup.get_by_role("button", name="Keep").click()
    assert (outputs / "ComfyUI_00001_.png").exists()
    cleanup.get_by_role("button", name="Clean up").click()
    cleanup.get_by_role("button", name="Remove").click()
    cleanup.locator('.phx-note[role=status]:has-text("Removed")').wait_for()
    assert not (outputs / "ComfyUI_00001_.png").exists()


def test_outside_the_container_there_is_no_cleanup_section(
    open_panel: Callable[..., Panel],
) -> None:
    panel = open_panel()
    panel.open()
    panel.page.locator(".phx-live[data-state=open]").wait_for()
    assert panel.page.locator('.phx-section[data-section="cleanup"]').is_hidden()
    assert panel.page.locator('.phx-section[data-section="preload"]').is_hidden()


def test_themes_narrow_width_and_a_screenshot(
    open_panel: Callable[..., Panel], slow_files: FileServer
) -> None:
    host_lora(slow_files, "flux-style-lora.safetensors", size=6_000_000)
    host_lora(slow_files, "detail-tweaker.safetensors", size=400_000)
    panel = open_panel(width=1100)
    panel.open()
    done = panel.add_download(file_url(slow_files, "detail-tweaker.safetensors"))
    panel.wait_state(done, "done")
    running = panel.add_download(file_url(slow_files, "flux-style-lora.safetensors"))
    panel.wait_progress(running, 15)
    ARTIFACTS.mkdir(exist_ok=True)
    panel.page.locator(".sidebar-content").screenshot(
        path=str(ARTIFACTS / "panel-harness-dark.png")
    )

    # The panel takes its colours from ComfyUI's palette variables.
    panel.page.evaluate(
        """() => {
          const root = document.documentElement.style;
          root.setProperty("--fg-color", "rgb(17, 17, 17)");
          root.setProperty("--comfy-menu-bg", "rgb(240, 240, 240)");
          root.setProperty("--comfy-menu-secondary-bg", "rgb(255, 255, 255)");
          root.setProperty("--comfy-input-bg", "rgb(255, 255, 255)");
          root.setProperty("--border-color", "rgb(200, 200, 200)");
          root.setProperty("--descrip-text", "rgb(90, 90, 90)");
        }"""
    )
    color = panel.page.eval_on_selector(".phx-panel", "el => getComputedStyle(el).color")
    item_bg = panel.page.eval_on_selector(".phx-item", "el => getComputedStyle(el).backgroundColor")
    assert (color, item_bg) == ("rgb(17, 17, 17)", "rgb(255, 255, 255)")
    panel.page.locator(".sidebar-content").screenshot(
        path=str(ARTIFACTS / "panel-harness-light.png")
    )

    # At a narrow sidebar nothing overflows sideways.
    panel.page.evaluate(
        "() => { document.querySelector('.sidebar-content').style.width = '240px'; }"
    )
    overflow = panel.page.eval_on_selector(".phx-panel", "el => el.scrollWidth - el.clientWidth")
    assert overflow <= 0
    panel.page.locator(".sidebar-content").screenshot(
        path=str(ARTIFACTS / "panel-harness-narrow.png")
    )


# -- the real ComfyUI ---------------------------------------------------------------------------
FRONTENDS = [
    pytest.param("", id="pinned-frontend"),
    pytest.param(
        NEWEST_FRONTEND,
        id="newest-frontend",
        marks=pytest.mark.skipif(
            not NEWEST_FRONTEND,
            reason="COMFYUI_FRONTEND_PACKAGE (a comfyui_frontend_package wheel or folder) is not set",
        ),
    ),
]


@dataclass
class PhoenixProblems:
    """What the page logged that Phoenix caused (ComfyUI logs some errors of its own)."""

    items: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        ours = (f"/extensions/{NODE_NAME}/", "/phoenix/")
        page.on("console", lambda m: self._console(m, ours))
        page.on("pageerror", lambda e: self._page_error(e, ours))
        page.on(
            "response",
            lambda r: (
                self.items.append(f"HTTP {r.status} {r.url}")
                if r.status >= 400 and any(o in r.url for o in ours)
                else None
            ),
        )

    def _console(self, message: Any, ours: tuple[str, ...]) -> None:
        where = (message.location or {}).get("url", "")
        if message.type == "error" and (
            any(o in where for o in ours) or "[phoenix]" in message.text
        ):
            self.items.append(f"console: {message.text} ({where})")

    def _page_error(self, error: Any, ours: tuple[str, ...]) -> None:
        stack = getattr(error, "stack", "") or str(error)
        if any(o in stack for o in ours):
            self.items.append(f"page error: {stack}")


@needs_comfyui[0]
@needs_comfyui[1]
@pytest.mark.parametrize("frontend", FRONTENDS)
def test_the_panel_works_in_the_real_comfyui(
    browser: Any,
    tmp_path: Path,
    slow_files: FileServer,
    frontend: str,
    request: pytest.FixtureRequest,
) -> None:
    host_lora(slow_files, "film-grain-flux.safetensors", size=12_000_000)
    host_lora(slow_files, "detail-tweaker.safetensors", size=600_000)
    args = []
    if frontend:
        args = ["--front-end-root", str(frontend_root(Path(frontend), tmp_path / "frontend"))]
    comfy = ComfyUI(Path(COMFYUI_DIR), Path(COMFYUI_PYTHON), tmp_path / "comfyui")
    env = {
        "PHOENIX_ALLOWED_HOSTS": "127.0.0.1",
        "PHOENIX_ALLOW_PRIVATE_NETWORKS": "true",
        "PHOENIX_ENGINE": "python",
    }
    page = None
    try:
        comfy.start(env=env, args=args)
        failure = comfy.import_failure()
        assert failure is None, f"ComfyUI could not import Phoenix:\n{failure}"
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        problems = PhoenixProblems()
        problems.watch(page)
        page.goto(comfy.url + "/")
        page.locator(TAB_BUTTON).first.wait_for(timeout=90_000)
        panel = Panel(page, comfy.url)
        panel.open()
        titles = page.locator(".phx-section:not([hidden]) > summary").all_inner_texts()
        assert [t.strip().lower() for t in titles] == [
            "add a model",
            "find models",
            "downloads",
            "this workflow's models",
            "library",
            "status",
            "tokens",
        ]
        page.locator(".phx-status .phx-gauge").first.wait_for()

        done = panel.add_download(file_url(slow_files, "detail-tweaker.safetensors"))
        panel.wait_state(done, "done")
        page.get_by_text("Download finished").first.wait_for()
        done.get_by_role("button", name="Add loader node").click()
        done.locator('.phx-note:has-text("LoraLoader")').wait_for()
        chosen = page.evaluate(
            """() => window.comfyAPI.app.app.graph.nodes
                 .filter(n => n.type === "LoraLoader")
                 .map(n => n.widgets.find(w => w.name === "lora_name").value)"""
        )
        assert "detail-tweaker.safetensors" in chosen

        running = panel.add_download(file_url(slow_files, "film-grain-flux.safetensors"))
        panel.wait_progress(running, 20)
        panel.section("library").locator(".phx-model").first.wait_for()
        # The default workflow's own model metadata (newer frontends ship some) is read too.
        workflow = panel.section("workflow")
        summary = workflow.locator(".phx-workflow__summary")
        summary.filter(has_text=re.compile("missing|models|is here|cannot be fetched")).wait_for()
        assert workflow.locator('.phx-badge:text-is("checking")').count() == 0
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"panel-comfyui-{request.node.callspec.id}.png"))

        panel.close()
        assert panel.debug()["mounts"] == 0 and panel.debug()["eventSources"] == 0
        panel.open()
        assert page.locator(".phx-job").count() == 2
        assert problems.items == []
    finally:
        if page is not None:
            page.close()
        comfy.stop()
