"""The one reference grammar, accepted by every entry point.

A reference names what to fetch; it is parsed here into an immutable value or a
:class:`~comfyui_phoenix.errors.BadReferenceError` that names the problem::

    owner/repo  owner/repo/path/file.ext  owner/repo@REV/path  hf:owner/repo
    https://huggingface.co/owner/repo/(blob|resolve)/REV/path   (and HF_ENDPOINT's host)
    civitai:MODEL  civitai:MODEL@VERSION  urn:air:ECO:TYPE:civitai:MODEL@VERSION
    https://civitai.com/models/MODEL[/slug][?modelVersionId=VERSION]
    https://civitai.com/api/download/models/VERSION[?type=&format=&size=&fp=]
    https://host/any/file.safetensors
    ...any of these, then ::folder[/subfolder] to choose the destination

Lists (environment variables, the CLI) are split with :func:`settings.split_list`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from .errors import BadReferenceError
from .folders import MODEL_FOLDERS, normalize_folder
from .naming import safe_relative_dir

MAX_REFERENCE_LENGTH = 2048

_HF_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?"
_HF_REPO = re.compile(rf"^(?P<owner>{_HF_NAME})/(?P<name>{_HF_NAME})$")
_HF_SHORT = re.compile(
    rf"^(?P<repo>{_HF_NAME}/{_HF_NAME})(?:@(?P<rev>[^/\s@]+))?(?:/(?P<path>\S+))?$"
)
_CIVITAI_SHORT = re.compile(r"^(?P<model>\d{1,12})?(?:@(?P<version>\d{1,12}))?$")
_AIR = re.compile(
    r"^urn:air:(?P<eco>[a-z0-9_.-]+):(?P<type>[a-z0-9_.-]+):(?P<source>[a-z0-9_.-]+):"
    r"(?P<id>[^@\s]+)(?:@(?P<version>[^+\s]+))?(?:\+(?P<file>\S+))?$",
    re.IGNORECASE,
)
_CIVITAI_FILTERS = ("type", "format", "size", "fp")
_HF_ORIGINS = frozenset({"huggingface.co", "hf.co"})
_TOKEN_PARAMS = frozenset({"token", "api_key", "apikey", "access_token"})

NumberMeaning = Literal["error", "civitai_model"]


@dataclass(frozen=True)
class Destination:
    """Where the user asked a file to go: a ComfyUI model folder and an optional subfolder."""

    folder: str
    subfolder: str = ""

    def __str__(self) -> str:
        return f"{self.folder}/{self.subfolder}" if self.subfolder else self.folder


@dataclass(frozen=True)
class HFRef:
    """A HuggingFace repository, or one file in it."""

    repo_id: str
    path: str | None = None
    revision: str | None = None
    destination: Destination | None = None
    kind: Literal["huggingface"] = field(default="huggingface", init=False)

    @property
    def canonical(self) -> str:
        text = f"hf:{self.repo_id}"
        if self.revision:
            text += f"@{self.revision}"
        if self.path:
            text += f"/{self.path}"
        return text + _suffix(self.destination)


@dataclass(frozen=True)
class CivitaiRef:
    """A CivitAI model (its latest version), or one version; optionally one file of it."""

    model_id: int | None = None
    version_id: int | None = None
    file_id: int | None = None
    filters: tuple[tuple[str, str], ...] = ()
    air_type: str | None = None
    destination: Destination | None = None
    kind: Literal["civitai"] = field(default="civitai", init=False)

    @property
    def canonical(self) -> str:
        text = "civitai:" + (str(self.model_id) if self.model_id is not None else "")
        if self.version_id is not None:
            text += f"@{self.version_id}"
        if self.file_id is not None:
            text += f"+{self.file_id}"
        if self.filters:
            text += "?" + "&".join(f"{k}={v}" for k, v in self.filters)
        return text + _suffix(self.destination)


@dataclass(frozen=True)
class UrlRef:
    """A direct link to one file."""

    url: str
    destination: Destination | None = None
    kind: Literal["url"] = field(default="url", init=False)

    @property
    def canonical(self) -> str:
        return self.url + _suffix(self.destination)


Reference = HFRef | CivitaiRef | UrlRef


def _suffix(destination: Destination | None) -> str:
    return f"::{destination}" if destination else ""


def parse_reference(
    text: str,
    *,
    hf_endpoint: str = "https://huggingface.co",
    civitai_base_url: str = "https://civitai.com",
    numbers: NumberMeaning = "error",
) -> Reference:
    """Parse one reference.

    Args:
        text: what the user wrote.
        hf_endpoint: ``HF_ENDPOINT``; links on its host are HuggingFace links too.
        civitai_base_url: ``PHOENIX_CIVITAI_BASE_URL``; links on its host are CivitAI links.
        numbers: what a bare ``123`` or ``123@456`` means. In the ``CIVITAI_*`` variables
            it is a CivitAI model (and version); elsewhere it is ambiguous.

    Raises:
        BadReferenceError: with the problem and an example of what would work.
    """
    if not isinstance(text, str):
        raise BadReferenceError("A model reference must be text.", hint=_EXAMPLE_HINT)
    raw = text.strip()
    if not raw:
        raise BadReferenceError("The model reference is empty.", hint=_EXAMPLE_HINT)
    if len(raw) > MAX_REFERENCE_LENGTH:
        raise BadReferenceError(
            f"The model reference is longer than {MAX_REFERENCE_LENGTH} characters.",
            hint=_EXAMPLE_HINT,
        )
    if any(ord(c) < 32 or c in "\x7f" for c in raw):
        raise BadReferenceError(
            "The model reference contains control characters.", hint=_EXAMPLE_HINT
        )
    body, destination = _split_destination(raw)
    ref = _parse_body(body, hf_endpoint, civitai_base_url, numbers)
    if destination is None:
        return ref
    if isinstance(ref, HFRef):
        return HFRef(ref.repo_id, ref.path, ref.revision, destination)
    if isinstance(ref, CivitaiRef):
        return CivitaiRef(
            ref.model_id, ref.version_id, ref.file_id, ref.filters, ref.air_type, destination
        )
    return UrlRef(ref.url, destination)


_EXAMPLE_HINT = (
    "Use a HuggingFace repo or file (owner/repo/file.safetensors), a CivitAI model "
    "(civitai:12345 or civitai:12345@67890, an AIR or a civitai.com link), or an https:// link."
)


def _split_destination(raw: str) -> tuple[str, Destination | None]:
    if "::" not in raw:
        return raw, None
    body, _, dest = raw.rpartition("::")
    if not body.strip():
        raise BadReferenceError("The reference before '::' is empty.", hint=_EXAMPLE_HINT)
    return body.strip(), parse_destination(dest)


def parse_destination(text: str) -> Destination:
    """Parse ``folder[/subfolder]``; the folder must be a ComfyUI model folder."""
    text = text.strip().replace("\\", "/").strip("/")
    folder, _, sub = text.partition("/")
    folder = normalize_folder(folder)
    if folder not in MODEL_FOLDERS:
        known = ", ".join(sorted(MODEL_FOLDERS))
        raise BadReferenceError(
            f"'{folder or text}' after '::' is not a ComfyUI model folder.",
            hint=f"Use one of: {known}.",
        )
    subfolder = safe_relative_dir(sub) if sub else ""
    return Destination(folder, subfolder)


def _parse_body(
    body: str, hf_endpoint: str, civitai_base: str, numbers: NumberMeaning
) -> Reference:
    lowered = body.lower()
    if lowered.startswith(("http://", "https://")):
        return _parse_url(body, hf_endpoint, civitai_base)
    if lowered.startswith("urn:air:"):
        return _parse_air(body)
    if lowered.startswith("civitai:"):
        return _parse_civitai_short(body[len("civitai:") :], body)
    if lowered.startswith("hf:"):
        return _parse_hf_short(body[3:], body)
    if "://" in body:
        raise BadReferenceError(
            f"'{body[:80]}' uses a scheme Phoenix does not download from.",
            hint="Use an https:// link (or http:// to a host in PHOENIX_ALLOWED_HOSTS).",
        )
    if _CIVITAI_SHORT.match(body) and body.strip("@"):
        if numbers == "civitai_model":
            return _parse_civitai_short(body, body)
        raise BadReferenceError(
            f"'{body}' is only a number, which could mean anything.",
            hint=f"Write civitai:{body} for a CivitAI model.",
        )
    return _parse_hf_short(body, body)


def _parse_hf_short(text: str, original: str) -> HFRef:
    match = _HF_SHORT.match(text)
    if not match:
        raise BadReferenceError(
            f"'{original[:120]}' is not a reference Phoenix understands.", hint=_EXAMPLE_HINT
        )
    return _hf_ref(match["repo"], match["path"], match["rev"], original)


def _hf_ref(repo: str, path: str | None, rev: str | None, original: str) -> HFRef:
    if not _HF_REPO.match(repo) or ".." in repo or "--" in repo:
        raise BadReferenceError(
            f"'{repo}' in '{original[:120]}' is not a valid HuggingFace repository id.",
            hint="A repository id looks like owner/name, e.g. black-forest-labs/FLUX.1-dev.",
        )
    clean_path = _hf_path(path, original) if path else None
    if rev is not None and (not rev or len(rev) > 255 or ".." in rev):
        raise BadReferenceError(
            f"'{rev}' is not a valid revision.", hint="Use a branch, a tag or a commit hash."
        )
    return HFRef(repo, clean_path, rev or None)


def _hf_path(path: str, original: str) -> str:
    parts = [p for p in path.strip("/").split("/") if p]
    if not parts or any(p in (".", "..") for p in parts) or "\\" in path or "\x00" in path:
        raise BadReferenceError(
            f"The file path in '{original[:120]}' is not a path inside the repository.",
            hint="Name a file as it appears in the repository, e.g. owner/repo/dir/file.safetensors.",
        )
    return "/".join(parts)


def _parse_civitai_short(text: str, original: str) -> CivitaiRef:
    match = _CIVITAI_SHORT.match(text.strip())
    if not match or not (match["model"] or match["version"]):
        raise BadReferenceError(
            f"'{original[:120]}' is not a CivitAI reference.",
            hint="Write civitai:MODEL or civitai:MODEL@VERSION with numeric ids, e.g. civitai:12345@67890.",
        )
    model = int(match["model"]) if match["model"] else None
    version = int(match["version"]) if match["version"] else None
    return CivitaiRef(model_id=model, version_id=version)


def _parse_air(text: str) -> CivitaiRef:
    match = _AIR.match(text)
    if not match:
        raise BadReferenceError(
            f"'{text[:120]}' is not a valid AIR.",
            hint="An AIR looks like urn:air:flux1:lora:civitai:12345@67890.",
        )
    if match["source"].lower() != "civitai":
        raise BadReferenceError(
            f"AIRs from '{match['source']}' are not supported.",
            hint="Use a CivitAI AIR, or a HuggingFace reference such as owner/repo/file.safetensors.",
        )
    ids = [match["id"], match["version"], match["file"]]
    if not all(part is None or part.isdigit() for part in ids) or len(match["id"]) > 12:
        raise BadReferenceError(
            f"The ids in '{text[:120]}' must be numbers.",
            hint="An AIR looks like urn:air:flux1:lora:civitai:12345@67890.",
        )
    return CivitaiRef(
        model_id=int(match["id"]),
        version_id=int(match["version"]) if match["version"] else None,
        file_id=int(match["file"]) if match["file"] else None,
        air_type=match["type"].lower(),
    )


def _origin(url: str) -> str:
    """``host[:port]``: a mirror on 127.0.0.1:8000 is not every service on 127.0.0.1."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


