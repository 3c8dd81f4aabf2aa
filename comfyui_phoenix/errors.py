"""Every error Phoenix raises, with a message that says what to do.

One base class with structured fields. Surfaces render an error once, at their
boundary: routes as JSON ``{error, detail, hint}``, the CLI as one sentence on
stderr, nodes as a node error. Messages never contain secrets: callers pass
URLs through :func:`comfyui_phoenix.security.redact.redact_url` first.
"""

from __future__ import annotations

from typing import Any


class PhoenixError(Exception):
    """Base class: ``detail`` says what went wrong, ``hint`` what to do about it."""

    code = "phoenix_error"
    http_status = 500

    def __init__(
        self,
        detail: str,
        *,
        hint: str | None = None,
        ref: str | None = None,
        url: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.hint = hint
        self.ref = ref
        self.url = url
        self.status = status

    def __str__(self) -> str:
        return f"{self.detail} {self.hint}" if self.hint else self.detail

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "detail": self.detail, "hint": self.hint}
        if self.ref is not None:
            body["ref"] = self.ref
        return body


class ConfigError(PhoenixError):
    """A setting (environment variable, option, manifest) has an invalid value."""

    code = "bad_setting"
    http_status = 400


class BadReferenceError(PhoenixError):
    """A model reference does not follow the grammar in the README."""

    code = "bad_reference"
    http_status = 400


class UnsafePathError(PhoenixError):
    """A file name or folder would land outside the models root or is not allowed."""

    code = "unsafe_path"
    http_status = 400


class UnusableFolderError(PhoenixError):
    """The models folder is missing, a file, or not writable."""

    code = "unusable_folder"
    http_status = 400


class HostNotAllowedError(PhoenixError):
    """A download would reach a host outside the allow-list or a private network."""

    code = "host_not_allowed"
    http_status = 403


class AuthError(PhoenixError):
    """The token is missing or rejected by the source."""

    code = "auth_required"
    http_status = 401


class GatedError(PhoenixError):
    """The account behind the token has not accepted the model's licence or access terms."""

    code = "gated"
    http_status = 403

    def __init__(self, detail: str, *, licence_url: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.licence_url = licence_url

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        body["licence_url"] = self.licence_url
        return body


class NotFoundError(PhoenixError):
    """The repository, model, version or file does not exist at the source."""

    code = "not_found"
    http_status = 404


class NothingToFetchError(PhoenixError):
    """A reference resolved, but holds nothing ComfyUI can load."""

    code = "nothing_to_fetch"
    http_status = 422


class SourceError(PhoenixError):
    """The source answered in a way Phoenix cannot use (bad JSON, unexpected status)."""

    code = "source_error"
    http_status = 502


class TransientError(SourceError):
    """A network error, a timeout, a 408, 429 or 5xx: worth retrying."""

    code = "transient"

    def __init__(self, detail: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after


class LinkExpiredError(TransientError):
    """A signed storage URL expired or was refused mid-transfer: resolve it again."""

    code = "link_expired"


class IntegrityError(PhoenixError):
    """The bytes are not the model: wrong size, wrong hash, an HTML page, a bad header."""

    code = "integrity"
    http_status = 502


class HashMismatchError(IntegrityError):
    """A workflow expects a hash the source does not list for the file: one of them is stale."""

    code = "hash_mismatch"
    http_status = 409


class DiskFullError(PhoenixError):
    """Not enough free space for the file plus a safety margin."""

    code = "disk_full"
    http_status = 507


class JobNotFound(PhoenixError):
    code = "job_not_found"
    http_status = 404


class EngineError(PhoenixError):
    """The transfer engine itself failed (aria2c missing or crashed)."""

    code = "engine_error"
    http_status = 500


class ForbiddenError(PhoenixError):
    """A destructive action was refused for this client or outside the container."""

    code = "forbidden"
    http_status = 403


class ConflictError(PhoenixError):
    """The action clashes with the state of things: a name taken, a file being downloaded."""

    code = "conflict"
    http_status = 409


class BadRequestError(PhoenixError):
    """A request body that is not what the route documents."""

    code = "bad_request"
    http_status = 400
