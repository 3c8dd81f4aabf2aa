"""The one module that imports ComfyUI.

``install()`` runs when ComfyUI imports the package: it registers the routes on
``PromptServer.instance.routes`` (ComfyUI mounts them after importing custom
nodes, also under ``/api``), and hooks Phoenix's start and stop into the
server's lifecycle. No I/O, thread or process starts here.

Everything else that needs ComfyUI (folder_paths, the loaders, the progress bar,
the interrupt check, the server loop) is reached through the small functions at
the bottom, so the rest of Phoenix runs and is tested without ComfyUI.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..folders import LEGACY_FOLDERS, normalize_folder
from ..runtime import LOCAL_TOKENS_FILE, PANEL_TOKENS_FILE, SECRETS_FILE
from ..security.redact import SECRETS, install_redaction

if TYPE_CHECKING:
    from ..settings import Settings

log = logging.getLogger("phoenix")

_NOTICES = {"done": "phoenix.job.done", "failed": "phoenix.job.failed"}
#: What the settings read as false; any other value of a gate variable turns the gate on.
_FALSE = frozenset({"0", "false", "no", "off", "f", "n"})


class ComfyLayout:
    """Model folders as ComfyUI's ``folder_paths`` configures them.

    New files go to the first configured path of a folder, except that ComfyUI's
    legacy ``unet``/``clip`` directories (listed first by default) are skipped in
    favour of the modern sibling; a path marked ``is_default`` in
    ``extra_model_paths.yaml`` is first and wins.
    """

    def __init__(self) -> None:
        import folder_paths

        self._fp = folder_paths

    @property
    def root(self) -> Path:
        return self.target_dir("checkpoints").parent

    def target_dir(self, folder: str) -> Path:
        key = normalize_folder(folder)
        paths = self._paths(key)
        if not paths:
            return Path(self._fp.models_dir) / key
        first = Path(paths[0])
        if first.name in LEGACY_FOLDERS:
            modern = first.with_name(key)
            if str(modern) in paths:
                return modern
        return first

    def search_dirs(self, folder: str) -> list[Path]:
        return [Path(p) for p in self._paths(normalize_folder(folder))]

    def _paths(self, key: str) -> list[str]:
        try:
            return list(self._fp.get_folder_paths(key))
        except KeyError:
            return []

    def refresh(self, folder: str) -> None:
        """Make ComfyUI list a placed or deleted model at once, without a restart.

        Its cached file list of the folder is forgotten, and where ComfyUI keeps an asset
        index (0.33 and later, ``--enable-assets``) a quick rescan of the models root
        starts; a scan already running is left to finish (the loaders' next listing
        starts another).
        """
        self._fp.filename_list_cache.pop(normalize_folder(folder), None)
        try:
            from app.assets.seeder import ScanPhase, asset_seeder
        except ImportError:
            return  # a ComfyUI without the asset index
        if not asset_seeder.is_disabled():
            asset_seeder.start(roots=("models",), phase=ScanPhase.FAST)


def inside_comfyui() -> bool:
    """ComfyUI imports its ``server`` and creates the PromptServer before custom nodes."""
    server = sys.modules.get("server")
    return getattr(getattr(server, "PromptServer", None), "instance", None) is not None


def install() -> None:
    """Register routes, the login gate and the lifecycle on ComfyUI's server, at import.

    Nothing is read or started here, not even the settings: ComfyUI's import row stays
    at 0.0 s, and an invalid variable cannot keep the nodes and routes from loading.
    The settings are read when the server starts (:func:`_lifecycle`); a bad one is
    then said once in the log, and by every route and node. Anywhere but inside
    ComfyUI (a test runner that imports the package root, say) this does nothing.
    """
    if not inside_comfyui():
        return
    from server import PromptServer

    from .deferred import register_routes
    from .keys import PHOENIX, Slot

    server = PromptServer.instance
    # Every line any logger in ComfyUI writes passes the filter that masks known secrets.
    install_redaction()
    if _login_gate_wanted():
        # First, before anything else here can fail: a ComfyUI without the gate would be
        # public (the bootstrap's probe would then stop it).
        _install_gate(server)
    register_routes(server.routes)
    slot = Slot()
    server.app[PHOENIX] = slot
    server.app.cleanup_ctx.append(lambda app: _lifecycle(app, slot))


def v3_api() -> tuple[type, Any] | None:
    """ComfyUI's V3 node API, ``(ComfyExtension, io)``, where this ComfyUI has one."""
    try:
        from comfy_api.latest import ComfyExtension, io
    except ImportError:
        return None
    return ComfyExtension, io


async def _lifecycle(server_app: Any, slot: Any) -> AsyncIterator[None]:
    """Phoenix's life inside ComfyUI's server: settings read, started, stopped with it."""
    from ..errors import ConfigError
    from ..settings import load_settings

    try:
        settings = load_settings()
    except ConfigError as exc:
        log.error("Phoenix cannot start: %s", exc)
        slot.error = exc
        yield
        return
    app = _phoenix_app(settings)
    slot.app = app
    async for _ in app.cleanup_ctx(server_app):
        yield


