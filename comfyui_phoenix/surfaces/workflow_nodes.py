"""Where Phoenix's own nodes keep their references in a workflow, read from the nodes.

A saved workflow lists a node's widget values in the order of its widget inputs; the
reference widgets are its text inputs. Reading both from the node classes keeps the
workflow reader right for every Phoenix node, new ones included.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from ..workflow_models import NodeSpec

#: Input types ComfyUI shows as widgets (a list is a combo); the rest are sockets.
_WIDGET_TYPES = frozenset({"STRING", "INT", "FLOAT", "BOOLEAN", "COMBO"})


@cache
def phoenix_node_specs() -> Mapping[str, NodeSpec]:
    """Each Phoenix node type's widgets, reference widgets and folder."""
    from .nodes import NODE_CLASS_MAPPINGS

    return {name: node_spec(cls) for name, cls in NODE_CLASS_MAPPINGS.items()}


def node_spec(cls: Any) -> NodeSpec:
    """A node class's :class:`NodeSpec`, from its ``INPUT_TYPES`` and ``FOLDER``."""
    inputs = cls.INPUT_TYPES()
    widgets: list[str] = []
    references: list[str] = []
    for group in ("required", "optional"):
        for name, declared in (inputs.get(group) or {}).items():
            kind = declared[0]
            options = declared[1] if len(declared) > 1 else {}
            if isinstance(kind, list) or kind in _WIDGET_TYPES:
                widgets.append(name)
                if kind == "STRING":
                    references.append(name)
                if isinstance(options, dict) and options.get("control_after_generate"):
                    widgets.append(f"{name}.control_after_generate")
    folder = str(getattr(cls, "FOLDER", "") or "")
    folder_widget = "folder" if not folder and "folder" in widgets else None
    return NodeSpec(tuple(widgets), tuple(references), folder, folder_widget)
