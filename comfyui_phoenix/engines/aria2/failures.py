"""Why aria2 stopped a download: its exit codes and HTTP statuses as Phoenix errors and a next step.

aria2 reports a failed download as an exit code (the EXIT STATUS section of
``man aria2c``) and a message that sometimes names the HTTP status. An HTTP status,
named or implied by the code, reads as every transfer's answers read
(:mod:`..transfer_answers`); what is aria2's own (a network failure without a
status, a full disk, a file it could not write, its checksum) is read here.
Phoenix then resolves the link again, waits and retries, starts the file over,
or gives up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import (
    DiskFullError,
    EngineError,
    IntegrityError,
    PhoenixError,
    SourceError,
    TransientError,
)
from ...net.answers import Answer
from ...security.redact import redact, redact_url
from ..transfer_answers import Step, TransferWording, next_step

_STATUS_IN_MESSAGE = re.compile(r"status=(\d{3})")

# aria2's exit codes (the EXIT STATUS section of ``man aria2c``) by what Phoenix does next.
#: Unknown error (aria2 reports "No URI available" when its tries ran out), timeout,
#: too slow, network problem, name resolution.
NETWORK_CODES = frozenset({1, 2, 5, 6, 19})
HTTP_STATUS_CODE = 22
#: Codes that stand for one HTTP status: resource not found (once, or
#: ``--max-file-not-found`` times), authorization failed, 503 after ``--retry-wait`` retries.
STATUS_OF_CODE = {3: 404, 4: 404, 24: 401, 29: 503}
DISK_FULL_CODE = 9
#: The server cannot resume, or the control file disagrees with the download: start over.
RESTART_CODES = frozenset({8, 10})
FILE_CODES = frozenset({13, 14, 15, 16, 17, 18})
TOO_MANY_REDIRECTS = 23
CHECKSUM_CODE = 32


@dataclass(frozen=True)
class Failure:
    """Why aria2 stopped a download, and what Phoenix does about it.

    Attributes:
        action: the next step.
        error: what ends the transfer, should the step not be taken or not help.
        done: the bytes on disk.
        reason: what happened, for the log line of a step taken.
    """

    action: Step
    error: PhoenixError
    done: int
    reason: str


def failure_of(status: Mapping[str, Any], label: str, url: str) -> Failure:
    """The failure behind a ``tellStatus`` answer of a download that stopped incomplete.

    Args:
        status: aria2's answer, with ``status``, ``errorCode``, ``errorMessage``
            and ``completedLength``.
        label: the file's name as the user knows it.
        url: the link aria2 was fetching (redacted before it reaches the error).
    """
    if status.get("status") == "removed":
        error = TransientError(f"The download of {label} was stopped inside aria2c.")
        return Failure("retry", error, int(status.get("completedLength") or 0), error.detail)
    return _failure(status, label, url)


def _http_status(message: str) -> int | None:
    match = _STATUS_IN_MESSAGE.search(message)
    return int(match.group(1)) if match else None


def _failure(status: Mapping[str, Any], label: str, url: str) -> Failure:
    """Map aria2's ``errorCode``/``errorMessage`` to a Phoenix error and a next step."""
    code = int(status.get("errorCode") or 1)
    message = redact(str(status.get("errorMessage") or "unknown error")).rstrip(".")
    done = int(status.get("completedLength") or 0)
    http = _http_status(message) if code == HTTP_STATUS_CODE else STATUS_OF_CODE.get(code)
    if http is not None:
        wording = TransferWording.of(label, url)
        error = wording.error(Answer(http, url))
        return Failure(next_step(http), error, done, f"{wording.host} answered HTTP {http}")
    error = _error_for(code, message, label, redact_url(url))
    return Failure(_next_step(code), error, done, error.detail)


def _next_step(code: int) -> Step:
    # After its retries aria2 reports "No URI available" and the HTTP status is lost;
    # an expired signed link is the likely cause, so resolving it again is worth a try.
    if code == HTTP_STATUS_CODE:
        return "refresh"
    if code in RESTART_CODES:
        return "restart"
    if code in NETWORK_CODES:
        return "retry"
    return "raise"


def _error_for(code: int, message: str, label: str, url: str) -> PhoenixError:
    """aria2's own failures, those without an HTTP status."""
    if code == HTTP_STATUS_CODE:
        return SourceError(
            f"The server gave an unexpected answer for {label}.",
            hint="Check the link in a browser, or retry later.",
            url=url,
        )
    if code in RESTART_CODES:
        return SourceError(
            f"The download of {label} could not be resumed: {message}.",
            hint="Retry the download; it will start over.",
            url=url,
        )
    if code in NETWORK_CODES:
        return TransientError(
            f"The download of {label} failed: {message}.",
            hint="Check the network connection.",
            url=url,
        )
    return _fatal(code, message, label, url)


def _fatal(code: int, message: str, label: str, url: str) -> PhoenixError:
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
        return SourceError(f"{label} redirected too many times.", hint="Check the link.", url=url)
    if code == CHECKSUM_CODE:
        return IntegrityError(f"{label} failed aria2's checksum.", hint="Retry the download.")
    return EngineError(
        f"aria2c failed to download {label}: {message} (aria2 error {code}).",
        hint="Retry the download, or set PHOENIX_ENGINE=python.",
    )
