"""One CivitAI model version, with what Phoenix needs of its model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Release:
    """One CivitAI model version, with what Phoenix needs of its model."""

    model_id: int | None
    model_name: str
    model_type: str
    version: Mapping[str, Any]
    #: The model as ``/api/v1/models/{id}`` lists it (its permissions); empty when only the
    #: version was read.
    model: Mapping[str, Any] = field(default_factory=dict)

    @property
    def version_id(self) -> int:
        return int(self.version["id"])

    @property
    def files(self) -> list[Mapping[str, Any]]:
        files = self.version.get("files") or []
        return [f for f in files if isinstance(f, Mapping) and "id" in f and f.get("name")]
