"""What a ComfyUI workflow says it needs: its ``models`` lists and Phoenix nodes' references.

ComfyUI workflows name the files they load in ``models`` lists, at the top level and in
each node's ``properties.models``::

    {"name": "ae.safetensors", "url": "https://huggingface.co/…/ae.safetensors",
     "hash": "…", "hash_type": "sha256", "directory": "vae"}

Phoenix reads them as one more source of references: an entry becomes the reference its
``url`` spells (a HuggingFace or CivitAI link is planned by that source, any other link
is a direct link under the host policy), sent to ``directory`` under ``name`` (the name
the loader's widget selects), held to ``hash`` when it is a SHA256. A node's entries
count only when one of its widgets selects them, as in ComfyUI's own check; a Phoenix
node's entries are what it fetches when its reference is empty, and lend their hash to
a reference that names the same file. Muted and bypassed nodes need nothing.

The graph may be a saved workflow (``nodes`` with ``widgets_values`` in widget order),
the panel's live graph (``widgets_values`` by widget name), or the API format.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote, urlsplit

from .errors import BadReferenceError, PhoenixError
from .folders import MODEL_EXTENSIONS, MODEL_FOLDERS, normalize_folder
from .naming import safe_filename, safe_relative_dir
from .refs import Destination, Reference, parse_reference

#: Node modes ComfyUI does not run: muted (never) and bypassed.
INACTIVE_MODES = frozenset({2, 4})
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_TOP_LEVEL = "the workflow"


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


@dataclass(frozen=True)
class ModelEntry:
    """One ``models`` entry: a file the workflow loads, and where to get it."""

    name: str
    url: str
    folder: str
    node: str
    sha256: str | None = None
    hash_note: str = ""

    @property
    def filename(self) -> str:
        return posixpath.basename(self.name)

    @property
    def subfolder(self) -> str:
        return posixpath.dirname(self.name)

    @property
    def relpath(self) -> str:
        return f"{self.folder}/{self.name}"

    def reference(self, *, hf_endpoint: str, civitai_base_url: str) -> Reference:
        """The reference ``url`` spells, sent to this entry's folder.

        Raises:
            BadReferenceError: the link is not one Phoenix downloads from.
        """
        ref = parse_reference(self.url, hf_endpoint=hf_endpoint, civitai_base_url=civitai_base_url)
        return replace(ref, destination=Destination(self.folder, self.subfolder))


@dataclass(frozen=True)
class NodeReference:
    """A reference typed into a Phoenix node (``::folder`` added for a loader's folder)."""

    text: str
    node: str
    sha256: str | None = None


Need = ModelEntry | NodeReference


@dataclass
class EntryProblem:
    """A ``models`` entry that cannot be used, and why."""

    node: str
    name: str
    error: PhoenixError

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "name": self.name, **self.error.to_dict()}


@dataclass
class WorkflowNeeds:
    """Everything a workflow needs, in the order it names them, each once."""

    needs: list[Need] = field(default_factory=list)
    problems: list[EntryProblem] = field(default_factory=list)

    def _add(self, need: Need) -> None:
        for index, known in enumerate(self.needs):
            if _same(known, need):
                if known.sha256 is None and need.sha256 is not None:
                    self.needs[index] = replace(known, sha256=need.sha256)
                return
        self.needs.append(need)


def _same(a: Need, b: Need) -> bool:
    if isinstance(a, ModelEntry) and isinstance(b, ModelEntry):
        return a.relpath == b.relpath
    if isinstance(a, NodeReference) and isinstance(b, NodeReference):
        return a.text == b.text
    return False


def parse_model_entry(raw: Any, node: str) -> ModelEntry:
    """One ``models`` entry, checked: a safe name, a link, a ComfyUI folder, a usable hash.

    Raises:
        BadReferenceError: what is wrong with the entry, in one sentence.
    """
    if not isinstance(raw, Mapping):
        raise BadReferenceError(f"A models entry of {node} is not an object.", hint=_ENTRY_HINT)
    name = _text(raw.get("name"))
    if not name:
        raise BadReferenceError(f"A models entry of {node} has no 'name'.", hint=_ENTRY_HINT)
    url = _text(raw.get("url"))
    if not url:
        raise BadReferenceError(
            f"The models entry {name} of {node} has no download link ('url').",
            hint="Add the file's download link to the workflow, or fetch it by reference.",
        )
    directory = _text(raw.get("directory"))
    folder = normalize_folder(directory)
    if folder not in MODEL_FOLDERS:
        raise BadReferenceError(
            f"The models entry {name} of {node} goes to '{directory or '?'}', which is not a "
            "ComfyUI model folder Phoenix places files in.",
            hint=f"Use one of: {', '.join(sorted(MODEL_FOLDERS))}.",
        )
    clean = _clean_name(name)
    if posixpath.splitext(clean)[1].lower() not in MODEL_EXTENSIONS:
        raise BadReferenceError(
            f"The models entry {name} of {node} is not a model file ComfyUI loads.",
            hint="Name a .safetensors, .sft, .gguf, .ckpt, .pt or .pth file.",
        )
    sha256, note = _hash(raw.get("hash"), raw.get("hash_type"), name, node)
    return ModelEntry(clean, url, folder, node, sha256, note)


