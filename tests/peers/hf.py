"""A HuggingFace-compatible hub and a separate CDN, good enough for the real huggingface_hub.

The hub answers what ``HfApi(endpoint=...)`` and ``hf_hub_download(..., endpoint=...)``
ask: ``/api/models/{repo}[/revision/{rev}]`` (``sha``, ``siblings``, ``gated``),
``/api/models/{repo}/tree/{rev}[/{path}]`` (recursive, Link-paginated),
``POST /api/models/{repo}/paths-info/{rev}``, ``/api/models/{repo}/auth-check``,
``/api/whoami-v2``, the search ``/api/models?search=&filter=&sort=&limit=`` and
``HEAD|GET /{repo}/resolve/{rev}/{path}``. Model infos carry the card's metadata
(``cardData``) and the tags the hub derives from it (``license:…``, ``base_model:…``). Small files are served
by the hub itself (``ETag`` = git blob id, Range supported); LFS files answer 302 to the
CDN, another host (a :class:`~peers.files.FileServer`), with ``X-Linked-Etag`` (the
SHA256) and ``X-Linked-Size``. No ``X-Xet-*`` headers, so clients use plain HTTP.

Errors follow the hub: ``X-Error-Code`` ``GatedRepo`` (401 without a token, 403 with one
that lacks access), ``RepoNotFound`` (401 without a token, 404 with one),
``RevisionNotFound``, ``EntryNotFound``; a token the hub does not know answers 401
``Invalid credentials in Authorization header`` everywhere. Both hosts log every request.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from aiohttp import web

from .files import FileServer, LoggedRequest
from .runner import ServerThread

Gating = bool | Literal["auto", "manual"]

#: Extensions the hub keeps in LFS (as a typical .gitattributes does).
LFS_EXTENSIONS = (".safetensors", ".sft", ".gguf", ".bin", ".pt", ".pth", ".ckpt", ".onnx")
_INVALID_TOKEN = "Invalid credentials in Authorization header"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


@dataclass
class HubFile:
    path: str
    data: bytes
    lfs: bool
    sha256: str
    oid: str
    pointer_size: int = 0

    @classmethod
    def make(cls, path: str, data: bytes, lfs: bool) -> HubFile:
        sha256 = hashlib.sha256(data).hexdigest()
        if not lfs:
            return cls(path, data, False, sha256, git_blob_id(data))
        pointer = (
            f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {len(data)}\n"
        ).encode()
        return cls(path, data, True, sha256, git_blob_id(pointer), len(pointer))

    def tree_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "type": "file",
            "oid": self.oid,
            "size": len(self.data),
            "path": self.path,
        }
        if self.lfs:
            entry["lfs"] = {
                "oid": self.sha256,
                "size": len(self.data),
                "pointerSize": self.pointer_size,
            }
        return entry


@dataclass
class HubRepo:
    repo_id: str
    files: dict[str, HubFile]
    gated: Gating = False
    private: bool = False
    tokens_with_access: set[str] = field(default_factory=set)
    commit: str = ""
    branches: dict[str, str] = field(default_factory=dict)
    #: What the model card's metadata says (``license``, ``base_model``, ...).
    card: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    downloads: int = 0
    likes: int = 0

    @property
    def all_tags(self) -> list[str]:
        """The repo's tags with those the hub derives from the card, as the hub lists them."""
        derived = [f"license:{self.card['license']}"] if self.card.get("license") else []
        base = self.card.get("base_model")
        derived += [f"base_model:{b}" for b in ([base] if isinstance(base, str) else base or [])]
        return [*self.tags, *derived]

    @property
    def gated_value(self) -> Literal["auto", "manual", False]:
        if self.gated is True:
            return "auto"
        return self.gated or False

    def folders(self) -> set[str]:
        found: set[str] = set()
        for path in self.files:
            parts = path.split("/")[:-1]
            found.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        return found


