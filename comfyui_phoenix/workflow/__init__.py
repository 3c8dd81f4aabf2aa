"""What a ComfyUI workflow says it needs, read as one more source of references.

- ``entries.py``: one ``models`` entry (name, url, hash, directory), checked.
- ``needs.py``: the needs of a workflow, each once.
- ``phoenix_nodes.py``: what a Phoenix node needs, and where it keeps its references.
- ``reading.py``: a workflow (saved, live or API format) read for all of it.

Planning the needs is the job layer's (``jobs/workflow_plan.py``).
"""

from .entries import EntryProblem, ModelEntry, parse_model_entry
from .needs import Need, NodeReference, WorkflowNeeds
from .phoenix_nodes import NodeSpec, node_spec
from .reading import TOP_LEVEL, node_needs, read_workflow

__all__ = [
    "TOP_LEVEL",
    "EntryProblem",
    "ModelEntry",
    "Need",
    "NodeReference",
    "NodeSpec",
    "WorkflowNeeds",
    "node_needs",
    "node_spec",
    "parse_model_entry",
    "read_workflow",
]
