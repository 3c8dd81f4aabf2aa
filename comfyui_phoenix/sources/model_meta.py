"""What a model is, as users read it: its name, version, base model, trigger words, licence, preview.

Every source describes a model with the same keys, in a planned file's ``meta``, in search
results, in a model's versions and files, and in what a lookup by hash finds. The verified
record keeps them beside the file, so the Library shows them without asking the source again.

- ``model_name``, ``version_name``, ``model_type``, ``base_model``: as the source names them.
- ``trigger_words``: the words a LoRA or embedding was trained on (CivitAI's ``trainedWords``).
- ``licence``: a short sentence, e.g. ``apache-2.0`` or ``no commercial use, credit the creator``.
- ``preview_url``: the source's own address of a small preview image. Browsers never load it
  from there: Phoenix serves a copy from its own origin (:mod:`.previews`).
- ``nsfw``: the source marks the model as not safe for work.
- ``gated``: the source serves it only to accounts that accepted its licence.
- ``page``: the model's page at the source.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DESCRIBING_KEYS = (
    "model_name",
    "version_name",
    "model_type",
    "base_model",
    "trigger_words",
    "licence",
    "preview_url",
    "nsfw",
    "gated",
    "page",
)


def describing(meta: Mapping[str, Any] | None) -> dict[str, Any]:
    """The describing keys of ``meta`` that say something (empty values left out)."""
    if not meta:
        return {}
    return {key: meta[key] for key in DESCRIBING_KEYS if meta.get(key) not in (None, "", [], {})}


def words(value: Any) -> list[str]:
    """Trigger words as a clean list: strings only, stripped, no duplicates, at most 20."""
    found: list[str] = []
    for item in value if isinstance(value, list | tuple) else [value]:
        text = str(item).strip() if isinstance(item, str) else ""
        if text and text not in found:
            found.append(text[:200])
    return found[:20]