class HFServer:
    """The hub app; ``url`` and ``cdn_url`` are set once both hosts are up."""

    def __init__(self, cdn: FileServer) -> None:
        self.cdn = cdn
        self.url = ""
        self.cdn_url = ""
        self.repos: dict[str, HubRepo] = {}
        self.valid_tokens: set[str] = set()
        self.requests: list[LoggedRequest] = []
        self.page_size = 1000
        self._busy = 0

    # -- configuration ---------------------------------------------------------------------
    def add_repo(
        self,
        repo_id: str,
        files: dict[str, bytes],
        gated: Gating = False,
        tokens_with_access: set[str] | frozenset[str] = frozenset(),
        *,
        private: bool = False,
        lfs: set[str] | None = None,
        card: dict[str, Any] | None = None,
        tags: tuple[str, ...] = (),
        downloads: int = 0,
        likes: int = 0,
        commit: str | None = None,
    ) -> HubRepo:
        """Host a model repository at one commit, reachable as ``main`` and by its sha.

        Args:
            files: repository path to content.
            gated: False, True ("auto"), "auto" or "manual".
            tokens_with_access: tokens whose accounts may read it when gated or private.
            lfs: paths kept in LFS; default: model extensions.
            card: the model card's metadata (``license``, ``base_model``).
            commit: the commit id (a real repository's, to stand in for it); default: derived.
        """
        hub_files = {
            path: HubFile.make(path, data, path in lfs if lfs is not None else _is_lfs(path))
            for path, data in files.items()
        }
        digest = hashlib.sha1(repo_id.encode(), usedforsecurity=False)
        for path in sorted(hub_files):
            digest.update(f"{path}:{hub_files[path].oid}".encode())
        commit = commit or digest.hexdigest()
        repo = HubRepo(
            repo_id,
            hub_files,
            gated,
            private,
            set(tokens_with_access),
            commit,
            {"main": commit},
            dict(card or {}),
            list(tags),
            downloads,
            likes,
        )
        self.repos[repo_id.lower()] = repo
        self.valid_tokens.update(tokens_with_access)
        for item in hub_files.values():
            if item.lfs:
                self.cdn.add(f"lfs/{item.sha256}", item.data)
        return repo

    def add_token(self, token: str) -> None:
        """A valid token of an account with no special access."""
        self.valid_tokens.add(token)

    def resolve_requests(self) -> list[LoggedRequest]:
        return [r for r in self.requests if "/resolve/" in r.path]

    def fail_next(self, status: int, *, times: int = 1) -> None:
        """Answer the next ``times`` API requests with ``status`` (a busy or broken hub)."""
        self._busy_status, self._busy = status, times

    # -- app ----------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._log])
        api = "/api/models/{owner}/{name}"
        app.router.add_get("/api/whoami-v2", self.whoami, allow_head=False)
        app.router.add_get("/api/models", self.list_models, allow_head=False)
        app.router.add_get(api, self.model_info, allow_head=False)
        app.router.add_get(api + "/revision/{rev}", self.model_info, allow_head=False)
        app.router.add_get(api + "/auth-check", self.auth_check, allow_head=False)
        app.router.add_get(api + "/tree/{rev}", self.tree, allow_head=False)
        app.router.add_get(api + "/tree/{rev}/{path:.+}", self.tree, allow_head=False)
        app.router.add_post(api + "/paths-info/{rev}", self.paths_info)
        app.router.add_get("/{owner}/{name}/resolve/{rev}/{path:.+}", self.resolve)
        return app

    @web.middleware
    async def _log(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(
            LoggedRequest(request.method, request.path, request.query_string, dict(request.headers))
        )
        if self._busy and request.path.startswith("/api/"):
            self._busy -= 1
            return web.json_response({"error": "busy"}, status=self._busy_status)
        result: web.StreamResponse = await handler(request)
        return result

    # -- access ----------------------------------------------------------------------------------
    def _token(self, request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        return header[7:].strip() if header.lower().startswith("bearer ") else None

    def _repo(self, request: web.Request, *, content: bool) -> HubRepo:
        """The repo a request names, or the error the hub would answer.

        ``content`` is True for file bytes and the access check: gating applies there only,
        as on the hub, where a gated repo's metadata and file list stay public.
        """
        token = self._token(request)
        if token is not None and token not in self.valid_tokens:
            raise _error(401, None, _INVALID_TOKEN)
        repo_id = f"{request.match_info['owner']}/{request.match_info['name']}"
        repo = self.repos.get(repo_id.lower())
        allowed = repo is not None and token in repo.tokens_with_access
        if repo is None or (repo.private and not allowed):
            raise _error(401 if token is None else 404, "RepoNotFound", "Repository not found")
        if content and repo.gated and not allowed:
            if token is None:
                message = (
                    f"Access to model {repo.repo_id} is restricted. You must have access to it "
                    "and be authenticated to access it. Please log in."
                )
                raise _error(401, "GatedRepo", message)
            message = (
                f"Access to model {repo.repo_id} is restricted and you are not in the authorized "
                f"list. Visit {self.url}/{repo.repo_id} to ask for access."
            )
            raise _error(403, "GatedRepo", message)
        return repo

    def _commit(self, repo: HubRepo, rev: str) -> str:
        if rev in repo.branches:
            return repo.branches[rev]
        if rev == repo.commit:
            return rev
        raise _error(404, "RevisionNotFound", f"Invalid rev id: {rev}")

    # -- handlers ----------------------------------------------------------------------------------
    async def whoami(self, request: web.Request) -> web.Response:
        token = self._token(request)
        if token is None:
            raise _error(401, None, "Invalid username or password.")
        if token not in self.valid_tokens:
            raise _error(401, None, _INVALID_TOKEN)
        return web.json_response(
            {
                "type": "user",
                "name": "phoenix-tester",
                "auth": {"type": "access_token", "accessToken": {"role": "read"}},
            }
        )

    async def model_info(self, request: web.Request) -> web.Response:
        repo = self._repo(request, content=False)
        commit = self._commit(repo, request.match_info.get("rev", "main"))
        blobs = request.query.get("blobs", "").lower() in ("1", "true")
        siblings = []
        for item in sorted(repo.files.values(), key=lambda f: f.path):
            sibling: dict[str, Any] = {"rfilename": item.path}
            if blobs:
                entry = item.tree_entry()
                sibling.update(size=entry["size"], blobId=item.oid, lfs=entry.get("lfs"))
            siblings.append(sibling)
        return web.json_response(
            {
                "_id": hashlib.md5(repo.repo_id.encode(), usedforsecurity=False).hexdigest()[:24],
                "id": repo.repo_id,
                "modelId": repo.repo_id,
                "author": repo.repo_id.split("/")[0],
                "sha": commit,
                "private": repo.private,
                "gated": repo.gated_value,
                "disabled": False,
                "downloads": repo.downloads,
                "likes": repo.likes,
                "tags": repo.all_tags,
                "cardData": repo.card,
                "siblings": siblings,
                "lastModified": "2024-08-01T00:00:00.000Z",
            }
        )

    async def list_models(self, request: web.Request) -> web.Response:
        """``/api/models?search=&filter=&sort=downloads&limit=``: public repos, as the hub lists them."""
        search = request.query.get("search", "").lower()
        wanted = set(request.query.getall("filter", []))
        limit = int(request.query.get("limit", "1000"))
        found = [
            repo
            for repo in self.repos.values()
            if not repo.private and search in repo.repo_id.lower() and wanted <= set(repo.all_tags)
        ]
        key = request.query.get("sort", "")
        if key in ("downloads", "likes"):
            found.sort(key=lambda r: getattr(r, key), reverse=True)
        return web.json_response(
            [
                {
                    "_id": hashlib.md5(r.repo_id.encode(), usedforsecurity=False).hexdigest()[:24],
                    "id": r.repo_id,
                    "modelId": r.repo_id,
                    "likes": r.likes,
                    "downloads": r.downloads,
                    "private": False,
                    "gated": r.gated_value,
                    "tags": r.all_tags,
                    "createdAt": "2024-08-01T00:00:00.000Z",
                }
                for r in found[:limit]
            ]
        )

    async def auth_check(self, request: web.Request) -> web.Response:
        self._repo(request, content=True)
        return web.json_response({})

    async def tree(self, request: web.Request) -> web.Response:
        repo = self._repo(request, content=False)
        self._commit(repo, request.match_info["rev"])
        base = request.match_info.get("path", "").strip("/")
        if base and base not in repo.folders():
            raise _error(404, "EntryNotFound", f"{base} does not exist on this revision")
        recursive = request.query.get("recursive", "").lower() in ("1", "true")
        entries = _listing(repo, base, recursive)
        start = int(request.query.get("cursor", "0"))
        page = entries[start : start + self.page_size]
        headers = {}
        if start + self.page_size < len(entries):
            following = request.url.update_query(cursor=str(start + self.page_size))
            headers["Link"] = f'<{following}>; rel="next"'
        return web.json_response(page, headers=headers)

    async def paths_info(self, request: web.Request) -> web.Response:
        repo = self._repo(request, content=False)
        self._commit(repo, request.match_info["rev"])
        form = await request.post()
        folders = repo.folders()
        found: list[dict[str, Any]] = []
        for path in form.getall("paths", []):
            path = str(path).strip("/")
            if path in repo.files:
                found.append(repo.files[path].tree_entry())
            elif path in folders:
                found.append({"type": "directory", "oid": git_blob_id(path.encode()), "path": path})
        return web.json_response(found)

    async def resolve(self, request: web.Request) -> web.StreamResponse:
        repo = self._repo(request, content=True)
        commit = self._commit(repo, request.match_info["rev"])
        item = repo.files.get(request.match_info["path"])
        if item is None:
            raise _error(404, "EntryNotFound", "Entry not found", {"X-Repo-Commit": commit})
        headers = {"X-Repo-Commit": commit}
        if item.lfs:
            location = f"{self.cdn_url}/files/lfs/{item.sha256}?X-Amz-Signature=cafe{item.oid[:8]}"
            headers.update(
                {
                    "Location": location,
                    "X-Linked-Etag": f'"{item.sha256}"',
                    "X-Linked-Size": str(len(item.data)),
                    "ETag": f'"{item.oid}"',
                }
            )
            return web.Response(
                status=302, text=f"Found. Redirecting to {location}", headers=headers
            )
        return _serve(request, item, headers)


def _is_lfs(path: str) -> bool:
    return path.lower().endswith(LFS_EXTENSIONS)


def _listing(repo: HubRepo, base: str, recursive: bool) -> list[dict[str, Any]]:
    prefix = f"{base}/" if base else ""
    depth = prefix.count("/")
    entries: list[dict[str, Any]] = []
    for folder in sorted(repo.folders()):
        if folder.startswith(prefix) and (recursive or folder.count("/") == depth):
            entries.append(
                {
                    "type": "directory",
                    "oid": git_blob_id(folder.encode()),
                    "path": folder,
                    "size": 0,
                }
            )
    for path in sorted(repo.files):
        if path.startswith(prefix) and (recursive or path.count("/") == depth):
            entries.append(repo.files[path].tree_entry())
    return entries


def _serve(request: web.Request, item: HubFile, headers: dict[str, str]) -> web.Response:
    size = len(item.data)
    start, end = 0, size
    status = 200
    match = _RANGE.match(request.headers.get("Range", "").strip())
    if match and (match.group(1) or match.group(2)):
        first, last = match.groups()
        start = max(0, size - int(last)) if first == "" else int(first)
        end = min(size, int(last) + 1) if first != "" and last else size
        if start >= size:
            return web.Response(status=416, headers={"Content-Range": f"bytes */{size}"})
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    headers.update({"ETag": f'"{item.oid}"', "Accept-Ranges": "bytes"})
    return web.Response(
        status=status,
        body=item.data[start:end],
        headers=headers,
        content_type="application/octet-stream",
    )


_ERRORS: dict[int, type[web.HTTPException]] = {
    401: web.HTTPUnauthorized,
    403: web.HTTPForbidden,
    404: web.HTTPNotFound,
}


def _error(
    status: int, code: str | None, message: str, extra: dict[str, str] | None = None
) -> web.HTTPException:
    """An error as the hub sends it: JSON body, X-Error-Code and X-Error-Message headers."""
    headers = {"X-Error-Message": message, **(extra or {})}
    if code is not None:
        headers["X-Error-Code"] = code
    return _ERRORS[status](
        headers=headers, text=json.dumps({"error": message}), content_type="application/json"
    )


def start_hf_server(root: Path) -> tuple[HFServer, ServerThread, ServerThread]:
    """Start a hub and its CDN; the caller stops both threads."""
    cdn = FileServer(root)
    cdn_thread = ServerThread(cdn.app).start()
    server = HFServer(cdn)
    server.cdn_url = cdn_thread.url
    thread = ServerThread(server.app).start()
    server.url = thread.url
    return server, thread, cdn_thread


@pytest.fixture
def hf_server(tmp_path: Path) -> Iterator[HFServer]:
    """A HuggingFace hub at ``hf_server.url`` whose LFS files live on ``hf_server.cdn``."""
    server, thread, cdn_thread = start_hf_server(tmp_path / "hf-cdn")
    yield server
    thread.stop()
    cdn_thread.stop()
