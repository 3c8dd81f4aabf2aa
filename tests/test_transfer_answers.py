"""A storage host's refusal ends a transfer in the same words whichever engine ran.

Both engines against one real file host: a 410, a 403 that a fresh link does not
mend, a 404 and a 503 that outlasts the retries each end in one error class, one
status and one sentence, and no hint that promises a retry after the tries are over.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from peers.endpoints import Scripted
from peers.files import FileServer

from comfyui_phoenix.engines.aria2 import Aria2Engine
from comfyui_phoenix.engines.base import Engine, Progress, TransferRequest
from comfyui_phoenix.engines.python import PythonEngine
from comfyui_phoenix.errors import PhoenixError
from comfyui_phoenix.net.http import make_session
from comfyui_phoenix.net.policy import HostPolicy
from comfyui_phoenix.settings import Settings

pytestmark = [
    pytest.mark.aria2,
    pytest.mark.skipif(
        shutil.which("aria2c") is None,
        reason="aria2c is not on PATH (Debian package aria2; .ci/run installs it)",
    ),
]

NAME = "model.bin"
RETRIES = 1


def ignore(_: Progress) -> None:
    pass


@pytest.fixture
async def engines(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> AsyncIterator[dict[str, Engine]]:
    policy = HostPolicy(make_settings())
    both: dict[str, Engine] = {
        "python": PythonEngine(lambda: make_session(policy), max_retries=RETRIES, backoff_cap=0.05),
        "aria2": Aria2Engine(
            runtime_dir=tmp_path / "run",
            poll_interval=0.1,
            max_tries=1,
            retry_wait=0,
            max_retries=RETRIES,
            backoff_cap=0.05,
        ),
    }
    yield both
    for engine in both.values():
        await engine.close()


async def ending(engine: Engine, server: FileServer, part: Path, name: str) -> PhoenixError:
    url = f"{server.base_url}/files/{name}?sig=SIGNEDsecretVALUE"  # type: ignore[attr-defined]
    with pytest.raises(PhoenixError) as caught:
        await engine.transfer(TransferRequest(part, Scripted(url), label=NAME), ignore)
    return caught.value


@pytest.mark.parametrize("status", [410, 403, 404, 503])
async def test_a_refusal_ends_both_engines_alike(
    engines: dict[str, Engine], file_server: FileServer, tmp_path: Path, status: int
) -> None:
    file_server.add("there.bin", b"\1" * 4096)
    if status != 404:
        file_server.faults("there.bin", statuses=[status], repeat=True)
    name = "gone.bin" if status == 404 else "there.bin"

    errors = {
        engine_name: await ending(engine, file_server, tmp_path / engine_name / "m.part", name)
        for engine_name, engine in engines.items()
    }

    python, aria2 = errors["python"], errors["aria2"]
    assert type(python) is type(aria2)
    assert python.status == aria2.status == status
    assert python.detail == aria2.detail
    assert NAME in python.detail and str(status) in python.detail
    for error in (python, aria2):
        assert "SIGNEDsecretVALUE" not in f"{error} {error.url}"
        assert error.hint and "will be retried" not in error.hint
        assert "retries on its own" not in error.hint