_ENTRY_HINT = (
    'An entry looks like {"name": "ae.safetensors", "url": "https://…", "directory": "vae"}.'
)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _clean_name(name: str) -> str:
    """``sub/file.ext`` as ComfyUI lists it, each part proven safe."""
    text = name.replace("\\", "/")
    head, _, tail = text.rpartition("/")
    filename = safe_filename(tail)
    return f"{safe_relative_dir(head)}/{filename}" if head.strip("/") else filename


def _hash(value: Any, kind: Any, name: str, node: str) -> tuple[str | None, str]:
    digest, algorithm = _text(value), _text(kind).lower().replace("-", "")
    if not digest:
        return None, ""
    prefix, sep, rest = digest.partition(":")
    if sep and not algorithm:
        algorithm, digest = prefix.lower().replace("-", ""), rest
    if algorithm not in ("", "sha256"):
        return None, f"its {algorithm} hash is not checked (Phoenix verifies SHA256)"
    if not _SHA256.match(digest):
        raise BadReferenceError(
            f"The SHA256 of {name} in {node} is not 64 hexadecimal digits.",
            hint="Copy the hash again from the model's page, or remove it from the workflow.",
        )
    return digest.lower(), ""


def read_workflow(workflow: Any, phoenix_nodes: Mapping[str, NodeSpec]) -> WorkflowNeeds:
    """What ``workflow`` needs: its ``models`` entries and its Phoenix nodes' references.

    Args:
        workflow: a saved workflow, the panel's graph, or an API-format prompt.
        phoenix_nodes: each Phoenix node type's widgets (see :class:`NodeSpec`).

    Raises:
        BadReferenceError: ``workflow`` is not a ComfyUI workflow at all.
    """
    if not isinstance(workflow, Mapping):
        raise BadReferenceError("The workflow is not a JSON object.", hint=_WORKFLOW_HINT)
    needs = WorkflowNeeds()
    if "nodes" not in workflow and all(_is_api_node(v) for v in workflow.values()) and workflow:
        for node_id, node in workflow.items():
            spec = phoenix_nodes.get(str(node.get("class_type")))
            if spec is not None:
                label = f"{node.get('_meta', {}).get('title') or node['class_type']} #{node_id}"
                _phoenix_node(needs, spec, node.get("inputs") or {}, [], label)
        return needs
    if not isinstance(workflow.get("nodes", []), list):
        raise BadReferenceError("The workflow's 'nodes' is not a list.", hint=_WORKFLOW_HINT)
    for node, label in _nodes(workflow):
        _read_node(needs, node, label, phoenix_nodes)
    for raw in _entries(workflow.get("models")):
        _entry(needs, raw, _TOP_LEVEL)
    return needs


_WORKFLOW_HINT = "Use a workflow saved from ComfyUI (Save or Export), or its API format."


def _is_api_node(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("class_type"), str)


def _nodes(workflow: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], str]]:
    for node in workflow.get("nodes") or []:
        if isinstance(node, Mapping):
            yield node, _label(node)
    definitions = workflow.get("definitions")
    subgraphs = definitions.get("subgraphs") if isinstance(definitions, Mapping) else None
    for subgraph in subgraphs if isinstance(subgraphs, list) else []:
        if not isinstance(subgraph, Mapping):
            continue
        where = str(subgraph.get("name") or subgraph.get("id") or "subgraph")
        for node in subgraph.get("nodes") or []:
            if isinstance(node, Mapping):
                yield node, f"{where} › {_label(node)}"


def _label(node: Mapping[str, Any]) -> str:
    return f"{node.get('title') or node.get('type') or 'node'} #{node.get('id', '?')}"


