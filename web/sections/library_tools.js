// The Library's model-manager tools: each model's description (preview, name and version, base
// model, trigger words, licence), dragging it onto the canvas or a loader node, adding it with
// the keyboard, renaming or moving it, and looking up files Phoenix did not download by their
// hash on CivitAI, with the lookup's progress as the server pushes it.

import { badge, button, h, problem, replaceChildren } from "../lib/dom.js";
import { formatBytes } from "../lib/format.js";
import { loaderFor } from "../lib/loaders.js";
import { managerClient } from "../lib/manager_client.js";
import { describeModel } from "../lib/model_meta.js";

/** Whether nothing is known of a model: no description and never looked up. */
export function isUnknown(file) {
  const meta = file.meta ?? {};
  return !meta.lookup && !meta.model_name && !file.ref;
}

/**
 * The tools of one Library row; the row itself becomes draggable onto the canvas.
 * @param {HTMLElement} row The row's element.
 * @param {string} folder
 * @param {object} file The entry of GET /phoenix/models.
 * @param {{store: object, host: object}} ctx
 */
export function modelTools(row, folder, file, { store, host }) {
  const placer = host.models;
  const note = h("div", { className: "phx-note", attrs: { role: "status" } });
  const form = h("div", { className: "phx-move" });
  const model = { folder, name: file.name };
  const lookup = file.meta?.lookup;
  const facts = h(
    "div",
    { className: "phx-item__badges" },
    lookup?.found ? badge("looked up on CivitAI", "info") : null,
    lookup && !lookup.found ? badge("not on CivitAI", "muted") : null,
  );
  const actions = h("div", { className: "phx-actions phx-tools" });
  const say = (text) => {
    note.textContent = text;
  };
  const place = (outcome, ontoNode) => {
    if (!outcome.ok) say(outcome.reason);
    else say(ontoNode ? `Set on the ${outcome.type} node.` : `Added a ${outcome.type} node.`);
  };

  if (placer?.canPlace() && loaderFor(folder)) {
    row.draggable = true;
    row.classList.add("phx-model--draggable");
    row.title = "Drag onto the canvas or onto a loader node";
    row.addEventListener("dragstart", (event) => {
      if (event.target !== row) return;
      placer.beginDrag(event, model, place);
    });
    row.addEventListener("dragend", () => placer.endDrag());
    actions.append(
      button("Add to canvas", async () => place(await placer.addNode(model), false), {
        icon: "pi-plus",
        kind: "quiet",
        title: `Add ${file.name} to the canvas`,
      }),
    );
  }
  actions.append(
    button("Rename or move", () => openMove(), { icon: "pi-pencil", kind: "quiet", title: `Rename or move ${file.name}` }),
  );
  if (isUnknown(file)) {
    actions.append(
      button("Look up", () => startLookup(store, [`${folder}/${file.name}`], note), {
        icon: "pi-search",
        kind: "quiet",
        title: `Look up ${file.name} on CivitAI`,
      }),
    );
  }

  function openMove() {
    const folders = store.capabilities?.folders ?? [folder];
    const where = h("select", { className: "phx-select", attrs: { "aria-label": `Folder for ${file.name}` } }, folders.map((f) => h("option", { value: f, text: f })));
    where.value = folder;
    const name = h("input", { type: "text", className: "phx-input", value: file.name, spellcheck: false, attrs: { "aria-label": `New name for ${file.name}` } });
    const cancel = () => replaceChildren(form);
    const submit = async () => {
      try {
        const moved = await managerClient(store.client).move(folder, file.name, where.value, name.value.trim());
        replaceChildren(form);
        say(`Moved to ${moved.to}.`);
        host.refreshModels();
        await store.loadLibrary();
      } catch (err) {
        replaceChildren(form.querySelector(".phx-move__problem"), problem(err));
      }
    };
    name.addEventListener("keydown", (event) => {
      if (event.key === "Enter") submit();
      else if (event.key === "Escape") cancel();
    });
    replaceChildren(
      form,
      h("div", { className: "phx-row" }, where, name),
      h(
        "div",
        { className: "phx-row" },
        button("Move", submit, { kind: "primary", title: `Move ${file.name}` }),
        button("Cancel", cancel, { kind: "quiet", title: `Keep ${file.name} where it is` }),
      ),
      h("div", { className: "phx-move__problem" }),
    );
    name.focus();
    name.setSelectionRange(0, name.value.lastIndexOf(".") > 0 ? name.value.lastIndexOf(".") : name.value.length);
  }

  return h(
    "div",
    { className: "phx-tools__box" },
    describeModel(file.meta, store.client, { compact: true, name: file.name }),
    facts,
    actions,
    form,
    note,
  );
}

/** Whether `progress` says more than what the panel knows (an event may come before an answer). */
function isNewer(progress, known) {
  if (!known) return true;
  return progress.run > known.run || (progress.run === known.run && progress.step > known.step);
}

async function startLookup(store, models, note) {
  try {
    const progress = await managerClient(store.client).lookup(models);
    if (isNewer(progress, store.lookup)) store.emit("lookup", (store.lookup = progress));
    if (note) note.textContent = "Looking it up on CivitAI…";
  } catch (err) {
    if (note) replaceChildren(note, problem(err));
    else throw err;
  }
}

/**
 * The Library's lookup bar: look up every unknown file on CivitAI, and the lookup's progress.
 * @param {{store: object, scope: object}} ctx
 */
export function lookupBar({ store, scope }) {
  const status = h("div", { className: "phx-note phx-lookup__status", attrs: { role: "status", "aria-live": "polite" } });
  const problems = h("div", { className: "phx-lookup__problems" });
  const run = button("Look up unknown files", async () => {
    replaceChildren(problems);
    try {
      await startLookup(store, [], null);
    } catch (err) {
      replaceChildren(problems, problem(err));
    }
  }, { icon: "pi-search", kind: "quiet", className: "phx-lookup__run", title: "Look up every file Phoenix knows nothing about on CivitAI, by its hash" });
  let wasRunning = false;

  const show = (progress) => {
    if (!progress || progress.state === "idle") {
      status.textContent = "";
      run.disabled = false;
      return;
    }
    const running = progress.state === "running";
    run.disabled = running;
    if (running) {
      const share = progress.size ? ` (${formatBytes(progress.hashed)} of ${formatBytes(progress.size)} hashed)` : "";
      status.textContent = `Looking up ${Math.min(progress.done + 1, progress.total)} of ${progress.total}${share}…`;
    } else {
      const parts = [`${progress.found.length} found on CivitAI`, `${progress.unknown.length} unknown`];
      if (progress.failed.length) parts.push(`${progress.failed.length} failed`);
      status.textContent = progress.total ? `Lookup done: ${parts.join(", ")}.` : "Nothing to look up: every file is known.";
      replaceChildren(problems, progress.failed.map((f) => problem(f, { ref: f.relpath })));
    }
    if (wasRunning && !running) store.invalidateLibrary();
    wasRunning = running;
  };
  scope.subscribe(store, "lookup", show);
  show(store.lookup);
  return h("div", { className: "phx-lookup" }, h("div", { className: "phx-row phx-row--between" }, status, run), problems);
}
