"""What the package's root gives ComfyUI for its nodes, as this ComfyUI loads them best.

ComfyUI with the V3 API (``comfy_api.latest``) gets ``comfy_entrypoint``, the nodes
rendered as ``io.ComfyNode`` (:mod:`.nodes_v3`); an older one, or anything that is not
ComfyUI, gets ``NODE_CLASS_MAPPINGS`` (which, when present, ComfyUI uses instead).
"""

from __future__ import annotations

import logging
from typing import Any

from .comfy import inside_comfyui, v3_api
from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS
from .nodes_v3 import entrypoint

log = logging.getLogger("phoenix")


def node_exports() -> dict[str, Any]:
    """The names the package's root exports for its nodes: V3's or V1's."""
    v1 = {
        "NODE_CLASS_MAPPINGS": NODE_CLASS_MAPPINGS,
        "NODE_DISPLAY_NAME_MAPPINGS": NODE_DISPLAY_NAME_MAPPINGS,
    }
    if not inside_comfyui():
        return v1
    api = v3_api()
    if api is None:
        log.info("Phoenix: %d nodes, in ComfyUI's V1 node schema", len(NODE_CLASS_MAPPINGS))
        return v1
    extension, io = api
    entry = entrypoint(extension, io, NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS)
    log.info("Phoenix: %d nodes, in ComfyUI's V3 node schema", len(NODE_CLASS_MAPPINGS))
    return {"comfy_entrypoint": entry}
