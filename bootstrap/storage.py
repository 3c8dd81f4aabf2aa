"""Where models and user data live: on the ``/workspace`` volume, on container disk, or on tmpfs.

``USE_VOLUME=true`` keeps models (with Phoenix's download journal under
``models/.phoenix``), user workflows, inputs and outputs on the volume across stops.
ComfyUI's code and Python packages stay in the image: copying a venv to RunPod's FUSE
network volume is what makes other templates boot in 30 to 60 minutes. Otherwise
everything lives on container disk (``/var/lib/phoenix``) and is gone when the pod stops.
``PARANOID_MODE=true`` moves inputs, outputs, temp files and the user folder to
``/dev/shm`` when it is large enough (measured by
:func:`bootstrap.tmpfs.paranoid_storage`), so they never reach a disk;
otherwise the boot report says what it could not guarantee.

ComfyUI learns the layout from a generated ``extra_model_paths.yaml`` (every model
folder, the volume's first: ``is_default: true``) and its directory flags; a ``phoenix``
command run from a terminal learns it from ``/etc/phoenix/runtime.env``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from comfyui_phoenix.folders import LEGACY_FOLDERS, MODEL_FOLDERS
from comfyui_phoenix.runtime import format_runtime_env
from comfyui_phoenix.security.cleanup import CACHE_VARIABLES
from comfyui_phoenix.settings import Settings

from .paths import BootPaths
from .report import write_atomic
from .tmpfs import ParanoidStorage, paranoid_storage

GIB = 1 << 30


@dataclass(frozen=True)
class StorageLayout:
    """The folders ComfyUI and Phoenix use, and why they are where they are."""

    mode: str  # "volume" or "ephemeral"
    data_root: Path  # what FileBrowser shows
    models: Path
    input: Path
    output: Path
    user: Path
    temp_parent: Path  # ComfyUI's --temp-directory: it uses <this>/temp
    user_data_on_tmpfs: bool = False
    notes: tuple[str, ...] = field(default=())
    #: PARANOID_MODE's verdict on ``/dev/shm``, in a sentence (None when it is off).
    paranoid: str | None = None
    #: Whether exit cleanup may act on the models folder (see :func:`plan_storage`).
    models_cleanable: bool = True

    @property
    def temp(self) -> Path:
        """ComfyUI's temporary folder (``--temp-directory`` names its parent)."""
        return self.temp_parent / "temp"

    def folders(self) -> list[Path]:
        return [self.models, self.input, self.output, self.user, self.temp_parent]

    def to_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "data_root": str(self.data_root),
            "models": str(self.models),
            "input": str(self.input),
            "output": str(self.output),
            "user": str(self.user),
            "temp": str(self.temp),
            "user_data_on_tmpfs": self.user_data_on_tmpfs,
            "paranoid": self.paranoid,
            "models_cleaned_at_exit": self.models_cleanable,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class VolumeInfo:
    exists: bool
    is_mount: bool
    free_bytes: int | None


def inspect_volume(path: Path) -> VolumeInfo:
    """Is ``path`` there, is it a mount of its own, how much room is left?"""
    if not path.is_dir():
        return VolumeInfo(False, False, None)
    return VolumeInfo(True, os.path.ismount(path), shutil.disk_usage(path).free)


def plan_storage(
    settings: Settings,
    paths: BootPaths,
    volume: VolumeInfo,
    paranoid: ParanoidStorage | None = None,
) -> StorageLayout:
    """Decide the layout from ``USE_VOLUME``, ``PARANOID_MODE`` and what is mounted.

    Args:
        paranoid: ``/dev/shm`` as measured by
            :func:`~bootstrap.tmpfs.paranoid_storage` (measured here with
            its defaults when None); with ``PARANOID_MODE=true`` user data goes there when
            it says ok.
    """
    notes: list[str] = []
    if settings.use_volume and volume.exists:
        mode, root = "volume", paths.workspace
        if not volume.is_mount:
            notes.append(
                f"{paths.workspace} is not a separate mount: files there live on the container "
                "disk and vanish when the pod stops. Attach a volume disk or network volume."
            )
    else:
        mode, root = "ephemeral", paths.ephemeral_root
        if settings.use_volume:
            notes.append(
                f"USE_VOLUME=true but {paths.workspace} does not exist: nothing is kept across "
                "stops. Attach a volume at /workspace."
            )
    models = settings.models_dir or root / "models"
    # Ephemeral storage empties the models folder at exit; one the user pointed elsewhere
    # (another mount, say) is not the bootstrap's to empty.
    cleanable = mode == "volume" or _within(models, root)
    if not cleanable:
        notes.append(
            f"PHOENIX_MODELS_DIR={models} is outside {root}: the models there are left in "
            "place when the pod stops."
        )
    input_dir, output_dir, user_dir = root / "input", root / "output", root / "user"
    temp_parent = paths.ephemeral_root
    on_tmpfs, verdict = False, None
    if settings.paranoid_mode:
        shm = paranoid or paranoid_storage(paths.shm)
        if shm.ok:
            dirs = shm.dirs
            input_dir, output_dir, user_dir = dirs["input"], dirs["output"], dirs["user"]
            temp_parent = dirs["temp"].parent
            on_tmpfs = True
        else:
            notes.append(shm.message)
        verdict = shm.message
    return StorageLayout(
        mode=mode,
        data_root=root,
        models=models,
        input=input_dir,
        output=output_dir,
        user=user_dir,
        temp_parent=temp_parent,
        user_data_on_tmpfs=on_tmpfs,
        notes=tuple(notes),
        paranoid=verdict,
        models_cleanable=cleanable,
    )


