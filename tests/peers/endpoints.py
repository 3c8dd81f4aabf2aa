"""Endpoint providers for engine tests: a source whose answers a test scripts."""

from __future__ import annotations

from collections.abc import Callable

from comfyui_phoenix.net.endpoint import Endpoint


class Scripted:
    """An endpoint provider that plays its steps in turn (a URL, or an error to raise)."""

    def __init__(self, *steps: str | Callable[[], BaseException]) -> None:
        self.steps = steps
        self.calls = 0

    async def __call__(self) -> Endpoint:
        step = self.steps[min(self.calls, len(self.steps) - 1)]
        self.calls += 1
        if callable(step):
            raise step()
        return Endpoint(step)
