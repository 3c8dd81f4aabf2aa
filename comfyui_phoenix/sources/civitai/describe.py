"""What CivitAI says about a model version, in the keys every source describes a model with.

The preview is the version's first still image that is safe for work (``nsfwLevel`` 1 or 2,
or the older ``nsfw`` word ``None``) unless the user asked to see NSFW models, in the
small width CivitAI's image host offers (``/width=450/`` instead of ``/original=true/``).
The licence is the model's permissions (``allowCommercialUse``, ``allowNoCredit``,
``allowDerivatives``) in one sentence; the version endpoint does not carry them, the model
endpoint does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..model_meta import words

#: nsfwLevel flags: 1 PG, 2 PG-13, 4 R, 8 X, 16 XXX, 32 blocked. Up to PG-13 is shown by default.
SAFE_LEVEL = 2
PREVIEW_WIDTH = 450
_SAFE_WORDS = frozenset({"none", "false", ""})


def describe_version(
    version: Mapping[str, Any],
    *,
    model_name: str,
    model_type: str,
    model: Mapping[str, Any] | None = None,
    page: str | None = None,
    nsfw_allowed: bool = False,
) -> dict[str, Any]:
    """The describing keys (see :mod:`..model_meta`) for one CivitAI version.

    Args:
        version: the version as the API lists it.
        model_name, model_type: the model's name and CivitAI type.
        model: the model as ``/api/v1/models`` lists it (permissions, nsfw), when known.
        page: the model's page.
        nsfw_allowed: the user asked to see NSFW models, so any image may preview them.
    """
    model = model or {}
    nested = version.get("model")
    nsfw = bool(model.get("nsfw") or (isinstance(nested, Mapping) and nested.get("nsfw")))
    return {
        "model_name": model_name,
        "version_name": str(version.get("name") or ""),
        "model_type": model_type,
        "base_model": str(version.get("baseModel") or ""),
        "trigger_words": words(version.get("trainedWords") or []),
        "licence": licence_text(model),
        "preview_url": preview_url(version.get("images"), nsfw_allowed=nsfw_allowed),
        "nsfw": nsfw,
        "page": page,
    }


def preview_url(images: Any, *, nsfw_allowed: bool = False) -> str | None:
    """The small variant of the first still image that may be shown, or None."""
    if not isinstance(images, Sequence):
        return None
    for image in images:
        if not isinstance(image, Mapping) or str(image.get("type") or "image") != "image":
            continue
        url = image.get("url")
        shown = nsfw_allowed or is_safe(image)
        if shown and isinstance(url, str) and url.startswith(("https://", "http://")):
            return url.replace("/original=true/", f"/width={PREVIEW_WIDTH}/")
    return None


def is_safe(item: Mapping[str, Any]) -> bool:
    """Whether CivitAI rates an image (or model) safe for work: its level, else its word."""
    level = item.get("nsfwLevel")
    if isinstance(level, int) and not isinstance(level, bool):
        return 0 < level <= SAFE_LEVEL
    flag = item.get("nsfw")
    if isinstance(flag, bool):
        return not flag
    return str(flag or "").lower() in _SAFE_WORDS


def licence_text(model: Mapping[str, Any]) -> str | None:
    """The model's permissions in one sentence, or None when the answer carries none."""
    keys = ("allowCommercialUse", "allowNoCredit", "allowDerivatives")
    if not any(key in model for key in keys):
        return None
    allowed = model.get("allowCommercialUse")
    uses = [str(u) for u in (allowed if isinstance(allowed, list) else [allowed]) if u]
    uses = [u for u in uses if u.lower() != "none"]
    parts = [f"commercial use: {', '.join(uses)}" if uses else "no commercial use"]
    parts.append("no credit needed" if model.get("allowNoCredit") else "credit the creator")
    if model.get("allowDerivatives") is False:
        parts.append("no derivatives")
    return ", ".join(parts)
