"""The panel as a model manager, in real headless Chromium against the real routes.

A folder per file of a plan, files that are not models, the loader nodes a plan names,
tokens checked against their accounts, a bounded downloads list that stays cleared, one
toast per download, the boot preload at the sidebar's default width, placeholder
contrast in both themes, and no requests while nothing happens. The page and its
fixtures are ``test_panel_browser``'s (``tests/panel_harness``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from peers.browser import needs_chromium
from peers.civitai import DEFAULT_TOKEN, CivitaiServer
from peers.comfyui import COMFYUI_DIR, COMFYUI_PYTHON, ComfyUI, frontend_root, needs_comfyui
from peers.files import FileServer
from peers.flux_repos import host_public_flux
from peers.hf import HFServer
from peers.models import (
    SD_CHECKPOINT,
    safetensors_bytes,
)
from test_panel_browser import (
    ARTIFACTS,
    FRONTENDS,
    TAB_BUTTON,
    Panel,
    PhoenixProblems,
    browser,
    file_url,
    host_lora,
    open_panel,
    slow_files,
)

from comfyui_phoenix.folders import StandardLayout
from comfyui_phoenix.jobs.store import StateStore
from comfyui_phoenix.jobs.verified import VerifiedFiles
from comfyui_phoenix.plan import PlannedFile

__all__ = ["browser", "open_panel", "slow_files"]  # fixtures, used by name

pytestmark = [pytest.mark.browser, needs_chromium]

FLUX_DEV = "black-forest-labs/FLUX.1-dev"
HF_TOKEN_OK = "hf_panelAccountToken0123456789abcd"
#: ComfyUI's sidebar opens about this wide (253 px measured in frontend 1.27.10).
DEFAULT_WIDTH = "250px"
#: ComfyUI's "light" palette (comfy_base), as frontend 1.27.10 ships it.
LIGHT_PALETTE = {
    "--fg-color": "#222",
    "--bg-color": "#DDD",
    "--comfy-menu-bg": "#F5F5F5",
    "--comfy-menu-secondary-bg": "#EEE",
    "--comfy-input-bg": "#C9C9C9",
    "--input-text": "#222",
    "--descrip-text": "#444",
    "--error-text": "#F44336",
    "--border-color": "#888",
    "--content-hover-bg": "#adadad",
}

# Contrast of an element's colour (or its ::placeholder's) on its own background, WCAG 2.x.
CONTRAST_JS = """
([el, pseudo]) => {
  const parse = (c) => c.match(/[\\d.]+/g).map(Number);
  const style = getComputedStyle(el, pseudo);
  let [r, g, b, a = 1] = parse(style.color);
  let bg = null;
  for (let node = el; node && !bg; node = node.parentElement) {
    const c = parse(getComputedStyle(node).backgroundColor);
    if ((c[3] ?? 1) > 0) bg = c;
  }
  bg = bg ?? [255, 255, 255];
  [r, g, b] = [r, g, b].map((v, i) => v * a + bg[i] * (1 - a));
  const lum = ([x, y, z]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(x) + 0.7152 * f(y) + 0.0722 * f(z);
  };
  const [hi, lo] = [lum([r, g, b]), lum(bg)].sort((p, q) => q - p);
  return (hi + 0.05) / (lo + 0.05);
}
"""


def host_flux(server: HFServer, work: Path) -> dict[str, Any]:
    """The FLUX family's repositories, tiny, public, laid out from the catalog: its settings."""
    return {"flux_catalog": host_public_flux(server, work)}


def plan_row(add: Any, filename: str) -> Any:
    return add.locator(".phx-plan .phx-item").filter(
        has=add.page.locator(f'.phx-item__name:text-is("{filename}")')
    )


def destinations(add: Any) -> dict[str, str]:
    rows = add.locator(".phx-plan .phx-item")
    out = {}
    for index in range(rows.count()):
        row = rows.nth(index)
        out[row.locator(".phx-item__name").inner_text()] = (
            row.locator(".phx-item__sub").inner_text().removeprefix("→ ")
        )
    return out


def set_width(panel: Panel, width: str) -> None:
    panel.page.evaluate(
        "(w) => { document.querySelector('.sidebar-content').style.width = w; }", width
    )


def use_palette(panel: Panel, palette: dict[str, str]) -> None:
    panel.page.evaluate(
        "(p) => { for (const [k, v] of Object.entries(p)) "
        "document.documentElement.style.setProperty(k, v); }",
        palette,
    )


