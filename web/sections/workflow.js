// This workflow's models: what the open workflow needs (its models lists and Phoenix nodes'
// references) as the server plans it — present, missing, gated or unusable, each with its
// file name, folder and size — the downloads of the missing ones as they run, and one
// action to fetch them all on the server.

import { badge, button, h, problem, progressBar, replaceChildren, setProgress } from "../lib/dom.js";
import { formatBytes, formatPercent, formatSpeed, jobFraction } from "../lib/format.js";
import { isActive } from "../lib/store.js";
import { countStates, jobFor, needTitle } from "../lib/workflow_models.js";

export const workflowSection = { id: "workflow", title: "This workflow's models", mount };

const BADGES = {
  present: ["present", "ok"],
  missing: ["missing", "warn"],
  gated: ["gated", "error"],
  problem: ["problem", "error"],
};

function mount(body, { store, scope, details }) {
  const models = store.workflow;
  const list = h("ul", { className: "phx-list phx-workflow__list", attrs: { "aria-label": "Models this workflow needs" } });
  const note = h("div", { className: "phx-note phx-workflow__summary", attrs: { role: "status" } });
  const trouble = h("div");
  const fetchAll = button("Fetch all missing", fetchMissing, { kind: "primary", icon: "pi-download", className: "phx-workflow__fetch" });
  const rescan = button("Rescan", () => models.check(), { kind: "quiet", icon: "pi-refresh", title: "Scan the open workflow again" });
  body.append(h("div", { className: "phx-row" }, fetchAll, rescan), note, trouble, list);

  async function fetchMissing() {
    replaceChildren(trouble);
    try {
      const answer = await models.fetchMissing();
      const queued = (answer.jobs ?? []).length;
      note.textContent = `${queued} ${queued === 1 ? "download" : "downloads"} queued on the server.`;
    } catch (err) {
      trouble.append(problem(err));
    }
  }

  let rows = [];

  function render() {
    const plan = models.plan;
    replaceChildren(trouble, models.error ? problem(models.error) : null);
    rows = (plan?.needs ?? []).map((need) => needRow(need, store));
    replaceChildren(
      list,
      rows.map((row) => row.element),
      (plan?.problems ?? []).map(entryProblemRow),
    );
    note.textContent = models.checking ? "Reading the open workflow…" : summary(plan, countStates(plan));
    showFetch();
  }

  /** The action fetches what is missing and not on its way already. */
  function showFetch() {
    const waiting = (models.plan?.needs ?? [])
      .filter((need) => need.state === "missing")
      .flatMap((need) => need.files.filter((file) => !file.present))
      .filter((file) => !isActive(jobFor(store, file) ?? {}));
    const bytes = waiting.reduce((sum, file) => sum + (file.size ?? 0), 0);
    fetchAll.hidden = !waiting.length;
    fetchAll.lastChild.textContent = bytes ? `Fetch all missing (${formatBytes(bytes)})` : "Fetch all missing";
  }

  // A finished download of one of these files changes the plan: ask again, once per burst.
  let recheck = null;
  scope.subscribe(store, "job", (job) => {
    if (isActive(job) || !models.concerns(job) || recheck) return;
    recheck = scope.timeout(() => {
      recheck = null;
      models.check();
    }, 400);
  });
  // Progress moves in place: the rows stay, so nothing under the reader's focus is rebuilt.
  scope.subscribe(store, "jobs", () => {
    for (const row of rows) row.update();
    showFetch();
  });
  scope.subscribe(store, "workflow", () => {
    render();
    want();
  });
  scope.subscribe(store, "reveal", (id) => {
    if (id !== "workflow") return;
    details.open = true;
    details.scrollIntoView?.({ block: "nearest" });
  });
  // The plan asks the server (and the hub): only while the section is open.
  function want() {
    if (details.open && !models.plan && !models.checking && !models.error) models.check();
  }
  scope.listen(details, "toggle", want);
  render();
  if (store.ui.reveal === "workflow") {
    // Opened to show a plan just made (the offer's downloads): show it as it is.
    store.ui.reveal = null;
    details.scrollIntoView?.({ block: "nearest" });
  } else if (details.open && !models.checking) {
    // Opening the tab looks at the workflow as it is now (it may have changed since).
    models.check();
  }
}

