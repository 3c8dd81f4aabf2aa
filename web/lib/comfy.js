// The parts of ComfyUI's frontend Phoenix uses, each feature-detected so an older or newer
// frontend degrades to "not offered" instead of an error.

import { matchOption, modelName } from "./loaders.js";
import { workflowJson } from "./workflow.js";

const SEVERITY_METHODS = { success: "success", info: "info", warn: "warning", error: "error" };

/**
 * @param {object} app ComfyUI's app.
 * @param {object} api ComfyUI's api.
 * @param {object} [options] `window` stand-in and the LiteGraph global, for tests.
 */
export function createHost(app, api, { win = globalThis } = {}) {
  let refreshTimer = null;

  function toast(severity, summary, detail) {
    const toasts = app?.extensionManager?.toast;
    if (!toasts) {
      console.info(`[phoenix] ${summary}: ${detail}`);
      return;
    }
    const method = SEVERITY_METHODS[severity] ?? "info";
    // Newer frontends have one method per kind and deprecate add().
    if (typeof toasts[method] === "function") {
      toasts[method](summary, { description: detail, duration: severity === "error" ? 12000 : 5000 });
    } else if (typeof toasts.add === "function") {
      toasts.add({ severity, summary, detail, life: severity === "error" ? 12000 : 5000 });
    }
  }

  /**
   * Refresh ComfyUI's model combos once after a burst of placed or deleted files, then (on
   * frontends that keep one) its list of the workflow's missing models, so a model that
   * arrived stops being reported missing.
   */
  function refreshModels() {
    if (typeof app?.refreshComboInNodes !== "function") return;
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(async () => {
      refreshTimer = null;
      try {
        await app.refreshComboInNodes();
        if (typeof app.refreshMissingModels === "function") await app.refreshMissingModels({ reloadDefs: false, silent: true });
      } catch (err) {
        console.warn("[phoenix] could not refresh the model lists", err);
      }
    }, 300);
  }

  function canAddNodes() {
    return typeof win.LiteGraph?.createNode === "function" && typeof app?.graph?.add === "function";
  }

  // The node made for each group of files that share one (FLUX's two text encoders).
  const groupNodes = new Map();

  /**
   * Add the loader a finished job's plan names to the canvas, its file selected. Files that
   * share one node (a group) go into the same node; a new node never covers another.
   * @param {object} job A finished job; `job.loader` says which node loads it.
   * @param {object[]} jobs Every job, to find the rest of the job's group.
   * @returns {Promise<{ok: boolean, reason?: string, type?: string, names?: string[], waiting?: string[], reused?: boolean}>}
   */
  async function addLoaderNode(job, jobs = []) {
    const loader = job.loader;
    if (!loader) return { ok: false, reason: `No ComfyUI loader node loads ${job.filename}.` };
    if (!canAddNodes()) return { ok: false, reason: "This ComfyUI does not let extensions add nodes." };
    const group = loader.group ? jobs.filter((j) => j.loader?.group === loader.group) : [job];
    group.sort((a, b) => a.loader.input.localeCompare(b.loader.input)); // clip_name1 first
    const ready = group.filter((j) => j.state === "done");
    let node = loader.group ? groupNodes.get(loader.group) : null;
    const reused = Boolean(node && graphNodes(app.graph).includes(node));
    if (!reused) {
      node = win.LiteGraph.createNode(loader.node);
      if (!node) return { ok: false, reason: `This ComfyUI has no ${loader.node} node.` };
      node.pos = freeSpot(app.graph, node, visibleCenter(app), win.LiteGraph);
      app.graph.add(node);
      if (loader.group) groupNodes.set(loader.group, node);
    }
    for (const [name, value] of Object.entries(loader.options ?? {})) await setWidget(node, name, value);
    for (const member of ready) await setWidget(node, member.loader.input, modelName(member));
    app.canvas?.selectNode?.(node);
    app.graph.setDirtyCanvas?.(true, true);
    return {
      ok: true,
      type: loader.node,
      names: ready.map((j) => j.filename),
      waiting: group.filter((j) => j.state !== "done").map((j) => j.filename),
      reused,
    };
  }

  async function setWidget(node, name, value) {
    const widget = node.widgets?.find((w) => w.name === name);
    if (!widget) return;
    if (!matchOption(widget.options?.values, value) && typeof app.refreshComboInNodes === "function") {
      await app.refreshComboInNodes();
    }
    widget.value = matchOption(widget.options?.values, value) ?? value;
    widget.callback?.(widget.value);
  }

  // The top-level `models` of the workflow last loaded, as ComfyUI handed it to extensions.
  let loadedModels;

  /** A workflow is about to load (the `beforeConfigureGraph` hook): remember its `models`. */
  function workflowLoading(graphData) {
    loadedModels = Array.isArray(graphData?.models) ? graphData.models : undefined;
  }

  /** The open workflow as JSON for Phoenix's server (see workflow.js). */
  function currentWorkflow() {
    const workflow = app?.extensionManager?.workflow?.activeWorkflow;
    const state = workflow?.activeState ?? workflow?.initialState;
    const models = Array.isArray(state?.models) ? state.models : loadedModels;
    return workflowJson(app?.rootGraph ?? app?.graph, models);
  }

  /** A frontend setting's value, or `fallback` where the frontend has no setting store. */
  function setting(id, fallback) {
    try {
      const store = app?.extensionManager?.setting;
      const value = typeof store?.get === "function" ? store.get(id) : app?.ui?.settings?.getSettingValue?.(id);
      return value ?? fallback;
    } catch {
      return fallback;
    }
  }

  /** ComfyUI's websocket notices (sent once per job), for toasts while the tab is closed. */
  function onJobNotices(fn) {
    if (typeof api?.addEventListener !== "function") return () => {};
    const done = (event) => fn({ ...(event.detail ?? {}), state: "done" });
    const failed = (event) => fn({ ...(event.detail ?? {}), state: "failed" });
    api.addEventListener("phoenix.job.done", done);
    api.addEventListener("phoenix.job.failed", failed);
    return () => {
      api.removeEventListener?.("phoenix.job.done", done);
      api.removeEventListener?.("phoenix.job.failed", failed);
    };
  }

  /** Change a frontend setting, where the frontend lets extensions. */
  async function setSetting(id, value) {
    try {
      const store = app?.extensionManager?.setting;
      if (typeof store?.set === "function") await store.set(id, value);
      else await app?.ui?.settings?.setSettingValueAsync?.(id, value);
    } catch (err) {
      console.warn(`[phoenix] could not change the setting ${id}`, err);
    }
  }

  return {
    toast,
    setSetting,
    refreshModels,
    canAddNodes,
    addLoaderNode,
    workflowLoading,
    currentWorkflow,
    setting,
    onJobNotices,
  };
}

