// Stand-in for ComfyUI's scripts/app.js: registerExtension (setup is called once the page is
// ready), extensionManager.registerSidebarTab (a button that renders the tab into a fresh
// element and destroys it on close), toast.add (recorded), refreshComboInNodes (counted),
// setting.get (from harness.settings), command.execute (the sidebar toggle), a tiny graph
// with LiteGraph.createNode for the loader-node action, and harness.loadWorkflow, which
// loads a graph as ComfyUI does: beforeConfigureGraph, the nodes, afterConfigureGraph. The
// canvas is the page's <main class="canvas">: canvasEl, canvas.convertEventToCanvasOffset
// (offsets inside it, at scale 1), graph.getNodeOnPos and graph.getNodeById behave as
// LiteGraph's do.

const harness = (window.__harness = window.__harness ?? {});
harness.toasts = [];
harness.refreshes = 0;
harness.settings = harness.settings ?? {};
const extensions = [];

// The widgets of the core loader nodes, as ComfyUI's object_info describes them.
const NODE_WIDGETS = {
  CheckpointLoaderSimple: ["ckpt_name"],
  UNETLoader: ["unet_name", "weight_dtype"],
  LoraLoader: ["lora_name", "strength_model", "strength_clip"],
  VAELoader: ["vae_name"],
  CLIPLoader: ["clip_name", "type"],
  StyleModelLoader: ["style_model_name"],
  DualCLIPLoader: ["clip_name1", "clip_name2", "type"],
};
const TITLE_HEIGHT = 30;
const WIDGET_HEIGHT = 24;

let nextNodeId = 1;
function createNode(type) {
  const names = NODE_WIDGETS[type];
  if (!names) return null;
  const node = {
    id: nextNodeId++,
    type,
    title: type,
    // As LiteGraph: a new node is sized from its widgets (the title bar sits above pos).
    size: new Float32Array([315, 10 + WIDGET_HEIGHT * names.length]),
    properties: {},
    widgets: names.map((name) => ({ name, value: "", options: { values: harness.comboValues?.[name] ?? [] } })),
  };
  // As LiteGraph: pos is a Float32Array that assigning copies into.
  const pos = new Float32Array(2);
  Object.defineProperty(node, "pos", {
    enumerable: true,
    get: () => pos,
    set: (value) => pos.set([value[0], value[1]]),
  });
  return node;
}
window.LiteGraph = { createNode, NODE_TITLE_HEIGHT: TITLE_HEIGHT };

const graph = {
  nodes: [],
  add(node) {
    this.nodes.push(node);
  },
  getNodeById(id) {
    return this.nodes.find((n) => n.id === id) ?? null;
  },
  getNodeOnPos(x, y) {
    const [w, h] = [300, 100];
    return [...this.nodes].reverse().find((n) => {
      const [nx, ny] = n.pos;
      const [sw, sh] = n.size ?? [w, h];
      return x >= nx && x <= nx + sw && y >= ny && y <= ny + sh;
    }) ?? null;
  },
  setDirtyCanvas() {},
};
harness.createNode = createNode;

const canvasEl = document.querySelector(".canvas");
const canvas = {
  canvas: canvasEl,
  ds: { offset: [0, 0], scale: 1 },
  convertEventToCanvasOffset(event) {
    const rect = canvasEl.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  },
  selectNode() {},
};

const sidebar = document.querySelector(".side-bar");
const content = document.querySelector(".sidebar-content");
const tabs = [];
let openTab = null;

function closeTab() {
  if (!openTab) return;
  openTab.tab.destroy?.();
  openTab.element.remove();
  openTab.button.setAttribute("aria-pressed", "false");
  openTab = null;
}

function toggleTab(tab, button) {
  const wasOpen = openTab?.tab === tab;
  closeTab();
  if (wasOpen) return;
  const element = document.createElement("div");
  element.className = "sidebar-tab";
  content.append(element);
  openTab = { tab, button, element };
  button.setAttribute("aria-pressed", "true");
  tab.render(element);
}

// "?no-sidebar" plays an old frontend without sidebar tabs.
const withSidebar = !new URLSearchParams(window.location.search).has("no-sidebar");

const extensionManager = {
  registerSidebarTab(tab) {
    tabs.push(tab);
    const button = document.createElement("button");
    button.type = "button";
    button.className = `${tab.id}-tab-button side-bar-button`;
    button.title = tab.tooltip ?? tab.title;
    button.textContent = tab.title;
    button.addEventListener("click", () => toggleTab(tab, button));
    sidebar.append(button);
  },
  getSidebarTabs() {
    return tabs;
  },
  setting: {
    get(id) {
      return harness.settings[id];
    },
    async set(id, value) {
      harness.settings[id] = value;
    },
  },
  command: {
    execute(id) {
      const tab = tabs.find((t) => id === `Workspace.ToggleSidebarTab.${t.id}`);
      if (tab) sidebar.querySelector(`.${tab.id}-tab-button`)?.click();
    },
  },
  toast: {
    add(message) {
      harness.toasts.push(message);
    },
  },
};
if (!withSidebar) {
  delete extensionManager.registerSidebarTab;
  delete extensionManager.getSidebarTabs;
}

export const app = {
  graph,
  canvas,
  canvasEl,
  extensionManager,
  registerExtension(extension) {
    extensions.push(extension);
    // ComfyUI calls setup after the app and its extensions are loaded.
    setTimeout(() => {
      extension.setup?.(app);
      harness.ready = true;
    }, 0);
  },
  async refreshComboInNodes() {
    harness.refreshes += 1;
  },
};
harness.app = app;

/** Run an extension's command by id, as the command palette does. */
harness.runCommand = async (id) => {
  const command = extensions.flatMap((e) => e.commands ?? []).find((c) => c.id === id);
  await command.function();
};

/** Load `workflow` ({nodes: [{id, type, title, widgets: [{name, value}], properties}], models}). */
harness.loadWorkflow = async (workflow) => {
  for (const extension of extensions) await extension.beforeConfigureGraph?.(workflow, []);
  graph.nodes = workflow.nodes ?? [];
  graph.models = workflow.models;
  for (const extension of extensions) await extension.afterConfigureGraph?.([]);
};
