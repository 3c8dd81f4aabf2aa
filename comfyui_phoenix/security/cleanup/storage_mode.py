"""The storage mode: whether data lives on a volume that survives the pod, and how paranoid.

It decides the fate of user data and models (:mod:`.policy`); everything else goes in
every mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...settings import Settings


@dataclass(frozen=True)
class StorageMode:
    """Where data lives: on a volume that survives the pod (``USE_VOLUME``), and how paranoid."""

    volume: bool = False
    paranoid: bool = False

    @property
    def name(self) -> str:
        return "volume" if self.volume else "ephemeral"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], settings: Settings) -> StorageMode:
        """``PHOENIX_STORAGE_MODE`` (what the bootstrap actually set up) wins over ``USE_VOLUME``:
        with ``USE_VOLUME=true`` and no volume mounted, data lives on container disk."""
        chosen = environ.get("PHOENIX_STORAGE_MODE", "").strip().lower()
        volume = chosen == "volume" if chosen in ("volume", "ephemeral") else settings.use_volume
        return cls(volume=volume, paranoid=settings.paranoid_mode)

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.name, "use_volume": self.volume, "paranoid": self.paranoid}
