"""Who may log in, and the token API clients present: read once, compared in constant time.

In the container the bootstrap hands the credentials over in ``secrets.json`` (a password
hash, never the password); on a local install they come from the settings. Every
comparison goes through :func:`_same`, so neither a secret's content nor its length leaks
by timing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from ..redact import SECRETS
from ..secrets import verify_password

if TYPE_CHECKING:
    from ...settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GateCredentials:
    """Who may log in, and the bearer token API clients present.

    The password is either a :func:`~comfyui_phoenix.security.secrets.hash_password` hash
    (the container's handoff: the gate never sees the password) or the password itself
    (``COMFY_PASSWORD``/``FB_PASSWORD`` on a local install).
    """

    username: str
    password_hash: str | None = None
    password: SecretStr | None = None
    api_token: SecretStr | None = None

    @property
    def can_log_in(self) -> bool:
        return bool(self.password_hash or self.password)

    def check_login(self, username: str, password: str) -> bool:
        """Constant-time check of both fields (blocking: the hash takes a fraction of a second)."""
        user_ok = _same(username, self.username)
        if self.password_hash:
            password_ok = verify_password(self.password_hash, password)
        elif self.password is not None:
            password_ok = _same(password, self.password.get_secret_value())
        else:
            password_ok = False
        return user_ok and password_ok

    def check_bearer(self, token: str) -> bool:
        if self.api_token is None:
            return False
        return _same(token, self.api_token.get_secret_value())


def _same(given: str, expected: str) -> bool:
    """Compare digests so neither the content nor the length of ``expected`` leaks by timing."""
    return hmac.compare_digest(
        hashlib.sha256(given.encode()).digest(), hashlib.sha256(expected.encode()).digest()
    )


def load_credentials(settings: Settings, handoff: Path | None = None) -> GateCredentials:
    """The gate's credentials: the bootstrap's ``secrets.json`` first, then the settings.

    ``secrets.json`` keys used: ``api_token``, ``comfy_username``, ``comfy_password_hash``.
    Without them, ``COMFY_USERNAME``/``COMFY_PASSWORD`` (default: the FileBrowser
    credentials, ``FB_USERNAME``/``FB_PASSWORD``) and ``PHOENIX_API_TOKEN``.
    """
    data = _read_handoff(handoff)
    api_token = _text(data.get("api_token"))
    token = SecretStr(api_token) if api_token else settings.api_token
    password = settings.comfy_password or settings.fb_password
    creds = GateCredentials(
        username=_text(data.get("comfy_username"))
        or settings.comfy_username
        or settings.fb_username,
        password_hash=_text(data.get("comfy_password_hash")),
        password=password,
        api_token=token,
    )
    SECRETS.add(
        creds.password_hash,
        creds.password.get_secret_value() if creds.password else None,
        creds.api_token.get_secret_value() if creds.api_token else None,
    )
    if not creds.can_log_in:
        log.error(
            "The login gate has no password: nobody can log in. "
            "Set COMFY_PASSWORD (or FB_PASSWORD); API clients can still use PHOENIX_API_TOKEN."
        )
    return creds


def _read_handoff(path: Path | None) -> dict[str, Any]:
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        log.error("The login gate could not read %s: %s", path, type(exc).__name__)
        return {}
    return data if isinstance(data, dict) else {}


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
