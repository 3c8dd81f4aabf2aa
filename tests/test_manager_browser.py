"""The panel as a model manager, in real headless Chromium against the real routes.

Search, the version and file picker, descriptions and previews, lookups by hash, renames and
moves, and models dragged from the Library onto the canvas or onto a loader node. The page
is the panel harness (``tests/panel_harness``) with the local CivitAI and hub behind Phoenix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import test_panel_browser as panel_tests
from peers.browser import needs_chromium
from peers.civitai import CivitaiServer
from peers.comfyui import COMFYUI_DIR, COMFYUI_PYTHON, ComfyUI, frontend_root, needs_comfyui
from peers.models import random_bytes
from served import SAFE_IMAGE, STYLE_LORA, STYLE_LORA_FP8, host_gallery

Panel = panel_tests.Panel
browser = panel_tests.browser
open_panel = panel_tests.open_panel

pytestmark = [pytest.mark.browser, needs_chromium]

MINE = random_bytes(40_000, seed=9)


@pytest.fixture
def civitai(civitai_server: CivitaiServer) -> CivitaiServer:
    return host_gallery(civitai_server)


@pytest.fixture
def requests_seen() -> Iterator[Callable[[Any], list[str]]]:
    """Record every URL a page asks for (to prove nothing leaves for another site)."""
    seen: dict[int, list[str]] = {}

    def watch(page: Any) -> list[str]:
        urls = seen.setdefault(id(page), [])
        page.on("request", lambda r: urls.append(r.url))
        return urls

    yield watch


def search(panel: Panel, text: str) -> Any:
    section = panel.section("search")
    section.locator("input[type=search]").fill(text)
    section.locator("input[type=search]").press("Enter")
    section.locator(".phx-hit, .phx-empty, .phx-problem").first.wait_for()
    return section


def test_search_describes_models_from_phoenix_s_own_origin_and_checks_one_in_add(
    open_panel: Callable[..., Panel],
    civitai: CivitaiServer,
    requests_seen: Callable[[Any], list[str]],
) -> None:
    panel = open_panel(civitai_base_url=civitai.url)
    urls = requests_seen(panel.page)
    panel.open()
    section = search(panel, "film")
    hits = section.locator(".phx-hit")
    assert hits.count() == 2, "the NSFW model stays hidden"
    style = hits.filter(has_text="Film Grain Style")
    assert "Flux.1 D" in style.inner_text() and "↓ 5.4k" in style.inner_text()
    image = style.locator("img.phx-meta__preview")
    image.wait_for()
    panel.page.wait_for_function(
        "img => img.complete && img.naturalWidth === 8", arg=image.element_handle()
    )
    assert image.evaluate("img => img.src").startswith(f"{panel.url}/api/phoenix/preview?")
    assert civitai.image_requests[-1].path.count("/width=450/") == 1

    section.locator("input[type=checkbox]").check()
    section.locator("input[type=search]").press("Enter")
    section.locator('.phx-hit:has-text("Film Adult Style")').wait_for()
    assert (
        section.locator('.phx-hit:has-text("Film Adult Style") .phx-badge:text-is("nsfw")').count()
        == 1
    )

    style.get_by_role("button", name="Check Film Grain Style in Add a model").click()
    add = panel.page.locator('.phx-section[data-section="add"]')
    plan = add.locator(".phx-plan .phx-item")
    plan.wait_for()
    assert add.locator("input.phx-input").input_value() == "civitai:710"
    assert "film_grain.safetensors" in plan.inner_text()
    assert "filmgrain" in plan.locator(".phx-meta__words").inner_text()
    assert "Licence: commercial use: Image, credit the creator" in plan.inner_text()
    foreign = [u for u in urls if not u.startswith(panel.url)]
    assert foreign == [], "the page never asks CivitAI or its image host itself"


def test_the_picker_in_add_chooses_a_version_and_a_file_before_anything_is_fetched(
    open_panel: Callable[..., Panel], civitai: CivitaiServer, models_dir: Path
) -> None:
    panel = open_panel(civitai_base_url=civitai.url)
    panel.open()
    add = panel.check("civitai:710")
    assert "film_grain.safetensors" in add.locator(".phx-plan .phx-item").inner_text()
    add.get_by_role("button", name="Other versions and files").click()
    picker = add.locator(".phx-picker")
    picker.locator(".phx-picker__file").first.wait_for()
    versions = picker.locator("select option").all_inner_texts()
    assert versions == ["v2.0 — Flux.1 D", "v1.0 — SDXL 1.0"]
    files = picker.locator(".phx-picker__file").all_inner_texts()
    assert any("film_grain_fp8.safetensors" in f and "pruned · fp8" in f for f in files)
    assert picker.locator("input[type=radio]:checked").get_attribute("value").endswith("+7101")
    # Keyboard: from the checked (primary) file, the arrow key picks the next one.
    picker.locator("input[type=radio]:checked").focus()
    panel.page.keyboard.press("ArrowDown")
    picker.get_by_role("button", name="Use this file").click()
    add.locator('.phx-plan .phx-item__name:text-is("film_grain_fp8.safetensors")').wait_for()
    add.locator(".phx-download").click()
    row = panel.job("film_grain_fp8.safetensors")
    panel.wait_state(row, "done")
    assert (models_dir / "loras" / "film_grain_fp8.safetensors").read_bytes() == STYLE_LORA_FP8
    assert not (models_dir / "loras" / "film_grain.safetensors").exists()

    add.locator("input.phx-input").fill("civitai:710")
    add.locator("button[type=submit]").click()
    add.get_by_role("button", name="Other versions and files").click()
    add.locator(".phx-picker select").select_option(label="v1.0 — SDXL 1.0")
    add.locator('.phx-picker__file:has-text("film_grain_v1.safetensors") input').wait_for()


def test_the_library_describes_models_and_looks_unknown_ones_up_by_hash(
    open_panel: Callable[..., Panel], civitai: CivitaiServer, models_dir: Path
) -> None:
    (models_dir / "loras").mkdir()
    (models_dir / "loras" / "grain-copy.safetensors").write_bytes(STYLE_LORA)
    (models_dir / "checkpoints").mkdir()
    (models_dir / "checkpoints" / "mine.safetensors").write_bytes(MINE)
    panel = open_panel(civitai_base_url=civitai.url)
    panel.open()
    library = panel.section("library")
    row = library.locator('.phx-model[data-name="grain-copy.safetensors"]')
    row.wait_for()
    assert row.get_by_role("button", name="Look up grain-copy.safetensors on CivitAI").is_visible()
    library.get_by_role("button", name="Look up every file Phoenix knows nothing about").click()
    library.locator('.phx-lookup__status:has-text("Lookup done")').wait_for()
    assert "1 found on CivitAI, 1 unknown" in library.locator(".phx-lookup__status").inner_text()
    row.locator('.phx-meta__title:has-text("Film Grain Style · v2.0")').wait_for()
    assert "filmgrain" in row.locator(".phx-meta__words").inner_text()
    assert row.locator('.phx-badge:text-is("looked up on CivitAI")').count() == 1
    image = row.locator("img.phx-meta__preview")
    panel.page.wait_for_function(
        "img => img.complete && img.naturalWidth === 8", arg=image.element_handle()
    )
    mine = library.locator('.phx-model[data-name="mine.safetensors"]')
    assert mine.locator('.phx-badge:text-is("not on CivitAI")').count() == 1
    assert (models_dir / ".phoenix" / "previews").is_dir()
    assert SAFE_IMAGE in [p.read_bytes() for p in (models_dir / ".phoenix" / "previews").iterdir()]


def test_the_library_renames_and_moves_a_model_and_says_why_not_when_it_cannot(
    open_panel: Callable[..., Panel], models_dir: Path
) -> None:
    (models_dir / "loras").mkdir()
    (models_dir / "loras" / "a.safetensors").write_bytes(STYLE_LORA)
    (models_dir / "loras" / "taken.safetensors").write_bytes(MINE)
    panel = open_panel()
    panel.allowed_errors = ("409 (Conflict)",)  # the clash below is the point
    panel.open()
    library = panel.section("library")
    row = library.locator('.phx-model[data-name="a.safetensors"]')
    row.get_by_role("button", name="Rename or move a.safetensors").click()
    name = row.get_by_label("New name for a.safetensors")
    assert name.evaluate("el => el === document.activeElement")
    name.fill("taken.safetensors")
    name.press("Enter")
    problem = row.locator(".phx-move__problem .phx-problem")
    problem.wait_for()
    assert "exists already" in problem.inner_text()
    assert (models_dir / "loras" / "a.safetensors").exists()

    row.get_by_label("Folder for a.safetensors").select_option("style_models")
    name.fill("flux/grain.safetensors")
    name.press("Enter")
    library.locator('.phx-model[data-name="flux/grain.safetensors"]').wait_for()
    assert library.locator('.phx-model[data-name="a.safetensors"]').count() == 0
    assert (models_dir / "style_models" / "flux" / "grain.safetensors").read_bytes() == STYLE_LORA
    panel.page.wait_for_function("() => window.__harness.refreshes > 0")


def test_a_library_model_dragged_onto_the_canvas_or_a_loader_node_is_loaded_there(
    open_panel: Callable[..., Panel], models_dir: Path
) -> None:
    (models_dir / "loras").mkdir()
    (models_dir / "loras" / "a.safetensors").write_bytes(STYLE_LORA)
    panel = open_panel()
    panel.page.evaluate(
        """() => {
          const h = window.__harness;
          h.comboValues = {lora_name: ["a.safetensors", "other.safetensors"]};
          const node = h.createNode("LoraLoader");
          node.pos = [400, 40];
          node.widgets[0].value = "other.safetensors";
          h.app.graph.add(node);
        }"""
    )
    panel.open()
    library = panel.section("library")
    row = library.locator('.phx-model[data-name="a.safetensors"]')
    canvas = panel.page.locator("main.canvas")
    row.drag_to(canvas, target_position={"x": 120, "y": 300})
    row.locator('.phx-note:has-text("Added a LoraLoader node")').wait_for()
    nodes = panel.page.evaluate(
        "() => window.__harness.app.graph.nodes.map(n => [n.type, n.widgets[0].value, n.pos])"
    )
    assert nodes[0][:2] == ["LoraLoader", "other.safetensors"]
    assert nodes[1][:2] == ["LoraLoader", "a.safetensors"]
    assert abs(nodes[1][2][0] - 120) <= 2 and abs(nodes[1][2][1] - 300) <= 2, "where it was dropped"

    row.drag_to(canvas, target_position={"x": 450, "y": 80})
    row.locator('.phx-note:has-text("Set on the LoraLoader node")').wait_for()
    values = panel.page.evaluate(
        "() => window.__harness.app.graph.nodes.map(n => n.widgets[0].value)"
    )
    assert values == ["a.safetensors", "a.safetensors"], "set on the node, no third node"

    # Without a mouse: the button adds a node, a step away from the last one.
    add = row.get_by_role("button", name="Add a.safetensors to the canvas")
    add.focus()
    panel.page.keyboard.press("Enter")
    panel.page.keyboard.press("Enter")
    panel.page.wait_for_function("() => window.__harness.app.graph.nodes.length === 4")
    placed = panel.page.evaluate("() => window.__harness.app.graph.nodes.slice(2).map(n => n.pos)")
    assert placed[0] != placed[1], "nodes are not stacked on one spot"


def test_at_idle_the_open_panel_asks_the_server_nothing(
    open_panel: Callable[..., Panel],
    civitai: CivitaiServer,
    models_dir: Path,
    requests_seen: Callable[[Any], list[str]],
) -> None:
    (models_dir / "loras").mkdir()
    (models_dir / "loras" / "a.safetensors").write_bytes(STYLE_LORA)
    panel = open_panel(civitai_base_url=civitai.url)
    panel.open()
    panel.section("library").locator(".phx-model").first.wait_for()
    search(panel, "film")
    panel.page.wait_for_load_state("networkidle")
    urls = requests_seen(panel.page)
    panel.page.wait_for_timeout(3000)
    assert urls == [], f"the idle panel asked for {urls}"


def test_the_manager_parts_follow_the_light_theme_at_the_sidebar_s_width(
    open_panel: Callable[..., Panel], civitai: CivitaiServer, models_dir: Path
) -> None:
    (models_dir / "loras").mkdir()
    (models_dir / "loras" / "grain-copy.safetensors").write_bytes(STYLE_LORA)
    panel = open_panel(civitai_base_url=civitai.url)
    panel.open()
    library = panel.section("library")
    library.get_by_role("button", name="Look up every file Phoenix knows nothing about").click()
    library.locator(".phx-meta__title").first.wait_for()
    search(panel, "film")
    panel.page.evaluate(
        """() => {
          const root = document.documentElement.style;
          root.setProperty("--fg-color", "rgb(17, 17, 17)");
          root.setProperty("--comfy-menu-bg", "rgb(240, 240, 240)");
          root.setProperty("--comfy-menu-secondary-bg", "rgb(255, 255, 255)");
          root.setProperty("--comfy-input-bg", "rgb(255, 255, 255)");
          root.setProperty("--border-color", "rgb(200, 200, 200)");
          root.setProperty("--descrip-text", "rgb(90, 90, 90)");
          document.querySelector('.sidebar-content').style.width = '250px';
        }"""
    )
    colours = panel.page.evaluate(
        """() => ['.phx-meta__title', '.phx-meta__licence', '.phx-meta__word'].map(
             s => getComputedStyle(document.querySelector(s)).color)"""
    )
    assert colours == ["rgb(17, 17, 17)", "rgb(90, 90, 90)", "rgb(17, 17, 17)"]
    overflow = panel.page.eval_on_selector(".phx-panel", "el => el.scrollWidth - el.clientWidth")
    assert overflow <= 0, "nothing overflows sideways at the sidebar's default width"
    panel_tests.ARTIFACTS.mkdir(exist_ok=True)
    panel.page.locator(".sidebar-content").screenshot(
        path=str(panel_tests.ARTIFACTS / "manager-harness-light.png")
    )


# -- the real ComfyUI ---------------------------------------------------------------------------
def _graph_point(page: Any, screen: tuple[int, int]) -> list[float]:
    """The graph position under a point of the page (LiteGraph's own conversion)."""
    return list(
        page.evaluate(
            "([x, y]) => Array.from(window.comfyAPI.app.app.canvas.convertEventToCanvasOffset({clientX: x, clientY: y}))",
            list(screen),
        )
    )


@needs_comfyui[0]
@needs_comfyui[1]
@pytest.mark.parametrize("frontend", panel_tests.FRONTENDS)
def test_the_model_manager_in_the_real_comfyui(
    browser: Any,
    tmp_path: Path,
    civitai: CivitaiServer,
    frontend: str,
    request: pytest.FixtureRequest,
) -> None:
    base = tmp_path / "comfyui"
    (base / "models" / "loras").mkdir(parents=True)
    (base / "models" / "loras" / "grain-copy.safetensors").write_bytes(STYLE_LORA)
    args = []
    if frontend:
        args = ["--front-end-root", str(frontend_root(Path(frontend), tmp_path / "frontend"))]
    comfy = ComfyUI(Path(COMFYUI_DIR), Path(COMFYUI_PYTHON), base)
    env = {
        "PHOENIX_ALLOWED_HOSTS": "127.0.0.1",
        "PHOENIX_ALLOW_PRIVATE_NETWORKS": "true",
        "PHOENIX_ENGINE": "python",
        "PHOENIX_CIVITAI_BASE_URL": civitai.url,
    }
    shots = panel_tests.ARTIFACTS / f"manager-comfyui-{request.node.callspec.id}"
    shots.mkdir(parents=True, exist_ok=True)
    page = None
    try:
        comfy.start(env=env, args=args)
        assert comfy.import_failure() is None, comfy.log_tail()
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        problems = panel_tests.PhoenixProblems()
        problems.watch(page)
        urls: list[str] = []
        page.on("request", lambda r: urls.append(r.url))
        page.goto(comfy.url + "/")
        page.locator(panel_tests.TAB_BUTTON).first.wait_for(timeout=90_000)
        panel = Panel(page, comfy.url)
        panel.open()
        sidebar = page.locator(".phx-panel")

        # Search, then the picker in Add, then the download.
        section = search(panel, "film")
        section.locator(".phx-hit img.phx-meta__preview").first.wait_for()
        page.wait_for_function(
            "() => [...document.querySelectorAll('.phx-hit img')].every(i => i.complete && i.naturalWidth > 0)"
        )
        sidebar.screenshot(path=str(shots / "search.png"))
        style = section.locator(".phx-hit").filter(has_text="Film Grain Style")
        style.get_by_role("button", name="Check Film Grain Style in Add a model").click()
        add = page.locator('.phx-section[data-section="add"]')
        add.locator(".phx-plan .phx-item").wait_for()
        add.get_by_role("button", name="Other versions and files").click()
        add.locator('.phx-picker__file:has-text("film_grain_fp8.safetensors") input').check()
        add.locator(".phx-picker").scroll_into_view_if_needed()
        sidebar.screenshot(path=str(shots / "picker.png"))
        add.get_by_role("button", name="Use this file").click()
        add.locator('.phx-plan .phx-item__name:text-is("film_grain_fp8.safetensors")').wait_for()
        add.locator(".phx-download").click()
        panel.wait_state(panel.job("film_grain_fp8.safetensors"), "done")
        assert (
            base / "models" / "loras" / "film_grain_fp8.safetensors"
        ).read_bytes() == STYLE_LORA_FP8

        # The Library: look the copied file up by its hash, then see it described.
        for name in ("add", "search", "downloads"):
            details = page.locator(f'.phx-section[data-section="{name}"]')
            if details.get_attribute("open") is not None:
                details.locator("summary").click()
        library = panel.section("library")
        library.get_by_role("button", name="Look up every file Phoenix knows nothing about").click()
        library.locator('.phx-lookup__status:has-text("Lookup done")').wait_for()
        copy = library.locator('.phx-model[data-name="grain-copy.safetensors"]')
        copy.locator('.phx-meta__title:has-text("Film Grain Style")').wait_for()
        page.wait_for_function(
            "() => [...document.querySelectorAll('.phx-model img')].every(i => i.complete && i.naturalWidth > 0)"
        )
        sidebar.screenshot(path=str(shots / "library.png"))

        # Drag onto the canvas: a new LoraLoader with the file chosen.
        canvas = page.locator("#graph-canvas")
        box = canvas.bounding_box()
        assert box is not None
        drop = (int(box["x"] + box["width"] - 500), int(box["y"] + box["height"] - 250))
        before = page.evaluate("() => window.comfyAPI.app.app.graph.nodes.length")
        copy.drag_to(canvas, target_position={"x": drop[0] - box["x"], "y": drop[1] - box["y"]})
        copy.locator('.phx-note:has-text("Added a LoraLoader node")').wait_for()
        chosen = page.evaluate(
            """() => window.comfyAPI.app.app.graph.nodes
                 .filter(n => n.type === "LoraLoader")
                 .map(n => [n.widgets.find(w => w.name === "lora_name").value, Array.from(n.pos)])"""
        )
        assert page.evaluate("() => window.comfyAPI.app.app.graph.nodes.length") == before + 1
        (value, pos) = chosen[-1]
        assert value == "grain-copy.safetensors"
        expected = _graph_point(page, drop)
        assert abs(pos[0] - expected[0]) < 2 and abs(pos[1] - expected[1]) < 2

        # Drag the downloaded file onto that node: its widget takes the file, no new node.
        fp8 = library.locator('.phx-model[data-name="film_grain_fp8.safetensors"]')
        fp8.drag_to(
            canvas, target_position={"x": drop[0] - box["x"] + 60, "y": drop[1] - box["y"] + 30}
        )
        fp8.locator('.phx-note:has-text("Set on the LoraLoader node")').wait_for()
        values = page.evaluate(
            """() => window.comfyAPI.app.app.graph.nodes.filter(n => n.type === "LoraLoader")
                 .map(n => n.widgets.find(w => w.name === "lora_name").value)"""
        )
        assert values == ["film_grain_fp8.safetensors"]
        page.screenshot(path=str(shots / "canvas.png"))

        # Rename: ComfyUI lists the new name at once.
        copy.get_by_role("button", name="Rename or move grain-copy.safetensors").click()
        name = copy.get_by_label("New name for grain-copy.safetensors")
        name.fill("film-grain-copy.safetensors")
        name.press("Enter")
        library.locator('.phx-model[data-name="film-grain-copy.safetensors"]').wait_for()
        listed = page.request.get(comfy.url + "/api/models/loras").json()
        assert "film-grain-copy.safetensors" in listed and "grain-copy.safetensors" not in listed

        theirs = (civitai.url, civitai.storage_url)
        assert [u for u in urls if u.startswith(theirs)] == [], "the browser never asks CivitAI"
        assert problems.items == []
    finally:
        if page is not None:
            page.close()
        comfy.stop()
