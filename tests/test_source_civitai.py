"""The CivitAI source against a local CivitAI API and a separate signed-URL storage host."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from blake3 import blake3
from conftest import CANARY_CIVITAI
from peers.civitai import CivitaiServer
from peers.models import FLUX_TRANSFORMER, FLUX_VAE, LORA, safetensors_bytes

from comfyui_phoenix.errors import AuthError, GatedError, NotFoundError, TransientError
from comfyui_phoenix.net.endpoint import Endpoint
from comfyui_phoenix.net.http import make_session
from comfyui_phoenix.net.policy import HostPolicy
from comfyui_phoenix.plan import PlannedFile
from comfyui_phoenix.refs import parse_reference
from comfyui_phoenix.security.secrets import Tokens
from comfyui_phoenix.settings import Settings
from comfyui_phoenix.sources.base import SourceContext
from comfyui_phoenix.sources.civitai import CivitaiSource

LORA_NEW = safetensors_bytes(LORA, seed=1)
LORA_NEW_PICKLE = b"\x80\x02" + bytes(range(200))
LORA_OLD = safetensors_bytes(LORA, seed=2)
BARE_FLUX = safetensors_bytes(FLUX_TRANSFORMER, seed=3)
VAE = safetensors_bytes(FLUX_VAE, seed=4)
DEADLINE = "2031-01-01T00:00:00.000Z"

Planner = Callable[..., Awaitable[tuple[CivitaiSource, list[PlannedFile]]]]


@pytest.fixture
def civitai(civitai_server: CivitaiServer) -> CivitaiServer:
    """The peer with a LoRA, a FLUX checkpoint, a login-only model and an early-access one."""
    server = civitai_server
    server.tokens.add(CANARY_CIVITAI)
    lora_files = [
        {"id": 10021, "name": "cool_style.safetensors", "type": "Model", "data": LORA_NEW,
         "primary": True, "metadata": {"format": "SafeTensor", "fp": "fp16"}},
        {"id": 10022, "name": "cool_style.pt", "type": "Model", "data": LORA_NEW_PICKLE,
         "metadata": {"format": "PickleTensor", "fp": "fp32"}},
    ]  # fmt: skip
    server.add_model(
        100,
        "Cool Style",
        "LORA",
        [
            {"id": 1002, "name": "v2", "baseModel": "Flux.1 D", "files": lora_files,
             "air": "urn:air:flux1:lora:civitai:100@1002"},
            {"id": 1001, "name": "v1", "files": [
                {"id": 10011, "name": "cool_style_v1.safetensors", "data": LORA_OLD,
                 "primary": True, "metadata": {"format": "SafeTensor"}}]},
        ],
    )  # fmt: skip
    server.add_model(
        200,
        "Flux Dev Tuned",
        "Checkpoint",
        [{"id": 2001, "name": "v1", "files": [
            {"id": 20011, "name": "fluxtuned_v1.safetensors", "type": "Model", "data": BARE_FLUX,
             "primary": True, "metadata": {"format": "SafeTensor", "size": "full", "fp": "bf16"}},
            {"id": 20012, "name": "fluxtuned_v1_vae.safetensors", "type": "VAE", "data": VAE,
             "metadata": {"format": "SafeTensor"}},
        ]}],
    )  # fmt: skip
    login_file = {"id": 30011, "name": "members.safetensors", "data": LORA_NEW, "primary": True}
    server.add_model(300, "Members Only", "LORA", [{"id": 3001, "files": [login_file]}],
                     requires_auth=True)  # fmt: skip
    early_file = {"id": 40011, "name": "early.safetensors", "data": LORA_NEW, "primary": True}
    server.add_model(400, "Early Bird", "LORA", [{"id": 4001, "files": [early_file]}],
                     early_access_deadline=DEADLINE)  # fmt: skip
    archived_file = {"id": 50011, "name": "old.safetensors", "data": LORA_NEW, "primary": True}
    server.add_model(500, "Gone", "LORA", [{"id": 5001, "files": [archived_file]}], archived=True)
    return server


@pytest.fixture
async def plan(
    civitai: CivitaiServer, make_settings: Callable[..., Settings]
) -> AsyncIterator[Planner]:
    """Plan a reference as a user would, with or without a CivitAI token."""
    sessions: list[aiohttp.ClientSession] = []

    async def run(
        text: str, *, token: str | None = None, user_agent: str | None = None
    ) -> tuple[CivitaiSource, list[PlannedFile]]:
        settings = make_settings(civitai_base_url=civitai.url)
        policy = HostPolicy(settings)
        session = make_session(policy)
        if user_agent:
            session.headers["User-Agent"] = user_agent
        sessions.append(session)
        source = CivitaiSource(SourceContext(settings, session, policy, Tokens(civitai=token)))
        ref = parse_reference(text, civitai_base_url=civitai.url)
        return source, await source.plan(ref)

    yield run
    for session in sessions:
        await session.close()


async def fetch(endpoint: Endpoint) -> bytes:
    async with (
        aiohttp.ClientSession() as session,
        session.get(endpoint.url, headers=dict(endpoint.headers)) as response,
    ):
        assert response.status == 200, await response.text()
        return await response.read()


def only(files: list[PlannedFile]) -> PlannedFile:
    assert len(files) == 1
    return files[0]


async def test_a_model_id_plans_the_latest_versions_primary_file(
    civitai: CivitaiServer, plan: Planner
) -> None:
    _, files = await plan("civitai:100")
    file = only(files)
    assert file.filename == "cool_style.safetensors"
    assert (file.folder, file.source, file.revision) == ("loras", "civitai", "1002")
    assert "LORA" in file.folder_reason
    assert file.url.startswith(f"{civitai.url}/api/download/models/1002?")
    assert "fileId=10021" in file.url
    assert file.size == len(LORA_NEW)
    assert file.sha256 == hashlib.sha256(LORA_NEW).hexdigest()
    assert file.blake3 == blake3(LORA_NEW).hexdigest()
    assert file.token is None
    assert file.meta["model_name"] == "Cool Style"
    assert file.meta["version_name"] == "v2"
    assert file.meta["base_model"] == "Flux.1 D"
    assert file.meta["air"] == "urn:air:flux1:lora:civitai:100@1002"
    assert abs(file.meta["approx_size"] - len(LORA_NEW)) <= 1


async def test_a_version_pin_plans_that_version(plan: Planner) -> None:
    _, files = await plan("civitai:100@1001")
    assert only(files).filename == "cool_style_v1.safetensors"
    assert only(files).sha256 == hashlib.sha256(LORA_OLD).hexdigest()


async def test_a_version_of_another_model_is_refused(plan: Planner) -> None:
    with pytest.raises(NotFoundError, match="belongs to CivitAI model 100"):
        await plan("civitai:200@1001")


async def test_a_type_filter_picks_the_vae_file(civitai: CivitaiServer, plan: Planner) -> None:
    _, files = await plan(f"{civitai.url}/api/download/models/2001?type=VAE")
    file = only(files)
    assert (file.filename, file.folder) == ("fluxtuned_v1_vae.safetensors", "vae")
    assert "'VAE'" in file.folder_reason


async def test_an_air_with_a_file_id_plans_that_file(plan: Planner) -> None:
    source, files = await plan("urn:air:flux1:lora:civitai:100@1002+10022")
    file = only(files)
    assert file.filename == "cool_style.pt"
    assert "fileId=10022" in file.url
    assert await fetch(await source.endpoint(file)) == LORA_NEW_PICKLE


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/models/100/cool-style", "cool_style.safetensors"),
        ("/models/100?modelVersionId=1001", "cool_style_v1.safetensors"),
        ("/api/download/models/1002", "cool_style.safetensors"),
        ("/api/download/models/1002?format=PickleTensor", "cool_style.pt"),
    ],
)
async def test_civitai_links_are_planned(
    civitai: CivitaiServer, plan: Planner, path: str, expected: str
) -> None:
    _, files = await plan(civitai.url + path)
    assert only(files).filename == expected


async def test_a_destination_override_wins(plan: Planner) -> None:
    _, files = await plan("civitai:200::checkpoints/flux")
    file = only(files)
    assert (file.folder, file.subfolder) == ("checkpoints", "flux")
    assert file.relpath == "checkpoints/flux/fluxtuned_v1.safetensors"
    assert "you chose" in file.folder_reason


async def test_a_checkpoint_that_is_a_bare_flux_transformer_goes_to_diffusion_models(
    plan: Planner,
) -> None:
    _, files = await plan("urn:air:flux1:checkpoint:civitai:200@2001")
    file = only(files)
    assert file.folder == "diffusion_models"
    assert "listed as a checkpoint" in file.folder_reason
    assert "FLUX transformer" in file.folder_reason


async def test_the_planned_file_is_pinned_not_left_to_the_token_owners_preferences(
    civitai: CivitaiServer, plan: Planner
) -> None:
    civitai.owner_preferences = {"format": "PickleTensor"}
    source, files = await plan("civitai:100", token=CANARY_CIVITAI)
    assert await fetch(await source.endpoint(only(files))) == LORA_NEW


async def test_a_login_only_model_without_a_token_says_how_to_set_one(
    civitai: CivitaiServer, plan: Planner
) -> None:
    with pytest.raises(AuthError) as caught:
        await plan("civitai:300")
    assert "requires a login" in caught.value.detail
    assert caught.value.hint == (
        f"Set CIVITAI_TOKEN (create a key at {civitai.url}/user/account) and retry."
    )


async def test_a_browser_login_redirect_is_an_auth_error_not_a_file(
    civitai: CivitaiServer, plan: Planner
) -> None:
    with pytest.raises(AuthError, match="CIVITAI_TOKEN"):
        await plan("civitai:300", user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/130")
    assert any(r.path == "/login" for r in civitai.api_requests)


async def test_a_rejected_token_is_named(plan: Planner) -> None:
    with pytest.raises(AuthError) as caught:
        await plan("civitai:300", token="not-a-real-key-000")
    assert "did not accept the token" in caught.value.detail
    assert "not-a-real-key-000" not in str(caught.value)


async def test_the_token_reaches_civitai_only_and_storage_gets_a_clean_signed_url(
    civitai: CivitaiServer, plan: Planner
) -> None:
    source, files = await plan("civitai:300", token=CANARY_CIVITAI)
    file = only(files)
    assert file.token == "civitai"
    assert CANARY_CIVITAI not in file.url
    endpoint = await source.endpoint(file)
    assert endpoint.url.startswith(f"{civitai.storage_url}/file/30011?")
    assert dict(endpoint.headers) == {}
    assert await fetch(endpoint) == LORA_NEW

    downloads = [r for r in civitai.api_requests if r.path.startswith("/api/download/")]
    assert downloads
    assert all(r.headers.get("Authorization") == f"Bearer {CANARY_CIVITAI}" for r in downloads)
    assert civitai.storage_requests
    for request in civitai.storage_requests:
        assert "Authorization" not in request.headers
    for request in civitai.api_requests + civitai.storage_requests:
        assert CANARY_CIVITAI not in request.path + "?" + request.query


async def test_early_access_names_the_deadline_and_the_model_page(
    civitai: CivitaiServer, plan: Planner
) -> None:
    with pytest.raises(GatedError) as caught:
        await plan("civitai:400", token=CANARY_CIVITAI)
    assert DEADLINE in caught.value.detail
    assert caught.value.licence_url == f"{civitai.url}/models/400?modelVersionId=4001"
    assert caught.value.licence_url in str(caught.value.hint)
    assert CANARY_CIVITAI not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("civitai:999", "CivitAI has no model 999"),
        ("civitai:100@9999", "CivitAI has no model version 9999"),
        ("civitai:500", "archived"),
    ],
)
async def test_missing_models_and_versions_are_not_found(
    plan: Planner, text: str, message: str
) -> None:
    with pytest.raises(NotFoundError, match=message):
        await plan(text)


async def test_a_filter_that_matches_nothing_lists_the_available_files(
    civitai: CivitaiServer, plan: Planner
) -> None:
    with pytest.raises(NotFoundError) as caught:
        await plan(f"{civitai.url}/api/download/models/1002?format=GGUF")
    assert "File not found" in caught.value.detail
    assert "cool_style.safetensors" in str(caught.value.hint)
    assert "cool_style.pt" in str(caught.value.hint)


async def test_rate_limiting_is_waited_out_as_the_server_asks(
    civitai: CivitaiServer, plan: Planner
) -> None:
    civitai.fail_next(429, retry_after="1")
    began = time.monotonic()
    _, files = await plan("civitai:100")
    assert only(files).filename == "cool_style.safetensors"
    assert time.monotonic() - began >= 1.0  # Retry-After honoured, not hammered
    assert len([r for r in civitai.api_requests if r.path == "/api/v1/models/100"]) == 2


async def test_a_burst_of_503_from_storage_at_planning_is_retried(
    civitai: CivitaiServer, plan: Planner
) -> None:
    civitai.fail_storage_next(503, times=3)
    _, files = await plan("civitai:100")
    assert only(files).size == len(LORA_NEW)


async def test_a_wait_longer_than_planning_allows_fails_at_once_and_says_so(
    civitai: CivitaiServer, plan: Planner
) -> None:
    civitai.fail_next(429, retry_after="600")
    with pytest.raises(TransientError) as caught:
        await plan("civitai:100")
    assert caught.value.retry_after == 600.0
    assert "wait 600 s" in str(caught.value.hint)


async def test_a_civitai_that_stays_down_ends_the_plan_with_an_honest_hint(
    civitai: CivitaiServer, plan: Planner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("comfyui_phoenix.net.retry.BACKOFF_BASE", 0.01)
    civitai.fail_next(503, times=100)
    with pytest.raises(TransientError) as caught:
        await plan("civitai:100")
    hint = str(caught.value.hint)
    assert "tried 6 times" in hint
    assert "on its own" not in hint  # the CLI has given up by then: no promise of more


async def test_each_endpoint_call_gets_a_fresh_signed_url(
    civitai: CivitaiServer, plan: Planner
) -> None:
    civitai.ttl = 0.3
    source, files = await plan("civitai:100")
    first = await source.endpoint(only(files))
    await asyncio.sleep(0.4)
    async with aiohttp.ClientSession() as session, session.get(first.url) as response:
        assert response.status == 403
        assert "Request has expired" in await response.text()
    second = await source.endpoint(only(files))
    assert second.url != first.url
    assert await fetch(second) == LORA_NEW


def test_the_peer_refuses_a_second_auth_mechanism(civitai: CivitaiServer) -> None:
    """The storage host acts like S3: a forwarded Authorization header is a 400."""

    async def attempt() -> tuple[int, Any]:
        url = civitai.sign(10021)
        headers = {"Authorization": f"Bearer {CANARY_CIVITAI}"}
        async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as r:
            return r.status, await r.text()

    status, body = asyncio.run(attempt())
    assert status == 400
    assert "Only one auth mechanism allowed" in body


async def test_planning_asks_storage_for_one_byte_not_the_file(
    civitai: CivitaiServer, plan: Planner
) -> None:
    source, files = await plan("civitai:100")
    assert only(files).size == len(LORA_NEW), "the size comes from Content-Range"
    ranges = [r.headers.get("Range") for r in civitai.storage_requests]
    assert "bytes=0-0" in ranges and None not in ranges, ranges
    endpoint = await source.endpoint(only(files))
    assert "Range" not in endpoint.headers, "the probe never reaches an engine"
