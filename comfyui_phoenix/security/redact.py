"""Keep secrets out of every log line, message and URL shown to anyone.

:class:`SecretRegistry` knows every live secret value; :class:`RedactingFilter`
masks them (and any ``token=`` style query value) in every record of every
logger it is attached to, including lines relayed from aria2c.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
_SECRET_PARAMS = frozenset(
    {
        "token",
        "access_token",
        "api_key",
        "apikey",
        "key",
        "signature",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "sig",
        "auth",
        "password",
    }
)
_QUERY_SECRET = re.compile(
    r"(?i)\b(token|access_token|api_key|apikey|x-amz-signature|x-amz-credential|"
    r"x-amz-security-token|signature|sig|password)=([^&\s\"'<>]+)"
)
_BEARER = re.compile(r"(?i)\b(bearer|token:)\s*([A-Za-z0-9._~+/=-]{6,})")
_MIN_SECRET_LENGTH = 4


class SecretRegistry:
    """Every secret value Phoenix knows about, for redaction."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: frozenset[str] = frozenset()

    def add(self, *values: str | None) -> None:
        with self._lock:
            new = {v for v in values if v and len(v) >= _MIN_SECRET_LENGTH}
            self._values = self._values | new

    def discard(self, value: str) -> None:
        with self._lock:
            self._values = self._values - {value}

    def values(self) -> Iterable[str]:
        return sorted(self._values, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for value in self.values():
            if value in text:
                text = text.replace(value, MASK)
        text = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}={MASK}", text)
        return _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)


#: The process-wide registry; secrets are added where they are loaded.
SECRETS = SecretRegistry()


def redact(text: str) -> str:
    """Mask every known secret and token-like query value in ``text``."""
    return SECRETS.redact(text)


def redact_url(url: str) -> str:
    """Drop credentials and secret query parameters from a URL before showing it."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    query = urlencode(
        [(k, MASK if k.lower() in _SECRET_PARAMS else v) for k, v in parse_qsl(parts.query, True)]
    )
    return redact(urlunsplit((parts.scheme, netloc, parts.path, query, "")))


def public_ref(ref: str) -> str:
    """A reference as it may be shown: a link loses credentials and signatures."""
    body, sep, destination = ref.partition("::")
    if body.lower().startswith(("http://", "https://")):
        body = redact_url(body)
    return redact(body) + sep + destination


class RedactingFilter(logging.Filter):
    """A logging filter that rewrites each record's message with secrets masked."""

    def __init__(self, registry: SecretRegistry = SECRETS) -> None:
        super().__init__()
        self._registry = registry

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not drop the record
            message = str(record.msg)
        clean = self._registry.redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            clean_exc = self._registry.redact(logging.Formatter().formatException(record.exc_info))
            clean = f"{clean}\n{clean_exc}"
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = clean, None
        return True


def install_redaction(registry: SecretRegistry = SECRETS) -> None:
    """Attach the filter to every handler of the root logger (and future ones via root)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(registry))
