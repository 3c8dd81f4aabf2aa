"""ComfyUI loads Phoenix from here (relative imports only: the module name is a path).

Importing registers routes, nodes and the sidebar; downloads, NVML sampling and
the boot preload start with ComfyUI's server and stop with it.
"""

from .comfyui_phoenix.surfaces.comfy import install
from .comfyui_phoenix.surfaces.nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

WEB_DIRECTORY = "./web"

install()

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
