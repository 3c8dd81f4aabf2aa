// Downloads: the live list, newest first. Rows are updated in place, so a focused button
// keeps focus while progress events stream in. The server keeps one row per file (a file
// asked for again is the same row) and forgets what "Clear finished" clears; the panel
// shows the newest finished rows and folds the older ones behind a button.

import { badge, button, h, problem, progressBar, replaceChildren, setProgress } from "../lib/dom.js";
import { formatBytes, formatDuration, formatPercent, formatSpeed, jobFraction } from "../lib/format.js";
import { isActive } from "../lib/store.js";

export const downloadsSection = { id: "downloads", title: "Downloads", mount };

/** Finished rows shown before "Show older". */
export const FINISHED_SHOWN = 20;

const STATE_LABELS = {
  queued: "queued",
  waiting: "waiting",
  downloading: "downloading",
  paused: "paused",
  done: "done",
  failed: "failed",
  cancelled: "cancelled",
};
const STATE_KIND = { done: "ok", failed: "error", cancelled: "muted", paused: "warn", downloading: "info" };

function mount(body, { store, host, scope }) {
  const summary = h("div", { className: "phx-note phx-downloads__summary" });
  const list = h("ul", { className: "phx-list phx-jobs", attrs: { "aria-label": "Downloads" } });
  const empty = h("div", { className: "phx-empty", text: "No downloads yet. Check a reference above to add one." });
  const note = h("div", { className: "phx-note", attrs: { role: "status" } });
  const clear = button("Clear finished", async () => {
    note.textContent = "";
    try {
      await store.clearFinished();
    } catch (err) {
      replaceChildren(note, problem(err));
    }
  }, { kind: "quiet", className: "phx-clear" });
  const older = button("", () => {
    store.ui.showOlder = !store.ui.showOlder;
    render();
  }, { kind: "quiet", className: "phx-older" });
  body.append(h("div", { className: "phx-row phx-row--between" }, summary, clear), note, list, older, empty);
  const rows = new Map();

  function render() {
    const all = [...store.jobs.values()].sort((a, b) => newest(b) - newest(a));
    const finished = all.filter((j) => !isActive(j));
    const hiddenCount = store.ui.showOlder ? 0 : Math.max(0, finished.length - FINISHED_SHOWN);
    const hidden = new Set(finished.slice(finished.length - hiddenCount).map((j) => j.id));
    const jobs = all.filter((j) => !hidden.has(j.id));
    const keep = new Set(jobs.map((j) => j.id));
    for (const [id, row] of rows) {
      if (!keep.has(id)) {
        row.element.remove();
        rows.delete(id);
      }
    }
    let previous = null;
    for (const job of jobs) {
      let row = rows.get(job.id);
      if (!row) {
        row = jobRow(job, { store, host });
        rows.set(job.id, row);
      } else {
        row.update(job);
      }
      const expected = previous ? previous.nextSibling : list.firstChild;
      if (expected !== row.element) list.insertBefore(row.element, expected);
      previous = row.element;
    }
    empty.hidden = all.length > 0;
    clear.hidden = finished.length === 0;
    const olderCount = Math.max(0, finished.length - FINISHED_SHOWN);
    older.hidden = olderCount === 0;
    older.querySelector("span")?.remove();
    older.append(h("span", { text: store.ui.showOlder ? "Show fewer" : `Show ${olderCount} older` }));
    summary.textContent = summaryText(jobs);
  }

  render();
  scope.subscribe(store, "jobs", render);
}

/** When a job was last asked for (a file asked for again moves to the top). */
function newest(job) {
  return job.asked ?? job.created ?? 0;
}

function summaryText(jobs) {
  const active = jobs.filter((j) => j.state === "downloading");
  const waiting = jobs.filter((j) => j.state === "queued" || j.state === "waiting").length;
  const parts = [];
  if (active.length) {
    const speed = active.reduce((sum, j) => sum + (j.speed || 0), 0);
    parts.push(`${active.length} downloading${speed ? ` · ${formatSpeed(speed)}` : ""}`);
  }
  if (waiting) parts.push(`${waiting} waiting`);
  return parts.join(" · ");
}

