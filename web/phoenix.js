// Phoenix's sidebar tab in ComfyUI: downloads, library, status, tokens and cleanup.
//
// This entry is the only module with side effects. ComfyUI imports every .js file under the
// web directory, so lib/ and sections/ only define things; everything starts in setup().

import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";
import { createClient } from "./lib/api.js";
import { createHost } from "./lib/comfy.js";
import { h } from "./lib/dom.js";
import { OFFER_SETTING, createOffer } from "./lib/missing_offer.js";
import { createModelPlacer } from "./lib/model_nodes.js";
import { mountPanel } from "./lib/panel.js";
import { PhoenixStore } from "./lib/store.js";
import { WorkflowModels } from "./lib/workflow_models.js";

const TAB_ID = "phoenix";
const COMMAND_ID = "Phoenix.OpenPanel";
const FETCH_COMMAND_ID = "Phoenix.FetchWorkflowModels";
const STYLESHEETS = ["./phoenix.css", "./manager.css"].map((path) => new URL(path, import.meta.url).href);

let store = null;
let host = null;
let offer = null;
const sidebarMounts = new Set();

function loadStylesheet() {
  if (document.querySelector("link[data-phoenix-css]")) return;
  for (const href of STYLESHEETS) document.head.append(h("link", { rel: "stylesheet", href, dataset: { phoenixCss: "" } }));
}

function start() {
  host = createHost(app, api);
  // Library models onto the canvas: new loader nodes, or the file set on a loader node.
  host.models = createModelPlacer(app);
  const client = createClient(api);
  store = new PhoenixStore({ client, host });
  // The open workflow's models as the server plans them, for the panel's section and the offer.
  store.workflow = new WorkflowModels({ client, host, store });
  offer = createOffer({ store, host, models: store.workflow, reveal: () => revealSection("workflow") });
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
      // The sidebar shows one Phoenix tab. A frontend that renders it again without
      // destroying it first (1.58 does when node definitions are refreshed) still gets one.
      for (const dispose of sidebarMounts) dispose();
      sidebarMounts.clear();
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

/** A workflow is open: its models are planned again, and the missing ones offered. */
function workflowLoaded() {
  offer?.workflowLoaded().catch((err) => console.warn("[phoenix] could not plan the workflow's models", err));
}

/** Open the panel with one section open and in view. */
function revealSection(id) {
  store.ui.open.add(id);
  if (sidebarMounts.size) {
    store.emit("reveal", id);
    return;
  }
  store.ui.reveal = id;
  openPanel();
}

function hasTab() {
  const tabs = app.extensionManager?.getSidebarTabs?.();
  return Array.isArray(tabs) ? tabs.some((t) => t.id === TAB_ID) : false;
}

app.registerExtension({
  name: "phoenix.sidebar",
  commands: [
    { id: COMMAND_ID, label: "Open Phoenix", icon: "pi pi-cloud-download", function: openPanel },
    {
      id: FETCH_COMMAND_ID,
      label: "Download this workflow's missing models on the server (Phoenix)",
      icon: "pi pi-cloud-download",
      function: () => offer?.offerNow(),
    },
  ],
  settings: [
    {
      id: OFFER_SETTING,
      category: ["Phoenix", "Workflow", "Offer"],
      name: "Offer to download a loaded workflow's missing models on the server",
      tooltip: "Phoenix fetches them onto this machine, into ComfyUI's model folders, instead of the browser's Downloads.",
      type: "boolean",
      defaultValue: true,
    },
  ],
  setup() {
    loadStylesheet();
    start();
    if (!registerTab()) addFallbackButton();
    // ComfyUI restores the last workflow before extensions' setup: look at it now.
    workflowLoaded();
  },
  beforeConfigureGraph(graphData) {
    host?.workflowLoading(graphData);
  },
  afterConfigureGraph() {
    workflowLoaded(); // not awaited: the graph's load never waits on Phoenix's server
  },
});