def api_jobs(panel: Panel) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = panel.page.request.get(
        panel.url + "/api/phoenix/downloads"
    ).json()["jobs"]
    return jobs


# -- "Save to" belongs to one file --------------------------------------------------------------
def test_save_to_moves_one_file_and_the_rest_of_a_flux_plan_keeps_its_folders(
    open_panel: Callable[..., Panel], hf_server: HFServer, models_dir: Path, tmp_path: Path
) -> None:
    flux = host_flux(hf_server, tmp_path / "catalog")
    panel = open_panel(hf_endpoint=hf_server.url, t5="fp16", **flux)
    panel.open()
    add = panel.check(FLUX_DEV)
    add.locator(".phx-plan .phx-item").nth(3).wait_for()
    planned = {
        "flux1-dev.safetensors": "diffusion_models/flux1-dev.safetensors",
        "ae.safetensors": "vae/ae.safetensors",
        "clip_l.safetensors": "text_encoders/clip_l.safetensors",
        "t5xxl_fp16.safetensors": "text_encoders/t5xxl_fp16.safetensors",
    }
    assert destinations(add) == planned
    assert add.locator(".phx-item__warn").count() == 0

    transformer = plan_row(add, "flux1-dev.safetensors")
    select = transformer.get_by_label("Save to")
    assert select.input_value() == "diffusion_models"
    assert "diffusion_models (auto)" in select.inner_text()
    select.select_option("loras")
    warning = plan_row(add, "flux1-dev.safetensors").locator(".phx-item__warn")
    warning.wait_for()
    assert "UNETLoader" in warning.inner_text() and "diffusion_models/" in warning.inner_text()
    assert destinations(add) == {**planned, "flux1-dev.safetensors": "loras/flux1-dev.safetensors"}
    # The keyboard stays on the choice that was just made.
    focused = panel.page.evaluate("() => document.activeElement.closest('.phx-item')?.innerText")
    assert "flux1-dev.safetensors" in focused

    plan_row(add, "flux1-dev.safetensors").get_by_label("Save to").select_option("diffusion_models")
    warning.wait_for(state="detached")
    plan_row(add, "ae.safetensors").get_by_label("Save to").select_option("checkpoints")
    plan_row(add, "ae.safetensors").locator('.phx-item__sub:has-text("checkpoints/")').wait_for()
    assert destinations(add) == {**planned, "ae.safetensors": "checkpoints/ae.safetensors"}

    add.locator(".phx-download").click()
    for name in planned:
        panel.wait_state(panel.job(name), "done")
    assert (models_dir / "checkpoints" / "ae.safetensors").is_file()
    assert (models_dir / "diffusion_models" / "flux1-dev.safetensors").is_file()
    assert sorted(p.name for p in (models_dir / "text_encoders").iterdir()) == [
        "clip_l.safetensors",
        "t5xxl_fp16.safetensors",
    ]
    assert not (models_dir / "vae").exists()