def _entries(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _entry(needs: WorkflowNeeds, raw: Any, node: str) -> ModelEntry | None:
    try:
        entry = parse_model_entry(raw, node)
    except PhoenixError as exc:
        name = _text(raw.get("name")) if isinstance(raw, Mapping) else ""
        needs.problems.append(EntryProblem(node, name or "?", exc))
        return None
    needs._add(entry)
    return entry


def _read_node(
    needs: WorkflowNeeds,
    node: Mapping[str, Any],
    label: str,
    phoenix_nodes: Mapping[str, NodeSpec],
) -> None:
    if node.get("mode") in INACTIVE_MODES:
        return
    properties = node.get("properties")
    models = _entries(properties.get("models")) if isinstance(properties, Mapping) else []
    spec = phoenix_nodes.get(str(node.get("type")))
    if spec is not None:
        values = _widget_values(node.get("widgets_values"), spec.widgets)
        _phoenix_node(needs, spec, values, models, label)
        return
    selected = set(_string_values(node.get("widgets_values")))
    for raw in models:
        if isinstance(raw, Mapping) and _text(raw.get("name")) in selected:
            _entry(needs, raw, label)


def _widget_values(values: Any, names: tuple[str, ...]) -> Mapping[str, Any]:
    if isinstance(values, Mapping):
        return values
    if isinstance(values, list):
        return dict(zip(names, values, strict=False))
    return {}


def _string_values(values: Any) -> Iterator[str]:
    items = list(values.values()) if isinstance(values, Mapping) else values
    for value in items if isinstance(items, list) else []:
        if isinstance(value, str) and value.strip():
            yield value.strip()


def _phoenix_node(
    needs: WorkflowNeeds,
    spec: NodeSpec,
    values: Mapping[str, Any],
    models: list[Any],
    label: str,
) -> dict[str, Need]:
    """Add what a Phoenix node needs; return it by reference widget."""
    folder = spec.folder
    if not folder and spec.folder_widget:
        chosen = _text(values.get(spec.folder_widget))
        folder = chosen if chosen and chosen != "auto" else ""
    parsed: list[ModelEntry] = []
    failed: list[EntryProblem] = []
    for raw in models:
        try:
            parsed.append(parse_model_entry(raw, label))
        except PhoenixError as exc:
            name = _text(raw.get("name")) if isinstance(raw, Mapping) else ""
            failed.append(EntryProblem(label, name or "?", exc))
    unused = [e for e in parsed if not folder or e.folder == folder]
    found: dict[str, Need] = {}
    for widget in spec.references:
        text = _text(values.get(widget))
        if text:
            found[widget] = node_reference(text, folder, label, parsed)
        elif unused:
            found[widget] = unused.pop(0)
        elif failed:
            needs.problems.append(failed.pop(0))
    for need in found.values():
        needs._add(need)
    return found


def node_needs(
    workflow: Any, node_id: str, node_type: str, spec: NodeSpec, values: Mapping[str, Any]
) -> dict[str, Need]:
    """What one Phoenix node needs, by widget, when it runs inside ComfyUI.

    Args:
        workflow: the workflow ComfyUI hands the node (``EXTRA_PNGINFO``'s), or None.
        node_id: ComfyUI's id of the running node (``outer:inner`` inside a subgraph).
        node_type: the node's type, to find it in the workflow.
        spec: the node's widgets.
        values: the widget values the node runs with (they win over the saved ones).
    """
    node = _find_node(workflow, node_id, node_type)
    properties = node.get("properties") if node is not None else None
    models = _entries(properties.get("models")) if isinstance(properties, Mapping) else []
    label = _label(node) if node is not None else f"{node_type} #{node_id}"
    return _phoenix_node(WorkflowNeeds(), spec, values, models, label)


def _find_node(workflow: Any, node_id: str, node_type: str) -> Mapping[str, Any] | None:
    if not isinstance(workflow, Mapping):
        return None
    inner = node_id.rpartition(":")[2]
    candidates = [
        node
        for node, label in _nodes(workflow)
        if str(node.get("id")) == inner and node.get("type") == node_type
    ]
    # A top-level node first, unless the id says the node runs inside a subgraph.
    return (candidates[-1] if ":" in node_id else candidates[0]) if candidates else None


def node_reference(text: str, folder: str, label: str, entries: list[ModelEntry]) -> NodeReference:
    """A Phoenix node's reference, with the hash of the node's entry for the same file."""
    ref = f"{text}::{folder}" if folder and "::" not in text else text
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