def _within(path: Path, base: Path) -> bool:
    inner, outer = Path(os.path.abspath(path)), Path(os.path.abspath(base))
    return outer in inner.parents


def prepare_folders(layout: StorageLayout, owner: tuple[int, int] | None) -> None:
    """Create the folders (each model folder too) and give them to the service user.

    Only the folders themselves change owner, never their contents: a recursive chown
    of a network volume full of models takes minutes on RunPod's FUSE filesystem.
    """
    # The data root too (e.g. /workspace itself), so files can be uploaded at its top.
    for folder in [layout.data_root, *layout.folders()]:
        folder.mkdir(parents=True, exist_ok=True)
        _give(folder, owner)
    for name in sorted(MODEL_FOLDERS):
        folder = layout.models / name
        folder.mkdir(exist_ok=True)
        _give(folder, owner)


def _give(path: Path, owner: tuple[int, int] | None) -> None:
    if owner is None:
        return
    stat = path.stat()
    if (stat.st_uid, stat.st_gid) != owner:
        os.chown(path, *owner)


def extra_model_paths_yaml(layout: StorageLayout) -> str:
    """ComfyUI's ``extra_model_paths.yaml`` for this layout.

    ``is_default: true`` puts the Phoenix models root first in every folder, so ComfyUI
    saves there and Phoenix downloads there. Each folder names a single path, because
    ComfyUI inserts default paths at the front one by one (the last listed would win).
    Files in the legacy ``unet``/``clip`` folders of the same root are still found, last.
    """
    lines = [
        "# Written by Phoenix's bootstrap at each boot; edits are overwritten.",
        "phoenix:",
        f"  base_path: {_yaml_str(str(layout.models))}",
        "  is_default: true",
    ]
    lines += [f"  {name}: {name}" for name in sorted(MODEL_FOLDERS)]
    lines += ["phoenix_legacy_folders:", f"  base_path: {_yaml_str(str(layout.models))}"]
    lines += [f"  {new}: {old}" for old, new in sorted(LEGACY_FOLDERS.items())]
    return "\n".join(lines) + "\n"


def _yaml_str(text: str) -> str:
    """A double-quoted YAML scalar (JSON's escaping is valid YAML)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def runtime_env_text(
    layout: StorageLayout,
    paths: BootPaths,
    settings: Settings,
    *,
    user: str,
    environ: Mapping[str, str],
) -> str:
    """``/etc/phoenix/runtime.env``: the non-secret choices, for ``phoenix`` run from a terminal.

    Besides the storage choices it names every place the exit cleanup acts on (homes,
    ``/tmp``, caches, FileBrowser's database), so ``phoenix cleanup`` plans the same roots
    (:meth:`comfyui_phoenix.security.cleanup.CleanupRoots.from_environment`).
    """
    values = {
        "PHOENIX_CONTAINER": "1",
        "PHOENIX_STORAGE_MODE": layout.mode,
        "PHOENIX_MODELS_DIR": str(layout.models),
        # Whether any cleanup may empty it: the exit, the panel and 'phoenix cleanup' agree.
        "PHOENIX_MODELS_CLEANABLE": "1" if layout.models_cleanable else "0",
        "PHOENIX_INPUT_DIR": str(layout.input),
        "PHOENIX_OUTPUT_DIR": str(layout.output),
        "PHOENIX_USER_DIR": str(layout.user),
        "PHOENIX_TEMP_DIR": str(layout.temp),
        "PHOENIX_RUNTIME_DIR": str(paths.runtime_dir),
        "PHOENIX_FILEBROWSER_DB": str(paths.filebrowser_dir),
        "PHOENIX_COMFYUI_DIR": str(paths.comfyui_dir),
        "PHOENIX_EXTRA_MODEL_PATHS": str(paths.extra_model_paths),
        "PHOENIX_HOMES": os.pathsep.join(str(home) for home in paths.homes(user)),
        "TMPDIR": str(paths.tmp_dir),
        "USE_VOLUME": "true" if settings.use_volume else "false",
        "PARANOID_MODE": "true" if settings.paranoid_mode else "false",
    }
    for name in ("XDG_CACHE_HOME", *CACHE_VARIABLES):
        if environ.get(name):
            values[name] = environ[name]
    return format_runtime_env(values)


def write_storage_files(
    layout: StorageLayout,
    paths: BootPaths,
    settings: Settings,
    *,
    user: str,
    environ: Mapping[str, str],
) -> None:
    """Write ``extra_model_paths.yaml`` and ``runtime.env`` (both world-readable, no secrets)."""
    write_atomic(paths.extra_model_paths, extra_model_paths_yaml(layout), mode=0o644)
    text = runtime_env_text(layout, paths, settings, user=user, environ=environ)
    write_atomic(paths.runtime_env, text, mode=0o644)