def _parse_url(url: str, hf_endpoint: str, civitai_base: str) -> Reference:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        origin = _origin(url)  # raises ValueError on a bad port
    except ValueError:
        raise BadReferenceError(f"'{url[:120]}' is not a valid link.", hint=_EXAMPLE_HINT) from None
    if not host or any(c.isspace() for c in url):
        raise BadReferenceError(f"'{url[:120]}' is not a valid link.", hint=_EXAMPLE_HINT)
    if parts.username is not None or parts.password is not None:
        raise BadReferenceError(
            f"The link to {host} carries a user name or password.",
            hint="Remove the credentials from the link; set tokens in HF_TOKEN, CIVITAI_TOKEN "
            "or the sidebar's Tokens section instead.",
        )
    hf_origins = _HF_ORIGINS | {_origin(hf_endpoint)}
    civitai_origins = {"civitai.com", "www.civitai.com", _origin(civitai_base)}
    if origin in hf_origins | civitai_origins and _TOKEN_PARAMS & {
        k.lower() for k in parse_qs(parts.query)
    }:
        raise BadReferenceError(
            f"The link to {host} carries a token in its address, where it would be saved with "
            "workflows and written to logs.",
            hint="Remove '?token=…' from the link and set CIVITAI_TOKEN or HF_TOKEN (or the "
            "sidebar's Tokens section) instead.",
        )
    if origin in hf_origins:
        hf = _parse_hf_url(parts.path, url)
        if hf is not None:
            return hf
    if origin in civitai_origins:
        civ = _parse_civitai_url(parts.path, parts.query, url)
        if civ is not None:
            return civ
    return UrlRef(url)


