"""The contract every transfer engine honours."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

from ..net.endpoint import EndpointProvider


@dataclass(frozen=True)
class Progress:
    """A progress sample. ``contiguous`` is how many bytes from offset 0 are on disk."""

    done: int
    total: int | None
    speed: float = 0.0
    contiguous: int = 0
    connections: int = 0


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class TransferRequest:
    """What an engine needs to fill ``part_path`` with ``size`` bytes."""

    part_path: Path
    endpoint: EndpointProvider
    size: int | None = None
    label: str = ""
    max_rate: int | None = None


class Engine(Protocol):
    """A transfer engine. ``transfer`` returns when ``part_path`` holds every byte.

    It resumes from whatever a previous run left (its own control data lives
    beside the part file and never carries a model extension), restarts cleanly
    when a server ignores Range, retries transient failures with capped backoff,
    and raises :class:`~comfyui_phoenix.errors.PhoenixError` subclasses otherwise.
    Cancelling the task stops the transfer and keeps the part file for a resume.
    """

    name: ClassVar[str]

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def transfer(self, request: TransferRequest, on_progress: ProgressCallback) -> None: ...

    def discard(self, part_path: Path) -> None:
        """Remove the part file and the engine's control data for it."""
        ...