# -- loader nodes --------------------------------------------------------------------------------
def test_add_loader_node_gives_each_file_the_loader_its_plan_names_side_by_side(
    open_panel: Callable[..., Panel], hf_server: HFServer, file_server: FileServer, tmp_path: Path
) -> None:
    flux = host_flux(hf_server, tmp_path / "catalog")
    file_server.add("base.safetensors", safetensors_bytes(SD_CHECKPOINT, seed=5))
    panel = open_panel(hf_endpoint=hf_server.url, t5="fp16", **flux)
    panel.page.evaluate(
        """() => { window.__harness.comboValues = {
             unet_name: ["flux1-dev.safetensors"], vae_name: ["ae.safetensors"],
             clip_name1: ["clip_l.safetensors", "t5xxl_fp16.safetensors"],
             clip_name2: ["clip_l.safetensors", "t5xxl_fp16.safetensors"],
             type: ["sdxl", "sd3", "flux"], ckpt_name: ["base.safetensors"] }; }"""
    )
    panel.open()
    add = panel.check(f"{FLUX_DEV} {file_url(file_server, 'base.safetensors')}")
    add.locator(".phx-plan .phx-item").nth(4).wait_for()
    add.locator(".phx-download").click()
    names = ["flux1-dev.safetensors", "ae.safetensors", "t5xxl_fp16.safetensors"]
    names += ["clip_l.safetensors", "base.safetensors"]
    for name in names:
        row = panel.job(name)
        panel.wait_state(row, "done")
        row.get_by_role("button", name="Add loader node").click()
        row.locator(".phx-note").filter(has_text="canvas").wait_for()
    encoders = panel.job("clip_l.safetensors").locator(".phx-note").inner_text()
    assert "DualCLIPLoader with t5xxl_fp16.safetensors and clip_l.safetensors" in encoders

    nodes = panel.page.evaluate(
        """() => window.__harness.app.graph.nodes.map(n => ({
             type: n.type, pos: Array.from(n.pos), size: Array.from(n.size),
             values: Object.fromEntries(n.widgets.map(w => [w.name, w.value])) }))"""
    )
    assert [(n["type"], n["values"]) for n in nodes] == [
        ("UNETLoader", {"unet_name": "flux1-dev.safetensors", "weight_dtype": ""}),
        ("VAELoader", {"vae_name": "ae.safetensors"}),
        (
            "DualCLIPLoader",
            {
                "clip_name1": "t5xxl_fp16.safetensors",
                "clip_name2": "clip_l.safetensors",
                "type": "flux",
            },
        ),
        ("CheckpointLoaderSimple", {"ckpt_name": "base.safetensors"}),
    ]
    title = 30
    boxes = [(n["pos"][0], n["pos"][1] - title, n["size"][0], n["size"][1] + title) for n in nodes]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            overlap = (
                a[0] < b[0] + b[2]
                and b[0] < a[0] + a[2]
                and a[1] < b[1] + b[3]
                and b[1] < a[1] + a[3]
            )
            assert not overlap, f"nodes stacked on one spot: {boxes}"


# -- files that are not models ---------------------------------------------------------------------
def test_a_text_file_is_refused_and_the_library_deletes_what_phoenix_placed(
    open_panel: Callable[..., Panel], file_server: FileServer, models_dir: Path
) -> None:
    file_server.add("notes.txt", b"remember the milk\n")
    placed = models_dir / "checkpoints" / "old-notes.txt"
    placed.parent.mkdir()
    placed.write_text("placed before Phoenix refused such files\n")
    url = "https://example.com/old-notes.txt"
    file = PlannedFile(url, "url", url, "old-notes.txt", "checkpoints")
    VerifiedFiles(StandardLayout(models_dir), StateStore(models_dir / ".phoenix")).record(
        file, placed, None
    )
    panel = open_panel()
    panel.open()
    add = panel.check(file_url(file_server, "notes.txt"))
    problem = add.locator(".phx-problem")
    assert "notes.txt is not a model file" in problem.inner_text()
    assert ".safetensors" in problem.locator(".phx-problem__hint").inner_text()
    assert (
        add.locator(".phx-download").count() == 0
        and add.locator(".phx-plan .phx-item").count() == 0
    )
    assert list(models_dir.rglob("notes.txt")) == []

    library = panel.section("library")
    model = library.locator('.phx-model[data-name="old-notes.txt"]')
    model.wait_for()
    model.get_by_role("button", name="Delete old-notes.txt").click()
    model.get_by_role("button", name="Yes, delete old-notes.txt").click()
    model.wait_for(state="detached")
    assert not placed.exists()


# -- tokens ----------------------------------------------------------------------------------------
def test_saved_tokens_are_checked_and_the_fixes_name_the_panel(
    open_panel: Callable[..., Panel], hf_server: HFServer, civitai_server: CivitaiServer
) -> None:
    hf_server.valid_tokens.add(HF_TOKEN_OK)
    hf_server.add_repo(
        "acme/gated-model", {"model.safetensors": safetensors_bytes(SD_CHECKPOINT)}, gated=True
    )
    panel = open_panel(hf_endpoint=hf_server.url, civitai_base_url=civitai_server.url)
    panel.open()
    tokens = panel.section("tokens")
    hf = tokens.locator('[data-token="huggingface"]')
    hf.locator("input").fill("hf_mistyped0123456789")
    hf.locator("input").press("Enter")
    refused = hf.locator(".phx-token__account .phx-problem")
    refused.wait_for()
    assert "HuggingFace refused the HuggingFace token saved in the panel." in refused.inner_text()
    assert "Tokens section" in refused.locator(".phx-problem__hint").inner_text()

    hf.locator("input").fill(HF_TOKEN_OK)
    hf.locator("input").press("Enter")
    hf.locator(".phx-token__ok").filter(has_text="HuggingFace account: phoenix-tester").wait_for()
    add = panel.check("acme/gated-model/model.safetensors")
    fix = add.locator(".phx-problem").inner_text()
    assert "the panel's HuggingFace token" in fix and "HF_TOKEN" not in fix

    civitai = tokens.locator('[data-token="civitai"]')
    civitai.locator("input").fill(DEFAULT_TOKEN)
    civitai.locator("input").press("Enter")
    civitai.locator(".phx-token__ok").filter(has_text="CivitAI account: phoenix-civitai").wait_for()
    assert [r.path for r in civitai_server.api_requests].count("/api/v1/me") >= 1
    assert HF_TOKEN_OK not in panel.page.content() and DEFAULT_TOKEN not in panel.page.content()


