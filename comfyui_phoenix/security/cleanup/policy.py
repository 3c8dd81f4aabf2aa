"""What cleanup removes, in which storage mode, and why: the policy as data.

==========================  =========  ==============  ================  ======================
what                        ephemeral  USE_VOLUME      PARANOID_MODE     PARANOID_MODE + volume
==========================  =========  ==============  ================  ======================
secrets, boot report, logs  removed    removed         removed           removed
caches, histories, /tmp    removed    removed         removed           removed
FileBrowser's database      removed    removed         removed           removed
aria2 control files (done)  removed    removed         removed           removed
ComfyUI temp                removed    removed         removed           removed
inputs, outputs, user dir   removed    kept            removed           removed
journal and records         removed    kept            removed           removed
models                      removed    kept            removed           kept (public data)
==========================  =========  ==============  ================  ======================

Small files of the sensitive categories are overwritten before they are unlinked
(:mod:`.overwrite`); caches and models are public data, only removed.
"""

from __future__ import annotations

from .storage_mode import StorageMode

#: Every category a plan entry may carry.

#: Files under a home folder that record what someone typed.
HISTORY_FILES = (
    ".bash_history",
    ".zsh_history",
    ".sh_history",
    ".ash_history",
    ".python_history",
    ".node_repl_history",
    ".sqlite_history",
    ".psql_history",
    ".mysql_history",
    ".lesshst",
    ".viminfo",
    ".wget-hsts",
    ".local/share/fish/fish_history",
    ".ipython/profile_default/history.sqlite",
)
#: Caches under a home folder (public data: removed, not overwritten).
HOME_CACHES = (".cache/pip", ".cache/huggingface", ".cache/torch", ".triton")
XDG_CACHES = ("pip", "huggingface", "torch")
CACHE_VARIABLES = ("HF_HOME", "PIP_CACHE_DIR", "TORCH_HOME", "TRITON_CACHE_DIR")
#: huggingface_hub's stored logins, inside its cache folder: secrets, overwritten.
HF_TOKEN_FILES = ("token", "stored_tokens")

ALWAYS_REASONS: dict[str, str] = {
    "secrets": "secrets and runtime files: always removed",
    "filebrowser": "FileBrowser's database (users and password hash): always removed",
    "histories": "a shell or Python history: always removed",
    "logs": "logs: always removed",
    "comfy-temp": "ComfyUI's temporary files: always removed",
    "aria2-control": "aria2's resume data of a finished download: always removed",
    "tmp": "created in the temporary folder during this run: always removed",
    "caches": "a download or kernel cache: always removed",
}
#: Categories whose small files are overwritten before removal (the rest is public data).
SENSITIVE = frozenset(
    {"secrets", "filebrowser", "histories", "logs", "comfy-temp", "inputs", "outputs", "user", "journal", "tmp"}
)  # fmt: skip
FORCED_JOURNAL = "Phoenix's download journal and records: forced with --scope"

_DATA_LABELS: dict[str, str] = {
    "inputs": "ComfyUI's inputs",
    "outputs": "ComfyUI's outputs",
    "user": "ComfyUI's user data (workflows, settings, database)",
    "journal": "Phoenix's download journal and records",
    "models": "the models",
}


def data_fate(category: str, mode: StorageMode) -> tuple[bool, str]:
    """Whether user data or models of ``category`` go in ``mode``, and the reason shown.

    Args:
        category: one of the data categories (inputs, outputs, user, journal, models).
        mode: the storage mode.

    Returns:
        ``(go, reason)``: ``go`` is False when the data stays.
    """
    label = _DATA_LABELS[category]
    if not mode.volume:
        return True, f"{label}: ephemeral storage keeps nothing (USE_VOLUME is off)"
    if category == "models":
        why = "PARANOID_MODE keeps public models" if mode.paranoid else "USE_VOLUME=true"
        return False, f"{label} stay on the volume ({why})"
    if mode.paranoid:
        return True, f"{label}: PARANOID_MODE=true removes it even on a volume"
    return False, f"{label}: USE_VOLUME=true keeps it on the volume"
