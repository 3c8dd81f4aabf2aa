"""What ComfyUI gets at import: stand-ins that load Phoenix's code when the server starts."""

from __future__ import annotations

import importlib
import sys

import pytest

from comfyui_phoenix.errors import ConfigError
from comfyui_phoenix.security.gate import Gate
from comfyui_phoenix.security.gate.open_routes import LOGIN_PATH, LOGOUT_PATH
from comfyui_phoenix.settings import load_settings
from comfyui_phoenix.surfaces import comfy, nodes, nodes_v3, registration
from comfyui_phoenix.surfaces.deferred import GATE_ROUTES, MORE_ROUTES, ROUTES
from comfyui_phoenix.surfaces.routes import HANDLERS


def test_the_deferred_gate_routes_are_the_gate_s_own() -> None:
    assert {path for _, path, _ in GATE_ROUTES} == {LOGIN_PATH, LOGOUT_PATH}
    for _, _, name in GATE_ROUTES:
        assert callable(getattr(Gate, name))


def test_every_deferred_route_has_its_handler() -> None:
    assert sorted(HANDLERS) == sorted(name for _, _, name in ROUTES)
    for module, table in MORE_ROUTES:
        handlers = importlib.import_module(f"comfyui_phoenix.surfaces.{module}").HANDLERS
        assert sorted(handlers) == sorted(name for _, _, name in table)


VALUES = [None, "", "1", "0", "true", "false", "TRUE", "no", "yes", "off", "on", "maybe"]


@pytest.mark.parametrize("auth", VALUES)
@pytest.mark.parametrize("container", VALUES)
def test_the_gate_is_decided_before_the_settings_as_they_would_decide_it(
    auth: str | None, container: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = {
        k: v for k, v in (("COMFY_AUTH", auth), ("PHOENIX_CONTAINER", container)) if v is not None
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    wanted = comfy._login_gate_wanted()
    try:
        settings = load_settings(environ)
    except ConfigError:
        # A value the settings refuse: the gate goes up (closed), unless COMFY_AUTH is a clear no.
        if auth is not None and auth.strip().lower() in ("0", "false", "no", "off"):
            assert not wanted
        else:
            assert wanted or (auth is None and container is None)
        return
    assert wanted == settings.comfy_auth


def test_a_comfyui_without_the_v3_api_gets_the_v1_declarations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(registration, "inside_comfyui", lambda: True)
    monkeypatch.setitem(sys.modules, "comfy_api", None)  # an older ComfyUI: no V3 API
    assert registration.node_exports() == {
        "NODE_CLASS_MAPPINGS": nodes.NODE_CLASS_MAPPINGS,
        "NODE_DISPLAY_NAME_MAPPINGS": nodes.NODE_DISPLAY_NAME_MAPPINGS,
    }


def test_a_widget_option_v3_cannot_render_stops_the_pack_at_load() -> None:
    with pytest.raises(
        TypeError, match=r"PhoenixX\.text: no V3 rendering for \['dynamicPrompts'\]"
    ):
        nodes_v3.v3_nodes(
            object(), {"PhoenixX": _declared({"text": ("STRING", {"dynamicPrompts": True})})}, {}
        )


def _declared(required: dict[str, tuple[object, ...]]) -> type:
    class PhoenixX:
        CATEGORY, RETURN_TYPES, FUNCTION = "Phoenix", ("STRING",), "run"

        @classmethod
        def INPUT_TYPES(cls) -> dict[str, object]:
            return {"required": required}

    return PhoenixX
