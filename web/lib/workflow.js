// The open workflow as Phoenix's server reads it (comfyui_phoenix/workflow/): each
// node's type, title, mode, widget values by name and `properties.models` (subgraphs
// flattened, their titles prefixed with where they sit), and the workflow's top-level
// `models`. What that means — which entries count, which references a Phoenix node holds —
// is decided once, on the server, for the panel, the CLI and the nodes alike.

/**
 * The workflow JSON of a live graph (ComfyUI's `app.rootGraph`/`app.graph`).
 * @param {object} graph
 * @param {object[]|undefined} models The workflow's top-level `models`, where the frontend keeps them.
 */
export function workflowJson(graph, models) {
  const nodes = [];
  for (const { node, prefix } of allNodes(graph)) nodes.push(describe(node, prefix));
  const topLevel = Array.isArray(models) ? models : Array.isArray(graph?.models) ? graph.models : [];
  return { nodes, models: topLevel.filter((m) => m && typeof m === "object") };
}

function* allNodes(graph, prefix = "", seen = new Set()) {
  if (!graph || seen.has(graph)) return;
  seen.add(graph);
  for (const node of graph.nodes ?? graph._nodes ?? []) {
    yield { node, prefix };
    if (node.subgraph) yield* allNodes(node.subgraph, `${prefix}${node.title || node.type} #${node.id} › `, seen);
  }
}

function describe(node, prefix) {
  const values = {};
  for (const widget of node.widgets ?? []) {
    const value = widget?.value;
    if (typeof widget?.name === "string" && ["string", "number", "boolean"].includes(typeof value)) {
      values[widget.name] = value;
    }
  }
  const models = node.properties?.models;
  return {
    id: node.id,
    type: node.type,
    title: `${prefix}${node.title || node.type}`,
    mode: node.mode ?? 0,
    widgets_values: values,
    properties: Array.isArray(models) ? { models } : {},
  };
}
