// The models the open workflow needs: Phoenix nodes' references and the workflow's own
// model metadata ({name, url, directory}), which ComfyUI's missing-models dialog reads from
// the workflow's top-level `models` and from each node's `properties.models`.

/** Phoenix node types, their reference widgets, and the folder each loader fetches into. */
export const PHOENIX_NODES = {
  PhoenixFetchModel: { widgets: ["reference"], folderWidget: "folder" },
  PhoenixCheckpointLoader: { widgets: ["reference"], folder: "checkpoints" },
  PhoenixDiffusionModelLoader: { widgets: ["reference"], folder: "diffusion_models" },
  PhoenixLoraLoader: { widgets: ["reference"], folder: "loras" },
  PhoenixVAELoader: { widgets: ["reference"], folder: "vae" },
  PhoenixFluxTextEncoderLoader: { widgets: ["clip_l", "t5xxl"], folder: "text_encoders" },
  PhoenixFlux2TextEncoderLoader: { widgets: ["reference"], folder: "text_encoders" },
  PhoenixCLIPVisionLoader: { widgets: ["reference"], folder: "clip_vision" },
  PhoenixStyleModelLoader: { widgets: ["reference"], folder: "style_models" },
};

// A whole HuggingFace repository (`owner/name`, `owner/name@rev`): its plan places each file
// itself (a FLUX member's transformer, VAE and encoders), as the loader nodes let it.
const WHOLE_REPOSITORY = /^(hf:)?[\w.-]+\/[\w.-]+(@[\w.-]+)?$/;

/**
 * Scan a graph (ComfyUI's `app.graph`, subgraphs included).
 * @returns {{references: Array<{ref: string, node: string}>, metadata: Array<{name, url, directory, node}>}}
 */
export function scanWorkflow(graph, workflowState) {
  const references = new Map();
  const metadata = new Map();
  for (const { node, where } of allNodes(graph)) {
    collectReferences(node, where, references);
    collectNodeMetadata(node, where, metadata);
  }
  const topLevel = graph?.models ?? workflowState?.models;
  if (Array.isArray(topLevel)) for (const model of topLevel) addMetadata(metadata, model, "workflow");
  return { references: [...references.values()], metadata: [...metadata.values()] };
}

function* allNodes(graph, prefix = "", seen = new Set()) {
  if (!graph || seen.has(graph)) return;
  seen.add(graph);
  for (const node of graph.nodes ?? graph._nodes ?? []) {
    const where = `${prefix}${node.title || node.type} #${node.id}`;
    yield { node, where };
    if (node.subgraph) yield* allNodes(node.subgraph, `${where} › `, seen);
  }
}

function widgetValue(node, name) {
  const widget = node.widgets?.find((w) => w.name === name);
  return typeof widget?.value === "string" ? widget.value.trim() : "";
}

function collectReferences(node, where, out) {
  const spec = PHOENIX_NODES[node.type];
  if (!spec) return;
  const chosen = spec.folderWidget ? widgetValue(node, spec.folderWidget) : "";
  const folder = spec.folder ?? (chosen && chosen !== "auto" ? chosen : "");
  for (const name of spec.widgets) {
    const text = widgetValue(node, name);
    if (!text) continue;
    const placed = text.includes("::") || WHOLE_REPOSITORY.test(text);
    const ref = folder && !placed ? `${text}::${folder}` : text;
    if (!out.has(ref)) out.set(ref, { ref, node: where });
  }
}

function collectNodeMetadata(node, where, out) {
  const models = node.properties?.models;
  if (!Array.isArray(models) || !models.length) return;
  // As ComfyUI does: only the entries the node's widgets currently select.
  const selected = new Set(
    (node.widgets ?? []).map((w) => w.value).filter((v) => typeof v === "string" && v.trim()),
  );
  for (const model of models) if (selected.has(model?.name)) addMetadata(out, model, where);
}

function addMetadata(out, model, where) {
  if (!model || typeof model.name !== "string" || typeof model.url !== "string") return;
  const key = `${model.directory}/${model.name}`;
  if (!out.has(key)) {
    out.set(key, { name: model.name, url: model.url, directory: model.directory ?? "", node: where });
  }
}
