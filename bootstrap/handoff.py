"""The secrets handoff: tokens into a 0600 file on tmpfs, and out of every child's environment.

RunPod puts template secrets into the container's environment, where any process could
read them from ``/proc/PID/environ``. The bootstrap reads them once, writes
``$PHOENIX_RUNTIME_DIR/secrets.json`` (0600, owned by the user ComfyUI runs as) for the
extension, and starts every child (ComfyUI, FileBrowser, pip, git, the torch probe)
with an environment that no longer holds them.

``secrets.json`` keys: ``huggingface``, ``civitai`` (when set), ``api_token`` (always:
``PHOENIX_API_TOKEN`` or a generated internal bearer token, so the bootstrap's own
readiness checks pass the login gate), and, when the login gate is on,
``comfy_username`` with ``comfy_password_hash`` (see
:func:`comfyui_phoenix.security.secrets.hash_password`: the gate never needs the password
itself, and a generated one must not be written anywhere).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from comfyui_phoenix.security.secrets import hash_password, write_secret_file
from comfyui_phoenix.settings import Settings

#: Variables that hold secrets: never passed to a child.
SECRET_ENV_NAMES = frozenset(
    {
        "HF_TOKEN",
        "HUGGINGFACE_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "CIVITAI_TOKEN",
        "PHOENIX_API_TOKEN",
        "FB_PASSWORD",
        "COMFY_PASSWORD",
        "RUNPOD_API_KEY",  # pod-scoped, injected by RunPod: no child needs it
    }
)

#: Prefixes dropped from children too: FileBrowser reads ``FB_*`` as its own options
#: (``FB_PASSWORD`` would become its quick-setup password hash), and the bootstrap's
#: test hooks mean nothing to a child.
DROPPED_PREFIXES = ("FB_", "PHOENIX_BOOT_", "PHOENIX_GPU_REPORT_FILE")


@dataclass(frozen=True)
class Handoff:
    """What the bootstrap hands the extension, in memory until written."""

    huggingface: str | None
    civitai: str | None
    api_token: str
    api_token_generated: bool
    comfy_username: str | None = None
    comfy_password_hash: str | None = None

    def as_file(self) -> dict[str, str]:
        values = {"api_token": self.api_token}
        for key in ("huggingface", "civitai", "comfy_username", "comfy_password_hash"):
            value = getattr(self, key)
            if value:
                values[key] = value
        return values

    def secret_values(self) -> list[str]:
        """Every value a log line or a report must never show."""
        return [v for v in (self.huggingface, self.civitai, self.api_token) if v]


def build_handoff(settings: Settings, gate_password: str | None) -> Handoff:
    """Collect the tokens from settings and generate the internal API token when none is set.

    Args:
        settings: the validated settings.
        gate_password: the login gate's password (``COMFY_PASSWORD``, else FileBrowser's);
            only its hash is handed over. None when the gate is off.
    """
    given = settings.api_token.get_secret_value() if settings.api_token else None
    username = settings.comfy_username or settings.fb_username
    return Handoff(
        huggingface=_secret(settings.hf_token),
        civitai=_secret(settings.civitai_token),
        api_token=given or secrets.token_urlsafe(32),
        api_token_generated=given is None,
        comfy_username=username if gate_password else None,
        comfy_password_hash=hash_password(gate_password) if gate_password else None,
    )


def _secret(value: object) -> str | None:
    getter = getattr(value, "get_secret_value", None)
    return getter() if getter else None


def write_handoff(path: Path, handoff: Handoff, *, owner: tuple[int, int] | None) -> None:
    """Write ``secrets.json`` 0600 and give it to ``owner`` (uid, gid) when running as root."""
    write_secret_file(path, handoff.as_file())
    if owner is not None:
        os.chown(path, *owner)
        os.chown(path.parent, *owner)


def child_environment(
    environ: Mapping[str, str],
    *,
    secret_values: Iterable[str] = (),
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """``environ`` without any secret, plus ``extra``.

    A variable is dropped when its name is a known secret's, when it starts with one of
    :data:`DROPPED_PREFIXES`, or when its value equals a known secret (a template that
    copied a token into a variable of another name).
    """
    values = {v for v in secret_values if v}
    env = {
        name: value
        for name, value in environ.items()
        if name not in SECRET_ENV_NAMES
        and not name.startswith(DROPPED_PREFIXES)
        and value not in values
    }
    env.update(extra or {})
    return env
