"""Why aria2 stopped a download: its error codes and HTTP statuses as Phoenix errors and a next step.

aria2 reports a failed download as an exit code (the EXIT STATUS section of
``man aria2c``) and a message that sometimes names the HTTP status. Phoenix then
resolves the link again, waits and retries, starts the file over, or gives up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ...errors import (
    AuthError,
    DiskFullError,
    EngineError,
    IntegrityError,
    NotFoundError,
    PhoenixError,
    SourceError,
    TransientError,
)
from ...security.redact import redact, redact_url

#: What the engine does after aria2 stopped a download with an error.
Step = Literal["refresh", "retry", "restart", "raise"]

_STATUS_IN_MESSAGE = re.compile(r"status=(\d{3})")

# aria2's exit codes (the EXIT STATUS section of ``man aria2c``) by what Phoenix does next.
#: Unknown error (aria2 reports "No URI available" when its tries ran out), timeout,
#: too slow, network problem, name resolution, 503 after ``--retry-wait`` retries.
NETWORK_CODES = frozenset({1, 2, 5, 6, 19, 29})
NOT_FOUND_CODES = frozenset({3, 4})
AUTH_CODE = 24
HTTP_STATUS_CODE = 22
DISK_FULL_CODE = 9
#: The server cannot resume, or the control file disagrees with the download: start over.
RESTART_CODES = frozenset({8, 10})
FILE_CODES = frozenset({13, 14, 15, 16, 17, 18})
TOO_MANY_REDIRECTS = 23
CHECKSUM_CODE = 32


@dataclass(frozen=True)
class Failure:
    """Why aria2 stopped a download, and what Phoenix does about it."""

    action: Step
    error: PhoenixError
    done: int


def failure_of(status: Mapping[str, Any], label: str, url: str) -> Failure:
    """The failure behind a ``tellStatus`` answer of a download that stopped incomplete.

    Args:
        status: aria2's answer, with ``status``, ``errorCode``, ``errorMessage``
            and ``completedLength``.
        label: the file's name as the user knows it.
        url: the link aria2 was fetching (redacted before it reaches the error).
    """
    if status.get("status") == "removed":
        return Failure(
            "retry",
            TransientError(
                f"The download of {label} was stopped inside aria2c.",
                hint="It will be retried.",
            ),
            int(status.get("completedLength") or 0),
        )
    return _failure(status, label, url)


def _http_status(message: str) -> int | None:
    match = _STATUS_IN_MESSAGE.search(message)
    return int(match.group(1)) if match else None


def _failure(status: Mapping[str, Any], label: str, url: str) -> Failure:
    """Map aria2's ``errorCode``/``errorMessage`` to a Phoenix error and a next step."""
    code = int(status.get("errorCode") or 1)
    message = redact(str(status.get("errorMessage") or "unknown error")).rstrip(".")
    http = _http_status(message) if code == HTTP_STATUS_CODE else None
    if code == AUTH_CODE:
        http = 401
    error = _error_for(code, http, message, label, redact_url(url))
    return Failure(_next_step(code, http), error, int(status.get("completedLength") or 0))


def _retryable_status(http: int | None) -> bool:
    return http is not None and (http in (408, 425, 429) or http >= 500)


def _next_step(code: int, http: int | None) -> Step:
    # After its retries aria2 reports "No URI available" and the HTTP status is lost;
    # an expired signed link is the likely cause, so resolving it again is worth a try.
    if http in (401, 403) or (code == HTTP_STATUS_CODE and http is None):
        return "refresh"
    if http == 416 or code in RESTART_CODES:
        return "restart"
    if code in NETWORK_CODES or _retryable_status(http):
        return "retry"
    return "raise"


def _error_for(code: int, http: int | None, message: str, label: str, url: str) -> PhoenixError:
    if http in (401, 403):
        return AuthError(
            f"The server refused access to {label} (HTTP {http}).",
            hint="Check the token in Phoenix's settings, and for a gated model accept its licence on the model page.",
            url=url,
            status=http,
        )
    if code in NOT_FOUND_CODES or http in (404, 410):
        return NotFoundError(
            f"{label} is not at its source any more (HTTP {http or 404}).",
            hint="Check that the link, model or version still exists.",
            url=url,
            status=http or 404,
        )
    if code == HTTP_STATUS_CODE and http is None:
        return SourceError(
            f"The server gave an unexpected answer for {label}.",
            hint="Check the link in a browser, or retry later.",
            url=url,
        )
    if http == 416 or code in RESTART_CODES:
        return SourceError(
            f"The download of {label} could not be resumed: {message}.",
            hint="Retry the download; it will start over.",
            url=url,
            status=http,
        )
    if code in NETWORK_CODES or _retryable_status(http):
        return TransientError(
            f"The download of {label} kept failing: {message}.",
            hint="It will be retried; if it keeps failing, check the network connection.",
            url=url,
            status=http,
        )
    return _fatal(code, message, label, url, http)


def _fatal(code: int, message: str, label: str, url: str, http: int | None) -> PhoenixError:
    if code == DISK_FULL_CODE:
        return DiskFullError(
            f"The disk filled up while downloading {label}.",
            hint="Free some space, or choose a models folder on a larger disk.",
        )
    if code in FILE_CODES:
        return EngineError(
            f"aria2c could not write {label}: {message}.",
            hint="Check that the models folder exists and is writable.",
        )
    if code == TOO_MANY_REDIRECTS:
        return SourceError(
            f"{label} redirected too many times.", hint="Check the link.", url=url, status=http
        )
    if code == CHECKSUM_CODE:
        return IntegrityError(f"{label} failed aria2's checksum.", hint="Retry the download.")
    if http is not None:
        return SourceError(
            f"The server answered HTTP {http} for {label}.",
            hint="Check the link, or retry later.",
            url=url,
            status=http,
        )
    return EngineError(
        f"aria2c failed to download {label}: {message} (aria2 error {code}).",
        hint="Retry the download, or set PHOENIX_ENGINE=python.",
    )