def _phoenix_app(settings: Settings) -> Any:
    """The extension for ComfyUI's folders, with its secrets known to the log filter."""
    import folder_paths

    from .app import PhoenixApp

    secrets = (settings.api_token, settings.hf_token, settings.civitai_token)
    SECRETS.add(*(secret.get_secret_value() for secret in secrets if secret is not None))
    runtime = settings.runtime_dir
    if runtime is not None:
        tokens_file = runtime / PANEL_TOKENS_FILE
    else:
        tokens_file = Path(folder_paths.get_user_directory()) / LOCAL_TOKENS_FILE
    app = PhoenixApp(
        settings,
        layout=ComfyLayout(),
        paths={
            "input": Path(folder_paths.get_input_directory()),
            "output": Path(folder_paths.get_output_directory()),
            "container": Path(os.path.abspath(os.sep)),
        },
        tokens_file=tokens_file,
        cleanup_roots=lambda: _cleanup_roots(app),
    )
    app.on_started.append(_wire_notices)
    # Handlers added after import (by other custom nodes) get the filter too.
    app.on_started.append(lambda _app: install_redaction())
    return app


def _login_gate_wanted() -> bool:
    """``COMFY_AUTH``, else whether this is Phoenix's container; a doubtful value means yes."""
    value = os.environ.get("COMFY_AUTH")
    if value is None:
        return _in_container()
    return value.strip().lower() not in _FALSE


def _in_container() -> bool:
    value = os.environ.get("PHOENIX_CONTAINER")
    return value is not None and value.strip().lower() not in _FALSE


def _install_gate(server: Any) -> None:
    """The login gate in front of every ComfyUI route and the websocket.

    It is built when the server starts; until then, and for good when the settings are
    invalid, every gated request is refused.
    """
    from .deferred import DeferredGate

    DeferredGate(_build_gate).install(server.app, server.routes)


def _build_gate() -> Any:
    from ..errors import ConfigError
    from ..security.gate import Gate, GateConfig, load_credentials
    from ..settings import load_settings

    gate = Gate(GateConfig.for_place(container=_in_container()))
    try:
        settings = load_settings()
    except ConfigError as exc:
        log.error("The login gate refuses everyone: %s", exc)
        return gate  # no credentials: nobody gets in
    runtime = settings.runtime_dir
    gate.credentials = load_credentials(settings, runtime / SECRETS_FILE if runtime else None)
    return gate


def _cleanup_roots(app: Any) -> Any:
    """Cleanup's roots, with the folders ComfyUI was started with.

    The models folder is left out when the bootstrap keeps it (``PHOENIX_MODELS_CLEANABLE=0``
    in the ``runtime.env`` that ``PHOENIX_RUNTIME_ENV`` names): see
    :meth:`~comfyui_phoenix.security.cleanup.CleanupRoots.from_environment`.
    """
    import folder_paths

    from ..runtime import container_environ
    from ..security.cleanup import CleanupRoots

    return CleanupRoots.from_environment(
        container_environ(),
        app.settings,
        comfy_input=Path(folder_paths.get_input_directory()),
        comfy_output=Path(folder_paths.get_output_directory()),
        comfy_user=Path(folder_paths.get_user_directory()),
        comfy_temp=Path(folder_paths.get_temp_directory()),
        models_dir=app.service.layout.root,
    )


def running_app() -> Any:
    """The PhoenixApp running in ComfyUI's server (for the nodes).

    Raises:
        PhoenixError: why Phoenix could not start, or that it is still starting.
    """
    from server import PromptServer

    from .keys import running

    return running(PromptServer.instance.app)


def _wire_notices(app: Any) -> None:
    """Only two notices per job go on ComfyUI's own websocket: done and failed."""
    from server import PromptServer

    sent: set[str] = set()

    def notify(kind: str, data: dict[str, Any]) -> None:
        if kind != "job" or data.get("state") not in _NOTICES or data["id"] in sent:
            return
        sent.add(data["id"])
        if data.get("state") == "done":
            app.service.layout.refresh(data["folder"])
        keys = ("id", "ref", "relpath", "folder", "filename", "error", "skipped")
        notice = {k: data.get(k) for k in keys}
        PromptServer.instance.send_sync(_NOTICES[data["state"]], notice)

    app.service.events.add_listener(notify)


# -- what the nodes need from ComfyUI ---------------------------------------------------------
def server_loop() -> Any:
    from server import PromptServer

    return PromptServer.instance.loop


def progress_bar(total: int, node_id: str | None) -> Any:
    import comfy.utils

    return comfy.utils.ProgressBar(total, node_id=node_id)


def check_interrupted() -> None:
    import comfy.model_management

    comfy.model_management.throw_exception_if_processing_interrupted()


def core_nodes() -> Any:
    import nodes

    return nodes


def has_clip_type(name: str) -> bool:
    """Whether this ComfyUI's text encoder loaders know ``name`` (``flux2`` came late in 2025)."""
    import comfy.sd

    return hasattr(comfy.sd.CLIPType, name.upper())
