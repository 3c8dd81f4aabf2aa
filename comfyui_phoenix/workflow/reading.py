"""A workflow read for what it needs: its ``models`` lists and its Phoenix nodes.

As in ComfyUI's own check, a node's entries count only when one of its widgets selects
them, and muted and bypassed nodes need nothing. The graph may be a saved workflow
(``nodes`` with ``widgets_values`` in widget order, subgraphs in ``definitions``), the
panel's live graph (``widgets_values`` by widget name), or the API format.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..errors import BadReferenceError, PhoenixError
from .entries import entry_problem, parse_model_entry, text_of
from .needs import Need, WorkflowNeeds
from .phoenix_nodes import NodeSpec, phoenix_node_needs

#: Node modes ComfyUI does not run: muted (never) and bypassed.
INACTIVE_MODES = frozenset({2, 4})
#: Who names a top-level entry.
TOP_LEVEL = "the workflow"
_WORKFLOW_HINT = "Use a workflow saved from ComfyUI (Save or Export), or its API format."


def read_workflow(workflow: Any, phoenix_nodes: Mapping[str, NodeSpec]) -> WorkflowNeeds:
    """What ``workflow`` needs: its ``models`` entries and its Phoenix nodes' references.

    Args:
        workflow: a saved workflow, the panel's graph, or an API-format prompt.
        phoenix_nodes: each Phoenix node type's widgets (see :class:`NodeSpec`).

    Raises:
        BadReferenceError: ``workflow`` is not a ComfyUI workflow at all.
    """
    if not isinstance(workflow, Mapping):
        raise BadReferenceError("The workflow is not a JSON object.", hint=_WORKFLOW_HINT)
    needs = WorkflowNeeds()
    if workflow and "nodes" not in workflow and all(map(_is_api_node, workflow.values())):
        for node_id, node in workflow.items():
            spec = phoenix_nodes.get(str(node.get("class_type")))
            if spec is not None:
                label = f"{node.get('_meta', {}).get('title') or node['class_type']} #{node_id}"
                phoenix_node_needs(needs, spec, node.get("inputs") or {}, [], label)
        return needs
    if not isinstance(workflow.get("nodes", []), list):
        raise BadReferenceError("The workflow's 'nodes' is not a list.", hint=_WORKFLOW_HINT)
    for node, label in _nodes(workflow):
        _read_node(needs, node, label, phoenix_nodes)
    for raw in _listed(workflow.get("models")):
        try:
            needs.add(parse_model_entry(raw, TOP_LEVEL))
        except PhoenixError as exc:
            needs.problems.append(entry_problem(raw, TOP_LEVEL, exc))
    return needs


def node_needs(
    workflow: Any, node_id: str, node_type: str, spec: NodeSpec, values: Mapping[str, Any]
) -> dict[str, Need]:
    """What one Phoenix node needs, by widget, when it runs inside ComfyUI.

    Args:
        workflow: the workflow ComfyUI hands the node (``EXTRA_PNGINFO``'s), or None.
        node_id: ComfyUI's id of the running node (``outer:inner`` inside a subgraph).
        node_type: the node's type, to find it in the workflow.
        spec: the node's widgets.
        values: the widget values the node runs with (they win over the saved ones).
    """
    node = _find_node(workflow, node_id, node_type)
    properties = node.get("properties") if node is not None else None
    models = _listed(properties.get("models")) if isinstance(properties, Mapping) else []
    label = _label(node) if node is not None else f"{node_type} #{node_id}"
    return phoenix_node_needs(WorkflowNeeds(), spec, values, models, label)


def _is_api_node(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("class_type"), str)


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _nodes(workflow: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], str]]:
    for node in workflow.get("nodes") or []:
        if isinstance(node, Mapping):
            yield node, _label(node)
    definitions = workflow.get("definitions")
    subgraphs = definitions.get("subgraphs") if isinstance(definitions, Mapping) else None
    for subgraph in subgraphs if isinstance(subgraphs, list) else []:
        if not isinstance(subgraph, Mapping):
            continue
        where = str(subgraph.get("name") or subgraph.get("id") or "subgraph")
        for node in subgraph.get("nodes") or []:
            if isinstance(node, Mapping):
                yield node, f"{where} › {_label(node)}"


def _label(node: Mapping[str, Any]) -> str:
    return f"{node.get('title') or node.get('type') or 'node'} #{node.get('id', '?')}"


def _find_node(workflow: Any, node_id: str, node_type: str) -> Mapping[str, Any] | None:
    if not isinstance(workflow, Mapping):
        return None
    inner = node_id.rpartition(":")[2]
    candidates = [
        node
        for node, _ in _nodes(workflow)
        if str(node.get("id")) == inner and node.get("type") == node_type
    ]
    # A top-level node first, unless the id says the node runs inside a subgraph.
    return (candidates[-1] if ":" in node_id else candidates[0]) if candidates else None


def _read_node(
    needs: WorkflowNeeds,
    node: Mapping[str, Any],
    label: str,
    phoenix_nodes: Mapping[str, NodeSpec],
) -> None:
    if node.get("mode") in INACTIVE_MODES:
        return
    properties = node.get("properties")
    models = _listed(properties.get("models")) if isinstance(properties, Mapping) else []
    spec = phoenix_nodes.get(str(node.get("type")))
    if spec is not None:
        values = _widget_values(node.get("widgets_values"), spec.widgets)
        phoenix_node_needs(needs, spec, values, models, label)
        return
    selected = set(_string_values(node.get("widgets_values")))
    for raw in models:
        if not isinstance(raw, Mapping) or text_of(raw.get("name")) not in selected:
            continue
        try:
            needs.add(parse_model_entry(raw, label))
        except PhoenixError as exc:
            needs.problems.append(entry_problem(raw, label, exc))


def _widget_values(values: Any, names: tuple[str, ...]) -> Mapping[str, Any]:
    if isinstance(values, Mapping):
        return values
    if isinstance(values, list):
        return dict(zip(names, values, strict=False))
    return {}


def _string_values(values: Any) -> Iterator[str]:
    items = list(values.values()) if isinstance(values, Mapping) else values
    for value in items if isinstance(items, list) else []:
        if isinstance(value, str) and value.strip():
            yield value.strip()