# -- the downloads list ----------------------------------------------------------------------------
def test_the_downloads_list_folds_repeats_caps_finished_rows_and_stays_cleared(
    open_panel: Callable[..., Panel], file_server: FileServer
) -> None:
    for index in range(23):
        host_lora(file_server, f"lora-{index:02}.safetensors", size=2_000)
    panel = open_panel()
    panel.open()
    first = panel.add_download(file_url(file_server, "lora-00.safetensors"))
    panel.wait_state(first, "done")
    for _ in range(4):  # a node run asking for it again, four times
        panel.page.request.post(
            panel.url + "/api/phoenix/downloads",
            data={"refs": [file_url(file_server, "lora-00.safetensors")]},
        )
    first.locator('.phx-item__meta:has-text("Already present")').wait_for()
    assert panel.page.locator(".phx-job").count() == 1

    rest = [file_url(file_server, f"lora-{i:02}.safetensors") for i in range(1, 23)]
    panel.page.request.post(panel.url + "/api/phoenix/downloads", data={"refs": rest})
    panel.page.wait_for_function("() => window.__phoenixDebug.jobs === 23")
    downloads = panel.section("downloads")
    older = downloads.get_by_role("button", name="Show 3 older")
    older.wait_for()
    assert panel.page.locator(".phx-job[data-state=done]").count() == 20
    first_row = panel.page.locator(".phx-job .phx-item__name").first.inner_text()
    assert first_row == "lora-22.safetensors", "newest first"
    older.click()
    assert panel.page.locator(".phx-job").count() == 23
    downloads.get_by_role("button", name="Show fewer").click()
    assert panel.page.locator(".phx-job").count() == 20

    downloads.get_by_role("button", name="Clear finished").click()
    panel.page.locator(".phx-job").first.wait_for(state="detached")
    assert api_jobs(panel) == []
    panel.page.reload()
    panel.page.wait_for_function("() => window.__harness && window.__harness.ready")
    panel.open()
    assert panel.page.locator(".phx-job").count() == 0
    assert downloads.locator(".phx-empty").is_visible()


def test_one_toast_per_finished_download_and_none_for_a_file_already_here(
    open_panel: Callable[..., Panel], file_server: FileServer
) -> None:
    host_lora(file_server, "grain.safetensors", size=50_000)
    panel = open_panel()
    panel.open()
    row = panel.add_download(file_url(file_server, "grain.safetensors"))
    panel.wait_state(row, "done")
    job_id = row.get_attribute("data-job-id")
    # ComfyUI's websocket says it too (once per job), and may say it twice after a reconnect.
    notice = """([id, skipped]) => window.__harness.api.dispatchEvent(new CustomEvent(
        "phoenix.job.done", {detail: {id, relpath: "loras/grain.safetensors", skipped}}))"""
    panel.page.evaluate(notice, [job_id, False])
    panel.page.evaluate(notice, [job_id, False])
    panel.page.request.post(  # asked for again, as a node run does
        panel.url + "/api/phoenix/downloads",
        data={"refs": [file_url(file_server, "grain.safetensors")]},
    )
    row.locator('.phx-item__meta:has-text("Already present")').wait_for()
    panel.page.evaluate(notice, ["0123456789ab", True])
    panel.page.wait_for_timeout(300)
    toasts = panel.harness_value("toasts")
    assert [(t["severity"], t["summary"]) for t in toasts] == [("success", "Download finished")]