function graphNodes(graph) {
  return graph?.nodes ?? graph?._nodes ?? [];
}

const GAP = 20;

/**
 * The first place at or below `start` where `node` covers no other node (its title bar
 * included), so nodes added one after another sit side by side, not on one spot.
 */
export function freeSpot(graph, node, start, liteGraph = {}) {
  const title = liteGraph.NODE_TITLE_HEIGHT ?? 30;
  const [width, height] = sizeOf(node);
  const boxes = graphNodes(graph)
    .filter((other) => other !== node && isPair(other.pos))
    .map((other) => {
      const [w, h] = sizeOf(other);
      return [other.pos[0], other.pos[1] - title, w, h + title];
    });
  let [x, y] = start;
  for (let tries = 0; tries < 200; tries += 1) {
    const box = [x, y - title, width, height + title];
    const hit = boxes.find((b) => box[0] < b[0] + b[2] && b[0] < box[0] + box[2] && box[1] < b[1] + b[3] && b[1] < box[1] + box[3]);
    if (!hit) break;
    y = hit[1] + hit[3] + title + GAP;
  }
  return [Math.round(x), Math.round(y)];
}

// LiteGraph keeps positions and sizes in Float32Arrays, newer frontends in views of its
// layout store: anything indexable with two numbers.
function isPair(value) {
  return value != null && Number.isFinite(Number(value[0])) && Number.isFinite(Number(value[1]));
}

function sizeOf(node) {
  const size = node?.size;
  return isPair(size) ? [Number(size[0]) || 300, Number(size[1]) || 100] : [300, 100];
}

function visibleCenter(app) {
  const canvas = app?.canvas;
  const ds = canvas?.ds;
  const element = canvas?.canvas;
  if (!ds?.offset || !ds.scale || !element) return [100, 100];
  const x = element.clientWidth / 2 / ds.scale - ds.offset[0];
  const y = element.clientHeight / 2 / ds.scale - ds.offset[1];
  return [Math.round(x - 150), Math.round(y - 50)];
}
