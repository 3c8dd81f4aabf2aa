"""What a HuggingFace repository's card says about its model, in the keys every source uses.

The card's metadata (``cardData``) gives the licence and the base model, and for LoRAs
trained with diffusers the trigger word (``instance_prompt``) and example images
(``widget[].output.url``, a file of the repository); the tags the hub derives from the
card (``license:…``, ``base_model:…``) stand in when the metadata is not in the answer,
as in search results. ``not-for-all-audiences`` is the hub's NSFW tag.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..model_meta import words

NSFW_TAG = "not-for-all-audiences"
_IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif"})


def describe_repo(
    repo_id: str,
    card: object,
    tags: Iterable[str] | None,
    *,
    endpoint: str,
    file_url: Callable[[str], str],
) -> dict[str, Any]:
    """The describing keys (see :mod:`..model_meta`) for one repository.

    Args:
        repo_id: ``owner/repo``.
        card: the card's metadata: ``ModelInfo.card_data``, or ``cardData`` as a mapping.
        tags: the repository's tags.
        endpoint: ``HF_ENDPOINT``, for the model's page.
        file_url: the address of one of the repository's files, for the preview.
    """
    card = _plain(card)
    tagged = [t for t in tags or [] if isinstance(t, str)]
    return {
        "model_name": repo_id,
        "base_model": _base_model(card, tagged),
        "trigger_words": words(card.get("instance_prompt") or []),
        "licence": _licence(card, tagged),
        "preview_url": _preview(card, file_url),
        "nsfw": NSFW_TAG in tagged,
        "page": f"{endpoint}/{repo_id}",
    }


def _plain(card: Any) -> dict[str, Any]:
    """The card's metadata as a dict, whichever huggingface_hub version made it."""
    if card is None:
        return {}
    if isinstance(card, Mapping):
        return dict(card)
    to_dict = getattr(card, "to_dict", None)
    data = to_dict() if callable(to_dict) else {}
    return dict(data) if isinstance(data, Mapping) else {}


def _tagged(tags: list[str], prefix: str) -> str | None:
    for tag in tags:
        rest = tag[len(prefix) :] if tag.startswith(prefix) else None
        if rest and ":" not in rest:  # "base_model:adapter:x/y" says how, not which
            return rest
    return None


def _licence(card: Mapping[str, Any], tags: list[str]) -> str | None:
    licence = card.get("license")
    if isinstance(licence, list):
        licence = ", ".join(str(item) for item in licence)
    if licence == "other" and isinstance(card.get("license_name"), str):
        licence = card["license_name"]
    return str(licence) if licence else _tagged(tags, "license:")


def _base_model(card: Mapping[str, Any], tags: list[str]) -> str | None:
    base = card.get("base_model")
    if isinstance(base, list):
        base = base[0] if base else None
    return str(base) if base else _tagged(tags, "base_model:")


def _preview(card: Mapping[str, Any], file_url: Callable[[str], str]) -> str | None:
    widget = card.get("widget")
    for example in widget if isinstance(widget, list) else []:
        output = example.get("output") if isinstance(example, Mapping) else None
        url = output.get("url") if isinstance(output, Mapping) else None
        if not isinstance(url, str) or not url:
            continue
        if url.startswith(("https://", "http://")):
            return url
        path = posixpath.normpath(url.lstrip("/"))
        if not path.startswith("..") and posixpath.splitext(path)[1].lower() in _IMAGE_EXTENSIONS:
            return file_url(path)
    return None
