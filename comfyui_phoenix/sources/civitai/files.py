"""Which of a CivitAI version's files a reference means, and what the plan says of it.

A version lists several files (the model in fp16 and fp8, a pruned copy, a VAE, a
training archive). A reference names one by its file id, by filters
(``type=&format=&size=&fp=``), or gets the primary file. The public download URL
always pins the file id: without it CivitAI picks by the token owner's own file
preferences, so two users would get different bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from ...errors import NotFoundError, NothingToFetchError
from ...refs import CivitaiRef
from .describe import describe_version
from .release import Release


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


def file_hash(file: Mapping[str, Any], name: str) -> str | None:
    hashes = file.get("hashes")
    value = hashes.get(name) if isinstance(hashes, Mapping) else None
    return str(value).lower() if value else None


def plan_meta(release: Release, file: Mapping[str, Any], page: str, subject: str) -> dict[str, Any]:
    """What the plan (and then the verified record) keeps of the version and the file."""
    size_kb = file.get("sizeKB")
    described = describe_version(
        release.version,
        model_name=release.model_name,
        model_type=release.model_type,
        model=release.model,
        page=page,
    )
    return {
        **described,
        "model_id": release.model_id,
        "version_id": release.version_id,
        "file_id": _int(file.get("id")),
        "file_type": str(file.get("type") or ""),
        "air": release.version.get("air"),
        "approx_size": round(float(size_kb) * 1024) if isinstance(size_kb, int | float) else None,
        "subject": subject,
    }


def file_subject(release: Release, file: Mapping[str, Any]) -> str:
    if release.model_name:
        return f"'{release.model_name}' ({file.get('name')})"
    return f"{file.get('name')} (model version {release.version_id})"


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
