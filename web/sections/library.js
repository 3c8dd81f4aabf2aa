// Library: installed models per folder, with size, source and whether Phoenix verified the
// hash; a filter; delete with a confirmation step.

import { encodePath } from "../lib/api.js";
import { badge, button, h, problem, replaceChildren } from "../lib/dom.js";
import { formatBytes } from "../lib/format.js";
import { lookupBar, modelTools } from "./library_tools.js";

export const librarySection = { id: "library", title: "Library", mount };

const SOURCE_LABELS = { huggingface: "HuggingFace", civitai: "CivitAI", url: "direct link" };

function totalBytes(library) {
  let bytes = 0;
  for (const files of Object.values(library.folders ?? {})) for (const f of files) bytes += f.size || 0;
  return bytes;
}

function mount(body, { store, host, scope, details, uid }) {
  const filterId = `${uid}-filter`;
  const filter = h("input", {
    id: filterId,
    type: "search",
    className: "phx-input",
    placeholder: "Filter by name or folder",
    value: store.ui.filter,
    autocomplete: "off",
  });
  const refresh = button("", () => store.loadLibrary(), { icon: "pi-refresh", title: "Refresh the library", kind: "quiet" });
  const summary = h("div", { className: "phx-note", attrs: { role: "status" } });
  const groups = h("div", { className: "phx-library" });
  body.append(
    h("label", { className: "phx-label", htmlFor: filterId, text: "Filter" }),
    h("div", { className: "phx-row" }, filter, refresh),
    summary,
    lookupBar({ store, scope }),
    groups,
  );

  function render() {
    if (store.libraryError) {
      replaceChildren(groups, problem(store.libraryError));
      summary.textContent = "";
      return;
    }
    const library = store.library;
    if (!library) {
      replaceChildren(groups);
      summary.textContent = "Loading…";
      return;
    }
    const needle = store.ui.filter.trim().toLowerCase();
    let shown = 0;
    let total = 0;
    const out = [];
    for (const [folder, files] of Object.entries(library.folders ?? {})) {
      total += files.length;
      const matching = files.filter((f) => !needle || `${folder}/${f.name}`.toLowerCase().includes(needle));
      if (!matching.length) continue;
      shown += matching.length;
      out.push(folderGroup(folder, matching));
    }
    replaceChildren(groups, out);
    summary.title = library.root;
    summary.textContent = total
      ? needle
        ? `${shown} of ${total} models match.`
        : `${total} ${total === 1 ? "model" : "models"}, ${formatBytes(totalBytes(library))}.`
      : "No models yet.";
  }

  function folderGroup(folder, files) {
    const bytes = files.reduce((sum, f) => sum + (f.size || 0), 0);
    return h(
      "section",
      { className: "phx-folder", attrs: { "aria-label": folder } },
      h("h4", { className: "phx-folder__title" }, h("span", { text: folder }), h("span", { className: "phx-folder__size", text: `${files.length} · ${formatBytes(bytes)}` })),
      h("ul", { className: "phx-list" }, files.map((f) => fileRow(folder, f))),
    );
  }

  function fileRow(folder, file) {
    const actions = h("div", { className: "phx-actions" });
    const note = h("div", { attrs: { role: "status" } });
    const element = h(
      "li",
      { className: "phx-item phx-model", dataset: { folder, name: file.name } },
      h("div", { className: "phx-item__top" }, h("span", { className: "phx-item__name", text: file.name, title: file.path }), h("span", { className: "phx-item__size", text: formatBytes(file.size) })),
      h(
        "div",
        { className: "phx-item__badges" },
        badge(SOURCE_LABELS[file.source] ?? "local", "muted"),
        file.verified ? badge("verified", "ok") : null,
      ),
      actions,
      note,
    );
    element.insertBefore(modelTools(element, folder, file, { store, host }), actions);

    const ask = button("Delete", () => {
      replaceChildren(
        actions,
        h("span", { className: "phx-confirm__text", text: "Delete this file from disk?" }),
        confirm,
        keep,
      );
      confirm.focus();
    }, { icon: "pi-trash", kind: "quiet", title: `Delete ${file.name}` });
    const confirm = button("Delete", async () => {
      try {
        await store.client.del(`/models/${encodeURIComponent(folder)}/${encodePath(file.name)}`);
        removeFile(folder, file.name);
        host.refreshModels(); // the loaders' dropdowns stop offering it
      } catch (err) {
        replaceChildren(note, problem(err));
        replaceChildren(actions, ask);
      }
    }, { kind: "danger", title: `Yes, delete ${file.name}` });
    const keep = button("Keep", () => {
      replaceChildren(actions, ask);
      ask.focus();
    }, { title: `Keep ${file.name}` });
    actions.append(ask);
    return element;
  }

  function removeFile(folder, name) {
    const files = store.library?.folders?.[folder];
    if (!files) return;
    store.library.folders[folder] = files.filter((f) => f.name !== name);
    if (!store.library.folders[folder].length) delete store.library.folders[folder];
    store.emit("library", store.library);
  }

  scope.listen(filter, "input", () => {
    store.ui.filter = filter.value;
    render();
  });
  scope.subscribe(store, "library", render);
  render();
  const load = () => {
    if (details.open && !store.library) store.loadLibrary();
  };
  load();
  scope.listen(details, "toggle", load);
}