# -- the boot preload at the default width -----------------------------------------------------------
def test_preload_says_downloading_at_24_percent_and_its_badges_fit_the_default_width(
    open_panel: Callable[..., Panel], slow_files: FileServer
) -> None:
    host_lora(slow_files, "flux-realism-lora-with-a-long-name.safetensors", size=6_000_000)
    ref = file_url(slow_files, "flux-realism-lora-with-a-long-name.safetensors")
    panel = open_panel(models_to_download=ref)
    panel.open()
    set_width(panel, DEFAULT_WIDTH)
    preload = panel.section("preload")
    sub = preload.locator(".phx-subitem")
    sub.locator(".phx-badge").filter(has_text=re.compile(r"^\d+%$")).wait_for()
    item = preload.locator(".phx-item").first
    assert item.locator(".phx-item__top .phx-badge").inner_text().lower() == "downloading"
    geometry = panel.page.evaluate(
        """() => [...document.querySelectorAll('[data-section=preload] .phx-badge')].map(b => {
             const row = b.parentElement.getBoundingClientRect(), r = b.getBoundingClientRect();
             return {right: r.right, rowRight: row.right, height: r.height,
                     lineHeight: parseFloat(getComputedStyle(b).lineHeight) || 16}; })"""
    )
    for badge in geometry:
        assert badge["right"] <= badge["rowRight"] + 0.5, geometry
        assert badge["height"] < 2 * badge["lineHeight"], (
            f"a badge broke over two lines: {geometry}"
        )
    overflow = panel.page.eval_on_selector(".phx-panel", "el => el.scrollWidth - el.clientWidth")
    assert overflow <= 0
    ARTIFACTS.mkdir(exist_ok=True)
    preload.screenshot(path=str(ARTIFACTS / "panel-preload-dark.png"))
    use_palette(panel, LIGHT_PALETTE)
    preload.screenshot(path=str(ARTIFACTS / "panel-preload-light.png"))


# -- contrast and idle ----------------------------------------------------------------------------
@pytest.mark.parametrize("theme", ["dark", "light"])
def test_placeholders_read_at_4_5_to_1_in_both_themes(
    open_panel: Callable[..., Panel], theme: str
) -> None:
    panel = open_panel()
    if theme == "light":
        use_palette(panel, LIGHT_PALETTE)
    panel.open()
    panel.section("library")
    panel.section("tokens")
    inputs = panel.page.locator(".phx-panel input[placeholder]")
    assert inputs.count() >= 4
    for index in range(inputs.count()):
        field = inputs.nth(index)
        ratio = panel.page.evaluate(CONTRAST_JS, [field.element_handle(), "::placeholder"])
        assert ratio >= 4.5, f"{field.get_attribute('placeholder')!r}: {ratio:.2f}:1 in {theme}"


def test_at_idle_the_panel_makes_no_requests(
    open_panel: Callable[..., Panel], file_server: FileServer
) -> None:
    host_lora(file_server, "idle.safetensors", size=20_000)
    panel = open_panel()
    requests: list[str] = []
    panel.page.on("request", lambda r: requests.append(r.url))
    panel.open()
    done = panel.add_download(file_url(file_server, "idle.safetensors"))
    panel.wait_state(done, "done")
    for name in ("library", "tokens", "workflow"):
        panel.section(name)
    panel.page.wait_for_timeout(2_000)  # the library and tokens load once, on opening
    settled = len(requests)
    panel.page.wait_for_timeout(6_000)
    assert requests[settled:] == []
    streams = [u for u in requests if u.endswith("/phoenix/events")]
    assert len(streams) == 1, "the events stream stays the only connection"
    assert panel.page.locator(TAB_BUTTON).count() == 1


# -- the real ComfyUI ---------------------------------------------------------------------------
# Counts each toast that appears with this title (screen-reader copies left out): what a user sees.
TOAST_COUNTER = """
(() => {
  window.__finishedToasts = 0;
  const seen = new WeakSet();
  const look = (node) => {
    if (!(node instanceof Element)) return;
    for (const el of [node, ...node.querySelectorAll("*")]) {
      if (seen.has(el) || el.childElementCount || el.textContent.trim() !== "Download finished") continue;
      if (el.closest(".sr-only, [aria-hidden=true]")) continue;
      seen.add(el);
      window.__finishedToasts += 1;
    }
  };
  new MutationObserver((records) => records.forEach((r) => r.addedNodes.forEach(look)))
    .observe(document, { childList: true, subtree: true });
})();
"""


