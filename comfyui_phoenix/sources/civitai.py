"""CivitAI: a model, a version or an AIR becomes one planned file.

Reads go to ``/api/v1``. Bytes come from ``/api/download/models/{version}``, which
answers with a redirect to a short-lived signed storage URL. The token travels as
a header to the CivitAI host only (a ``?token=`` ends up in logs), and the storage
host gets the signed URL without it: presigned storage refuses a second auth
mechanism with a 400. Every CivitAI answer becomes a Phoenix error in one funnel,
:meth:`CivitaiSource.error`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import aiohttp

from ..errors import (
    AuthError,
    BadReferenceError,
    GatedError,
    LinkExpiredError,
    NotFoundError,
    NothingToFetchError,
    PhoenixError,
    SourceError,
    TransientError,
)
from ..naming import safe_filename
from ..net.endpoint import Endpoint
from ..net.http import RETRYABLE_STATUS, generic_status_error, retry_after
from ..net.redirects import StatusFunnel, resolve, same_origin
from ..plan import PlannedFile
from ..refs import CivitaiRef, Reference
from ..security.redact import redact_url
from . import classify
from .base import SourceContext
from .direct import content_size, is_web_page, network_error, remote_header

_API_READ_LIMIT = 16 << 20


@dataclass(frozen=True)
class Release:
    """One CivitAI model version, with what Phoenix needs of its model."""

    model_id: int | None
    model_name: str
    model_type: str
    version: Mapping[str, Any]

    @property
    def version_id(self) -> int:
        return int(self.version["id"])

    @property
    def files(self) -> list[Mapping[str, Any]]:
        files = self.version.get("files") or []
        return [f for f in files if isinstance(f, Mapping) and "id" in f and f.get("name")]


class CivitaiSource:
    """Plans CivitAI references and resolves their signed download links."""

    kind = "civitai"

    def __init__(self, ctx: SourceContext) -> None:
        self.ctx = ctx
        self.base = ctx.settings.civitai_base_url

    # -- planning -------------------------------------------------------------------------
    async def plan(self, ref: Reference) -> list[PlannedFile]:
        """The one file a CivitAI reference stands for, its exact size, hashes and folder.

        Raises:
            AuthError, GatedError: the download needs a token or early access.
            NotFoundError: no such model, version or matching file.
            TransientError: CivitAI is rate limiting or down; worth retrying.
        """
        if not isinstance(ref, CivitaiRef):
            raise BadReferenceError(f"'{ref.canonical}' is not a CivitAI reference.")
        release = await self._release(ref)
        chosen = choose_file(release, ref)
        url = download_url(self.base, release.version_id, chosen)
        page = model_page(self.base, release.model_id, release.version_id)
        subject = _file_subject(release, chosen)
        endpoint, headers = await self._resolve(url, subject, page)
        filename = safe_filename(str(chosen["name"]))
        placement = await self._placement(ref, release, chosen, filename, endpoint)
        return [
            PlannedFile(
                ref=ref.canonical,
                source="civitai",
                url=url,
                filename=filename,
                folder=placement.folder,
                subfolder=ref.destination.subfolder if ref.destination else "",
                size=content_size(headers),
                sha256=_hash(chosen, "SHA256"),
                blake3=_hash(chosen, "BLAKE3"),
                token="civitai" if self.ctx.tokens.civitai() else None,
                folder_reason=placement.reason,
                revision=str(release.version_id),
                meta=_meta(release, chosen, page, subject),
            )
        ]

    async def _release(self, ref: CivitaiRef) -> Release:
        if ref.version_id is not None:
            return await self._version_release(ref.version_id, ref.model_id)
        if ref.model_id is None:
            raise BadReferenceError("A CivitAI reference needs a model or a version id.")
        subject = f"model {ref.model_id}"
        data = await self._get_json(f"/api/v1/models/{ref.model_id}", subject, ref.model_id)
        versions = [v for v in data.get("modelVersions") or [] if isinstance(v, Mapping)]
        if not versions:
            raise NothingToFetchError(
                f"CivitAI model {ref.model_id} has no published version.",
                hint=f"Open {model_page(self.base, ref.model_id, None)} to check its status.",
                ref=ref.canonical,
            )
        # CivitAI lists the newest version first.
        return Release(
            ref.model_id, str(data.get("name", "")), str(data.get("type", "")), versions[0]
        )

    async def _version_release(self, version_id: int, model_id: int | None) -> Release:
        subject = f"model version {version_id}"
        data = await self._get_json(f"/api/v1/model-versions/{version_id}", subject, model_id)
        owner = data.get("modelId")
        if model_id is not None and owner is not None and int(owner) != model_id:
            raise NotFoundError(
                f"Version {version_id} belongs to CivitAI model {owner}, not {model_id}.",
                hint="Check the ids: civitai:MODEL@VERSION takes the version id from the same model.",
            )
        model = data.get("model")
        if not isinstance(model, Mapping):
            model = {}
        return Release(
            int(owner) if owner is not None else model_id,
            str(model.get("name", "")),
            str(model.get("type", "")),
            data,
        )

    async def _placement(
        self,
        ref: CivitaiRef,
        release: Release,
        chosen: Mapping[str, Any],
        filename: str,
        endpoint: Endpoint,
    ) -> classify.Placement:
        if ref.destination is not None:
            return classify.Placement(ref.destination.folder, f"you chose ::{ref.destination}")
        declared = (
            classify.civitai_placement(release.model_type, str(chosen.get("type") or ""))
            or _air_placement(ref.air_type)
            or classify.classify_name(filename)
            or classify.Placement(
                "checkpoints",
                f"CivitAI's type '{release.model_type}' names no ComfyUI folder; "
                "checkpoints is the default",
            )
        )
        header = await remote_header(self.ctx, filename, endpoint)
        return classify.reconcile(declared, header)

    # -- transfer ---------------------------------------------------------------------------
    async def endpoint(self, file: PlannedFile) -> Endpoint:
        """A fresh signed storage URL for ``file``, without the token.

        Resolved anew on every call: engines call again when a signed URL expires.
        """
        subject = str(file.meta.get("subject") or file.filename)
        page = file.meta.get("page")
        endpoint, _ = await self._resolve(file.url, subject, str(page) if page else None)
        return endpoint

    async def _resolve(
        self, url: str, subject: str, page: str | None
    ) -> tuple[Endpoint, Mapping[str, str]]:
        funnel: StatusFunnel = partial(self.error, subject=subject, page=page)
        try:
            endpoint, headers = await resolve(
                self.ctx.session,
                self.ctx.policy,
                url,
                self._auth(),
                method="GET",
                funnel=funnel,
                probe=True,
            )
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise network_error(url, exc) from exc
        self._refuse_web_page(endpoint.url, headers, subject)
        return endpoint, headers

    def _refuse_web_page(self, url: str, headers: Mapping[str, str], subject: str) -> None:
        """A 200 with a web page is a login or error page, never the file."""
        parts = urlsplit(url)
        on_civitai = same_origin(url, self.base)
        login = on_civitai and (
            parts.path.rstrip("/").endswith("/login") or "reason=download-auth" in parts.query
        )
        page = is_web_page(headers)
        if login or (page and on_civitai):
            raise self._auth_error(subject, url, None)
        if page:
            raise SourceError(
                f"The storage host served a web page instead of {subject}.",
                hint="CivitAI's storage may be having trouble; retry later.",
                url=redact_url(url),
            )

    # -- talking to the API ---------------------------------------------------------------------
    def _auth(self) -> dict[str, str]:
        token = self.ctx.tokens.civitai()
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def _get_json(self, path: str, subject: str, model_id: int | None) -> dict[str, Any]:
        url = self.base + path
        self.ctx.policy.check_url(url)
        page = model_page(self.base, model_id, None) if model_id is not None else None
        try:
            # No redirects: the token must not follow the API anywhere else.
            async with self.ctx.session.get(
                url, headers=self._auth(), allow_redirects=False
            ) as response:
                body = await _read_limited(response, path)
                if response.status != 200:
                    raise self.error(response.status, url, response.headers, body, subject, page)
                content_type = response.headers.get("Content-Type", "")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise network_error(url, exc) from exc
        return _parse_json(body, content_type, path)

    def error(
        self,
        status: int,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        subject: str,
        page: str | None,
    ) -> PhoenixError:
        """The one funnel from a CivitAI (or its storage host's) answer to a Phoenix error."""
        if not same_origin(url, self.base):
            return _storage_error(status, url, headers, subject)
        shown = redact_url(url)
        if status == 401:
            return self._auth_error(subject, url, status)
        if status == 403:
            return self._forbidden(_json_object(body), subject, url, page)
        if status in (404, 410):
            return self._missing(status, subject, shown, page)
        if status in RETRYABLE_STATUS:
            return TransientError(
                f"CivitAI answered HTTP {status} for {subject}.",
                hint="Phoenix retries on its own; if it persists, CivitAI may be busy or down.",
                status=status,
                url=shown,
                retry_after=retry_after(headers),
            )
        return generic_status_error(status, url, headers)

    def _auth_error(self, subject: str, url: str, status: int | None) -> AuthError:
        account = f"{self.base}/user/account"
        if self.ctx.tokens.civitai():
            return AuthError(
                f"CivitAI did not accept the token for {subject}.",
                hint=f"Check CIVITAI_TOKEN: create a new key at {account} and retry.",
                status=status,
                url=redact_url(url),
            )
        return AuthError(
            f"CivitAI requires a login to download {subject}.",
            hint=f"Set CIVITAI_TOKEN (create a key at {account}) and retry.",
            status=status,
            url=redact_url(url),
        )

    def _forbidden(
        self, body: Mapping[str, Any], subject: str, url: str, page: str | None
    ) -> PhoenixError:
        where = page or self.base
        if body.get("error") == "Early Access":
            deadline = str(body.get("deadline") or "the end of its early-access period")
            return GatedError(
                f"CivitAI holds {subject} in early access until {deadline}.",
                hint=f"Buy early access at {where}, or retry after {deadline}.",
                licence_url=where,
                status=403,
                url=redact_url(url),
            )
        if not self.ctx.tokens.civitai():
            return self._auth_error(subject, url, 403)
        return GatedError(
            f"Your CivitAI account may not download {subject}.",
            hint=f"Check the model's access terms at {where}.",
            licence_url=where,
            status=403,
            url=redact_url(url),
        )

    def _missing(self, status: int, subject: str, shown: str, page: str | None) -> NotFoundError:
        if status == 410:
            return NotFoundError(
                f"CivitAI has archived {subject}; it can no longer be downloaded.",
                hint="Choose another version or model on CivitAI.",
                status=status,
                url=shown,
            )
        where = f"Open {page} to check the id." if page else "Check the id on civitai.com."
        return NotFoundError(f"CivitAI has no {subject}.", hint=where, status=status, url=shown)


# -- choosing the file ---------------------------------------------------------------------------
def choose_file(release: Release, ref: CivitaiRef) -> Mapping[str, Any]:
    """The file a reference means: its file id, else its filters, else the primary file.

    Raises:
        NotFoundError: no file matches, with the available files in the hint.
        NothingToFetchError: the version has no files at all.
    """
    files = release.files
    if not files:
        raise NothingToFetchError(
            f"CivitAI model version {release.version_id} has no downloadable files.",
            hint="Choose another version of the model.",
            ref=ref.canonical,
        )
    if ref.file_id is not None:
        found = [f for f in files if _int(f.get("id")) == ref.file_id]
        return _one(found, files, release, f"file {ref.file_id}", ref)
    if ref.filters:
        found = [f for f in files if _matches(f, ref.filters)]
        found.sort(key=lambda f: not f.get("primary"))
        wanted = " ".join(f"{k}={v}" for k, v in ref.filters)
        return _one(found, files, release, f"file with {wanted}", ref)
    primary = [f for f in files if f.get("primary") is True]
    safetensors = [
        f
        for f in files
        if str(f.get("type", "")).lower() == "model" and _meta_value(f, "format") == "safetensor"
    ]
    return (primary or safetensors or files)[0]


def _one(
    found: list[Mapping[str, Any]],
    files: Sequence[Mapping[str, Any]],
    release: Release,
    wanted: str,
    ref: CivitaiRef,
) -> Mapping[str, Any]:
    if found:
        return found[0]
    listing = "; ".join(describe_file(f) for f in files)
    raise NotFoundError(
        f"File not found: CivitAI model version {release.version_id} has no {wanted}.",
        hint=f"Available files: {listing}.",
        ref=ref.canonical,
    )


def describe_file(file: Mapping[str, Any]) -> str:
    """``name (id 7, Model, SafeTensor, pruned, fp16)`` for hints."""
    details = [f"id {file.get('id')}", str(file.get("type") or "Model")]
    details += [str(v) for v in (_raw_meta(file, k) for k in ("format", "size", "fp")) if v]
    return f"{file.get('name')} ({', '.join(details)})"


def _matches(file: Mapping[str, Any], filters: tuple[tuple[str, str], ...]) -> bool:
    for key, value in filters:
        have = file.get("type") if key == "type" else _raw_meta(file, key)
        if str(have or "").lower() != value.lower():
            return False
    return True


def _raw_meta(file: Mapping[str, Any], key: str) -> Any:
    metadata = file.get("metadata")
    return metadata.get(key) if isinstance(metadata, Mapping) else None


def _meta_value(file: Mapping[str, Any], key: str) -> str:
    return str(_raw_meta(file, key) or "").lower()


# -- what goes into the plan ------------------------------------------------------------------
def download_url(base: str, version_id: int, file: Mapping[str, Any]) -> str:
    """The public download URL, pinned to one file.

    Without ``fileId`` CivitAI picks the file by the token owner's preferences, so two
    users (or one user who changes settings) would get different bytes.
    """
    params = {"type": str(file.get("type") or "")}
    params.update({k: str(_raw_meta(file, k) or "") for k in ("format", "size", "fp")})
    query = [(k, v) for k, v in params.items() if v] + [("fileId", str(file["id"]))]
    return f"{base}/api/download/models/{version_id}?{urlencode(query, quote_via=quote)}"


def model_page(base: str, model_id: int | None, version_id: int | None) -> str:
    """The page a user opens to log in, buy early access or check a model."""
    if model_id is None:
        return f"{base}/model-versions/{version_id}"
    page = f"{base}/models/{model_id}"
    return f"{page}?modelVersionId={version_id}" if version_id is not None else page


def _hash(file: Mapping[str, Any], name: str) -> str | None:
    hashes = file.get("hashes")
    value = hashes.get(name) if isinstance(hashes, Mapping) else None
    return str(value).lower() if value else None


def _meta(release: Release, file: Mapping[str, Any], page: str, subject: str) -> dict[str, Any]:
    size_kb = file.get("sizeKB")
    return {
        "model_id": release.model_id,
        "version_id": release.version_id,
        "file_id": _int(file.get("id")),
        "model_name": release.model_name,
        "version_name": str(release.version.get("name") or ""),
        "base_model": str(release.version.get("baseModel") or ""),
        "model_type": release.model_type,
        "file_type": str(file.get("type") or ""),
        "air": release.version.get("air"),
        "approx_size": round(float(size_kb) * 1024) if isinstance(size_kb, int | float) else None,
        "page": page,
        "subject": subject,
    }


def _air_placement(air_type: str | None) -> classify.Placement | None:
    folder = classify.CIVITAI_MODEL_TYPES.get(air_type or "")
    return classify.Placement(folder, f"its AIR says '{air_type}'") if folder else None


def _file_subject(release: Release, file: Mapping[str, Any]) -> str:
    if release.model_name:
        return f"'{release.model_name}' ({file.get('name')})"
    return f"{file.get('name')} (model version {release.version_id})"


# -- small helpers ------------------------------------------------------------------------------
def _storage_error(status: int, url: str, headers: Mapping[str, str], subject: str) -> PhoenixError:
    if status in (401, 403):
        # Signed URLs answer 403 once expired; a fresh one comes from CivitAI again.
        return LinkExpiredError(
            f"The signed download link for {subject} expired or was refused.",
            hint="Phoenix asks CivitAI for a fresh link on its own; retry if this persists.",
            status=status,
            url=redact_url(url),
        )
    return generic_status_error(status, url, headers)


async def _read_limited(response: aiohttp.ClientResponse, path: str) -> bytes:
    """The whole body, refusing answers far larger than any real API answer."""
    body = bytearray()
    async for chunk in response.content.iter_chunked(1 << 16):
        body += chunk
        if len(body) > _API_READ_LIMIT:
            raise SourceError(
                f"CivitAI answered {path} with more than {_API_READ_LIMIT >> 20} MB.",
                hint="Check PHOENIX_CIVITAI_BASE_URL; it should point at CivitAI's site.",
            )
    return bytes(body)


def _parse_json(body: bytes, content_type: str, path: str) -> dict[str, Any]:
    bad = SourceError(
        f"CivitAI answered {path} with something other than JSON.",
        hint="CivitAI may be down or showing a challenge page; try again later.",
    )
    if "json" not in content_type.lower():
        raise bad
    try:
        data = json.loads(body)
    except ValueError:
        raise bad from None
    if not isinstance(data, dict):
        raise bad
    return data


def _json_object(body: bytes) -> Mapping[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
