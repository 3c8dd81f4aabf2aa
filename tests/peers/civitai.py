"""A CivitAI-compatible API and a separate storage host with signed, expiring URLs.

The API host answers ``/api/v1/models/{id}``, ``/api/v1/model-versions/{id}``,
``/api/v1/me`` (whose key it is: 200 with the account, 401 ``{"error": "Unauthorized"}``
for a missing or unknown key) and ``/api/download/models/{versionId}`` the way CivitAI
does, and its search and lookup by hash (:mod:`.civitai_catalog`): reads need no token; a
download that needs a login answers 401 JSON to programs and a redirect to the
login page to browsers; early access answers 403 with a deadline; a download that
is allowed answers 307 to a short-lived signed URL on the storage host.

The storage host behaves like S3/R2: it checks the signature and the expiry and
refuses any request that also carries an ``Authorization`` header ("Only one auth
mechanism allowed"), and also serves the galleries' images as CivitAI's image host does.
Every host logs every request so tests can prove where a token went and where it did not.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import re
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from aiohttp import web
from blake3 import blake3

from .civitai_catalog import SFW_LEVELS, search_models, version_by_hash
from .files import LoggedRequest, RateLimiter
from .runner import ServerThread

DEFAULT_TOKEN = "civitai-test-key-0123456789"
_BROWSERS = ("mozilla", "chrome", "safari", "firefox", "opera", "edge")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_FILTERS = ("type", "format", "size", "fp")
_CHUNK = 64 << 10
_EXPIRED = (
    "<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code>"
    "<Message>Request has expired</Message></Error>"
)
_BAD_SIGNATURE = (
    "<?xml version='1.0' encoding='UTF-8'?><Error><Code>SignatureDoesNotMatch</Code>"
    "<Message>The request signature we calculated does not match the signature you provided."
    "</Message></Error>"
)
_TWO_AUTHS = (
    "<?xml version='1.0' encoding='UTF-8'?><Error><Code>InvalidArgument</Code>"
    "<Message>Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
    "Signature query string parameter or the Authorization header should be specified"
    "</Message></Error>"
)


@dataclass
class CivFile:
    id: int
    name: str
    type: str
    data: bytes
    primary: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)


@dataclass
class CivImage:
    """One image of a version's gallery, served by the image host (image.civitai.com)."""

    id: int
    data: bytes
    nsfw_level: int = 1
    type: str = "image"

    @property
    def key(self) -> str:
        return f"0000-{self.id:08d}"


@dataclass
class CivVersion:
    id: int
    name: str
    base_model: str
    files: list[CivFile]
    air: str | None = None
    trained_words: list[str] = field(default_factory=list)
    images: list[CivImage] = field(default_factory=list)


@dataclass
class CivModel:
    id: int
    name: str
    type: str
    versions: list[CivVersion]
    requires_auth: bool = False
    early_access_deadline: str | None = None
    archived: bool = False
    nsfw: bool = False
    #: CivitAI's permission fields: allowCommercialUse, allowDerivatives, allowNoCredit, ...
    licence: dict[str, Any] = field(default_factory=dict)
    downloads: int = 0
    likes: int = 0
    tags: list[str] = field(default_factory=list)


@dataclass
class Fault:
    status: int
    times: int
    retry_after: str | None
    path_prefix: str


def compute_hashes(data: bytes) -> dict[str, str]:
    """The hashes CivitAI lists for a file, upper-case hex."""
    sha = hashlib.sha256(data).hexdigest().upper()
    return {
        "AutoV2": sha[:10],
        "SHA256": sha,
        "CRC32": f"{zlib.crc32(data):08X}",
        "BLAKE3": blake3(data).hexdigest().upper(),
    }


