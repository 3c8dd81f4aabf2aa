// The parts of ComfyUI's frontend Phoenix uses, each feature-detected so an older or newer
// frontend degrades to "not offered" instead of an error.

import { loaderFor, matchOption, modelName } from "./loaders.js";
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

  /**
   * Add the core loader for a finished job to the canvas with its file selected.
   * @returns {{ok: boolean, reason?: string, type?: string}}
   */
  async function addLoaderNode(job) {
    const loader = loaderFor(job.folder);
    if (!loader) return { ok: false, reason: `No core loader node loads ${job.folder}.` };
    if (!canAddNodes()) return { ok: false, reason: "This ComfyUI does not let extensions add nodes." };
    const node = win.LiteGraph.createNode(loader.type);
    if (!node) return { ok: false, reason: `This ComfyUI has no ${loader.type} node.` };
    node.pos = visibleCenter(app);
    app.graph.add(node);
    const widget = node.widgets?.find((w) => w.name === loader.widget);
    if (widget) {
      const name = modelName(job);
      if (!matchOption(widget.options?.values, name) && typeof app.refreshComboInNodes === "function") {
        await app.refreshComboInNodes();
      }
      widget.value = matchOption(widget.options?.values, name) ?? name;
      widget.callback?.(widget.value);
    }
    app.canvas?.selectNode?.(node);
    app.graph.setDirtyCanvas?.(true, true);
    return { ok: true, type: loader.type };
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

function visibleCenter(app) {
  const canvas = app?.canvas;
  const ds = canvas?.ds;
  const element = canvas?.canvas;
  if (!ds?.offset || !ds.scale || !element) return [100, 100];
  const x = element.clientWidth / 2 / ds.scale - ds.offset[0];
  const y = element.clientHeight / 2 / ds.scale - ds.offset[1];
  return [Math.round(x - 150), Math.round(y - 50)];
}
