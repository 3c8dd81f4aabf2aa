// The panel: a header with the connection state, then one collapsible section per concern.
// mountPanel() builds everything inside the element the sidebar hands over and returns the
// function that undoes it all (subscriptions, listeners, timers) when the tab closes.

import { h } from "./dom.js";
import { Scope } from "./scope.js";
import { addSection } from "../sections/add.js";
import { searchSection } from "../sections/search.js";
import { downloadsSection } from "../sections/downloads.js";
import { workflowSection } from "../sections/workflow.js";
import { librarySection } from "../sections/library.js";
import { statusSection } from "../sections/status.js";
import { tokensSection } from "../sections/tokens.js";
import { cleanupSection } from "../sections/cleanup.js";
import { preloadSection } from "../sections/preload.js";
import { formatDuration } from "./format.js";

export const SECTIONS = [
  addSection,
  searchSection,
  downloadsSection,
  workflowSection,
  librarySection,
  statusSection,
  tokensSection,
  cleanupSection,
  preloadSection,
];

let mountCount = 0;

/**
 * Render the panel into `el`.
 * @param {HTMLElement} el The sidebar's (or dialog's) fresh element.
 * @param {{store: import("./store.js").PhoenixStore, host: object}} deps
 * @returns {() => void} destroy
 */
export function mountPanel(el, { store, host }) {
  const scope = new Scope(store.scopeStats);
  const uid = `phx${++mountCount}`;
  const root = h("div", { className: "phx-panel", attrs: { "data-phx-mount": uid } });
  root.append(header(store, scope));
  for (const section of SECTIONS) root.append(renderSection(section, { store, host, scope, uid }));
  el.append(root);
  scope.add(store.retain());
  if (!store.capabilities) store.loadCapabilities();
  return () => {
    scope.dispose();
    root.remove();
  };
}

function header(store, scope) {
  const dot = h("span", { className: "phx-live__dot", attrs: { "aria-hidden": "true" } });
  const text = h("span", { className: "phx-live__text" });
  const live = h("div", { className: "phx-live", attrs: { role: "status", "aria-live": "polite" } }, dot, text);
  const show = (connection) => {
    live.dataset.state = connection.state;
    text.textContent = connectionText(connection);
  };
  show(store.connection);
  scope.subscribe(store, "connection", show);
  const problem = h("p", { className: "phx-problem", attrs: { role: "alert" } });
  const showProblem = (found) => {
    problem.hidden = !found;
    problem.textContent = found ? [found.detail, found.hint].filter(Boolean).join(" ") : "";
  };
  showProblem(store.problem);
  scope.subscribe(store, "problem", showProblem);
  return h(
    "header",
    { className: "phx-header" },
    h("h2", { className: "phx-title", text: "Phoenix" }),
    h("span", { className: "phx-subtitle", text: "Models, downloads and status" }),
    live,
    problem,
  );
}

function connectionText({ state, delay }) {
  if (state === "open") return "Live";
  if (state === "connecting") return "Connecting…";
  if (state === "retrying") return `Connection lost; retrying in ${formatDuration(delay / 1000)}`;
  return "Offline";
}

function renderSection(section, ctx) {
  const { store, scope } = ctx;
  const body = h("div", { className: "phx-section__body" });
  const details = h(
    "details",
    { className: `phx-section phx-section--${section.id}`, dataset: { section: section.id } },
    h("summary", { className: "phx-section__title" }, h("span", { text: section.title })),
    body,
  );
  details.open = store.ui.open.has(section.id);
  scope.listen(details, "toggle", () => {
    if (details.open) store.ui.open.add(section.id);
    else store.ui.open.delete(section.id);
  });
  section.mount(body, { ...ctx, details });
  return details;
}
