// Cleanup (only where the server offers it): the dry-run list of what would go, then a
// confirmation. Hidden when the capability is off or the server has no cleanup routes.

import { button, h, problem, replaceChildren } from "../lib/dom.js";
import { formatBytes } from "../lib/format.js";

export const cleanupSection = { id: "cleanup", title: "Cleanup", mount };

function mount(body, { store, scope, details }) {
  const content = h("div");
  body.append(
    h("p", {
      className: "phx-note",
      text: "What this machine would remove between sessions, as the container's privacy settings say. Nothing goes before you confirm.",
    }),
    content,
  );
  // The dry-run plan, shared by every mount: {state: "missing" | "loaded" | "error", plan, error}.
  const cache = () => store.ui.cleanup;

  const offered = () => Boolean(store.capabilities?.cleanup_available) && cache()?.state !== "missing";
  // While the user is answering "Remove … for good?", a fresh plan must not redraw the
  // buttons under their pointer; it shows once they have answered.
  let confirming = false;

  async function loadPlan() {
    if (!store.capabilities?.cleanup_available) return;
    try {
      store.ui.cleanup = { state: "loaded", plan: await store.client.get("/cleanup/plan") };
    } catch (err) {
      // An older server without the cleanup routes: offer nothing rather than an error.
      const missing = err.status === 404 || err.status === 405;
      store.ui.cleanup = missing ? { state: "missing" } : { state: "error", error: err };
    }
    render();
  }

  function render() {
    details.hidden = !offered();
    if (confirming) return;
    const state = cache();
    if (!state) replaceChildren(content, h("div", { className: "phx-note", text: "Listing what would be removed…" }));
    else if (state.state === "error") replaceChildren(content, problem(state.error));
    else if (state.state === "loaded") showPlan(state.plan);
  }

  function showPlan(plan) {
    const items = planItems(plan.items);
    const kept = planItems(plan.kept);
    const storage = plan.storage ? h("div", { className: "phx-note", text: storageText(plan.storage) }) : null;
    const keptList = kept.length
      ? h(
          "details",
          { className: "phx-kept" },
          h("summary", { className: "phx-note", text: `${kept.length} ${kept.length === 1 ? "place stays" : "places stay"}` }),
          h("ul", { className: "phx-list" }, kept.map(itemRow)),
        )
      : null;
    if (!items.length) {
      replaceChildren(content, storage, h("div", { className: "phx-empty", text: "Nothing to clean up." }), keptList);
      return;
    }
    const total = plan.total_bytes ?? items.reduce((sum, i) => sum + (i.size || 0), 0);
    const confirmBox = h("div", { className: "phx-actions" });
    const ask = button(
      "Clean up…",
      () => {
        confirming = true;
        replaceChildren(confirmBox, h("span", { className: "phx-confirm__text", text: `Remove ${items.length} ${items.length === 1 ? "item" : "items"} for good?` }), yes, no);
        yes.focus();
      },
      { kind: "danger", icon: "pi-trash" },
    );
    const yes = button("Remove", run, { kind: "danger", title: "Remove: yes, clean up now" });
    const no = button("Keep", () => {
      confirming = false;
      replaceChildren(confirmBox, ask);
      ask.focus();
    });
    confirmBox.append(ask);
    replaceChildren(
      content,
      storage,
      h("ul", { className: "phx-list" }, items.map(itemRow)),
      h("div", { className: "phx-plan__total", text: `${items.length} ${items.length === 1 ? "item" : "items"}${total ? `, ${formatBytes(total)}` : ""}.` }),
      confirmBox,
      keptList,
    );
  }

  async function run() {
    confirming = false;
    try {
      const report = await store.client.post("/cleanup", { confirm: true });
      store.ui.cleanup = null;
      replaceChildren(content, h("div", { className: "phx-note", attrs: { role: "status" }, text: reportText(report) }));
      for (const failure of report.failed ?? []) {
        content.append(problem({ detail: `${failure.path ?? "?"}: ${failure.reason ?? failure.error ?? "not removed"}` }));
      }
    } catch (err) {
      replaceChildren(content, problem(err));
    }
  }

  render();
  scope.subscribe(store, "capabilities", () => {
    if (!cache()) loadPlan();
    else render();
  });
  // Opening the section lists again: the plan changes as the machine is used.
  scope.listen(details, "toggle", () => {
    if (details.open && offered()) loadPlan();
  });
  if (store.capabilities && !cache()) loadPlan();
}

function itemRow(item) {
  const why = [item.category, item.reason].filter(Boolean).join(": ");
  return h(
    "li",
    { className: "phx-item" },
    h(
      "div",
      { className: "phx-item__top" },
      h("span", { className: "phx-item__name", text: item.path, title: item.path }),
      item.size ? h("span", { className: "phx-item__size", text: formatBytes(item.size) }) : null,
    ),
    why ? h("div", { className: "phx-item__why", text: why }) : null,
  );
}

/** Plan entries as {path, size, category, reason}. */
function planItems(list) {
  return (Array.isArray(list) ? list : []).map((item) =>
    typeof item === "string" ? { path: item } : { path: item.path ?? "?", size: item.size, category: item.category, reason: item.reason },
  );
}

function storageText(storage) {
  const mode = storage.use_volume ? "a volume" : "ephemeral, no volume";
  return `Storage: ${mode}${storage.paranoid ? ", paranoid mode" : ""}.`;
}

function reportText(report) {
  const removed = Array.isArray(report?.removed) ? report.removed.length : 0;
  const failed = Array.isArray(report?.failed) ? report.failed.length : 0;
  const bytes = report?.bytes_removed ? `, ${formatBytes(report.bytes_removed)}` : "";
  return `Removed ${removed} ${removed === 1 ? "item" : "items"}${bytes}.${failed ? ` ${failed} could not be removed.` : ""}`;
}
