// Add: paste any reference, see the plan (files, sizes, destination, present or not,
// problems), choose another folder for any one file, then download. The choice belongs to
// the file: the other files of a plan (FLUX's transformer, VAE and encoders) keep theirs,
// and the plan says when a choice takes a file out of where its loader looks.

import { badge, button, h, problem, replaceChildren } from "../lib/dom.js";
import { formatBytes } from "../lib/format.js";
import { describeModel } from "../lib/model_meta.js";
import { choicesOffer } from "../lib/picker.js";

export const addSection = { id: "add", title: "Add a model", mount };

/** Split the input into references (one per whitespace-separated word). */
export function splitRefs(text) {
  return text.split(/\s+/).map((s) => s.trim()).filter(Boolean);
}

function mount(body, { store, scope, uid }) {
  const ui = store.ui;
  const inputId = `${uid}-ref`;
  const input = h("input", {
    id: inputId,
    type: "text",
    className: "phx-input",
    value: ui.reference,
    placeholder: "HuggingFace or CivitAI link, AIR, owner/repo/file…",
    autocomplete: "off",
    spellcheck: false,
  });
  const check = h("button", { type: "submit", className: "phx-button phx-button--primary", text: "Check" });
  const planBox = h("div", { className: "phx-plan", attrs: { "aria-live": "polite" } });
  const message = h("div", { className: "phx-note", attrs: { role: "status" } });

  const form = h(
    "form",
    { className: "phx-add", attrs: { novalidate: true } },
    h("label", { className: "phx-label", htmlFor: inputId, text: "Reference" }),
    h("div", { className: "phx-row" }, input, check),
    planBox,
    message,
  );
  body.append(form);
  // The folder each file of the plan would get without a choice, to offer it back.
  const suggested = new Map();

  async function resolve() {
    const refs = splitRefs(input.value);
    message.textContent = "";
    if (!refs.length) {
      ui.plan = null;
      ui.planError = { detail: "Paste a reference first.", hint: "For example owner/repo/file.safetensors or a CivitAI link." };
      showPlan();
      input.focus();
      return;
    }
    if (ui.plan?.refs?.join(" ") !== refs.join(" ")) {
      ui.choices = {};
      suggested.clear();
    }
    planBox.setAttribute("aria-busy", "true");
    replaceChildren(planBox, h("div", { className: "phx-note", text: "Checking…" }));
    try {
      ui.plan = await store.client.post("/resolve", withChoices({ refs }, ui.choices));
      ui.plan.refs = refs;
      ui.planError = null;
    } catch (err) {
      ui.plan = null;
      ui.planError = err;
    } finally {
      planBox.removeAttribute("aria-busy");
    }
    showPlan();
  }

  async function download() {
    const plan = ui.plan;
    if (!plan) return;
    try {
      const answer = await store.submit(plan.refs, ui.choices);
      const queued = (answer.jobs ?? []).filter((j) => !j.skipped).length;
      const present = (answer.jobs ?? []).length - queued;
      message.textContent = queuedText(queued, present);
      ui.plan = null;
      ui.choices = {};
      ui.reference = input.value = "";
      showPlan();
      for (const p of answer.problems ?? []) planBox.append(problem(p, { ref: p.ref }));
      store.ui.open.add("downloads");
      body.closest(".phx-panel")?.querySelector('[data-section="downloads"]')?.setAttribute("open", "");
    } catch (err) {
      ui.planError = err;
      showPlan();
    }
  }

  /** The user picked a folder for one file: only that file moves. Focus stays on its choice. */
  async function choose(file, folder) {
    if (folder === suggested.get(file.url)) delete ui.choices[file.url];
    else ui.choices[file.url] = folder;
    await resolve();
    const again = [...planBox.querySelectorAll("select")].find((s) => s.dataset.url === file.url);
    again?.focus();
  }

  function showPlan() {
    replaceChildren(planBox);
    if (ui.planError) planBox.append(problem(ui.planError));
    const plan = ui.plan;
    if (!plan) return;
    for (const p of plan.problems ?? []) planBox.append(problem(p, { ref: p.ref }));
    const files = plan.files ?? [];
    for (const file of files) if (!(file.url in ui.choices)) suggested.set(file.url, file.folder);
    if (files.length) {
      const rows = files.map((file, index) => planFile(file, `${uid}-save-${index}`));
      planBox.append(h("ul", { className: "phx-list phx-plan__files" }, rows));
      const missing = files.filter((f) => !f.present);
      planBox.append(
        h("div", { className: "phx-plan__total", text: totalText(files.length, missing.length, plan.missing_bytes) }),
      );
      if (missing.length) {
        planBox.append(button("Download", download, { kind: "primary", icon: "pi-download", className: "phx-download" }));
      }
      const offer = choicesOffer(plan, { store, onPick: checkRef });
      if (offer) planBox.append(offer);
    }
  }

  /** Check another reference: a picked version or file, or a search result. */
  function checkRef(ref) {
    ui.reference = input.value = ref;
    check.disabled = true;
    resolve().finally(() => {
      check.disabled = false;
    });
  }
  scope.subscribe(store, "add:check", checkRef);

  function planFile(file, selectId) {
    const where = file.relpath || [file.folder, file.subfolder, file.filename].filter(Boolean).join("/");
    const folders = store.capabilities?.folders ?? [];
    const auto = suggested.get(file.url) ?? file.folder;
    const select = h(
      "select",
      { id: selectId, className: "phx-select", dataset: { url: file.url } },
      [...new Set([file.folder, ...folders])].sort().map((name) =>
        h("option", { value: name, text: name === auto ? `${name} (auto)` : name }),
      ),
    );
    select.value = file.folder;
    scope.listen(select, "change", () => {
      select.disabled = true;
      choose(file, select.value);
    });
    return h(
      "li",
      { className: "phx-item", dataset: { url: file.url } },
      h(
        "div",
        { className: "phx-item__top" },
        h("span", { className: "phx-item__name", text: file.filename, title: file.url }),
        file.present ? badge("present", "ok") : badge(formatBytes(file.size), "new"),
      ),
      h("div", { className: "phx-item__sub", text: `→ ${where}` }),
      file.folder_reason ? h("div", { className: "phx-item__why", text: file.folder_reason }) : null,
      describeModel(file.describes, store.client, { name: file.filename }),
      file.warning ? h("div", { className: "phx-item__warn", attrs: { role: "alert" }, text: file.warning }) : null,
      h(
        "div",
        { className: "phx-row phx-row--folder" },
        h("label", { className: "phx-label phx-label--inline", htmlFor: selectId, text: "Save to" }),
        select,
      ),
    );
  }

  scope.listen(form, "submit", (event) => {
    event.preventDefault();
    check.disabled = true;
    resolve().finally(() => {
      check.disabled = false;
    });
  });
  scope.listen(input, "input", () => {
    ui.reference = input.value;
  });
  scope.subscribe(store, "capabilities", showPlan);
  showPlan();
}

function withChoices(body, choices) {
  return Object.keys(choices).length ? { ...body, folders: choices } : body;
}

function totalText(count, missing, bytes) {
  if (!missing) return `All ${count === 1 ? "the file is" : `${count} files are`} already here.`;
  return `${missing} of ${count} ${count === 1 ? "file" : "files"} to download, ${formatBytes(bytes)}.`;
}

function queuedText(queued, present) {
  const parts = [];
  if (queued) parts.push(`${queued} ${queued === 1 ? "download" : "downloads"} queued`);
  if (present) parts.push(`${present} already present`);
  return parts.length ? `${parts.join(", ")}.` : "Nothing to download.";
}
