// Phoenix's sidebar tab in ComfyUI: downloads, library, status, tokens and cleanup.
//
// This entry is the only module with side effects. ComfyUI imports every .js file under the
// web directory, so lib/ and sections/ only define things; everything starts in setup().

import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";
import { createClient } from "./lib/api.js";
import { createHost } from "./lib/comfy.js";
import { h } from "./lib/dom.js";
import { createModelPlacer } from "./lib/model_nodes.js";
import { mountPanel } from "./lib/panel.js";
import { PhoenixStore } from "./lib/store.js";

const TAB_ID = "phoenix";
const COMMAND_ID = "Phoenix.OpenPanel";
const STYLESHEETS = ["./phoenix.css", "./manager.css"].map((path) => new URL(path, import.meta.url).href);

let store = null;
let host = null;
const sidebarMounts = new Set();

function loadStylesheet() {
  if (document.querySelector("link[data-phoenix-css]")) return;
  for (const href of STYLESHEETS) document.head.append(h("link", { rel: "stylesheet", href, dataset: { phoenixCss: "" } }));
}

function start() {
  host = createHost(app, api);
  // Library models onto the canvas: new loader nodes, or the file set on a loader node.
  host.models = createModelPlacer(app);
  store = new PhoenixStore({ client: createClient(api), host });
  // The websocket notices arrive even while the tab is closed (the stream is not open then).
  host.onJobNotices((job) => store.noteFinished(job));
  Object.defineProperty(window, "__phoenixDebug", { configurable: true, get: () => store.debug() });
}

function registerTab() {
  const manager = app.extensionManager;
  if (typeof manager?.registerSidebarTab !== "function") return false;
  manager.registerSidebarTab({
    id: TAB_ID,
    icon: "pi pi-cloud-download",
    title: "Phoenix",
    tooltip: "Phoenix: model downloads, library and status",
    type: "custom",
    render(el) {
      sidebarMounts.add(mountPanel(el, { store, host }));
    },
    destroy() {
      for (const dispose of sidebarMounts) dispose();
      sidebarMounts.clear();
    },
  });
  return true;
}

/** Without sidebar tabs (an old frontend): a small button that opens the panel in a dialog. */
function addFallbackButton() {
  const open = h("button", {
    type: "button",
    className: "phx-fab",
    title: "Open Phoenix",
    attrs: { "aria-label": "Open Phoenix" },
    text: "Phoenix",
  });
  open.addEventListener("click", openDialog);
  document.body.append(open);
}

function openDialog() {
  const content = h("div", { className: "phx-dialog__content" });
  const close = h("button", { type: "button", className: "phx-button phx-dialog__close", text: "Close" });
  const dialog = h("dialog", { className: "phx-dialog", attrs: { "aria-label": "Phoenix" } }, close, content);
  const destroy = mountPanel(content, { store, host });
  close.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    destroy();
    dialog.remove();
  });
  document.body.append(dialog);
  dialog.showModal();
}

function openPanel() {
  const commands = app.extensionManager?.command;
  if (sidebarMounts.size === 0 && typeof commands?.execute === "function" && hasTab()) {
    commands.execute(`Workspace.ToggleSidebarTab.${TAB_ID}`);
  } else if (!hasTab()) {
    openDialog();
  }
}

function hasTab() {
  const tabs = app.extensionManager?.getSidebarTabs?.();
  return Array.isArray(tabs) ? tabs.some((t) => t.id === TAB_ID) : false;
}

app.registerExtension({
  name: "phoenix.sidebar",
  commands: [{ id: COMMAND_ID, label: "Open Phoenix", icon: "pi pi-cloud-download", function: openPanel }],
  setup() {
    loadStylesheet();
    start();
    if (!registerTab()) addFallbackButton();
  },
});
