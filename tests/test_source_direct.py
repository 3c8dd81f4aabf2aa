"""Direct links against a real local file host: names, sizes, folders and refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from peers.files import FileServer
from peers.models import FLUX_VAE, LORA, safetensors_bytes

from comfyui_phoenix.errors import (
    HostNotAllowedError,
    NotFoundError,
    SourceError,
    UnsafePathError,
)
from comfyui_phoenix.net.http import make_session
from comfyui_phoenix.net.policy import HostPolicy
from comfyui_phoenix.plan import PlannedFile
from comfyui_phoenix.refs import UrlRef, parse_reference
from comfyui_phoenix.security.secrets import Tokens
from comfyui_phoenix.settings import Settings
from comfyui_phoenix.sources.base import SourceContext
from comfyui_phoenix.sources.direct import DirectSource, disposition_filename

LORA_BYTES = safetensors_bytes(LORA, seed=5)
VAE_BYTES = safetensors_bytes(FLUX_VAE, seed=6)

Planner = Callable[..., Awaitable[tuple[DirectSource, PlannedFile]]]


@pytest.fixture
async def plan(make_settings: Callable[..., Settings]) -> AsyncIterator[Planner]:
    """Plan a link as a user would; settings overrides go to the settings."""
    sessions: list[aiohttp.ClientSession] = []

    async def run(text: str, **overrides: Any) -> tuple[DirectSource, PlannedFile]:
        settings = make_settings(**overrides)
        policy = HostPolicy(settings)
        session = make_session(policy)
        sessions.append(session)
        source = DirectSource(SourceContext(settings, session, policy, Tokens()))
        ref = parse_reference(text)
        assert isinstance(ref, UrlRef)
        files = await source.plan(ref)
        assert len(files) == 1
        return source, files[0]

    yield run
    for session in sessions:
        await session.close()


def link(server: FileServer, name: str) -> str:
    return f"{server.base_url}/files/{name}"  # type: ignore[attr-defined]


async def test_the_content_disposition_name_is_used(file_server: FileServer, plan: Planner) -> None:
    file_server.add(
        "blob-7f3a", LORA_BYTES, disposition='attachment; filename="my_style.safetensors"'
    )
    _, file = await plan(link(file_server, "blob-7f3a"))
    assert file.filename == "my_style.safetensors"
    assert file.size == len(LORA_BYTES)
    assert (file.source, file.url) == ("url", link(file_server, "blob-7f3a"))
    assert (file.folder, file.folder_reason) == ("loras", "its tensors are LoRA weights")


async def test_a_file_nothing_explains_goes_to_checkpoints_and_says_why(
    file_server: FileServer, plan: Planner
) -> None:
    file_server.add("model.ckpt", b"PK" + bytes(100))
    _, file = await plan(link(file_server, "model.ckpt"))
    assert file.folder == "checkpoints"
    assert "checkpoints is the default" in file.folder_reason


async def test_the_rfc5987_name_wins_over_the_plain_one(
    file_server: FileServer, plan: Planner
) -> None:
    disposition = "attachment; filename=\"fallback.safetensors\"; filename*=UTF-8''%C3%A9l%C3%A8ve_lora.safetensors"
    file_server.add("blob", LORA_BYTES, disposition=disposition)
    _, file = await plan(link(file_server, "blob"))
    assert file.filename == "élève_lora.safetensors"
    assert file.folder == "loras"


async def test_without_a_disposition_the_url_names_the_file(
    file_server: FileServer, plan: Planner
) -> None:
    file_server.add("flux1-dev.safetensors", LORA_BYTES)
    _, file = await plan(link(file_server, "flux1-dev.safetensors") + "?download=true")
    assert file.filename == "flux1-dev.safetensors"
    assert file.folder == "diffusion_models"
    assert "name" in file.folder_reason


async def test_the_header_decides_when_the_name_says_nothing(
    file_server: FileServer, plan: Planner
) -> None:
    file_server.add("weights.safetensors", VAE_BYTES)
    _, file = await plan(link(file_server, "weights.safetensors"))
    assert file.folder == "vae"
    assert "VAE" in file.folder_reason


async def test_a_destination_override_wins(file_server: FileServer, plan: Planner) -> None:
    file_server.add("weights.safetensors", VAE_BYTES)
    _, file = await plan(link(file_server, "weights.safetensors") + "::loras/mine")
    assert file.relpath == "loras/mine/weights.safetensors"


@pytest.mark.parametrize(
    "disposition",
    [
        'attachment; filename="../../etc/passwd"',
        'attachment; filename="/etc/passwd"',
        'attachment; filename="C:\\\\Windows\\\\evil.safetensors"',
        "attachment; filename*=UTF-8''evil%00.safetensors",
        "attachment; filename*=UTF-8''..%2F..%2F.bashrc",
        'attachment; filename="CON.safetensors"',
        'attachment; filename="..."',
        f'attachment; filename="{"a" * 300}.safetensors"',
    ],
    ids=[
        "traversal",
        "absolute",
        "windows-drive",
        "nul",
        "encoded-traversal",
        "reserved",
        "dots",
        "long",
    ],
)
async def test_hostile_names_from_the_server_are_refused(
    file_server: FileServer, plan: Planner, disposition: str
) -> None:
    file_server.add("blob", LORA_BYTES, disposition=disposition)
    with pytest.raises(UnsafePathError) as caught:
        await plan(link(file_server, "blob"))
    assert caught.value.hint and "another link" in caught.value.hint


async def test_a_host_not_allowed_names_phoenix_allowed_hosts(
    file_server: FileServer, plan: Planner
) -> None:
    file_server.add("x.safetensors", LORA_BYTES)
    with pytest.raises(HostNotAllowedError) as caught:
        await plan(link(file_server, "x.safetensors"), allowed_hosts=())
    assert "PHOENIX_ALLOWED_HOSTS" in str(caught.value.hint)
    assert file_server.requests == []


async def test_a_web_page_is_refused(file_server: FileServer, plan: Planner) -> None:
    file_server.add("model.safetensors", LORA_BYTES)
    file_server.faults("model.safetensors", html=True)
    with pytest.raises(SourceError, match="serves a web page"):
        await plan(link(file_server, "model.safetensors"))


async def test_a_missing_file_is_not_found(file_server: FileServer, plan: Planner) -> None:
    with pytest.raises(NotFoundError):
        await plan(link(file_server, "nothing.safetensors"))


async def test_a_refused_head_falls_back_to_a_zero_byte_range_get(
    file_server: FileServer, plan: Planner
) -> None:
    file_server.add("lora_x.safetensors", LORA_BYTES)
    file_server.faults("lora_x.safetensors", statuses=[405])
    _, file = await plan(link(file_server, "lora_x.safetensors"))
    assert file.size == len(LORA_BYTES)
    methods = [(r.method, r.headers.get("Range")) for r in file_server.requests]
    assert methods[:2] == [("HEAD", None), ("GET", "bytes=0-0")]


async def test_the_endpoint_follows_redirects_without_credentials(
    file_server: FileServer, plan: Planner
) -> None:
    file_server.add("lora_y.safetensors", LORA_BYTES)
    target = link(file_server, "lora_y.safetensors")

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(target)

    app = web.Application()
    app.router.add_get("/go/lora_y.safetensors", redirect)
    async with TestServer(app, host="127.0.0.1") as shortener:
        source, file = await plan(str(shortener.make_url("/go/lora_y.safetensors")))
        endpoint = await source.endpoint(file)
    assert file.size == len(LORA_BYTES)
    assert endpoint.url == target
    assert dict(endpoint.headers) == {}
    assert all("Authorization" not in r.headers for r in file_server.requests)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('attachment; filename="a b.safetensors"', "a b.safetensors"),
        ("attachment; filename=plain.safetensors", "plain.safetensors"),
        ('inline; filename="q\\"uote.pt"', 'q"uote.pt'),
        ("attachment; filename*=utf-8'en'%E2%82%AC.bin; filename=e.bin", "€.bin"),
        ("attachment; filename*=bogus'en'%FF.bin; filename=fallback.bin", "fallback.bin"),
        ("attachment", None),
    ],
)
def test_content_disposition_parsing(header: str, expected: str | None) -> None:
    assert disposition_filename(header) == expected
