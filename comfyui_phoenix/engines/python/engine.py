"""The engine: probe the file, then fetch its pieces over several connections.

The probe asks for byte 0 to learn the size, the validators and whether ranges
work. If they do, pieces are handed out in file order to ``connections``
workers, so the bytes on disk grow as one contiguous prefix that the shared
hasher can follow; a server that ignores ranges gets one whole stream instead,
and a file that changes at the source makes the transfer start over from byte 0.

Disk work stays off the event loop, which also serves ComfyUI: chunks are
written from worker threads (:mod:`.stream_to_disk`), sidecar writes and
truncation go to one bookkeeping thread (:mod:`.transfer_state`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from functools import partial
from pathlib import Path
from typing import ClassVar

import aiohttp

from ...errors import EngineError, SourceError, TransientError
from ...net.retry import RetryPolicy
from ..base import ProgressCallback, TransferRequest
from .bandwidth_cap import TokenBucket
from .http_errors import check_answer
from .pieces import Piece
from .remote_file import (
    RemoteFile,
    accepts_ranges,
    content_range,
    range_headers,
    unsatisfied_size,
)
from .resume_record import discard_record
from .retries import Retries
from .stream_to_disk import stream_into
from .transfer_state import Transfer

#: aiohttp's per-response buffer; reading pauses (and the stall clock stops) above twice this.
READ_BUFSIZE = 512 << 10
#: How often the source may change or refuse ranges before the transfer gives up.
MAX_RESTARTS = 4


class _Restart(Exception):
    """The source ignored a Range or changed the file: start over from byte 0."""


class PythonEngine:
    """Segmented, resumable HTTP downloads with aiohttp.

    Args:
        session_factory: Makes the engine's own session (the engine closes it).
        connections: Connections per transfer.
        piece_size: Bytes per Range request; also the resume granularity.
        max_rate: Bytes per second for all transfers of this engine together.
        stall_timeout: Seconds without a byte before a request is abandoned and retried.
        max_retries: Failures in a row (per piece) before the transfer fails.
        backoff_cap: Longest wait between retries, unless the server asks for longer.
    """

    name: ClassVar[str] = "python"

    def __init__(
        self,
        session_factory: Callable[[], aiohttp.ClientSession],
        *,
        connections: int = 8,
        piece_size: int = 16 << 20,
        max_rate: int | None = None,
        stall_timeout: float = 60,
        max_retries: int = 8,
        backoff_cap: float = 30,
    ) -> None:
        if connections < 1 or piece_size < 1:
            raise ValueError("connections and piece_size must be positive")
        self._session_factory = session_factory
        self._session: aiohttp.ClientSession | None = None
        self.connections = connections
        self.piece_size = piece_size
        self.stall_timeout = stall_timeout
        self.policy = RetryPolicy(max_retries=max_retries, backoff_cap=backoff_cap)
        self._retries = Retries(self.policy)
        self._cap = TokenBucket(max_rate) if max_rate else None
        self._bookkeeper: ThreadPoolExecutor | None = None
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=stall_timeout, sock_read=stall_timeout
        )

    async def start(self) -> None:
        """Create the session and the bookkeeping thread (``transfer`` also does this)."""
        if self._session is None or self._session.closed:
            self._session = self._session_factory()
        if self._bookkeeper is None:
            self._bookkeeper = ThreadPoolExecutor(1, thread_name_prefix="phoenix-part")

    async def close(self) -> None:
        """Close the session; transfers still running should be cancelled first."""
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._bookkeeper is not None:
            self._bookkeeper.shutdown(wait=False)
            self._bookkeeper = None

    def discard(self, part_path: Path) -> None:
        """Remove the part file and its sidecar."""
        part_path.unlink(missing_ok=True)
        discard_record(part_path)

    async def transfer(self, request: TransferRequest, on_progress: ProgressCallback) -> None:
        """Fill ``request.part_path`` with every byte of the file, resuming what is there.

        Raises:
            IntegrityError: the server sent a web page, or a size other than promised.
            NotFoundError, AuthError, SourceError: the source refused the file.
            TransientError: the network kept failing beyond the retry budget.
            DiskFullError: the disk filled up while writing.
        """
        await self.start()
        assert self._bookkeeper is not None
        transfer = Transfer(request, on_progress, self.piece_size, self._bookkeeper, self._cap)
        await transfer.open()
        try:
            transfer.endpoint = await self._retries.resolve(transfer)
            for _ in range(MAX_RESTARTS + 1):
                try:
                    await self._run(transfer)
                    break
                except _Restart:
                    await transfer.forget()
            else:
                raise SourceError(
                    f"{transfer.host} kept changing {transfer.label} or refusing ranges.",
                    hint="Try again later; the file at the source may be being replaced.",
                )
            transfer.emit(force=True)
        finally:
            await transfer.close()

    # -- the stages -------------------------------------------------------------------
    async def _run(self, t: Transfer) -> None:
        # Probe and whole-file attempts restart from byte 0, so bytes never reset their budget.
        ranged = await self._retries.run(t, partial(self._probe, t), lambda: 0)
        if ranged:
            await self._fetch_pieces(t)

    async def _probe(self, t: Transfer) -> bool:
        """Learn size, validators and Range support; stream the file here if ranges fail.

        Returns:
            True when the pieces are to be fetched with ranges, False when done.
        """
        record = t.record or {}
        headers = range_headers(0, 0, record.get("etag")) if t.use_ranges else {}
        generation = t.generation
        async with self._get(t, headers) as response:
            check_answer(t, response)
            if response.status == 416:
                return await self._adopt_unsatisfiable(t, response)
            if response.status == 206:
                total = content_range(response)[1]
                if total is None:
                    t.use_ranges = False
                    raise _Restart
                await t.adopt(RemoteFile.from_headers(total, response.headers))
                return True
            # A 200 to a Range: the file changed (If-Range) or the range was ignored.
            if "Range" in headers and accepts_ranges(response) and t.refuse_range():
                raise _Restart
            piece = await t.go_whole(response.content_length)
            await stream_into(t, response, piece, generation)
            if response.content_length is not None and piece.filled < response.content_length:
                raise TransientError(f"{t.host} ended the download of {t.label} early.")
            await t.finish_whole()
            return False

    async def _adopt_unsatisfiable(self, t: Transfer, response: aiohttp.ClientResponse) -> bool:
        if unsatisfied_size(response) != 0:
            raise SourceError(
                f"{t.host} refused the first byte of {t.label} (HTTP 416).",
                hint="Check the link; the file may be empty or gone.",
            )
        await t.adopt(RemoteFile.from_headers(0, response.headers))
        return True

    async def _fetch_pieces(self, t: Transfer) -> None:
        t.queue = deque(piece for piece in t.pieces if not piece.complete)
        workers = [
            asyncio.create_task(self._worker(t)) for _ in range(min(self.connections, len(t.queue)))
        ]
        if not workers:
            return
        try:
            await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.wait(workers)
        for worker in workers:
            error = None if worker.cancelled() else worker.exception()
            if error is not None:
                raise error

    async def _worker(self, t: Transfer) -> None:
        while t.queue:
            piece = t.queue.popleft()
            await self._retries.run(t, partial(self._fetch_piece, t, piece), piece.moved)

    async def _fetch_piece(self, t: Transfer, piece: Piece) -> None:
        headers = range_headers(piece.offset, piece.end - 1, t.remote.etag if t.remote else None)
        generation = t.generation
        async with self._get(t, headers) as response:
            check_answer(t, response)
            if response.status != 206:
                # 200: the server ignored the range or the file changed (If-Range); 416: it shrank.
                if response.status == 200:
                    t.refuse_range()
                raise _Restart
            first, total = content_range(response)
            etag = response.headers.get("ETag")
            if total != t.size or (etag and t.remote and t.remote.etag and etag != t.remote.etag):
                raise _Restart
            if first != piece.offset:
                raise TransientError(f"{t.host} answered with another range than asked for.")
            await stream_into(t, response, piece, generation)
        if not piece.complete:
            raise TransientError(f"{t.host} ended a response early.")

    # -- one response -----------------------------------------------------------------
    def _get(
        self, t: Transfer, headers: dict[str, str]
    ) -> AbstractAsyncContextManager[aiohttp.ClientResponse]:
        if self._session is None:
            raise EngineError("The Python download engine is not started.")
        endpoint = t.endpoint
        return self._session.get(
            endpoint.url,
            headers={**endpoint.headers, "Accept-Encoding": "identity", **headers},
            allow_redirects=False,
            timeout=self._timeout,
            read_bufsize=READ_BUFSIZE,
        )
