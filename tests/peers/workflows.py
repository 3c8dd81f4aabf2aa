"""ComfyUI workflows as the frontend saves them, turned into the prompt ``/prompt`` takes."""

from __future__ import annotations

from typing import Any

#: Frontend-only nodes: the frontend never sends them to the server.
VIRTUAL_NODES = frozenset({"Note", "MarkdownNote"})
_SEED_CONTROLS = ("fixed", "randomize", "increment", "decrement")


def api_prompt(workflow: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    """The UI workflow in the API format (widgets in the order ``/object_info`` lists inputs)."""
    links = {link[0]: link for link in workflow["links"]}
    prompt: dict[str, Any] = {}
    for node in workflow["nodes"]:
        if node["type"] in VIRTUAL_NODES:
            continue
        spec = info[node["type"]]["input"]
        linked = {i["name"]: links[i["link"]] for i in node.get("inputs", []) if i.get("link")}
        widgets = list(node.get("widgets_values", []))
        inputs: dict[str, Any] = {}
        for name in [*spec.get("required", {}), *spec.get("optional", {})]:
            if name in linked:
                link = linked[name]
                inputs[name] = [str(link[1]), link[2]]
                continue
            if not widgets:
                continue
            inputs[name] = widgets.pop(0)
            if name in ("seed", "noise_seed") and widgets and widgets[0] in _SEED_CONTROLS:
                widgets.pop(0)
        prompt[str(node["id"])] = {"class_type": node["type"], "inputs": inputs}
    return prompt


def missing_node_types(workflow: dict[str, Any], info: dict[str, Any]) -> list[str]:
    """The node types of ``workflow`` this ComfyUI does not have."""
    types = {n["type"] for n in workflow["nodes"]} - VIRTUAL_NODES
    return sorted(t for t in types if t not in info)
