"""What a workflow needs: ``models`` entries and Phoenix nodes' references, each once."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .entries import EntryProblem, ModelEntry


@dataclass(frozen=True)
class NodeReference:
    """A reference typed into a Phoenix node (``::folder`` added for a loader's folder)."""

    text: str
    node: str
    sha256: str | None = None


Need = ModelEntry | NodeReference


@dataclass
class WorkflowNeeds:
    """Everything a workflow needs, in the order it names them, each once."""

    needs: list[Need] = field(default_factory=list)
    problems: list[EntryProblem] = field(default_factory=list)

    def add(self, need: Need) -> None:
        """Add ``need`` unless it is known; a second mention may bring the hash the first lacked."""
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