class CivitaiServer:
    """The API app and the storage app; start both with :meth:`start`."""

    def __init__(self, *, tokens: tuple[str, ...] = (DEFAULT_TOKEN,), ttl: float = 60.0) -> None:
        self.tokens: set[str] = set(tokens)
        #: The account name ``/api/v1/me`` answers for a key (a default otherwise).
        self.usernames: dict[str, str] = {}
        self.early_access_tokens: set[str] = set()
        self.ttl = ttl
        self.storage_rate: float | None = None
        self.storage_drop_at: int | None = None
        #: What the token owner's file preferences pick when a download names no file.
        self.owner_preferences: dict[str, str] = {}
        self.models: dict[int, CivModel] = {}
        self.api_requests: list[LoggedRequest] = []
        self.storage_requests: list[LoggedRequest] = []
        self.image_requests: list[LoggedRequest] = []
        self._faults: list[Fault] = []
        self._storage_faults: list[Fault] = []
        self._secret = b"storage-signing-secret"
        self._nonce = itertools.count(1)
        self._api: ServerThread | None = None
        self._storage: ServerThread | None = None

    # -- configuration ------------------------------------------------------------------
    def add_model(
        self,
        model_id: int,
        name: str,
        type: str,
        versions: list[dict[str, Any]],
        *,
        requires_auth: bool = False,
        early_access_deadline: str | None = None,
        archived: bool = False,
        nsfw: bool = False,
        licence: dict[str, Any] | None = None,
        downloads: int = 0,
        likes: int = 0,
        tags: tuple[str, ...] = (),
    ) -> CivModel:
        """Host a model. Each version: ``{id, name, baseModel, trainedWords, images: [{id,
        data, nsfwLevel, type}], files: [{id, name, type, data, primary, metadata}]}``;
        files may override ``hashes``."""
        built = [
            CivVersion(
                id=v["id"],
                name=v.get("name", f"v{v['id']}"),
                base_model=v.get("baseModel", "Flux.1 D"),
                air=v.get("air"),
                trained_words=list(v.get("trainedWords", [])),
                images=[
                    CivImage(i["id"], i["data"], i.get("nsfwLevel", 1), i.get("type", "image"))
                    for i in v.get("images", [])
                ],
                files=[
                    CivFile(
                        id=f["id"],
                        name=f["name"],
                        type=f.get("type", "Model"),
                        data=f["data"],
                        primary=f.get("primary", False),
                        metadata=dict(f.get("metadata", {})),
                        hashes=dict(f["hashes"]) if "hashes" in f else compute_hashes(f["data"]),
                    )
                    for f in v["files"]
                ],
            )
            for v in versions
        ]
        model = CivModel(
            model_id,
            name,
            type,
            built,
            requires_auth,
            early_access_deadline,
            archived,
            nsfw,
            dict(licence or {}),
            downloads,
            likes,
            list(tags),
        )
        self.models[model_id] = model
        return model

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: str | None = None,
        path_prefix: str = "/api/",
    ) -> None:
        """Answer the next ``times`` API requests under ``path_prefix`` with ``status``."""
        self._faults.append(Fault(status, times, retry_after, path_prefix))

    def fail_storage_next(
        self, status: int, *, times: int = 1, retry_after: str | None = None
    ) -> None:
        """Answer the next ``times`` storage requests with ``status`` (a busy storage host)."""
        self._storage_faults.append(Fault(status, times, retry_after, "/file/"))

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> CivitaiServer:
        self._storage = ServerThread(self.storage_app).start()
        self._api = ServerThread(self.api_app).start()
        return self

    def stop(self) -> None:
        for thread in (self._api, self._storage):
            if thread is not None:
                thread.stop()

    @property
    def url(self) -> str:
        assert self._api is not None
        return self._api.url

    @property
    def storage_url(self) -> str:
        assert self._storage is not None
        return self._storage.url

    # -- lookups ------------------------------------------------------------------------
    def _version(self, version_id: int) -> tuple[CivModel, CivVersion] | None:
        for model in self.models.values():
            for version in model.versions:
                if version.id == version_id:
                    return model, version
        return None

    def _file(self, file_id: int) -> CivFile | None:
        for model in self.models.values():
            for version in model.versions:
                for file in version.files:
                    if file.id == file_id:
                        return file
        return None

    # -- the API host -------------------------------------------------------------------
    def api_app(self) -> web.Application:
        app = web.Application(middlewares=[self._api_log])
        app.router.add_get("/api/v1/models", partial(search_models, self))
        app.router.add_get("/api/v1/models/{id}", self.get_model)
        app.router.add_get("/api/v1/model-versions/by-hash/{hash}", partial(version_by_hash, self))
        app.router.add_get("/api/v1/model-versions/{id}", self.get_version)
        app.router.add_get("/api/v1/me", self.me)
        app.router.add_get("/api/download/models/{id}", self.download)
        app.router.add_get("/login", self.login_page)
        return app

    @web.middleware
    async def _api_log(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.api_requests.append(_logged(request))
        for fault in self._faults:
            if fault.times > 0 and request.path.startswith(fault.path_prefix):
                fault.times -= 1
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                return web.json_response(
                    {"error": f"HTTP {fault.status}"}, status=fault.status, headers=headers
                )
        response: web.StreamResponse = await handler(request)
        return response

    async def get_model(self, request: web.Request) -> web.Response:
        model = self.models.get(_int(request.match_info["id"]))
        if model is None:
            return web.json_response({"error": "No model with id"}, status=404)
        return web.json_response(self.model_json(model))

    def model_json(self, model: CivModel, *, sfw_only: bool = False) -> dict[str, Any]:
        """A model as ``/api/v1/models`` and ``/api/v1/models/{id}`` list it."""
        return {
            "id": model.id,
            "name": model.name,
            "description": f"<p>{model.name}</p>",
            "type": model.type,
            "nsfw": model.nsfw,
            "nsfwLevel": 4 if model.nsfw else 1,
            "poi": False,
            "minor": False,
            **model.licence,
            "stats": {"downloadCount": model.downloads, "thumbsUpCount": model.likes},
            "creator": {"username": "phoenix-tester", "image": None},
            "tags": list(model.tags),
            "modelVersions": [
                self._version_json(model, v, nested=True, sfw_only=sfw_only) for v in model.versions
            ],
        }

    async def get_version(self, request: web.Request) -> web.Response:
        found = self._version(_int(request.match_info["id"]))
        if found is None:
            return web.json_response({"error": "Model not found"}, status=404)
        model, version = found
        return web.json_response(self.version_json(model, version))

    def version_json(self, model: CivModel, version: CivVersion) -> dict[str, Any]:
        """A version as ``/api/v1/model-versions/{id}`` (and ``by-hash``) answer it."""
        body = self._version_json(model, version, nested=False)
        body["modelId"] = model.id
        body["model"] = {"name": model.name, "type": model.type, "nsfw": model.nsfw, "poi": False}
        return body

    def image_url(self, image: CivImage, transform: str = "original=true") -> str:
        """Where the image host serves ``image`` (CivitAI's edge URL shape)."""
        return f"{self.storage_url}/xG1nkqKTMzGDvpLrqFT7WA/{image.key}/{transform}/{image.id}.png"

    def _version_json(
        self, model: CivModel, version: CivVersion, *, nested: bool, sfw_only: bool = False
    ) -> dict[str, Any]:
        files = []
        for file in version.files:
            entry: dict[str, Any] = {
                "id": file.id,
                "sizeKB": len(file.data) / 1024,
                "name": file.name,
                "type": file.type,
                "pickleScanResult": "Success",
                "virusScanResult": "Success",
                "metadata": {key: file.metadata.get(key) for key in ("format", "size", "fp")},
                "hashes": dict(file.hashes),
                "downloadUrl": f"{self.url}/api/download/models/{version.id}"
                + ("" if file.primary else f"?type={quote(file.type)}"),
            }
            # The models endpoint lists ``primary`` only when true; model-versions always.
            if file.primary or not nested:
                entry["primary"] = file.primary
            files.append(entry)
        return {
            "id": version.id,
            "name": version.name,
            "baseModel": version.base_model,
            "baseModelType": "Standard",
            "air": version.air,
            "status": "Published",
            "trainedWords": list(version.trained_words),
            "stats": {"downloadCount": model.downloads, "thumbsUpCount": model.likes},
            "files": files,
            "images": [
                {
                    "url": self.image_url(image),
                    "nsfwLevel": image.nsfw_level,
                    "width": 8,
                    "height": 8,
                    "hash": "U00000fQfQfQfQfQfQfQfQfQfQfQ",
                    "type": image.type,
                }
                for image in version.images
                if not (sfw_only and image.nsfw_level > SFW_LEVELS)
            ],
            "downloadUrl": f"{self.url}/api/download/models/{version.id}",
        }

    async def me(self, request: web.Request) -> web.Response:
        """The account behind an API key, as CivitAI's ``AuthedEndpoint`` answers it."""
        token = self._token(request)
        if token is None:
            return web.json_response({"error": "Unauthorized"}, status=401)
        return web.json_response(
            {
                "id": 4242,
                "username": self.usernames.get(token, "phoenix-civitai"),
                "tier": "free",
                "status": "active",
                "isMember": False,
                "subscriptions": [],
                "tokenScope": 15,
                "buzzLimit": None,
                "subject": {"type": "User", "id": 7},
            }
        )

    async def login_page(self, request: web.Request) -> web.Response:
        return web.Response(
            text="<!DOCTYPE html><html><body>Sign in to CivitAI</body></html>",
            content_type="text/html",
        )

    async def download(self, request: web.Request) -> web.StreamResponse:
        found = self._version(_int(request.match_info["id"]))
        if found is None:
            return web.json_response({"error": "Model not found"}, status=404)
        model, version = found
        if model.archived:
            return web.json_response(
                {"error": "Model archived, not available for download"}, status=410
            )
        token = self._token(request)
        if (model.requires_auth or model.early_access_deadline) and token is None:
            return self._login_required(request)
        if model.early_access_deadline and token not in self.early_access_tokens:
            return web.json_response(
                {"error": "Early Access", "deadline": model.early_access_deadline}, status=403
            )
        file = self._pick(version, request)
        if file is None:
            return web.json_response({"error": "File not found"}, status=404)
        return web.Response(
            status=307,
            headers={"Location": self.sign(file.id), "Cache-Control": "no-store"},
        )

    def _token(self, request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        value = header[7:].strip() if header.lower().startswith("bearer ") else None
        value = value or request.query.get("token")
        return value if value in self.tokens else None

    def _login_required(self, request: web.Request) -> web.StreamResponse:
        agent = request.headers.get("User-Agent", "").lower()
        if any(name in agent for name in _BROWSERS):
            target = quote(request.path_qs, safe="")
            location = f"/login?returnUrl={target}&reason=download-auth"
            return web.Response(status=307, headers={"Location": location})
        return web.json_response(
            {
                "error": "Unauthorized",
                "message": "The creator of this asset requires you to be logged in to download it",
            },
            status=401,
        )

    def _pick(self, version: CivVersion, request: web.Request) -> CivFile | None:
        file_id = request.query.get("fileId")
        if file_id:
            return next((f for f in version.files if str(f.id) == file_id), None)
        wanted = {k: request.query[k] for k in _FILTERS if request.query.get(k)}
        if not wanted:
            # Unpinned downloads follow the token owner's preferences, not the primary flag.
            wanted = dict(self.owner_preferences)
            preferred = [f for f in version.files if _matches(f, wanted)] if wanted else []
            primary = [f for f in version.files if f.primary]
            return next(iter(preferred or primary or version.files), None)
        return next((f for f in version.files if _matches(f, wanted)), None)

    # -- the storage host -----------------------------------------------------------------
    def sign(self, file_id: int) -> str:
        """A fresh signed URL for one file, valid for ``ttl`` seconds."""
        expires = int((time.time() + self.ttl) * 1000)
        nonce = next(self._nonce)
        sig = self._signature(str(file_id), expires, nonce)
        query = urlencode({"expires": expires, "n": nonce, "sig": sig})
        return f"{self.storage_url}/file/{file_id}?{query}"

    def _signature(self, key: str, expires: int, nonce: int) -> str:
        message = f"{key}:{expires}:{nonce}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def storage_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("GET", "/file/{key}", self.serve)
        app.router.add_route("HEAD", "/file/{key}", self.serve)
        app.router.add_get("/xG1nkqKTMzGDvpLrqFT7WA/{key}/{transform}/{name}", self.serve_image)
        return app

    async def serve_image(self, request: web.Request) -> web.Response:
        """The image host: every gallery image, in any width CivitAI's edge offers."""
        self.image_requests.append(_logged(request))
        for model in self.models.values():
            for version in model.versions:
                for image in version.images:
                    if image.key == request.match_info["key"]:
                        return web.Response(body=image.data, content_type="image/png")
        return web.Response(status=404, text="Not found")

    async def serve(self, request: web.Request) -> web.StreamResponse:
        self.storage_requests.append(_logged(request))
        for fault in self._storage_faults:
            if fault.times > 0:
                fault.times -= 1
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                return _xml(fault.status, "<Error><Code>SlowDown</Code></Error>", headers)
        if "Authorization" in request.headers:
            return _xml(400, _TWO_AUTHS)
        key = request.match_info["key"]
        try:
            expires = int(request.query["expires"])
            nonce = int(request.query["n"])
        except (KeyError, ValueError):
            return _xml(403, _BAD_SIGNATURE)
        expected = self._signature(key, expires, nonce)
        if not hmac.compare_digest(expected, request.query.get("sig", "")):
            return _xml(403, _BAD_SIGNATURE)
        if time.time() * 1000 > expires:
            return _xml(403, _EXPIRED)
        file = self._file(_int(key))
        if file is None:
            return _xml(404, "<Error><Code>NoSuchKey</Code></Error>")
        return await self._send(request, file)

    async def _send(self, request: web.Request, file: CivFile) -> web.StreamResponse:
        size = len(file.data)
        start, end, partial = _range(request.headers.get("Range"), size)
        if partial and start >= end:
            return web.Response(status=416, headers={"Content-Range": f"bytes */{size}"})
        headers = {
            "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
            "Content-Length": str(end - start),
            "ETag": f'"{file.hashes.get("SHA256", "")[:16].lower()}"',
            "Content-Disposition": (
                f"attachment; filename=\"{file.name}\"; filename*=UTF-8''{quote(file.name)}"
            ),
        }
        if partial:
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        response = web.StreamResponse(status=206 if partial else 200, headers=headers)
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        bucket = RateLimiter(self.storage_rate)
        offset = start
        try:
            while offset < end:
                stop = min(end, offset + _CHUNK)
                drop = self.storage_drop_at
                if drop is not None and offset <= drop < stop:
                    if drop > offset:
                        await response.write(file.data[offset:drop])
                    self.storage_drop_at = None
                    if request.transport is not None:
                        request.transport.abort()
                    return response
                await bucket.take(stop - offset)
                await response.write(file.data[offset:stop])
                offset = stop
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return response


def _logged(request: web.Request) -> LoggedRequest:
    return LoggedRequest(request.method, request.path, request.query_string, dict(request.headers))


def _int(text: str) -> int:
    return int(text) if text.isdigit() else -1


def _matches(file: CivFile, wanted: dict[str, str]) -> bool:
    for key, value in wanted.items():
        have = file.type if key == "type" else file.metadata.get(key)
        if str(have or "").lower() != value.lower():
            return False
    return True


def _range(header: str | None, size: int) -> tuple[int, int, bool]:
    match = _RANGE.match(header.strip()) if header else None
    if not match:
        return 0, size, False
    first, last = match.groups()
    if first == "":
        return max(0, size - int(last or 0)), size, True
    start = int(first)
    end = min(size, int(last) + 1) if last else size
    return start, end, True


def _xml(status: int, body: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=body, content_type="application/xml", headers=headers)


@pytest.fixture
def civitai_server() -> Iterator[CivitaiServer]:
    """A CivitAI API host and its storage host, on two local ports."""
    server = CivitaiServer().start()
    yield server
    server.stop()
