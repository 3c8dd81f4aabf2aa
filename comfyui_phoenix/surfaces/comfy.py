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
from pathlib import Path
from typing import Any

from ..folders import LEGACY_FOLDERS, normalize_folder
from ..runtime import LOCAL_TOKENS_FILE, PANEL_TOKENS_FILE, SECRETS_FILE
from ..security.redact import SECRETS, install_redaction
from ..settings import Settings, load_settings

log = logging.getLogger("phoenix")

_NOTICES = {"done": "phoenix.job.done", "failed": "phoenix.job.failed"}


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
        """Forget ComfyUI's cached file list, so a new model shows without a restart."""
        self._fp.filename_list_cache.pop(normalize_folder(folder), None)


def inside_comfyui() -> bool:
    """ComfyUI imports its ``server`` and creates the PromptServer before custom nodes."""
    server = sys.modules.get("server")
    return getattr(getattr(server, "PromptServer", None), "instance", None) is not None


def install() -> None:
    """Register routes and lifecycle hooks on ComfyUI's server. Called at import.

    Anywhere else (a test runner that imports the package root, say) it does nothing.
    """
    if not inside_comfyui():
        return
    import folder_paths
    from server import PromptServer

    from .app import PhoenixApp
    from .routes import register

    server = PromptServer.instance
    settings = load_settings()
    # Every line any logger in ComfyUI writes passes the filter that masks known secrets.
    secrets = (settings.api_token, settings.hf_token, settings.civitai_token)
    SECRETS.add(*(secret.get_secret_value() for secret in secrets if secret is not None))
    install_redaction()
    if settings.comfy_auth:
        # First, before anything else here can fail: a ComfyUI without the gate would be
        # public (the bootstrap's probe would then stop it).
        _install_gate(server, settings)
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
    register(server.routes)
    app.attach(server.app)
    app.on_started.append(_wire_notices)
    # Handlers added after import (by other custom nodes) get the filter too.
    app.on_started.append(lambda _app: install_redaction())


def _install_gate(server: Any, settings: Settings) -> None:
    """The login gate in front of every ComfyUI route and the websocket."""
    from ..security.gate import Gate, GateConfig, install_gate, load_credentials

    gate = Gate(GateConfig.for_settings(settings))
    runtime = settings.runtime_dir
    handoff = runtime / SECRETS_FILE if runtime is not None else None
    install_gate(server.app, gate, lambda: load_credentials(settings, handoff))
    gate.register(server.routes)


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
    """The PhoenixApp attached to ComfyUI's server (for the nodes)."""
    from server import PromptServer

    from .app import PHOENIX_APP

    return PromptServer.instance.app[PHOENIX_APP]


def _wire_notices(app: Any) -> None:
    """Only two notices per job go on ComfyUI's own websocket: done and failed."""
    from server import PromptServer

    sent: set[str] = set()

    def notify(kind: str, data: dict[str, Any]) -> None:
        if kind != "job" or data.get("state") not in _NOTICES or data["id"] in sent:
            return
        sent.add(data["id"])
        layout = app.service.layout
        if data.get("state") == "done" and isinstance(layout, ComfyLayout):
            layout.refresh(data["folder"])
        notice = {k: data.get(k) for k in ("id", "ref", "relpath", "folder", "filename", "error")}
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