def real_loader_nodes(page: Any) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = page.evaluate(
        """() => window.comfyAPI.app.app.graph.nodes.map(n => ({
             id: n.id, type: n.type, pos: Array.from(n.pos), size: Array.from(n.size),
             values: Object.fromEntries((n.widgets ?? []).map(w => [w.name, w.value])) }))"""
    )
    return nodes


def overlapping(nodes: list[dict[str, Any]], ours: set[int], title: float) -> list[Any]:
    boxes = {
        n["id"]: (n["pos"][0], n["pos"][1] - title, n["size"][0], n["size"][1] + title)
        for n in nodes
    }
    found = []
    for mine in ours:
        a = boxes[mine]
        for other, b in boxes.items():
            if (
                other != mine
                and a[0] < b[0] + b[2]
                and b[0] < a[0] + a[2]
                and a[1] < b[1] + b[3]
                and b[1] < a[1] + a[3]
            ):
                found.append((mine, other))
    return found


def shoot_sections(page: Any, theme: str, tag: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for name in ("add", "downloads", "tokens", "preload"):
        section = page.locator(f'.phx-section[data-section="{name}"]')
        section.scroll_into_view_if_needed()
        section.screenshot(path=str(ARTIFACTS / f"comfyui-{tag}-{name}-{theme}.png"))


@needs_comfyui[0]
@needs_comfyui[1]
@pytest.mark.parametrize("frontend", FRONTENDS)
def test_the_fixed_sections_in_the_real_comfyui(
    browser: Any,
    tmp_path: Path,
    slow_files: FileServer,
    hf_server: HFServer,
    civitai_server: CivitaiServer,
    frontend: str,
    request: pytest.FixtureRequest,
) -> None:
    flux = host_flux(hf_server, tmp_path / "catalog")
    hf_server.valid_tokens.add(HF_TOKEN_OK)
    preloaded = "boot-lora-with-a-long-file-name.safetensors"
    host_lora(slow_files, preloaded, size=60_000_000)
    args = []
    if frontend:
        args = ["--front-end-root", str(frontend_root(Path(frontend), tmp_path / "frontend"))]
    comfy = ComfyUI(Path(COMFYUI_DIR), Path(COMFYUI_PYTHON), tmp_path / "comfyui")
    env = {
        "PHOENIX_ALLOWED_HOSTS": "127.0.0.1",
        "PHOENIX_ALLOW_PRIVATE_NETWORKS": "true",
        "PHOENIX_ENGINE": "python",
        "PHOENIX_T5": "fp16",
        "PHOENIX_MAX_DOWNLOAD_RATE": "1MB",  # the boot preload takes a minute: time to look
        "HF_ENDPOINT": hf_server.url,
        "PHOENIX_FLUX_CATALOG": str(flux["flux_catalog"]),
        "PHOENIX_CIVITAI_BASE_URL": civitai_server.url,
        "PHOENIX_MODELS_TO_DOWNLOAD": file_url(slow_files, preloaded),
    }
    tag = f"{Path(COMFYUI_DIR).parent.name}-{request.node.callspec.id}"
    page = None
    try:
        comfy.start(env=env, args=args)
        assert comfy.import_failure() is None, comfy.log_tail()
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        problems = PhoenixProblems()
        problems.watch(page)
        page.add_init_script(TOAST_COUNTER)
        page.goto(comfy.url + "/")
        page.locator(TAB_BUTTON).first.wait_for(timeout=90_000)
        panel = Panel(page, comfy.url)
        panel.open()

        # The boot preload, at the sidebar's own width: downloading, badges on one line.
        preload = panel.section("preload")
        preload.locator(".phx-subitem .phx-badge").filter(has_text=re.compile(r"^\d+%$")).wait_for()
        assert (
            preload.locator(".phx-item__top .phx-badge").first.inner_text().lower() == "downloading"
        )
        heights = page.eval_on_selector_all(
            "[data-section=preload] .phx-badge",
            "bs => bs.map(b => b.getBoundingClientRect().height)",
        )
        assert max(heights) < 24, f"a preload badge broke over lines: {heights}"

        # "Save to" belongs to one file of a FLUX plan, and says when it leaves the loader's folder.
        add = panel.check(FLUX_DEV)
        add.locator(".phx-plan .phx-item").nth(3).wait_for()
        plan_row(add, "flux1-dev.safetensors").get_by_label("Save to").select_option("loras")
        plan_row(add, "flux1-dev.safetensors").locator(".phx-item__warn").wait_for()
        assert destinations(add)["ae.safetensors"] == "vae/ae.safetensors"

        # Tokens checked against their accounts.
        tokens = panel.section("tokens")
        for name, value, account in (
            ("huggingface", HF_TOKEN_OK, "phoenix-tester"),
            ("civitai", DEFAULT_TOKEN, "phoenix-civitai"),
        ):
            form = tokens.locator(f'[data-token="{name}"]')
            form.locator("input").fill(value)
            form.locator("input").press("Enter")
            form.locator(".phx-token__ok").filter(has_text=account).wait_for()
        shoot_sections(page, "dark", tag)

        # Download the plan as the panel suggests it; each file gets the loader its plan names.
        plan_row(add, "flux1-dev.safetensors").get_by_label("Save to").select_option(
            "diffusion_models"
        )
        plan_row(add, "flux1-dev.safetensors").locator(".phx-item__warn").wait_for(state="detached")
        add.locator(".phx-download").click()
        before = {n["id"] for n in real_loader_nodes(page)}
        for name in (
            "flux1-dev.safetensors",
            "ae.safetensors",
            "t5xxl_fp16.safetensors",
            "clip_l.safetensors",
        ):
            row = panel.job(name)
            panel.wait_state(row, "done")
            row.get_by_role("button", name="Add loader node").click()
            row.locator(".phx-note").filter(has_text="canvas").wait_for()
        nodes = real_loader_nodes(page)
        ours = {n["id"] for n in nodes} - before
        added = {n["type"]: n["values"] for n in nodes if n["id"] in ours}
        assert set(added) == {"UNETLoader", "VAELoader", "DualCLIPLoader"}, added
        assert added["UNETLoader"]["unet_name"] == "flux1-dev.safetensors"
        assert added["VAELoader"]["vae_name"] == "ae.safetensors"
        dual = added["DualCLIPLoader"]
        assert (dual["clip_name1"], dual["clip_name2"], dual["type"]) == (
            "t5xxl_fp16.safetensors",
            "clip_l.safetensors",
            "flux",
        )
        title = page.evaluate("() => window.LiteGraph?.NODE_TITLE_HEIGHT ?? 30")
        assert overlapping(nodes, ours, title) == [], f"a new node covers another: {nodes}"

        # One toast per finished download, none for files that were already here.
        page.wait_for_function("() => window.__finishedToasts >= 4")
        page.request.post(comfy.url + "/api/phoenix/downloads", data={"refs": [FLUX_DEV]})
        page.wait_for_timeout(1500)
        assert page.evaluate("() => window.__finishedToasts") == 4

        # At idle (the preload cancelled, nothing changing) the panel asks nothing.
        boot = panel.job(preloaded)
        boot.get_by_role("button", name="Cancel").click()
        panel.wait_state(boot, "cancelled")
        page.wait_for_timeout(2000)
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url) if "/phoenix/" in r.url else None)
        page.wait_for_timeout(6000)
        assert asked == []

        # The light theme: the placeholders still read at 4.5:1.
        field = page.query_selector(".phx-panel input.phx-input")
        dark = page.evaluate("(el) => getComputedStyle(el).backgroundColor", field)
        page.evaluate(
            "() => window.comfyAPI.app.app.extensionManager.setting.set("
            "'Comfy.ColorPalette', 'light')"
        )
        page.wait_for_function(
            "([el, bg]) => getComputedStyle(el).backgroundColor !== bg", arg=[field, dark]
        )
        ratios = [
            page.evaluate(CONTRAST_JS, [field, "::placeholder"])
            for field in page.query_selector_all(".phx-panel input[placeholder]")
        ]
        assert ratios and min(ratios) >= 4.5, ratios
        add = panel.check(FLUX_DEV)
        plan_row(add, "flux1-dev.safetensors").get_by_label("Save to").select_option("loras")
        plan_row(add, "flux1-dev.safetensors").locator(".phx-item__warn").wait_for()
        shoot_sections(page, "light", tag)
        assert problems.items == []
    finally:
        if page is not None:
            page.close()
        comfy.stop()
