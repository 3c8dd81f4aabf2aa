// A model from the Library onto the canvas: a new core loader node with the file chosen, or the
// file set on the loader node it is dropped on. Only the frontend's public API is used, each
// part feature-detected: LiteGraph.createNode, graph.add/getNodeOnPos/getNodeById,
// canvas.convertEventToCanvasOffset, and the [data-node-id] of nodes drawn as DOM elements.
//
// Dragging registers its listeners on the window (capture phase) only while a Library model is
// being dragged, and takes the drop before the frontend's own drop handler (which loads files
// and workflows) sees it: nothing listens at idle.

import { loaderFor, matchOption } from "./loaders.js";

export const MODEL_TYPE = "application/x-phoenix-model";
const SPACING = 40;

/**
 * @param {object} app ComfyUI's app.
 * @param {{win?: object}} [options] `window` stand-in, for tests.
 */
export function createModelPlacer(app, { win = globalThis } = {}) {
  let added = 0;
  let dragging = null;

  function canPlace() {
    return typeof win.LiteGraph?.createNode === "function" && typeof app?.graph?.add === "function";
  }

  /** Where a new node goes when no drop says where: the visible centre, a step further each time. */
  function nextPosition() {
    const canvas = app?.canvas;
    const ds = canvas?.ds;
    const element = canvas?.canvas;
    const step = (added++ % 8) * SPACING;
    if (!ds?.offset || !ds.scale || !element) return [100 + step, 100 + step];
    const x = element.clientWidth / 2 / ds.scale - ds.offset[0];
    const y = element.clientHeight / 2 / ds.scale - ds.offset[1];
    return [Math.round(x - 150 + step), Math.round(y - 50 + step)];
  }

  /**
   * Add the loader node for `model` ({folder, name}) at `pos`.
   * @returns {Promise<{ok: boolean, reason?: string, type?: string}>}
   */
  async function addNode(model, pos = null) {
    const loader = loaderFor(model.folder);
    if (!loader) return { ok: false, reason: `No core loader node loads ${model.folder}.` };
    if (!canPlace()) return { ok: false, reason: "This ComfyUI does not let extensions add nodes." };
    const node = win.LiteGraph.createNode(loader.type);
    if (!node) return { ok: false, reason: `This ComfyUI has no ${loader.type} node.` };
    node.pos = pos ?? nextPosition();
    app.graph.add(node);
    const widget = node.widgets?.find((w) => w.name === loader.widget);
    if (widget) await choose(widget, model.name);
    app.canvas?.selectNode?.(node);
    app.graph.setDirtyCanvas?.(true, true);
    return { ok: true, type: loader.type };
  }

  /** Set `model` on `node` when one of its model lists offers the file (or it is its loader). */
  async function setOnNode(node, model) {
    const loader = loaderFor(model.folder);
    const widgets = node?.widgets ?? [];
    const widget =
      widgets.find((w) => loader && w.name === loader.widget && node.type === loader.type) ??
      widgets.find((w) => matchOption(w.options?.values, model.name));
    if (!widget) return { ok: false, reason: `${node?.type ?? "That node"} does not load ${model.folder} files.` };
    await choose(widget, model.name);
    app.graph?.setDirtyCanvas?.(true, true);
    return { ok: true, type: node.type, node: node.id };
  }

  async function choose(widget, name) {
    if (!matchOption(widget.options?.values, name) && typeof app.refreshComboInNodes === "function") {
      await app.refreshComboInNodes();
    }
    widget.value = matchOption(widget.options?.values, name) ?? name;
    widget.callback?.(widget.value);
  }

  /** The node under a drop: a node drawn as a DOM element, else the canvas's hit test. */
  function nodeAt(event) {
    const element = event.target?.closest?.("[data-node-id]");
    const id = element?.getAttribute("data-node-id");
    if (id && typeof app.graph?.getNodeById === "function") {
      const node = app.graph.getNodeById(Number.isNaN(Number(id)) ? id : Number(id));
      if (node) return node;
    }
    const pos = canvasPosition(event);
    return pos && typeof app.graph?.getNodeOnPos === "function" ? app.graph.getNodeOnPos(pos[0], pos[1]) : null;
  }

  function canvasPosition(event) {
    const canvas = app?.canvas;
    if (typeof canvas?.convertEventToCanvasOffset !== "function") return null;
    const pos = canvas.convertEventToCanvasOffset(event);
    return Array.isArray(pos) || pos?.length === 2 ? [Math.round(pos[0]), Math.round(pos[1])] : null;
  }

  /** Whether a drag or drop event is over the graph (the canvas or a node drawn on it). */
  function overGraph(event) {
    const target = event.target;
    if (!target || target.closest?.(".phx-panel")) return false;
    if (target.closest?.("[data-node-id]")) return true;
    const element = app?.canvasEl ?? app?.canvas?.canvas;
    return Boolean(element && (target === element || element.parentElement?.contains(target)));
  }

  const onDragOver = (event) => {
    if (!dragging || !overGraph(event)) return;
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
  };

  const onDrop = async (event) => {
    const model = dragging?.model;
    const done = dragging?.onDone;
    if (!model || !overGraph(event)) return;
    // Ours: the frontend's drop handler (files, workflows) must not act on it.
    event.preventDefault();
    event.stopPropagation();
    stop();
    const node = nodeAt(event);
    const result = node ? await setOnNode(node, model) : null;
    const outcome = result?.ok ? result : await addNode(model, canvasPosition(event));
    done?.(outcome, Boolean(result?.ok));
  };

  function stop() {
    if (!dragging) return;
    dragging = null;
    win.removeEventListener("dragover", onDragOver, true);
    win.removeEventListener("drop", onDrop, true);
  }

  /**
   * A drag of `model` begins: its data goes on the transfer (never a URL, which the frontend
   * would fetch) and the drop is listened for until the drag ends.
   */
  function beginDrag(event, model, onDone) {
    if (!canPlace() || !loaderFor(model.folder)) return false;
    event.dataTransfer?.setData(MODEL_TYPE, JSON.stringify({ folder: model.folder, name: model.name }));
    if (event.dataTransfer) event.dataTransfer.effectAllowed = "copy";
    stop();
    dragging = { model, onDone };
    win.addEventListener("dragover", onDragOver, true);
    win.addEventListener("drop", onDrop, true);
    return true;
  }

  /** The drag ended (dropped elsewhere, or cancelled): stop listening. */
  function endDrag() {
    // The drop handler runs before dragend; give it the turn it needs.
    setTimeout(stop, 0);
  }

  return { canPlace, addNode, setOnNode, beginDrag, endDrag, get dragging() { return Boolean(dragging); } };
}
