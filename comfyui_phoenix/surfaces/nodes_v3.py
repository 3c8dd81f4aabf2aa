"""Phoenix's nodes in ComfyUI's V3 schema, for the ComfyUIs that load it.

Each node is declared once, in :mod:`.nodes`, in the shape every ComfyUI reads
(``INPUT_TYPES``, ``RETURN_TYPES``, a function). Where ComfyUI has the V3 API
(``comfy_api.latest``), the pack hands over these declarations rendered as
``io.ComfyNode`` classes through ``comfy_entrypoint``; elsewhere it exports the
declarations themselves. Both give the same node ids, widgets, defaults and
outputs, so a saved workflow loads the same on either.

This module never imports ComfyUI: :func:`.registration.node_exports` passes its API in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

#: The V1 widget options each V3 input takes, by V1 type; a type not here is a socket.
_WIDGET_OPTIONS = {
    "STRING": ("String", ("default", "multiline", "placeholder", "tooltip")),
    "FLOAT": ("Float", ("default", "min", "max", "step", "round", "tooltip")),
    "INT": ("Int", ("default", "min", "max", "step", "tooltip")),
    "BOOLEAN": ("Boolean", ("default", "label_on", "label_off", "tooltip")),
}
_COMBO_OPTIONS = ("default", "tooltip")
_SOCKET_OPTIONS = ("tooltip",)


def v3_nodes(io: Any, nodes: Mapping[str, Any], names: Mapping[str, str]) -> list[type]:
    """Every node of ``nodes`` as an ``io.ComfyNode`` class.

    Args:
        io: ComfyUI's ``comfy_api.latest.io``.
        nodes: node id → the node's declaration (a V1 node class).
        names: node id → display name.

    Raises:
        TypeError: a declaration uses an input this module does not render, so the
            pack fails at load, not when a user first opens the node.
    """
    return [_v3_node(io, node_id, node, names.get(node_id)) for node_id, node in nodes.items()]


def entrypoint(
    extension: type, io: Any, nodes: Mapping[str, Any], names: Mapping[str, str]
) -> Callable[[], Awaitable[Any]]:
    """``comfy_entrypoint``: an async function that returns a ``ComfyExtension`` with ``nodes``.

    Args:
        extension: ComfyUI's ``ComfyExtension`` base class.
        io: ComfyUI's ``comfy_api.latest.io``.
        nodes: node id → the node's declaration.
        names: node id → display name.
    """
    node_list = v3_nodes(io, nodes, names)

    async def get_node_list(_self: Any) -> list[type]:
        return list(node_list)

    phoenix = type("PhoenixExtension", (extension,), {"get_node_list": get_node_list})

    async def comfy_entrypoint() -> Any:
        return phoenix()

    return comfy_entrypoint


def _v3_node(io: Any, node_id: str, node: Any, display_name: str | None) -> type:
    declared = node.INPUT_TYPES()
    inputs = [
        _input(io, node_id, name, spec, optional=section == "optional")
        for section in ("required", "optional")
        for name, spec in declared.get(section, {}).items()
    ]
    #: Each hidden argument the node's function takes, and what ComfyUI gives for it.
    hidden = {name: io.Hidden(value) for name, value in declared.get("hidden", {}).items()}
    outputs = _outputs(io, node)

    def define_schema(cls: Any, /) -> Any:
        return io.Schema(
            node_id=node_id,
            display_name=display_name,
            category=node.CATEGORY,
            description=getattr(node, "DESCRIPTION", ""),
            inputs=inputs,
            outputs=outputs,
            hidden=list(hidden.values()),
            is_output_node=bool(getattr(node, "OUTPUT_NODE", False)),
        )

    def execute(cls: Any, /, **values: Any) -> Any:
        for name, given in hidden.items():
            values[name] = getattr(cls.hidden, given.name, None)
        result = getattr(node(), node.FUNCTION)(**values)
        if isinstance(result, dict):
            return io.NodeOutput(*result.get("result", ()), ui=result.get("ui"))
        return io.NodeOutput(*result)

    body: dict[str, Any] = {
        "__doc__": node.__doc__,
        "__module__": node.__module__,
        "define_schema": classmethod(define_schema),
        "execute": classmethod(execute),
    }
    validate = getattr(node, "VALIDATE_INPUTS", None)
    if validate is not None:
        # The same function, so ComfyUI reads the same argument names from it and checks
        # every other input (ranges, choices) itself, as it does for the V1 declaration.
        body["validate_inputs"] = classmethod(validate.__func__)
    return type(node.__name__, (io.ComfyNode,), body)


def _input(io: Any, node_id: str, name: str, spec: tuple[Any, ...], *, optional: bool) -> Any:
    kind, options = spec[0], (spec[1] if len(spec) > 1 else {})
    if isinstance(kind, list):
        chosen = _options(node_id, name, options, _COMBO_OPTIONS)
        return io.Combo.Input(name, options=list(kind), optional=optional, **chosen)
    if kind in _WIDGET_OPTIONS:
        widget, allowed = _WIDGET_OPTIONS[kind]
        chosen = _options(node_id, name, options, allowed)
        return getattr(io, widget).Input(name, optional=optional, **chosen)
    chosen = _options(node_id, name, options, _SOCKET_OPTIONS)
    return io.Custom(kind).Input(name, optional=optional, **chosen)


def _options(
    node_id: str, name: str, options: Mapping[str, Any], allowed: Iterable[str]
) -> dict[str, Any]:
    unknown = set(options) - set(allowed)
    if unknown:
        raise TypeError(f"{node_id}.{name}: no V3 rendering for {sorted(unknown)}")
    return dict(options)


def _outputs(io: Any, node: Any) -> list[Any]:
    kinds = node.RETURN_TYPES
    names = getattr(node, "RETURN_NAMES", None) or (None,) * len(kinds)
    return [
        io.Custom(kind).Output(display_name=name) for kind, name in zip(kinds, names, strict=True)
    ]
