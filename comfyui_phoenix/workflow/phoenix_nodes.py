"""What a Phoenix node needs: the references in its widgets, or its own ``models`` entries.

A Phoenix node with an empty reference fetches its ``properties.models`` entry (the
first for its folder); a reference to the same file is held to that entry's SHA256.
Where a node keeps its references is read from the node class (:func:`node_spec`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import PhoenixError
from .entries import EntryProblem, ModelEntry, entry_problem, parse_model_entry, text_of
from .needs import Need, NodeReference, WorkflowNeeds

#: Input types ComfyUI shows as widgets (a list is a combo); the rest are sockets.
_WIDGET_TYPES = frozenset({"STRING", "INT", "FLOAT", "BOOLEAN", "COMBO"})


@dataclass(frozen=True)
class NodeSpec:
    """Where a Phoenix node keeps its references.

    Args:
        widgets: its widget names, in the order a saved workflow lists their values.
        references: the widgets that hold references.
        folder: the folder it loads from; empty when a widget chooses it.
        folder_widget: the widget that chooses the folder (``auto`` leaves it open).
    """

    widgets: tuple[str, ...]
    references: tuple[str, ...]
    folder: str = ""
    folder_widget: str | None = None


def node_spec(cls: Any) -> NodeSpec:
    """A node class's :class:`NodeSpec`, from its ``INPUT_TYPES`` and ``FOLDER``.

    Its widgets are its inputs of widget types, in order; the text ones hold references.
    """
    inputs = cls.INPUT_TYPES()
    widgets: list[str] = []
    references: list[str] = []
    for group in ("required", "optional"):
        for name, declared in (inputs.get(group) or {}).items():
            kind = declared[0]
            options = declared[1] if len(declared) > 1 else {}
            if isinstance(kind, list) or kind in _WIDGET_TYPES:
                widgets.append(name)
                if kind == "STRING":
                    references.append(name)
                if isinstance(options, dict) and options.get("control_after_generate"):
                    widgets.append(f"{name}.control_after_generate")
    folder = str(getattr(cls, "FOLDER", "") or "")
    folder_widget = "folder" if not folder and "folder" in widgets else None
    return NodeSpec(tuple(widgets), tuple(references), folder, folder_widget)


def phoenix_node_needs(
    needs: WorkflowNeeds,
    spec: NodeSpec,
    values: Mapping[str, Any],
    models: list[Any],
    label: str,
) -> dict[str, Need]:
    """Add what a Phoenix node needs to ``needs``; return it by reference widget."""
    folder = spec.folder
    if not folder and spec.folder_widget:
        chosen = text_of(values.get(spec.folder_widget))
        folder = chosen if chosen and chosen != "auto" else ""
    parsed: list[ModelEntry] = []
    failed: list[EntryProblem] = []
    for raw in models:
        try:
            parsed.append(parse_model_entry(raw, label))
        except PhoenixError as exc:
            failed.append(entry_problem(raw, label, exc))
    unused = [e for e in parsed if not folder or e.folder == folder]
    found: dict[str, Need] = {}
    for widget in spec.references:
        text = text_of(values.get(widget))
        if text:
            found[widget] = node_reference(text, folder, label, parsed)
        elif unused:
            found[widget] = unused.pop(0)
        elif failed:
            needs.problems.append(failed.pop(0))
    for need in found.values():
        needs.add(need)
    return found


#: A whole HuggingFace repository (``owner/name``, ``owner/name@rev``): its plan places each
#: file itself (a FLUX member's transformer, VAE and encoders), and each loader takes its own.
WHOLE_REPOSITORY = re.compile(r"^(hf:)?[\w.-]+/[\w.-]+(@[\w.-]+)?$")


def node_reference(text: str, folder: str, label: str, entries: list[ModelEntry]) -> NodeReference:
    """A Phoenix node's reference, with the hash of the node's entry for the same file."""
    placed = "::" in text or WHOLE_REPOSITORY.match(text) is not None
    ref = f"{text}::{folder}" if folder and not placed else text
    name = reference_basename(text)
    digest = next(
        (e.sha256 for e in entries if e.sha256 and (e.url == text or e.filename == name)), None
    )
    return NodeReference(ref, label, digest)


def reference_basename(text: str) -> str:
    """The file name a reference ends in (``''`` when it names none), for matching entries."""
    body = text.rpartition("::")[0] if "::" in text else text
    path = urlsplit(body).path if "://" in body else body
    return unquote(path.rstrip("/").rpartition("/")[2])
