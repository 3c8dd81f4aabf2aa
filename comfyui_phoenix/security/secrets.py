"""The one holder of tokens. Values live in memory only and are registered for redaction.

Where a token comes from, in order: set through the panel (``PUT /phoenix/tokens``,
kept server-side in a 0600 file on local installs), the bootstrap's ``secrets.json``
handoff in the container, the environment (``HF_TOKEN``/``HUGGINGFACE_TOKEN``,
``CIVITAI_TOKEN``), then huggingface_hub's stored login for HuggingFace.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import SecretStr

from ..runtime import SECRETS_FILE
from .redact import SECRETS

if TYPE_CHECKING:
    from ..settings import Settings

TokenName = Literal["huggingface", "civitai"]


def mask(value: str | None) -> str | None:
    """What a UI may show of a token: its kind and last four characters."""
    if not value:
        return None
    return f"…{value[-4:]}" if len(value) >= 12 else "set"


@dataclass(frozen=True)
class TokenPlace:
    """Where a token was set, so that a sentence about it says where to change it.

    A token saved in the panel is changed there, not in ``HF_TOKEN``: the panel's
    token wins over the environment's.
    """

    name: TokenName
    source: str | None = None

    @property
    def in_panel(self) -> bool:
        return self.source == "panel"

    @property
    def label(self) -> str:
        return "HuggingFace" if self.name == "huggingface" else "CivitAI"

    @property
    def variable(self) -> str:
        return "HF_TOKEN" if self.name == "huggingface" else "CIVITAI_TOKEN"

    @property
    def where(self) -> str:
        """The place in a sentence: ``HF_TOKEN``, or "the panel's HuggingFace token"."""
        return f"the panel's {self.label} token" if self.in_panel else self.variable

    @property
    def held(self) -> str:
        """The token in a sentence: "the token in HF_TOKEN" or "the … token saved in the panel"."""
        if self.in_panel:
            return f"the {self.label} token saved in the panel"
        return f"the token in {self.variable}"

    def set_to(self, what: str) -> str:
        """The fix: "Set HF_TOKEN to WHAT", or "Save WHAT in the panel's Tokens section"."""
        if self.in_panel:
            return f"Save {what} in the panel's Tokens section ({self.label})"
        return f"Set {self.variable} to {what}"


class Tokens:
    """The HuggingFace and CivitAI tokens, thread-safe, never persisted by this class."""

    def __init__(
        self,
        huggingface: SecretStr | str | None = None,
        civitai: SecretStr | str | None = None,
        *,
        sources: dict[TokenName, str] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._values: dict[TokenName, SecretStr | None] = {"huggingface": None, "civitai": None}
        self.sources: dict[TokenName, str] = dict(sources or {})
        self.set("huggingface", huggingface, self.sources.get("huggingface", "given"))
        self.set("civitai", civitai, self.sources.get("civitai", "given"))

    def set(self, name: TokenName, value: SecretStr | str | None, source: str = "panel") -> None:
        secret = SecretStr(value) if isinstance(value, str) else value
        if secret is not None and not secret.get_secret_value().strip():
            secret = None
        if secret is not None:
            SECRETS.add(secret.get_secret_value())
        with self._lock:
            self._values[name] = secret
            if secret is None:
                self.sources.pop(name, None)
            else:
                self.sources[name] = source

    def get(self, name: TokenName) -> str | None:
        with self._lock:
            secret = self._values[name]
        return secret.get_secret_value() if secret is not None else None

    def hf(self) -> str | None:
        return self.get("huggingface")

    def civitai(self) -> str | None:
        return self.get("civitai")

    def place(self, name: TokenName) -> TokenPlace:
        """Where the token ``name`` was set (its source), for the sentences about it."""
        return TokenPlace(name, self.sources.get(name))

    def masked(self) -> dict[str, dict[str, str | None]]:
        return {
            name: {"value": mask(self.get(name)), "source": self.sources.get(name)}
            for name in ("huggingface", "civitai")
        }


def load_tokens(settings: Settings, *, stored_file: Path | None = None) -> Tokens:
    """Collect tokens from every place they may be, most specific first."""
    tokens = Tokens()
    hf_login = _hf_stored_login()
    if hf_login:
        tokens.set("huggingface", hf_login, "huggingface-cli login")
    if settings.hf_token is not None:
        tokens.set("huggingface", settings.hf_token, "environment")
    if settings.civitai_token is not None:
        tokens.set("civitai", settings.civitai_token, "environment")
    runtime = settings.runtime_dir
    for path, label in (
        (runtime / SECRETS_FILE if runtime else None, "container"),
        (stored_file, "panel"),
    ):
        for name, value in _read_secret_file(path).items():
            tokens.set(name, value, label)
    return tokens


def _read_secret_file(path: Path | None) -> dict[TokenName, str]:
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    found: dict[TokenName, str] = {}
    for name in ("huggingface", "civitai"):
        value = data.get(name) if isinstance(data, dict) else None
        if isinstance(value, str) and value.strip():
            found[name] = value.strip()
    return found


def write_secret_file(path: Path, values: Mapping[str, str]) -> None:
    """Write ``values`` to ``path`` readable by its owner only (0600 from creation)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(dict(values), handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _hf_stored_login() -> str | None:
    try:
        from huggingface_hub import get_token
    except ImportError:  # pragma: no cover - huggingface_hub is a dependency
        return None
    return get_token()


#: PBKDF2-SHA256 work factor for login passwords (OWASP's 2023 recommendation).
PASSWORD_HASH_ITERATIONS = 600_000


def hash_password(password: str, *, iterations: int = PASSWORD_HASH_ITERATIONS) -> str:
    """A salted hash of a login password: ``pbkdf2_sha256$ITERATIONS$SALT$HASH`` (base64).

    The bootstrap hands the login gate this instead of the password, so a generated
    password never reaches a file.
    """
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return "$".join(("pbkdf2_sha256", str(iterations), _b64(salt), _b64(digest)))


def verify_password(encoded: str, candidate: str) -> bool:
    """Whether ``candidate`` matches a :func:`hash_password` result (constant-time compare)."""
    try:
        scheme, iterations, salt, digest = encoded.split("$")
        if scheme != "pbkdf2_sha256":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.pbkdf2_hmac(
            "sha256", candidate.encode(), base64.b64decode(salt), int(iterations)
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
