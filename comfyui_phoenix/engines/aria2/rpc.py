"""The loopback JSON-RPC client: aria2p over a proxy-free session, its failures as Phoenix errors.

aria2 answers ``aria2.getOption`` with a download's request headers to any client
that knows the secret, which is why the RPC listens on loopback only and the
secret is random per process. Request headers travel only inside RPC calls.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ...errors import EngineError, TransientError
from ...security.redact import redact
from .daemon import Daemon

if TYPE_CHECKING:
    import aria2p
    import requests

log = logging.getLogger(__name__)

T = TypeVar("T")
READY_TIMEOUT = 10.0
RPC_TIMEOUT = 15.0


def loopback_api(port: int, secret: str, session: requests.Session) -> aria2p.API:
    """An aria2p API that posts through ``session``, one that ignores proxy settings.

    aria2p posts with plain ``requests``, which honours ``HTTP_PROXY``: the RPC secret
    would travel to the proxy. A session with ``trust_env`` off stays on loopback.
    """
    import aria2p

    session.trust_env = False

    class LoopbackClient(aria2p.Client):
        def post(self, payload: str) -> dict[str, Any]:
            answer: dict[str, Any] = session.post(
                self.server, data=payload, timeout=self.timeout
            ).json()
            return answer

    return aria2p.API(LoopbackClient("http://127.0.0.1", port, secret, timeout=RPC_TIMEOUT))


async def wait_ready(api: aria2p.API, daemon: Daemon) -> None:
    """Wait until a freshly launched aria2c answers its RPC.

    Raises:
        EngineError: aria2c exited, or did not answer within :data:`READY_TIMEOUT`.
    """
    import requests

    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if not daemon.alive:
            raise EngineError(
                f"aria2c exited at start (status {daemon.process.returncode}).",
                hint="Its log lines above say why; or set PHOENIX_ENGINE=python.",
            )
        try:
            await asyncio.to_thread(api.client.get_version)
            return
        except requests.RequestException:
            await asyncio.sleep(0.05)
    raise EngineError(
        "aria2c did not answer within ten seconds of starting.",
        hint="Retry, or set PHOENIX_ENGINE=python.",
    )


async def call(method: Callable[..., T], *args: Any) -> T:
    """Run one blocking aria2p call in a thread, with aria2c's failures as Phoenix errors.

    Raises:
        TransientError: aria2c stopped answering.
        EngineError: aria2c refused the call.
    """
    import aria2p
    import requests

    try:
        return await asyncio.to_thread(method, *args)
    except requests.RequestException as exc:
        # The next transfer() starts a fresh aria2c, which resumes from the control file.
        raise TransientError(
            "aria2c stopped answering.", hint="Retry the download; it resumes where it stopped."
        ) from exc
    except aria2p.ClientException as exc:
        raise EngineError(
            f"aria2c refused a request: {redact(exc.message)}.",
            hint="Retry the download, or set PHOENIX_ENGINE=python.",
        ) from exc


async def call_quietly(method: Callable[..., Any], *args: Any) -> None:
    """Run one aria2p call whose failure changes nothing (a shutdown, say)."""
    import aria2p
    import requests

    try:
        await asyncio.to_thread(method, *args)
    except (requests.RequestException, aria2p.ClientException) as exc:
        log.debug("aria2c did not take an RPC call: %s", type(exc).__name__)
