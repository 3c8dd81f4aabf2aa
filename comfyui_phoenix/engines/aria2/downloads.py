"""One download inside aria2c: added under our own GID, followed until it stops, then let go.

aria2 only fills ``NAME.part``; its resume data lives beside it in
``NAME.part.aria2``. A download that is interrupted is removed from aria2 with
both files kept, so the next transfer resumes; one that stopped is forgotten, so
aria2's memory does not grow with every file.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import PhoenixError
from ...net.endpoint import Endpoint
from ..base import TransferRequest
from . import rpc
from .options import download_options
from .progress import Reporter, next_poll

if TYPE_CHECKING:
    import aria2p

log = logging.getLogger(__name__)

#: The keys each poll asks for; the file list and URIs are left out on purpose.
STATUS_KEYS = [
    "status",
    "totalLength",
    "completedLength",
    "downloadSpeed",
    "connections",
    "bitfield",
    "pieceLength",
    "errorCode",
    "errorMessage",
]
STOPPED = frozenset({"complete", "error", "removed"})


def control_file(part: Path) -> Path:
    """aria2's resume data for ``part``: ``NAME.part.aria2`` beside it."""
    return part.with_name(part.name + ".aria2")


async def run_once(
    api: aria2p.API,
    request: TransferRequest,
    endpoint: Endpoint,
    reporter: Reporter,
    poll_interval: float,
) -> Mapping[str, Any]:
    """Add the download to aria2 and follow it until it stops.

    If anything interrupts the wait (a cancellation, a failing progress callback),
    the download is removed from aria2 with its part and control file kept.

    Returns:
        aria2's last ``tellStatus`` answer, whose ``status`` is one of :data:`STOPPED`.
    """
    # Our own GID, so a cancellation that lands while the add is in flight still
    # knows what to remove.
    gid = secrets.token_hex(8)
    options = download_options(gid, request, endpoint)
    adding = asyncio.ensure_future(rpc.call(api.add_uris, [endpoint.url], options))
    try:
        await asyncio.shield(adding)
        status = await _follow(api, gid, reporter, poll_interval)
    except BaseException:
        await asyncio.shield(_abandon_after(adding, api, gid))
        raise
    await asyncio.to_thread(_forget, api, gid)
    return status


async def _follow(
    api: aria2p.API, gid: str, reporter: Reporter, poll_interval: float
) -> Mapping[str, Any]:
    while True:
        status: Mapping[str, Any] = await rpc.call(api.client.tell_status, gid, STATUS_KEYS)
        stopped = status.get("status") in STOPPED
        reporter(status, final=stopped)
        if stopped:
            return status
        await asyncio.sleep(next_poll(status, poll_interval))


async def _abandon_after(adding: asyncio.Future[Any], api: aria2p.API, gid: str) -> None:
    """Once the add has settled, remove what it added (if it added anything)."""
    try:
        await adding
    except PhoenixError:
        return  # nothing was added
    await asyncio.to_thread(_abandon, api, gid)


def _abandon(api: aria2p.API, gid: str) -> None:
    """Stop a download but keep the part and control file, so a later transfer resumes.

    aria2 removes asynchronously and writes the control file as it does; waiting for
    ``removed`` means a transfer started next on the same file finds that file written.
    """
    import aria2p
    import requests

    try:
        api.remove([api.get_download(gid)], force=True, files=False, clean=False)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            if api.client.tell_status(gid, ["status"])["status"] in STOPPED:
                break
            time.sleep(0.02)
        api.client.remove_download_result(gid)
    except (requests.RequestException, aria2p.ClientException) as exc:
        log.debug("aria2c could not remove download %s: %s", gid, type(exc).__name__)


def _forget(api: aria2p.API, gid: str) -> None:
    """Drop a stopped download's result from aria2's memory."""
    import aria2p
    import requests

    try:
        api.client.remove_download_result(gid)
    except (requests.RequestException, aria2p.ClientException) as exc:
        log.debug("aria2c kept the result of %s: %s", gid, type(exc).__name__)
