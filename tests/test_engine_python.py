"""The pure-Python engine and the shared verify-and-publish pipeline, against a faulty host.

Every fault ends in a verified file at its final name or in a clear error, and
never in a damaged file under a model's name.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import struct
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from peers.endpoints import Scripted
from peers.files import FileServer, RateLimiter
from peers.models import LORA, safetensors_bytes

from comfyui_phoenix.engines.base import Progress, TransferRequest
from comfyui_phoenix.engines.pipeline import download_verified
from comfyui_phoenix.engines.python import PythonEngine, sidecar_path
from comfyui_phoenix.errors import (
    AuthError,
    DiskFullError,
    IntegrityError,
    NotFoundError,
    TransientError,
)
from comfyui_phoenix.net.endpoint import Endpoint, EndpointProvider
from comfyui_phoenix.net.http import make_session
from comfyui_phoenix.net.policy import HostPolicy
from comfyui_phoenix.net.retry import resolve_with_retry
from comfyui_phoenix.settings import Settings

MiB = 1 << 20
PIECE = 256 << 10
DATA = safetensors_bytes(LORA, pad_to=3 * MiB, seed=11)
SHA = hashlib.sha256(DATA).hexdigest()

EngineFactory = Callable[..., PythonEngine]


@pytest.fixture
async def make_engine(make_settings: Callable[..., Settings]) -> AsyncIterator[EngineFactory]:
    """Engines as the app builds them (policy-checked sessions), with test-sized pieces."""
    engines: list[PythonEngine] = []
    policy = HostPolicy(make_settings())

    def factory(**overrides: Any) -> PythonEngine:
        options: dict[str, Any] = {
            "connections": 4,
            "piece_size": PIECE,
            "stall_timeout": 5,
            "backoff_cap": 0.2,
        }
        options.update(overrides)
        engine = PythonEngine(lambda: make_session(policy), **options)
        engines.append(engine)
        return engine

    yield factory
    for engine in engines:
        await engine.close()


def url_of(server: FileServer, name: str) -> str:
    return f"{server.base_url}/files/{name}"  # type: ignore[attr-defined]


def fixed(url: str) -> EndpointProvider:
    async def provide() -> Endpoint:
        return Endpoint(url)

    return provide


def busy() -> TransientError:
    return TransientError("The source answered HTTP 503.", status=503, retry_after=0.1)


def refused() -> NotFoundError:
    return NotFoundError("The model version does not exist.")


class Fetch:
    """One download as a job runs it: request, expected size and hash, final name."""

    def __init__(self, engine: PythonEngine, folder: Path, name: str = "lora.safetensors") -> None:
        self.engine = engine
        self.final = folder / name
        self.part = folder / f"{name}.part"
        self.progress: list[Progress] = []
        self.tails: list[float] = []

    async def run(
        self,
        endpoint: EndpointProvider,
        data: bytes = DATA,
        *,
        size: int | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> str | None:
        def record(progress: Progress) -> None:
            self.progress.append(progress)
            if on_progress is not None:
                on_progress(progress)

        return await download_verified(
            self.engine,
            TransferRequest(self.part, endpoint, size=size, label=self.final.name),
            final_path=self.final,
            expected_size=len(data),
            hash_spec=("sha256", hashlib.sha256(data).hexdigest()),
            on_progress=record,
            on_tail=self.tails.append,
        )

    def assert_published(self, data: bytes = DATA) -> None:
        assert self.final.read_bytes() == data
        assert not self.part.exists()
        assert not sidecar_path(self.part).exists()

    def assert_nothing_published(self) -> None:
        assert not self.final.exists()
        assert not self.part.exists()
        assert not sidecar_path(self.part).exists()


def range_starts(server: FileServer, since: int = 0) -> list[int]:
    """The first byte of every Range request the host got (the 1-byte probes left out)."""
    starts = []
    for request in server.requests[since:]:
        header = request.headers.get("Range", "")
        if header and header != "bytes=0-0":
            starts.append(int(header.removeprefix("bytes=").split("-")[0]))
    return starts


async def test_plain_download_is_verified_and_published(
    file_server: FileServer, make_engine: EngineFactory, models_dir: Path
) -> None:
    file_server.add("lora.safetensors", DATA)
    fetch = Fetch(make_engine(), models_dir)

    digest = await fetch.run(fixed(url_of(file_server, "lora.safetensors")), size=len(DATA))

    assert digest == SHA
    fetch.assert_published()
    assert len(range_starts(file_server)) == len(DATA) // PIECE + 1
    assert fetch.tails and fetch.tails[0] < 5
    assert all("Authorization" not in r.headers for r in file_server.requests)


async def test_progress_only_grows_and_ends_complete(
    file_server: FileServer, make_engine: EngineFactory, models_dir: Path
) -> None:
    file_server.total = RateLimiter(6 * MiB)
    file_server.add("lora.safetensors", DATA)
    fetch = Fetch(make_engine(), models_dir)

    await fetch.run(fixed(url_of(file_server, "lora.safetensors")))

    done = [p.done for p in fetch.progress]
    contiguous = [p.contiguous for p in fetch.progress]
    assert done == sorted(done) and contiguous == sorted(contiguous)
    assert all(p.contiguous <= p.done for p in fetch.progress)
    assert fetch.progress[-1].done == fetch.progress[-1].total == len(DATA)
    assert fetch.progress[-1].contiguous == len(DATA)
    assert max(p.connections for p in fetch.progress) > 1
    assert any(p.speed > 0 for p in fetch.progress)
    # about 10 reports a second, not one per chunk
    assert len(fetch.progress) < 40


async def test_dropped_connection_resumes_the_piece(
    file_server: FileServer, make_engine: EngineFactory, models_dir: Path
) -> None:
    file_server.add("lora.safetensors", DATA)
    file_server.faults("lora.safetensors", drop_at=MiB + 12345)
    fetch = Fetch(make_engine(), models_dir)

    assert await fetch.run(fixed(url_of(file_server, "lora.safetensors"))) == SHA

    fetch.assert_published()
    assert MiB + 12345 in range_starts(file_server)
    assert file_server.bytes_sent < len(DATA) * 1.2


async def test_busy_server_is_retried_after_the_wait_it_asks_for(
    file_server: FileServer, make_engine: EngineFactory, models_dir: Path
) -> None:
    file_server.add("lora.safetensors", DATA)
    file_server.faults("lora.safetensors", statuses=[503, 429], retry_after="1")
    fetch = Fetch(make_engine(), models_dir)

    started = time.monotonic()
    assert await fetch.run(fixed(url_of(file_server, "lora.safetensors"))) == SHA

    assert time.monotonic() - started >= 2.0
    fetch.assert_published()


async def test_range_ignored_on_resume_starts_over_cleanly(
    file_server: FileServer, make_engine: EngineFactory, models_dir: Path
) -> None:
    file_server.add("lora.safetensors", DATA)
    fetch = Fetch(make_engine(), models_dir)
    # A previous run left pieces; this time the server answers the first Range with 200.
    fetch.part.write_bytes(b"\0" * len(DATA))
    sidecar_path(fetch.part).write_text(
        json.dumps(
            {
                "version": 1,
                "size": len(DATA),
                "etag": file_server.files["lora.safetensors"].etag,
                "last_modified": None,
                "piece_size": PIECE,
                "complete": [[0, 4]],
                "partial": {},
            }
        )
    )
    file_server.faults("lora.safetensors", ignore_range=True)

    assert await fetch.run(fixed(url_of(file_server, "lora.safetensors"))) == SHA

    fetch.assert_published()
    assert 0 in range_starts(file_server)


async def test_file_replaced_at_the_source_mid_download_is_fetched_anew(
    file_server: FileServer, make_engine: EngineFactory, models_dir: Path
) -> None:
    file_server.total = RateLimiter(6 * MiB)
    file_server.add("lora.safetensors", DATA)
    replacement = safetensors_bytes(LORA, pad_to=3 * MiB, seed=99)
    assert len(replacement) == len(DATA)

    replaced: list[bool] = []

    def replace_once(progress: Progress) -> None:
        if progress.contiguous >= MiB and not replaced:
            replaced.append(True)
            file_server.add("lora.safetensors", replacement)

    fetch = Fetch(make_engine(), models_dir)
    digest = await fetch.run(
        fixed(url_of(file_server, "lora.safetensors")), replacement, on_progress=replace_once
    )

    assert digest == hashlib.sha256(replacement).hexdigest()
    fetch.assert_published(replacement)
    # the engine started over from byte 0, and the hash followed it there
    contiguous = [p.contiguous for p in fetch.progress]
    assert any(later < earlier for earlier, later in pairwise(contiguous))


async def test_finished_part_is_verified_without_fetching_again(
    file_server: FileServer, make_engine: EngineFactory, models_dir: Path
) -> None:
    file_server.add("lora.safetensors", DATA)
    fetch = Fetch(make_engine(), models_dir)
    endpoint = fixed(url_of(file_server, "lora.safetensors"))
    await fetch.engine.transfer(TransferRequest(fetch.part, endpoint), lambda _: None)
    before = len(file_server.requests)

    assert await fetch.run(endpoint) == SHA

    fetch.assert_published()
    assert [r.headers.get("Range") for r in file_server.requests[before:]] == ["bytes=0-0"]


async def test_server_without_ranges_gets_one_stream(
    file_server: FileServer, make_engine: EngineFactory, models_dir: Path
) -> None:
    file_server.add("lora.safetensors", DATA)
    file_server.faults("lora.safetensors", ignore_range=True, repeat=True)
    fetch = Fetch(make_engine(), models_dir)

    assert await fetch.run(fixed(url_of(file_server, "lora.safetensors"))) == SHA

    fetch.assert_published()
    assert fetch.progress[-1].done == len(DATA)


async def test_unknown_size_streams_whole_file(
    make_engine: EngineFactory, models_dir: Path
) -> None:
    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(DATA), 100_000):
            await response.write(DATA[start : start + 100_000])
        return response

    app = web.Application()
    app.router.add_get("/model", chunked)
    async with TestServer(app, host="127.0.0.1") as server:
        fetch = Fetch(make_engine(), models_dir)
        assert await fetch.run(fixed(str(server.make_url("/model")))) == SHA

    fetch.assert_published()
    assert fetch.progress[-1].total == len(DATA)


async def test_short_file_at_the_source_is_refused(
    file_server: FileServer, make_engine: EngineFactory, models_dir: Path
) -> None:
    file_server.add("lora.safetensors", DATA)
    file_server.faults("lora.safetensors", truncate_to=len(DATA) - 1000)
    fetch = Fetch(make_engine(), models_dir)

    with pytest.raises(IntegrityError, match="promised"):
        await fetch.run(fixed(url_of(file_server, "lora.safetensors")))

    fetch.assert_nothing_published()


async def test_short_file_is_refused_even_when_the_engine_was_not_told_the_size(
    file_server: FileServer, make_engine: EngineFactory, models_dir: Path
) -> None:
    file_server.add("lora.safetensors", DATA)
    file_server.faults("lora.safetensors", truncate_to=len(DATA) - 1000)
    fetch = Fetch(make_engine(), models_dir)
    request = TransferRequest(fetch.part, fixed(url_of(file_server, "lora.safetensors")))

    with pytest.raises(IntegrityError, match="promised"):
        await download_verified(
            fetch.engine,
            request,
            final_path=fetch.final,
            expected_size=len(DATA),
            hash_spec=None,
            on_progress=lambda _: None,
        )

    fetch.assert_nothing_published()


async def test_stall_is_detected_and_recovered(
    file_server: FileServer, make_engine: EngineFactory, models_dir: Path
) -> None:
    file_server.add("lora.safetensors", DATA)
    file_server.faults("lora.safetensors", stall_at=MiB + 4096, stall_seconds=20)
    fetch = Fetch(make_engine(stall_timeout=0.5), models_dir)

    started = time.monotonic()
    assert await fetch.run(fixed(url_of(file_server, "lora.safetensors"))) == SHA

    assert time.monotonic() - started < 3
    fetch.assert_published()
    assert MiB + 4096 in range_starts(file_server)


async def test_damaged_bytes_fail_the_checksum_and_are_deleted(
    file_server: FileServer, make_engine: EngineFactory, models_dir: Path
) -> None:
    file_server.add("lora.safetensors", DATA)
    file_server.faults("lora.safetensors", corrupt_at=2 * MiB + 7)
    fetch = Fetch(make_engine(), models_dir)

    with pytest.raises(IntegrityError, match="SHA256 checksum"):
        await fetch.run(fixed(url_of(file_server, "lora.safetensors")))

    fetch.assert_nothing_published()


async def test_web_page_instead_of_the_model_is_refused_at_once(
    file_server: FileServer, make_engine: EngineFactory, models_dir: Path
) -> None:
    file_server.add("lora.safetensors", DATA)
    file_server.faults("lora.safetensors", html=True, repeat=True)
    fetch = Fetch(make_engine(), models_dir)

    with pytest.raises(IntegrityError, match="web page"):
        await fetch.run(fixed(url_of(file_server, "lora.safetensors")))

    fetch.assert_nothing_published()
    assert len(file_server.requests) == 1


async def test_missing_file_is_not_found(
    file_server: FileServer, make_engine: EngineFactory, models_dir: Path
) -> None:
    fetch = Fetch(make_engine(), models_dir)

    with pytest.raises(NotFoundError, match="404"):
        await fetch.run(fixed(url_of(file_server, "gone.safetensors")))

    assert not fetch.final.exists()
    assert len(file_server.requests) == 1


async def test_full_disk_is_reported_before_any_byte_moves(
    file_server: FileServer, make_engine: EngineFactory, models_dir: Path
) -> None:
    file_server.add("lora.safetensors", DATA)
    fetch = Fetch(make_engine(), models_dir)
    free = shutil.disk_usage(models_dir).free

    with pytest.raises(DiskFullError, match=r"Not enough space for lora\.safetensors") as caught:
        await download_verified(
            fetch.engine,
            TransferRequest(fetch.part, fixed(url_of(file_server, "lora.safetensors"))),
            final_path=fetch.final,
            expected_size=free + (1 << 30),
            hash_spec=None,
            on_progress=lambda _: None,
        )

    assert caught.value.hint == "Free space or choose another folder."
    assert file_server.requests == []
    assert not fetch.part.exists()


async def test_cancelled_download_resumes_with_only_the_missing_ranges(
    file_server: FileServer, make_engine: EngineFactory, models_dir: Path
) -> None:
    file_server.total = RateLimiter(4 * MiB)
    file_server.add("lora.safetensors", DATA)
    url = url_of(file_server, "lora.safetensors")
    first = Fetch(make_engine(), models_dir)
    halfway = asyncio.Event()

    def watch(progress: Progress) -> None:
        if progress.done >= 1.5 * MiB:
            halfway.set()

    task = asyncio.create_task(first.run(fixed(url), on_progress=watch))
    await asyncio.wait_for(halfway.wait(), 10)
    cancelled_at = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - cancelled_at < 1
    assert first.part.exists() and sidecar_path(first.part).exists()
    assert not first.final.exists()
    first_requests = len(file_server.requests)

    second = Fetch(make_engine(), models_dir)
    assert await second.run(fixed(url)) == SHA

    second.assert_published()
    assert min(range_starts(file_server, first_requests)) >= PIECE
    assert second.progress[0].done >= MiB
    assert file_server.bytes_sent < len(DATA) * 1.2


async def test_rate_cap_is_shared_by_all_transfers(
    file_server: FileServer, make_engine: EngineFactory, models_dir: Path
) -> None:
    cap = 2 * MiB
    other = safetensors_bytes(LORA, pad_to=MiB, seed=12)
    small = safetensors_bytes(LORA, pad_to=MiB, seed=13)
    file_server.add("a.safetensors", small)
    file_server.add("b.safetensors", other)
    engine = make_engine(max_rate=cap)

    started = time.monotonic()
    await asyncio.gather(
        Fetch(engine, models_dir, "a.safetensors").run(
            fixed(url_of(file_server, "a.safetensors")), small
        ),
        Fetch(engine, models_dir, "b.safetensors").run(
            fixed(url_of(file_server, "b.safetensors")), other
        ),
    )
    elapsed = time.monotonic() - started

    assert (len(small) + len(other)) / elapsed <= 1.5 * cap


async def test_expired_links_are_resolved_again_each_time(
    file_server: FileServer, make_engine: EngineFactory, models_dir: Path
) -> None:
    file_server.total = RateLimiter(4 * MiB)
    source = file_server.root / "shared.bin"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(DATA)
    names = ["a.safetensors", "b.safetensors", "c.safetensors"]
    for name in names:
        file_server.add_path(name, source)
    links = iter(names)
    calls = 0

    async def provide() -> Endpoint:
        nonlocal calls
        calls += 1
        return Endpoint(url_of(file_server, next(links)))

    def expire(progress: Progress) -> None:
        # signed links that stop working after 1 MiB and 2 MiB
        for name, after in (("a.safetensors", MiB), ("b.safetensors", 2 * MiB)):
            if progress.done >= after and not file_server.files[name].faults.statuses:
                file_server.faults(name, statuses=[403], repeat=True)

    fetch = Fetch(make_engine(), models_dir)
    assert await fetch.run(provide, on_progress=expire) == SHA

    fetch.assert_published()
    assert calls == 3
    assert any(r.path.endswith("/c.safetensors") for r in file_server.requests)


async def test_link_refused_also_after_a_fresh_one_is_an_auth_error(
    file_server: FileServer, make_engine: EngineFactory, models_dir: Path
) -> None:
    file_server.add("lora.safetensors", DATA)
    file_server.faults("lora.safetensors", statuses=[403], repeat=True)
    calls = 0

    async def provide() -> Endpoint:
        nonlocal calls
        calls += 1
        return Endpoint(url_of(file_server, "lora.safetensors"))

    fetch = Fetch(make_engine(), models_dir)
    with pytest.raises(AuthError, match="403"):
        await fetch.run(provide)

    assert calls == 2
    assert not fetch.final.exists()


async def test_a_busy_source_is_asked_for_the_link_again(
    file_server: FileServer, make_engine: EngineFactory, models_dir: Path
) -> None:
    file_server.add("lora.safetensors", DATA)
    links = Scripted(busy, aiohttp.ClientConnectionError, url_of(file_server, "lora.safetensors"))
    fetch = Fetch(make_engine(), models_dir)

    assert await fetch.run(links) == SHA

    fetch.assert_published()
    assert links.calls == 3


async def test_a_busy_source_is_asked_again_when_a_link_expired(
    file_server: FileServer, make_engine: EngineFactory, models_dir: Path
) -> None:
    file_server.add("expired.safetensors", DATA)
    file_server.faults("expired.safetensors", statuses=[403], repeat=True)
    file_server.add("fresh.safetensors", DATA)
    links = Scripted(
        url_of(file_server, "expired.safetensors"),
        busy,
        busy,
        url_of(file_server, "fresh.safetensors"),
    )
    fetch = Fetch(make_engine(), models_dir)

    assert await fetch.run(links) == SHA

    fetch.assert_published()
    assert links.calls == 4


async def test_link_resolution_gives_up_on_refusals_at_once_and_on_busy_after_retries() -> None:
    missing, busy_forever = Scripted(refused), Scripted(busy)

    with pytest.raises(NotFoundError):
        await resolve_with_retry(missing, max_retries=3, backoff_cap=0.01)
    with pytest.raises(TransientError, match="503"):
        await resolve_with_retry(busy_forever, max_retries=2, backoff_cap=0.01)

    assert missing.calls == 1
    assert busy_forever.calls == 3


def write_big_safetensors(path: Path, payload: int) -> bytes:
    """A valid safetensors file of ``payload`` bytes written block by block; returns its sha256."""
    header = json.dumps(
        {"blob": {"dtype": "U8", "shape": [payload], "data_offsets": [0, payload]}}
    ).encode()
    header += b" " * (-len(header) % 8)
    block = bytes(range(256)) * (MiB // 256)
    digest = hashlib.sha256()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        for chunk in (struct.pack("<Q", len(header)), header):
            handle.write(chunk)
            digest.update(chunk)
        for index in range(payload // MiB):
            chunk = block[index % 256 :] + block[: index % 256]
            handle.write(chunk)
            digest.update(chunk)
    return digest.digest()


async def test_memory_stays_flat_for_a_big_file(
    file_server: FileServer, make_engine: EngineFactory, models_dir: Path
) -> None:
    source = file_server.root / "big.bin"
    expected = write_big_safetensors(source, 256 * MiB).hex()
    file_server.add_path("big.safetensors", source)
    engine = make_engine(piece_size=16 * MiB, connections=8)
    final = models_dir / "big.safetensors"

    tracemalloc.start()
    try:
        digest = await download_verified(
            engine,
            TransferRequest(
                models_dir / "big.safetensors.part", fixed(url_of(file_server, "big.safetensors"))
            ),
            final_path=final,
            expected_size=source.stat().st_size,
            hash_spec=("sha256", expected),
            on_progress=lambda _: None,
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert digest == expected
    assert final.stat().st_size == source.stat().st_size
    assert peak < 64 * MiB


async def test_a_part_left_by_aria2_is_started_over_not_trusted(
    file_server: FileServer, make_engine: EngineFactory, tmp_path: Path
) -> None:
    file_server.add("lora.safetensors", DATA)
    fetch = Fetch(make_engine(), tmp_path)
    # aria2 writes pieces out of order: its part file can hold zeros where bytes are missing.
    fetch.part.write_bytes(DATA[: len(DATA) // 2].replace(DATA[100:200], b"\0" * 100))
    control = fetch.part.with_name(fetch.part.name + ".aria2")
    control.write_bytes(b"aria2 control data")
    await fetch.run(fixed(url_of(file_server, "lora.safetensors")))
    fetch.assert_published()
    assert not control.exists()