/** One job's row; `update(job)` refreshes it in place. */
function jobRow(initial, { store, host }) {
  const name = h("span", { className: "phx-item__name" });
  const state = h("span");
  const where = h("div", { className: "phx-item__sub" });
  const bar = progressBar(null, `${initial.filename} progress`);
  const meta = h("div", { className: "phx-item__meta" });
  const errorSlot = h("div");
  const actions = h("div", { className: "phx-actions" });
  const note = h("div", { className: "phx-note", attrs: { role: "status" } });
  const element = h(
    "li",
    { className: "phx-item phx-job" },
    h("div", { className: "phx-item__top" }, name, state),
    where,
    bar,
    meta,
    errorSlot,
    actions,
    note,
  );
  let job = initial;
  let shownState = null;
  let shownError = null;

  const control = (action) => async () => {
    note.textContent = "";
    try {
      await store.control(job.id, action);
    } catch (err) {
      replaceChildren(note, problem(err));
    }
  };

  const addNode = async () => {
    const result = await host.addLoaderNode(job, [...store.jobs.values()]);
    // Kept in the store: a frontend may render the tab anew (1.58 does after its node
    // definitions refresh), and what the button did must still be said there.
    store.ui.jobNotes.set(job.id, result.ok ? loaderNote(result) : result.reason);
    store.emit("jobs", store.jobs); // every mounted list shows it, a fresh one included
  };

  function buttonsFor() {
    const out = [];
    if (["queued", "waiting", "downloading"].includes(job.state)) {
      out.push(button("Pause", control("pause"), { icon: "pi-pause", title: `Pause ${job.filename}` }));
    }
    if (job.state === "paused") {
      out.push(button("Resume", control("resume"), { icon: "pi-play", title: `Resume ${job.filename}` }));
    }
    if (isActive(job)) {
      out.push(button("Cancel", control("cancel"), { icon: "pi-times", title: `Cancel ${job.filename}`, kind: "danger" }));
    }
    if (job.state === "failed" || job.state === "cancelled") {
      out.push(button("Retry", control("retry"), { icon: "pi-refresh", title: `Retry ${job.filename}` }));
    }
    if (job.state === "done" && job.loader && host.canAddNodes()) {
      out.push(
        button("Add loader node", addNode, {
          icon: "pi-plus",
          title: `Add loader node: ${job.loader.node} with ${job.filename}`,
        }),
      );
    }
    return out;
  }

  function update(next) {
    job = next;
    element.dataset.state = job.state;
    element.dataset.jobId = job.id;
    name.textContent = job.filename;
    name.title = `${job.filename}\n${job.ref}`;
    where.textContent = `${job.relpath}${job.origin && job.origin !== "panel" ? ` · from ${job.origin}` : ""}`;
    const fraction = jobFraction(job);
    setProgress(bar, fraction);
    meta.textContent = metaText(job, fraction);
    if (job.state !== shownState) {
      replaceChildren(state, badge(STATE_LABELS[job.state] ?? job.state, STATE_KIND[job.state]));
      const focused = actions.contains(document.activeElement) ? document.activeElement.textContent : null;
      replaceChildren(actions, buttonsFor());
      // Keep keyboard users where they were: focus the button that replaced the pressed one.
      if (focused !== null) (actions.querySelector("button") ?? element).focus?.();
      shownState = job.state;
    }
    if (job.error !== shownError) {
      replaceChildren(errorSlot, job.error ? problem(job.error) : null);
      shownError = job.error;
    }
    const said = store.ui.jobNotes.get(job.id);
    if (said !== undefined && note.textContent !== said) note.textContent = said;
  }

  element.tabIndex = -1;
  update(initial);
  return { element, update };
}

function metaText(job, fraction) {
  if (job.state === "done") return job.skipped ? `Already present · ${formatBytes(job.total)}` : formatBytes(job.total);
  const parts = [];
  parts.push(job.total ? `${formatBytes(job.done)} of ${formatBytes(job.total)} (${formatPercent(fraction)})` : formatBytes(job.done));
  if (job.state === "downloading") {
    if (job.speed) parts.push(formatSpeed(job.speed));
    if (job.eta !== null && job.eta !== undefined) parts.push(`${formatDuration(job.eta)} left`);
  }
  return parts.join(" · ");
}

function loaderNote({ type, names, reused, waiting }) {
  const what = `${type} with ${names.join(" and ")}`;
  const verb = reused ? `The ${what} is on the canvas` : `Added a ${what} to the canvas`;
  return waiting.length ? `${verb}; ${waiting.join(" and ")} will join it once downloaded.` : `${verb}.`;
}
