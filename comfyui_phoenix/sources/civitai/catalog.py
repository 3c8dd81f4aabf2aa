"""CivitAI's catalogue: its search, a model's versions and files, and a file found by its hash.

Search is ``/api/v1/models?query=&types=&nsfw=`` with NSFW models hidden unless the user asks
(CivitAI filters on ``nsfw=false`` and Phoenix drops what still says ``nsfw``). Choices read
``/api/v1/models/{id}``, whose versions list every public file; each file's reference pins
its id, so the plan fetches exactly the file chosen. Lookup by hash is
``/api/v1/model-versions/by-hash/{SHA256}``; its 404 means CivitAI does not know the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from ...errors import NotFoundError, PhoenixError
from ...refs import CivitaiRef
from ..listing import Choices, FileChoice, SearchHit, SearchPage, VersionChoice
from .api import CivitaiApi
from .describe import describe_version
from .files import choose_file, model_page
from .release import Release

#: CivitAI's model types a search may be limited to (``types=``), as its API spells them.
SEARCH_TYPES = frozenset(
    {
        "Checkpoint",
        "LORA",
        "LoCon",
        "DoRA",
        "TextualInversion",
        "VAE",
        "Controlnet",
        "Upscaler",
        "TextEncoder",
        "UNet",
        "CLIPVision",
        "Hypernetwork",
    }
)


@dataclass(frozen=True)
class HashMatch:
    """What CivitAI knows of a file it was asked for by hash."""

    ref: str
    filename: str | None
    meta: dict[str, Any]


class CivitaiCatalog:
    """Search, choices and lookups on the CivitAI site at ``PHOENIX_CIVITAI_BASE_URL``."""

    def __init__(self, api: CivitaiApi) -> None:
        self.api = api
        self.base = api.base

    async def search(
        self,
        query: str,
        *,
        model_type: str | None = None,
        nsfw: bool = False,
        cursor: str | None = None,
        limit: int = 20,
    ) -> SearchPage:
        """One page of CivitAI models matching ``query``, newest versions described."""
        params = [("query", query), ("limit", str(limit)), ("nsfw", "true" if nsfw else "false")]
        if model_type:
            params.append(("types", model_type))
        if cursor:
            params.append(("cursor", cursor))
        path = "/api/v1/models?" + urlencode(params, quote_via=quote)
        data = await self.api.get_json(path, f"the search for '{query[:60]}'", None)
        items = [i for i in data.get("items") or [] if isinstance(i, Mapping) and "id" in i]
        hits = [self._hit(item, nsfw) for item in items if nsfw or not item.get("nsfw")]
        metadata = data.get("metadata")
        following = metadata.get("nextCursor") if isinstance(metadata, Mapping) else None
        return SearchPage(hits, str(following) if following not in (None, "") else None)

    def _hit(self, item: Mapping[str, Any], nsfw: bool) -> SearchHit:
        model_id = int(item["id"])
        versions = [v for v in item.get("modelVersions") or [] if isinstance(v, Mapping)]
        name, kind = str(item.get("name") or model_id), str(item.get("type") or "")
        meta = describe_version(
            versions[0] if versions else {},
            model_name=name,
            model_type=kind,
            model=item,
            page=model_page(self.base, model_id, None),
            nsfw_allowed=nsfw,
        )
        stats = _mapping(item.get("stats"))
        return SearchHit(
            source="civitai",
            id=str(model_id),
            name=name,
            ref=f"civitai:{model_id}",
            downloads=_count(stats.get("downloadCount")),
            likes=_count(stats.get("thumbsUpCount")),
            version_count=len(versions),
            creator=_mapping(item.get("creator")).get("username"),
            meta=meta,
        )

    async def choices(self, ref: CivitaiRef, *, nsfw: bool = False) -> Choices:
        """Every published version of the model ``ref`` names, with its files.

        Raises:
            NotFoundError: no such model or version.
        """
        model_id = ref.model_id
        if model_id is None:
            assert ref.version_id is not None
            subject = f"model version {ref.version_id}"
            version = await self.api.get_json(
                f"/api/v1/model-versions/{ref.version_id}", subject, None
            )
            model_id = int(version["modelId"])
        data = await self.api.get_json(f"/api/v1/models/{model_id}", f"model {model_id}", model_id)
        name, kind = str(data.get("name") or model_id), str(data.get("type") or "")
        versions = [v for v in data.get("modelVersions") or [] if isinstance(v, Mapping)]
        listed = [self._version(model_id, data, v, nsfw) for v in versions if "id" in v]
        selected = next((v for v in versions if _int(v.get("id")) == ref.version_id), None)
        if selected is None and versions and ref.version_id is None:
            selected = versions[0]
        chosen: str | None = None
        if selected is not None:
            try:
                picked = choose_file(Release(model_id, name, kind, selected, data), ref)
                chosen = file_ref(self.base, selected, picked)
            except PhoenixError:
                chosen = None
        return Choices(
            source="civitai",
            id=str(model_id),
            name=name,
            versions=listed,
            selected_version=str(selected["id"]) if selected is not None else None,
            selected_file=chosen,
            meta={"model_type": kind, "page": model_page(self.base, model_id, None)},
        )

    def _version(
        self, model_id: int, model: Mapping[str, Any], version: Mapping[str, Any], nsfw: bool
    ) -> VersionChoice:
        release = Release(model_id, str(model.get("name") or ""), "", version, model)
        files = [self._file(version, f) for f in release.files]
        meta = describe_version(
            version,
            model_name=release.model_name,
            model_type=str(model.get("type") or ""),
            model=model,
            page=model_page(self.base, model_id, release.version_id),
            nsfw_allowed=nsfw,
        )
        return VersionChoice(str(release.version_id), str(version.get("name") or ""), files, meta)

    def _file(self, version: Mapping[str, Any], file: Mapping[str, Any]) -> FileChoice:
        metadata = _mapping(file.get("metadata"))
        size_kb = file.get("sizeKB")
        return FileChoice(
            name=str(file.get("name")),
            ref=file_ref(self.base, version, file),
            bytes=round(float(size_kb) * 1024) if isinstance(size_kb, int | float) else None,
            type=str(file.get("type") or "Model"),
            format=str(metadata.get("format") or ""),
            size=str(metadata.get("size") or ""),
            fp=str(metadata.get("fp") or ""),
            primary=file.get("primary") is True,
            id=_int(file.get("id")),
        )

    async def by_hash(self, sha256: str) -> HashMatch | None:
        """The version and file CivitAI lists with this SHA256, or None when it knows none."""
        digest = sha256.upper()
        subject = f"a file with the SHA256 {digest[:10]}…"
        try:
            version = await self.api.get_json(
                f"/api/v1/model-versions/by-hash/{digest}", subject, None
            )
        except NotFoundError:
            return None
        model_id = _int(version.get("modelId"))
        nested = _mapping(version.get("model"))
        model: Mapping[str, Any] = nested
        if model_id is not None:
            try:  # the permissions are only on the model; without them the rest still helps
                model = await self.api.get_json(
                    f"/api/v1/models/{model_id}", f"model {model_id}", model_id
                )
            except PhoenixError:
                model = nested
        release = Release(model_id, str(nested.get("name") or ""), "", version, model)
        file = next(
            (f for f in release.files if digest in {str(h).upper() for h in _hashes(f)}), None
        )
        meta = describe_version(
            version,
            model_name=release.model_name,
            model_type=str(nested.get("type") or ""),
            model=model,
            page=model_page(self.base, model_id, release.version_id),
        )
        meta.update(model_id=model_id, version_id=release.version_id, air=version.get("air"))
        if file is not None:
            meta["file_id"] = _int(file.get("id"))
        ref = (
            file_ref(self.base, version, file)
            if file is not None
            else f"civitai:{model_id or ''}@{release.version_id}"
        )
        return HashMatch(ref, str(file.get("name")) if file is not None else None, meta)


def file_ref(base: str, version: Mapping[str, Any], file: Mapping[str, Any]) -> str:
    """A reference that plans exactly this file: the version's AIR with the file id, else
    the download link pinned to the file."""
    air = version.get("air")
    version_id, file_id = version.get("id"), file.get("id")
    if isinstance(air, str) and air.startswith("urn:air:") and air.endswith(f"@{version_id}"):
        return f"{air}+{file_id}"
    return f"{base}/api/download/models/{version_id}?fileId={file_id}"


def _hashes(file: Mapping[str, Any]) -> list[Any]:
    hashes = file.get("hashes")
    return list(hashes.values()) if isinstance(hashes, Mapping) else []


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
