"""Where Phoenix's own nodes keep their references in a workflow, read from the nodes.

A saved workflow lists a node's widget values in the order of its widget inputs; the
reference widgets are its text inputs. Reading both from the node classes keeps the
workflow reader right for every Phoenix node, new ones included.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from ..workflow import NodeSpec, node_spec
from .nodes import NODE_CLASS_MAPPINGS


@cache
def phoenix_node_specs() -> Mapping[str, NodeSpec]:
    """Each Phoenix node type's widgets, reference widgets and folder."""
    return {name: node_spec(cls) for name, cls in NODE_CLASS_MAPPINGS.items()}
