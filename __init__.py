"""ComfyUI loads Phoenix from here (relative imports only: the module name is a path).

Importing registers routes, nodes and the sidebar; downloads, NVML sampling and
the boot preload start with ComfyUI's server and stop with it.
"""

WEB_DIRECTORY = "./web"

# ComfyUI imports this folder as a package. A test runner may import this file on its
# own (when the checkout's folder name is not a valid package name): then there is no
# package to import from, and nothing to register.
if __package__:
    from .comfyui_phoenix.surfaces.comfy import install
    from .comfyui_phoenix.surfaces.registration import node_exports

    install()
    # V3's comfy_entrypoint where this ComfyUI has the V3 API, V1's mappings otherwise.
    _nodes = node_exports()
    globals().update(_nodes)

    __all__ = [*_nodes, "WEB_DIRECTORY"]
