// Boot preload: what the environment variables asked for at start, and where each item
// stands. Hidden when nothing was asked (the usual local install).

import { badge, h, problem, replaceChildren } from "../lib/dom.js";
import { formatPercent, jobFraction } from "../lib/format.js";

export const preloadSection = { id: "preload", title: "Boot preload", mount };

const STATUS_KIND = { failed: "error", queued: "info", planning: "muted", pending: "muted" };
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
    const allDone = jobs.length > 0 && jobs.every((j) => j.state === "done");
    const status = allDone ? "done" : item.status;
    return h(
      "li",
      { className: "phx-item" },
      h("div", { className: "phx-item__top" }, h("span", { className: "phx-item__name", text: item.ref }), badge(status, allDone ? "ok" : STATUS_KIND[status])),
      h("div", { className: "phx-item__sub", text: item.variable }),
      item.error ? problem(item.error) : null,
      jobs.length
        ? h(
            "ul",
            { className: "phx-list phx-sublist" },
            jobs.map((j) =>
              h("li", { className: "phx-subitem" }, h("span", { text: j.relpath || j.filename }), badge(j.state === "downloading" ? formatPercent(jobFraction(j)) : j.state, JOB_KIND[j.state])),
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