function summary(plan, counts) {
  const total = plan?.needs?.length ?? 0;
  if (!plan) return "";
  if (!total && !plan.problems?.length) return "The open workflow names no models Phoenix can fetch.";
  const parts = [];
  if (counts.missing) parts.push(`${counts.missing} of ${total} missing (${formatBytes(plan.missing_bytes)})`);
  if (counts.gated) parts.push(`${counts.gated} ${counts.gated === 1 ? "needs its" : "need their"} licence accepted`);
  const unusable = counts.problem + (plan.problems?.length ?? 0);
  if (unusable) parts.push(`${unusable} cannot be fetched`);
  if (!parts.length) return total === 1 ? "Its model is here." : `All ${total} models are here.`;
  return `${parts.join("; ")}.`;
}

function needRow(need, store) {
  const status = badge("", "");
  const bars = h("div", { className: "phx-workflow__bars" });
  const shown = new Map();
  const folder = need.folder ?? [...new Set(need.files.map((f) => f.folder))].join(", ");
  const sub = [folder, need.size ? formatBytes(need.size) : null, need.node].filter(Boolean).join(" · ");
  const element = h(
    "li",
    { className: "phx-item phx-workflow__need", dataset: { state: need.state } },
    h(
      "div",
      { className: "phx-item__top" },
      h("span", { className: "phx-item__name", text: needTitle(need), title: need.url ?? need.ref }),
      status,
    ),
    h("div", { className: "phx-item__sub", text: sub }),
    need.files.length > 1 ? fileList(need.files) : null,
    bars,
    need.error ? problem(need.error) : null,
    need.hash_note ? h("div", { className: "phx-item__why", text: `Note: ${need.hash_note}.` }) : null,
  );

  function update() {
    const running = need.state === "missing"
      ? need.files.map((file) => [file, jobFor(store, file)]).filter(([, job]) => job && isActive(job))
      : [];
    const [text, kind] = running.length ? [running[0][1].state, "info"] : BADGES[need.state];
    status.textContent = text;
    status.className = `phx-badge phx-badge--${kind}`;
    const keep = new Set(running.map(([file]) => file.relpath));
    for (const [relpath, shownBar] of shown) {
      if (!keep.has(relpath)) {
        shownBar.element.remove();
        shown.delete(relpath);
      }
    }
    for (const [file, job] of running) {
      let shownBar = shown.get(file.relpath);
      if (!shownBar) {
        shownBar = progress(file);
        shown.set(file.relpath, shownBar);
        bars.append(shownBar.element);
      }
      shownBar.set(job);
    }
  }

  update();
  return { element, update };
}

function fileList(files) {
  return h(
    "ul",
    { className: "phx-list phx-sublist", attrs: { "aria-label": "Files" } },
    files.map((file) =>
      h(
        "li",
        { className: "phx-subitem" },
        h("span", { text: file.relpath }),
        h("span", { text: `${formatBytes(file.size)}${file.present ? "" : " · missing"}` }),
      ),
    ),
  );
}

function progress(file) {
  const bar = progressBar(null, `Downloading ${file.filename}`);
  const meta = h("div", { className: "phx-item__meta" });
  return {
    element: h("div", { className: "phx-workflow__progress" }, bar, meta),
    set(job) {
      const fraction = jobFraction(job);
      setProgress(bar, fraction);
      const parts = [fraction === null ? null : formatPercent(fraction), formatSpeed(job.speed)];
      meta.textContent = parts.filter(Boolean).join(" · ") || job.state;
    },
  };
}

function entryProblemRow(entry) {
  return h(
    "li",
    { className: "phx-item phx-workflow__need", dataset: { state: "problem" } },
    h(
      "div",
      { className: "phx-item__top" },
      h("span", { className: "phx-item__name", text: entry.name }),
      badge("problem", "error"),
    ),
    h("div", { className: "phx-item__sub", text: entry.node }),
    problem(entry),
  );
}
