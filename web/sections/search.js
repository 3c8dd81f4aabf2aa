// Find models: search CivitAI or HuggingFace, see each model described (preview, type, base
// model, downloads, likes), open its versions and files, and check one in "Add a model".
// NSFW models stay hidden unless the user asks. Nothing is asked of the server until a search.

import { badge, button, h, problem, replaceChildren } from "../lib/dom.js";
import { managerClient } from "../lib/manager_client.js";
import { describeModel } from "../lib/model_meta.js";
import { pickerBlock } from "../lib/picker.js";

export const searchSection = { id: "search", title: "Find models", mount };

const SOURCES = [
  ["civitai", "CivitAI"],
  ["huggingface", "HuggingFace"],
];
const TYPES = [
  ["", "Any type"],
  ["Checkpoint", "Checkpoint"],
  ["LORA", "LoRA"],
  ["LoCon", "LoCon"],
  ["DoRA", "DoRA"],
  ["TextualInversion", "Embedding"],
  ["VAE", "VAE"],
  ["Controlnet", "ControlNet"],
  ["Upscaler", "Upscaler"],
  ["TextEncoder", "Text encoder"],
  ["UNet", "Diffusion model"],
];

/** "12345" → "12.3k": counts as people skim them. */
export function formatCount(value) {
  if (!Number.isFinite(value)) return "";
  if (value >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return String(value);
}

function mount(body, { store, scope, uid }) {
  const ui = (store.ui.search ??= { source: "civitai", type: "", query: "", nsfw: false, results: null, next: null, error: null });
  const client = managerClient(store.client);
  const source = h("select", { id: `${uid}-search-source`, className: "phx-select" }, SOURCES.map(([value, text]) => h("option", { value, text })));
  const type = h("select", { id: `${uid}-search-type`, className: "phx-select" }, TYPES.map(([value, text]) => h("option", { value, text })));
  const query = h("input", {
    id: `${uid}-search-query`,
    type: "search",
    className: "phx-input",
    value: ui.query,
    placeholder: "Model name, style, creator…",
    autocomplete: "off",
  });
  const nsfw = h("input", { id: `${uid}-search-nsfw`, type: "checkbox", checked: ui.nsfw });
  const go = h("button", { type: "submit", className: "phx-button phx-button--primary", text: "Search" });
  const results = h("ul", { className: "phx-list phx-hits", attrs: { "aria-label": "Search results", "aria-live": "polite" } });
  const more = h("div", { className: "phx-hits__more" });
  source.value = ui.source;
  type.value = ui.type;

  const form = h(
    "form",
    { className: "phx-search", attrs: { role: "search", novalidate: true } },
    h("div", { className: "phx-row" }, h("label", { className: "phx-label phx-label--inline", htmlFor: source.id, text: "Search" }), source, type),
    h("div", { className: "phx-row" }, h("label", { className: "phx-sr-only", htmlFor: query.id, text: "Search for" }), query, go),
    h("div", { className: "phx-row" }, nsfw, h("label", { className: "phx-label phx-label--inline", htmlFor: nsfw.id, text: "Show NSFW models" })),
  );
  body.append(form, results, more);

  async function run(cursor = null) {
    ui.query = query.value.trim();
    if (!ui.query) {
      ui.error = { detail: "Type what to search for.", hint: "A model name, a style or a creator." };
      ui.results = null;
      show();
      query.focus();
      return;
    }
    results.setAttribute("aria-busy", "true");
    if (!cursor) replaceChildren(results, h("li", { className: "phx-note", text: "Searching…" }));
    try {
      const page = await client.search({ source: ui.source, query: ui.query, type: ui.type, nsfw: ui.nsfw, cursor });
      ui.results = cursor ? [...(ui.results ?? []), ...page.results] : page.results;
      ui.next = page.next;
      ui.error = null;
    } catch (err) {
      ui.error = err;
      if (!cursor) ui.results = null;
    } finally {
      results.removeAttribute("aria-busy");
    }
    show();
  }

  function show() {
    replaceChildren(more);
    if (ui.error) {
      replaceChildren(results, h("li", {}, problem(ui.error)));
      return;
    }
    if (!ui.results) {
      replaceChildren(results);
      return;
    }
    if (!ui.results.length) {
      replaceChildren(results, h("li", { className: "phx-empty", text: "Nothing found. Try other words or another type." }));
      return;
    }
    replaceChildren(results, ui.results.map((hit) => hitRow(hit)));
    if (ui.next) more.append(button("More results", () => run(ui.next), { kind: "quiet" }));
  }

  function hitRow(hit) {
    const stats = [
      Number.isFinite(hit.downloads) ? `↓ ${formatCount(hit.downloads)}` : null,
      Number.isFinite(hit.likes) ? `♥ ${formatCount(hit.likes)}` : null,
      hit.creator ? `by ${hit.creator}` : null,
    ].filter(Boolean);
    const extra = h("div", { className: "phx-hit__picker" });
    const row = h(
      "li",
      { className: "phx-item phx-hit", dataset: { ref: hit.ref } },
      h("div", { className: "phx-item__top" }, h("span", { className: "phx-item__name", text: hit.name, title: hit.name }), badge(hit.source === "civitai" ? "CivitAI" : "HuggingFace", "muted")),
      describeModel({ ...hit.meta, model_name: null }, store.client, { name: hit.name }),
      stats.length ? h("div", { className: "phx-item__meta", text: stats.join(" · ") }) : null,
      h(
        "div",
        { className: "phx-actions" },
        button("Check", () => checkInAdd(hit.ref), { kind: "primary", title: `Check ${hit.name} in Add a model` }),
        button("Versions and files", () => {
          replaceChildren(extra, pickerBlock({ store, ref: hit.ref, nsfw: ui.nsfw, onPick: checkInAdd }));
        }, { kind: "quiet", title: `Versions and files of ${hit.name}` }),
      ),
      extra,
    );
    return row;
  }

  /** Hand a reference to "Add a model", which checks it and shows the plan. */
  function checkInAdd(ref) {
    store.ui.open.add("add");
    const add = body.closest(".phx-panel")?.querySelector('.phx-section[data-section="add"]');
    if (add) add.open = true;
    store.emit("add:check", ref);
    add?.querySelector("input.phx-input")?.focus();
  }

  scope.listen(form, "submit", (event) => {
    event.preventDefault();
    go.disabled = true;
    run().finally(() => {
      go.disabled = false;
    });
  });
  scope.listen(source, "change", () => {
    ui.source = source.value;
  });
  scope.listen(type, "change", () => {
    ui.type = type.value;
  });
  scope.listen(nsfw, "change", () => {
    ui.nsfw = nsfw.checked;
  });
  show();
}
