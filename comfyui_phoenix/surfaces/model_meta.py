"""A model's description as the panel gets it: the source's preview address swapped for
Phoenix's own.

Routes never hand a browser the source's image address: each ``preview_url`` becomes
``preview``, a signed ``/phoenix/preview?src=…&sig=…`` path that Phoenix serves from its
own origin (:mod:`comfyui_phoenix.sources.previews`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from ..sources.model_meta import describing
from ..sources.previews import Previews

PREVIEW_PATH = "/phoenix/preview"


def public_meta(meta: Mapping[str, Any] | None, previews: Previews) -> dict[str, Any]:
    """The describing keys of ``meta``, with ``preview`` (a Phoenix path) for ``preview_url``."""
    shown = describing(meta)
    url = shown.pop("preview_url", None)
    if isinstance(url, str):
        query = urlencode({"src": url, "sig": previews.sign(url)}, quote_via=quote)
        shown["preview"] = f"{PREVIEW_PATH}?{query}"
    return shown


def library_meta(record: Mapping[str, Any] | None, previews: Previews) -> dict[str, Any]:
    """What the library shows of a record: its description, and whether it was looked up."""
    if not record:
        return {}
    shown = public_meta(record.get("meta"), previews)
    lookup = record.get("lookup")
    if isinstance(lookup, Mapping):
        shown["lookup"] = {"found": bool(lookup.get("found")), "at": lookup.get("at")}
    return shown


def plan_meta(plan: dict[str, Any], previews: Previews) -> dict[str, Any]:
    """A plan's files with their descriptions (``describes``) fit for the panel."""
    for file in plan.get("files") or []:
        file["describes"] = public_meta(file.get("meta"), previews)
    return plan


def listing_meta(item: dict[str, Any], previews: Previews) -> dict[str, Any]:
    """A search hit or a choice (and its versions) with public descriptions."""
    item["meta"] = public_meta(item.get("meta"), previews)
    for version in item.get("versions") or []:
        version["meta"] = public_meta(version.get("meta"), previews)
    return item