def _parse_hf_url(path: str, url: str) -> HFRef | None:
    segments = [unquote(s) for s in path.split("/") if s]
    if segments[:1] in (["api"], ["datasets"], ["spaces"]):
        return None
    if len(segments) == 2:
        return _hf_ref("/".join(segments), None, None, url)
    if len(segments) >= 4 and segments[2] in ("blob", "resolve", "tree"):
        repo = "/".join(segments[:2])
        file_path = "/".join(segments[4:]) or None
        if segments[2] != "tree" and not file_path:
            raise BadReferenceError(f"'{url[:120]}' names no file.", hint=_EXAMPLE_HINT)
        return _hf_ref(repo, file_path, segments[3], url)
    return None


def _parse_civitai_url(path: str, query: str, url: str) -> CivitaiRef | None:
    segments = [s for s in path.split("/") if s]
    params = parse_qs(query)
    if len(segments) >= 2 and segments[0] == "models" and segments[1].isdigit():
        version = params.get("modelVersionId", [None])[0]
        if version is not None and not version.isdigit():
            raise BadReferenceError(f"modelVersionId in '{url[:120]}' must be a number.")
        return CivitaiRef(model_id=int(segments[1]), version_id=int(version) if version else None)
    if segments[:3] == ["api", "download", "models"] and len(segments) == 4:
        if not segments[3].isdigit():
            raise BadReferenceError(f"The version id in '{url[:120]}' must be a number.")
        filters = tuple(
            (key, params[key][0]) for key in _CIVITAI_FILTERS if params.get(key, [""])[0]
        )
        file_id = params.get("fileId", [None])[0]
        return CivitaiRef(
            version_id=int(segments[3]),
            file_id=int(file_id) if file_id and file_id.isdigit() else None,
            filters=filters,
        )
    return None
