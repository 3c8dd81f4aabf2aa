// Boot preload: what the environment variables asked for at start, and where each item
// stands. Hidden when nothing was asked (the usual local install).

import { badge, h, problem, replaceChildren } from "../lib/dom.js";
import { formatPercent, jobFraction } from "../lib/format.js";

export const preloadSection = { id: "preload", title: "Boot preload", mount };

const STATUS_KIND = { failed: "error", queued: "info", planning: "muted", pending: "muted", done: "ok" };
const JOB_KIND = { done: "ok", failed: "error", cancelled: "muted", downloading: "info", paused: "warn" };

function mount(body, { store, scope, details }) {
  const list = h("ul", { className: "phx-list", attrs: { "aria-label": "Boot preload" } });
  const errorSlot = h("div");
  body.append(errorSlot, list);

  function render() {
    const preload = store.preload;
    const items = preload?.items ?? [];
    details.hidden = !items.length && !preload?.error;
    replaceChildren(errorSlot, preload?.error ? problem(preload.error) : null);
    replaceChildren(list, items.map(itemRow));
  }

  function itemRow(item) {
    // The jobs list in the item is a copy from when the item last changed; the live state
    // of each job comes from the downloads the store follows.
    const jobs = (item.jobs ?? []).map((j) => store.jobs.get(j.id ?? j) ?? (typeof j === "object" ? j : null)).filter(Boolean);
    const status = itemStatus(item, jobs);
    return h(
      "li",
      { className: "phx-item", dataset: { status } },
      h(
        "div",
        { className: "phx-item__top" },
        h("span", { className: "phx-item__name", text: item.ref, title: item.ref }),
        badge(status, STATUS_KIND[status] ?? JOB_KIND[status]),
      ),
      h("div", { className: "phx-item__sub", text: item.variable }),
      item.error ? problem(item.error) : null,
      jobs.length
        ? h(
            "ul",
            { className: "phx-list phx-sublist" },
            jobs.map((j) =>
              h(
                "li",
                { className: "phx-subitem", dataset: { state: j.state } },
                h("span", { className: "phx-subitem__name", text: j.relpath || j.filename, title: j.relpath || j.filename }),
                badge(j.state === "downloading" ? formatPercent(jobFraction(j)) : j.state, JOB_KIND[j.state]),
              ),
            ),
          )
        : null,
    );
  }

  render();
  scope.subscribe(store, "preload", render);
  scope.subscribe(store, "jobs", () => {
    if (store.preload?.items?.length) render();
  });
}

/**
 * Where an entry stands: its own status until its jobs exist, then theirs, so an entry
 * whose file is at 24 % says "downloading", never "queued".
 */
export function itemStatus(item, jobs) {
  if (!jobs.length || item.status === "failed") return item.status;
  const states = new Set(jobs.map((j) => j.state));
  for (const state of ["failed", "downloading", "paused", "waiting", "cancelled"]) if (states.has(state)) return state;
  return jobs.every((j) => j.state === "done") ? "done" : "queued";
}
