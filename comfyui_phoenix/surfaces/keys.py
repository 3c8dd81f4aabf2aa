"""Where Phoenix keeps its state on the aiohttp app it runs in (ComfyUI's, or a test's).

A :class:`Slot` is put on the app before it starts (its state cannot change once it
runs); it holds the running extension once it has started, or the reason it could
not (an invalid setting, say). The routes and the nodes find the extension here,
and every one of them answers with that one sentence rather than failing its own way.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from ..errors import PhoenixError


class NotStarted(PhoenixError):
    """Phoenix has not started (yet) in this server."""

    code = "starting"
    http_status = 503


@dataclass
class Slot:
    """What runs in a server: the extension (a ``PhoenixApp``), or why it could not start.

    Typed loosely so that this module stays below the app it holds.
    """

    app: object | None = None
    error: PhoenixError | None = None


PHOENIX: web.AppKey[Slot] = web.AppKey("phoenix", Slot)


def running(app: web.Application) -> object:
    """The extension running in ``app`` (its ``PhoenixApp``).

    Raises:
        PhoenixError: why Phoenix could not start (e.g. the invalid setting), or that it is
            still starting.
    """
    slot = app.get(PHOENIX)
    if slot is not None and slot.app is not None:
        return slot.app
    if slot is not None and slot.error is not None:
        raise slot.error
    raise NotStarted("Phoenix is starting.", hint="Retry in a moment.")
