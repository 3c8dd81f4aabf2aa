"""The aria2c engine against a real aria2c and a real HTTP file host with faults."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CANARY_CIVITAI, CANARY_HF
from peers.endpoints import Scripted
from peers.files import FileServer
from peers.models import LORA, safetensors_bytes

from comfyui_phoenix.engines.aria2 import Aria2Engine, contiguous_bytes
from comfyui_phoenix.engines.base import Progress, TransferRequest
from comfyui_phoenix.engines.pipeline import download_verified
from comfyui_phoenix.errors import AuthError, NotFoundError, TransientError
from comfyui_phoenix.net.endpoint import Endpoint

pytestmark = [
    pytest.mark.aria2,
    pytest.mark.skipif(
        shutil.which("aria2c") is None,
        reason="aria2c is not on PATH (Debian package aria2; .ci/run installs it)",
    ),
]

MiB = 1 << 20
EngineFactory = Callable[..., Awaitable[Aria2Engine]]


def ignore(_: Progress) -> None:
    pass


def payload(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


class Provider:
    """An endpoint provider that hands out the given URLs in turn and counts its calls."""

    def __init__(self, *urls: str, headers: dict[str, str] | None = None) -> None:
        self.urls = list(urls)
        self.headers = headers or {}
        self.calls = 0

    async def __call__(self) -> Endpoint:
        url = self.urls[min(self.calls, len(self.urls) - 1)]
        self.calls += 1
        return Endpoint(url, self.headers)


def busy() -> TransientError:
    return TransientError("The source answered HTTP 429.", status=429)


def url_of(server: FileServer, name: str, query: str = "") -> str:
    base: str = server.base_url  # type: ignore[attr-defined]
    return f"{base}/files/{name}{'?' + query if query else ''}"


def ranges(server: FileServer, name: str) -> list[int]:
    """The start offset of every GET of ``name`` the host saw (0 for a plain GET)."""
    starts = []
    for request in server.requests:
        if request.method == "GET" and request.path == f"/files/{name}":
            header = request.headers.get("Range", "bytes=0-")
            starts.append(int(header.removeprefix("bytes=").split("-")[0]))
    return starts


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting for its reaper is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for a condition")
        await asyncio.sleep(0.02)


@pytest.fixture
async def make_engine(tmp_path: Path) -> AsyncIterator[EngineFactory]:
    engines: list[Aria2Engine] = []

    async def factory(**kwargs: Any) -> Aria2Engine:
        kwargs = {
            "poll_interval": 0.1,
            "retry_wait": 1,
            "backoff_cap": 0.2,
            "runtime_dir": tmp_path / "run",
            **kwargs,
        }
        engine = Aria2Engine(**kwargs)
        await engine.start()
        engines.append(engine)
        return engine

    yield factory
    for engine in engines:
        await engine.close()


@pytest.fixture
def part(tmp_path: Path) -> Path:
    return tmp_path / "models" / "loras" / "model.safetensors.part"


@pytest.fixture
def control(part: Path) -> Path:
    return part.with_name(part.name + ".aria2")


async def test_downloads_every_byte_with_consistent_progress(
    make_engine: EngineFactory, file_server: FileServer, part: Path, control: Path
) -> None:
    data = payload(8 * MiB)
    file_server.add("model.bin", data)
    file_server.per_connection_rate = 2e6
    engine = await make_engine(connections=4, min_split_size=MiB)
    samples: list[Progress] = []

    await engine.transfer(
        TransferRequest(part, Provider(url_of(file_server, "model.bin"))), samples.append
    )

    assert part.read_bytes() == data
    assert not control.exists()
    assert file_server.peak_active > 1  # the file really was split between connections
    assert len(samples) >= 3
    for before, after in itertools.pairwise(samples):
        assert after.done >= before.done
        assert after.contiguous >= before.contiguous
    assert all(s.contiguous <= s.done for s in samples)
    assert samples[-1] == Progress(done=len(data), total=len(data), contiguous=len(data))


async def test_pipeline_publishes_a_verified_model(
    make_engine: EngineFactory, file_server: FileServer, part: Path, control: Path
) -> None:
    data = safetensors_bytes(LORA, pad_to=6 * MiB, seed=3)
    file_server.add("lora.safetensors", data)
    file_server.faults("lora.safetensors", drop_at=4 * MiB + 123)
    file_server.per_connection_rate = 4e6
    engine = await make_engine(connections=3, min_split_size=MiB)
    final = part.with_name("model.safetensors")

    digest = await download_verified(
        engine,
        TransferRequest(part, Provider(url_of(file_server, "lora.safetensors")), size=len(data)),
        final_path=final,
        expected_size=len(data),
        hash_spec=("sha256", hashlib.sha256(data).hexdigest()),
        on_progress=ignore,
        min_free_margin=0,
    )

    assert digest == hashlib.sha256(data).hexdigest()
    assert final.read_bytes() == data
    assert not part.exists() and not control.exists()


async def test_connection_drop_resumes_where_it_broke(
    make_engine: EngineFactory, file_server: FileServer, part: Path
) -> None:
    data = payload(6 * MiB)
    file_server.add("model.bin", data)
    file_server.faults("model.bin", drop_at=3 * MiB)
    engine = await make_engine(connections=1)

    await engine.transfer(TransferRequest(part, Provider(url_of(file_server, "model.bin"))), ignore)

    assert part.read_bytes() == data
    assert ranges(file_server, "model.bin") == [0, 3 * MiB]
    assert file_server.bytes_sent == len(data)


async def test_burst_of_503_answers_is_waited_out(
    make_engine: EngineFactory, file_server: FileServer, part: Path
) -> None:
    data = payload(MiB)
    file_server.add("model.bin", data)
    file_server.faults("model.bin", statuses=[503, 503], retry_after="1")
    engine = await make_engine()

    await engine.transfer(TransferRequest(part, Provider(url_of(file_server, "model.bin"))), ignore)

    assert part.read_bytes() == data
    assert len(ranges(file_server, "model.bin")) == 3


@pytest.mark.parametrize("statuses", [[429, 429], [500]])
async def test_refusals_before_the_first_byte_are_retried(
    make_engine: EngineFactory, file_server: FileServer, part: Path, statuses: list[int]
) -> None:
    data = payload(MiB)
    file_server.add("model.bin", data)
    file_server.faults("model.bin", statuses=list(statuses), retry_after="1")
    engine = await make_engine()

    await engine.transfer(TransferRequest(part, Provider(url_of(file_server, "model.bin"))), ignore)

    assert part.read_bytes() == data
    assert len(ranges(file_server, "model.bin")) == len(statuses) + 1


async def test_a_server_that_keeps_refusing_fails_after_the_retries(
    make_engine: EngineFactory, file_server: FileServer, part: Path
) -> None:
    file_server.add("model.bin", payload(MiB))
    file_server.faults("model.bin", statuses=[429], repeat=True)
    engine = await make_engine(max_retries=2)

    with pytest.raises(TransientError, match="429"):
        await engine.transfer(
            TransferRequest(part, Provider(url_of(file_server, "model.bin"))), ignore
        )

    assert len(ranges(file_server, "model.bin")) == 3


async def test_a_busy_source_is_asked_for_the_link_again(
    make_engine: EngineFactory, file_server: FileServer, part: Path
) -> None:
    data = payload(MiB)
    file_server.add("model.bin", data)
    links = Scripted(busy, busy, url_of(file_server, "model.bin"))
    engine = await make_engine()

    await engine.transfer(TransferRequest(part, links), ignore)

    assert part.read_bytes() == data
    assert links.calls == 3


async def test_a_busy_source_is_asked_again_when_a_link_expired(
    make_engine: EngineFactory, file_server: FileServer, part: Path
) -> None:
    data = payload(MiB)
    file_server.add("expired.bin", data)
    file_server.faults("expired.bin", statuses=[403], repeat=True)
    file_server.add("fresh.bin", data)
    links = Scripted(
        url_of(file_server, "expired.bin"),
        busy,
        asyncio.TimeoutError,
        url_of(file_server, "fresh.bin"),
    )
    engine = await make_engine()

    await engine.transfer(TransferRequest(part, links), ignore)

    assert part.read_bytes() == data
    assert links.calls == 4


async def test_resumes_after_aria2c_was_killed(
    make_engine: EngineFactory, file_server: FileServer, part: Path, control: Path
) -> None:
    data = payload(12 * MiB)
    file_server.add("model.bin", data)
    file_server.per_connection_rate = 6e6
    first = await make_engine(connections=1)
    samples: list[Progress] = []
    request = TransferRequest(part, Provider(url_of(file_server, "model.bin")))
    task = asyncio.create_task(first.transfer(request, samples.append))

    await until(lambda: bool(samples) and samples[-1].done >= 4 * MiB)
    reached = time.time()
    await until(lambda: control.exists() and control.stat().st_mtime > reached)
    pid = first.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(TransientError):
        await task
    await first.close()
    sent_before = file_server.bytes_sent

    second = await make_engine(connections=1)
    await second.transfer(request, ignore)

    assert part.read_bytes() == data
    resumed_at = ranges(file_server, "model.bin")[-1]
    assert resumed_at >= 4 * MiB
    assert file_server.bytes_sent - sent_before <= len(data) - resumed_at + MiB


async def test_cancelling_keeps_resume_data_and_a_later_transfer_finishes(
    make_engine: EngineFactory, file_server: FileServer, part: Path, control: Path
) -> None:
    data = payload(8 * MiB)
    file_server.add("model.bin", data)
    file_server.per_connection_rate = 4e6
    engine = await make_engine(connections=1)
    samples: list[Progress] = []
    request = TransferRequest(part, Provider(url_of(file_server, "model.bin")))
    task = asyncio.create_task(engine.transfer(request, samples.append))
    await until(lambda: bool(samples) and samples[-1].done >= 2 * MiB)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert part.exists() and control.exists()
    await until(lambda: file_server.active == 0, timeout=3)  # aria2 stopped fetching
    await engine.transfer(request, ignore)
    assert part.read_bytes() == data
    assert ranges(file_server, "model.bin")[-1] >= 2 * MiB


async def test_expired_link_is_resolved_again_and_resumed(
    make_engine: EngineFactory, file_server: FileServer, part: Path
) -> None:
    data = payload(3 * MiB)
    file_server.add("signed-a.bin", data)
    file_server.add("signed-b.bin", data)
    faults = file_server.faults("signed-a.bin", drop_at=MiB)
    file_server.per_connection_rate = 2e6
    provider = Provider(
        url_of(file_server, "signed-a.bin", "sig=first"),
        url_of(file_server, "signed-b.bin", "sig=second"),
    )

    def expire_once_bytes_flow(progress: Progress) -> None:
        if progress.done > 0 and not faults.statuses:
            faults.statuses.append(403)  # from now on the first link answers 403
            faults.repeat = True

    samples: list[Progress] = []

    def record(progress: Progress) -> None:
        samples.append(progress)
        expire_once_bytes_flow(progress)

    engine = await make_engine(connections=1)
    await engine.transfer(TransferRequest(part, provider), record)

    assert part.read_bytes() == data
    assert provider.calls == 2
    assert [s.done for s in samples] == sorted(s.done for s in samples)
    # aria2 opens each new download with a plain GET (to learn the size) before it resumes.
    assert ranges(file_server, "signed-b.bin")[-1] == MiB


async def test_refused_access_after_a_fresh_link_is_an_auth_error(
    make_engine: EngineFactory, file_server: FileServer, part: Path
) -> None:
    file_server.add("gated.bin", payload(MiB))
    file_server.faults("gated.bin", statuses=[401], repeat=True)
    provider = Provider(url_of(file_server, "gated.bin"))
    engine = await make_engine()

    with pytest.raises(AuthError) as caught:
        await engine.transfer(TransferRequest(part, provider, label="gated.bin"), ignore)

    assert provider.calls == 2
    assert "gated.bin" in caught.value.detail and "401" in caught.value.detail


async def test_missing_file_is_not_found_without_leaking_the_signature(
    make_engine: EngineFactory, file_server: FileServer, part: Path
) -> None:
    provider = Provider(url_of(file_server, "gone.bin", "token=SIGNEDsecretVALUE"))
    engine = await make_engine()

    with pytest.raises(NotFoundError) as caught:
        await engine.transfer(TransferRequest(part, provider), ignore)

    assert provider.calls == 1
    assert "SIGNEDsecretVALUE" not in f"{caught.value} {caught.value.url}"


async def test_server_that_ignores_range_gets_a_clean_restart(
    make_engine: EngineFactory, file_server: FileServer, part: Path
) -> None:
    data = payload(4 * MiB)
    file_server.add("model.bin", data)
    file_server.faults("model.bin", ignore_range=True)
    part.parent.mkdir(parents=True)
    part.write_bytes(data[: 2 * MiB])  # a sequential prefix, as another engine leaves it
    engine = await make_engine()

    await engine.transfer(TransferRequest(part, Provider(url_of(file_server, "model.bin"))), ignore)

    assert part.read_bytes() == data
    assert 2 * MiB in ranges(file_server, "model.bin")  # it did try to resume first


async def test_rate_cap_is_respected(
    make_engine: EngineFactory, file_server: FileServer, part: Path
) -> None:
    data = payload(4 * MiB)
    file_server.add("model.bin", data)
    engine = await make_engine(max_rate=4 * MiB)

    started = time.monotonic()
    await engine.transfer(TransferRequest(part, Provider(url_of(file_server, "model.bin"))), ignore)

    assert part.read_bytes() == data
    assert time.monotonic() - started > 0.6  # 1 s at the cap; unthrottled it takes ~0.05 s


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
async def test_secrets_stay_out_of_argv_environment_and_logs(
    make_engine: EngineFactory,
    file_server: FileServer,
    part: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("HF_TOKEN", CANARY_HF)
    monkeypatch.setenv("CIVITAI_TOKEN", CANARY_CIVITAI)
    caplog.set_level(logging.DEBUG)
    data = payload(MiB)
    file_server.add("model.bin", data)
    engine = await make_engine()
    secret = engine._secret  # the RPC secret, known to nothing outside the engine
    pid = engine.pid
    assert secret and pid
    headers = {"Authorization": f"Bearer {CANARY_HF}"}

    await engine.transfer(
        TransferRequest(part, Provider(url_of(file_server, "model.bin"), headers=headers)), ignore
    )
    with pytest.raises(NotFoundError):
        missing = Provider(
            url_of(file_server, "gone.bin", "sig=SIGNEDsecretVALUE"), headers=headers
        )
        await engine.transfer(TransferRequest(part.with_name("gone.part"), missing), ignore)
    await until(lambda: any("aria2c:" in r.getMessage() for r in caplog.records), timeout=3)

    assert part.read_bytes() == data
    assert file_server.requests[0].headers["Authorization"] == f"Bearer {CANARY_HF}"
    process_view = (
        Path(f"/proc/{pid}/cmdline").read_bytes() + Path(f"/proc/{pid}/environ").read_bytes()
    )
    on_disk = b"".join(p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file())
    logged = caplog.text + "".join(r.getMessage() for r in caplog.records)
    for value in (secret, CANARY_HF, CANARY_CIVITAI):
        assert value.encode() not in process_view
        assert value.encode() not in on_disk
        assert value not in logged
    assert "SIGNEDsecretVALUE" not in logged
    assert "sig=***" in logged  # aria2's own line about the 404 was relayed, redacted


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
async def test_close_leaves_no_process_and_no_files(
    make_engine: EngineFactory, file_server: FileServer, part: Path, tmp_path: Path
) -> None:
    engine = await make_engine()
    pid = engine.pid
    assert pid is not None and running(pid)

    await engine.close()
    await engine.close()

    assert not running(pid)
    assert engine.pid is None
    assert list((tmp_path / "run").iterdir()) == []
    file_server.add("model.bin", b"x" * 1000)
    await engine.transfer(  # a later transfer starts aria2c again
        TransferRequest(part, Provider(url_of(file_server, "model.bin"))), ignore
    )
    assert part.read_bytes() == b"x" * 1000


@pytest.fixture
def orphan_parent(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    script = (
        "import asyncio\n"
        "from pathlib import Path\n"
        "from comfyui_phoenix.engines.aria2 import Aria2Engine\n"
        "async def main():\n"
        f"    engine = Aria2Engine(runtime_dir=Path({str(tmp_path / 'run')!r}))\n"
        "    await engine.start()\n"
        "    print(engine.pid, flush=True)\n"
        "    await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    yield process
    process.kill()
    process.wait()
    assert process.stdout is not None
    process.stdout.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
async def test_aria2c_dies_with_a_killed_phoenix(orphan_parent: subprocess.Popen[str]) -> None:
    assert orphan_parent.stdout is not None
    pid = int(await asyncio.to_thread(orphan_parent.stdout.readline))
    assert running(pid)

    orphan_parent.kill()

    await until(lambda: not running(pid), timeout=5)


@pytest.mark.parametrize(
    ("bitfield", "expected"),
    [(None, 0), ("00", 0), ("80", 1), ("e0", 3), ("f0", 4), ("fe", 7), ("ff80", 9), ("ffff", 10)],
)
def test_contiguous_prefix_counts_leading_pieces(bitfield: str | None, expected: int) -> None:
    assert contiguous_bytes(bitfield, MiB, 10 * MiB - 5) == min(expected * MiB, 10 * MiB - 5)
