"""A small publish/subscribe bus for job, status and preload events.

Subscribers get a bounded queue. A subscriber that falls behind is marked
``lagged`` instead of growing without bound; the events stream then sends it a
fresh snapshot, which is always complete.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

Listener = Callable[[str, dict[str, Any]], None]


@dataclass(eq=False)
class Subscription:
    queue: asyncio.Queue[tuple[str, dict[str, Any]]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=1000)
    )
    lagged: bool = False

    async def get(self) -> tuple[str, dict[str, Any]]:
        return await self.queue.get()


class EventBus:
    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()
        self._listeners: list[Listener] = []

    def subscribe(self) -> Subscription:
        sub = Subscription()
        self._subscriptions.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscriptions.discard(sub)

    def add_listener(self, listener: Listener) -> None:
        """A synchronous callback for every event (ComfyUI's websocket notices use it)."""
        self._listeners.append(listener)

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        for sub in list(self._subscriptions):
            try:
                sub.queue.put_nowait((kind, data))
            except asyncio.QueueFull:
                sub.lagged = True
        for listener in self._listeners:
            try:
                listener(kind, data)
            except Exception:  # a broken listener must not stop downloads
                log.exception("event listener failed for %s", kind)
