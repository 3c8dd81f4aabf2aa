"""The real route factory, served by aiohttp, against local peers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from conftest import CANARY_HF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from peers.files import FileServer
from peers.hf import HFServer
from peers.models import FLUX_VAE, LORA, safetensors_bytes

from comfyui_phoenix.settings import Settings
from comfyui_phoenix.surfaces.app import PhoenixApp
from comfyui_phoenix.surfaces.routes import register

VAE = safetensors_bytes(FLUX_VAE, pad_to=1 << 20, seed=11)
ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def serve(
    aiohttp_client: Any, make_settings: Callable[..., Settings], tmp_path: Path
) -> Callable[..., Awaitable[TestClient[Any, Any]]]:
    async def start(**overrides: Any) -> TestClient[Any, Any]:
        app = web.Application()
        routes = web.RouteTableDef()
        register(routes)
        app.add_routes(routes)
        phoenix = PhoenixApp(
            make_settings(engine="python", **overrides),
            paths={"output": tmp_path},
            tokens_file=tmp_path / "user" / "tokens.json",
        )
        phoenix.attach(app)
        client: TestClient[Any, Any] = await aiohttp_client(app)
        return client

    return start


def _link(server: FileServer, name: str) -> str:
    return f"{server.base_url}/files/{name}"  # type: ignore[attr-defined]


async def _wait_state(client: TestClient[Any, Any], job_id: str, *states: str) -> dict[str, Any]:
    for _ in range(200):
        job: dict[str, Any] = await (await client.get(f"/phoenix/downloads/{job_id}")).json()
        if job["state"] in states:
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job stayed {job['state']}")


async def test_health_status_and_capabilities(serve: ClientMaker) -> None:
    client = await serve()
    health = await client.get("/phoenix/health")
    assert health.status == 200 and (await health.json())["ok"] is True
    status = await (await client.get("/phoenix/status")).json()
    assert status["gpu"]["available"] in (True, False)
    assert "models" in status["disks"] and status["engine"] == "python"
    caps = await (await client.get("/phoenix/capabilities")).json()
    assert caps["container"] is False and caps["cleanup_available"] is False
    assert "loras" in caps["folders"] and "unet" not in caps["folders"]


async def test_resolve_shows_the_plan_without_downloading(
    serve: ClientMaker, file_server: FileServer
) -> None:
    file_server.add("ae.safetensors", VAE)
    client = await serve()
    response = await client.post(
        "/phoenix/resolve", json={"refs": [_link(file_server, "ae.safetensors")]}
    )
    plan = await response.json()
    assert response.status == 200
    (file,) = plan["files"]
    assert file["folder"] == "vae" and file["size"] == len(VAE) and file["present"] is False
    assert file_server.bytes_sent < 64 << 10


async def test_download_lifecycle_through_the_routes(
    serve: ClientMaker, hf_server: HFServer, models_dir: Path
) -> None:
    hf_server.add_repo("acme/flux-vae", {"ae.safetensors": VAE})
    client = await serve(hf_endpoint=hf_server.url)
    response = await client.post(
        "/phoenix/downloads", json={"refs": ["acme/flux-vae/ae.safetensors"], "folder": "vae/flux"}
    )
    assert response.status == 202
    (job,) = (await response.json())["jobs"]
    done = await _wait_state(client, job["id"], "done", "failed")
    assert done["state"] == "done", done["error"]
    assert (models_dir / "vae" / "flux" / "ae.safetensors").read_bytes() == VAE
    listing = await (await client.get("/phoenix/downloads")).json()
    assert [j["id"] for j in listing["jobs"]] == [job["id"]]
    models = await (await client.get("/phoenix/models")).json()
    (entry,) = models["folders"]["vae"]
    assert entry["name"] == "flux/ae.safetensors"
    assert entry["verified"] is True, "the hub's LFS sha256 was checked"
    assert entry["ref"] == "hf:acme/flux-vae/ae.safetensors"


async def test_a_link_without_a_hash_is_listed_as_unverified(
    serve: ClientMaker, file_server: FileServer
) -> None:
    file_server.add("ae.safetensors", VAE)
    client = await serve()
    response = await client.post(
        "/phoenix/downloads", json={"refs": [_link(file_server, "ae.safetensors")]}
    )
    (job,) = (await response.json())["jobs"]
    assert (await _wait_state(client, job["id"], "done", "failed"))["state"] == "done"
    models = await (await client.get("/phoenix/models")).json()
    (entry,) = models["folders"]["vae"]
    assert entry["verified"] is False and entry["ref"].startswith("http")


async def test_pause_resume_cancel_and_retry(serve: ClientMaker, file_server: FileServer) -> None:
    file_server.per_connection_rate = 256 << 10
    data = safetensors_bytes(LORA, pad_to=2 << 20, seed=12)
    file_server.add("style_lora.safetensors", data)
    client = await serve()
    submitted = await client.post(
        "/phoenix/downloads", json={"refs": [_link(file_server, "style_lora.safetensors")]}
    )
    (job,) = (await submitted.json())["jobs"]
    await _wait_state(client, job["id"], "downloading")
    paused = await (await client.post(f"/phoenix/downloads/{job['id']}/pause")).json()
    assert paused["state"] == "paused"
    await (await client.post(f"/phoenix/downloads/{job['id']}/resume")).json()
    await _wait_state(client, job["id"], "downloading")
    cancelled = await (await client.delete(f"/phoenix/downloads/{job['id']}")).json()
    assert cancelled["state"] == "cancelled"
    file_server.per_connection_rate = None
    await client.post(f"/phoenix/downloads/{job['id']}/retry")
    assert (await _wait_state(client, job["id"], "done", "failed"))["state"] == "done"


async def test_a_gated_reference_explains_itself(serve: ClientMaker, hf_server: HFServer) -> None:
    hf_server.add_repo("acme/gated-model", {"model.safetensors": VAE}, gated="manual")
    client = await serve(hf_endpoint=hf_server.url)
    response = await client.post(
        "/phoenix/downloads", json={"refs": ["acme/gated-model/model.safetensors"]}
    )
    body = await response.json()
    assert response.status in (401, 403)
    assert body["error"] == "gated" and body["detail"] and body["hint"]
    (problem,) = body["problems"]
    assert problem["error"] == "gated"
    assert problem["licence_url"].endswith("/acme/gated-model")
    assert "HF_TOKEN" in problem["hint"] or "licence" in problem["hint"].lower()


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        (
            {
                "data": "refs=owner/repo",
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            },
            415,
        ),
        ({"json": {"refs": []}}, 400),
        ({"json": {"refs": ["a/b"], "extra": 1}}, 400),
        ({"data": b"{not json", "headers": {"Content-Type": "application/json"}}, 400),
        ({"json": {"refs": ["x" * 10]}, "headers": {}}, 400),
    ],
)
async def test_bad_bodies_are_refused_clearly(
    serve: ClientMaker, kwargs: dict[str, Any], status: int
) -> None:
    client = await serve()
    response = await client.post("/phoenix/resolve", **kwargs)
    if status == 400 and kwargs.get("json", {}).get("refs") == ["x" * 10]:
        body = await response.json()
        assert body["problems"][0]["error"] == "bad_reference"
        return
    assert response.status == status
    assert "json" in response.content_type


async def test_oversized_bodies_are_refused(serve: ClientMaker) -> None:
    client = await serve()
    response = await client.post(
        "/phoenix/resolve", json={"refs": ["a/b"] * 199, "folder": "x" * 70000}
    )
    assert response.status == 413


async def test_destructive_routes_refuse_forwarded_clients_without_the_token(
    serve: ClientMaker, models_dir: Path
) -> None:
    target = models_dir / "loras" / "old.safetensors"
    target.parent.mkdir(parents=True)
    target.write_bytes(safetensors_bytes(LORA))
    client = await serve(api_token="phoenix-api-token-123")
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    refused = await client.delete("/phoenix/models/loras/old.safetensors", headers=forwarded)
    assert refused.status == 403 and target.exists()
    assert "PHOENIX_API_TOKEN" in (await refused.json())["hint"]
    tokens = await client.put(
        "/phoenix/tokens", json={"civitai": "abc123456789"}, headers=forwarded
    )
    assert tokens.status == 403
    allowed = await client.delete(
        "/phoenix/models/loras/old.safetensors",
        headers={**forwarded, "Authorization": "Bearer phoenix-api-token-123"},
    )
    assert allowed.status == 200 and not target.exists()


@pytest.mark.parametrize(
    "path", ["../../etc/passwd.safetensors", "..%2F..%2Fx.safetensors", "a/../../b.safetensors"]
)
async def test_deleting_outside_the_models_root_is_refused(
    serve: ClientMaker, tmp_path: Path, path: str
) -> None:
    outside = tmp_path / "b.safetensors"
    outside.write_bytes(b"keep me")
    client = await serve()
    response = await client.delete(f"/phoenix/models/loras/{path}")
    assert response.status in (400, 404)
    assert outside.read_bytes() == b"keep me"


async def test_tokens_are_stored_0600_and_only_shown_masked(
    serve: ClientMaker, tmp_path: Path
) -> None:
    client = await serve()
    saved = await client.put("/phoenix/tokens", json={"huggingface": CANARY_HF})
    body = await saved.json()
    assert saved.status == 200
    assert CANARY_HF not in json.dumps(body) and body["huggingface"]["value"].endswith(
        CANARY_HF[-4:]
    )
    stored = tmp_path / "user" / "tokens.json"
    assert stored.stat().st_mode & 0o777 == 0o600
    shown = await (await client.get("/phoenix/tokens")).text()
    status = await (await client.get("/phoenix/status")).text()
    caps = await (await client.get("/phoenix/capabilities")).text()
    for text in (shown, status, caps):
        assert CANARY_HF not in text


async def test_events_start_with_a_snapshot_then_stream_jobs(
    serve: ClientMaker, file_server: FileServer
) -> None:
    file_server.add("ae.safetensors", VAE)
    client = await serve()
    stream = await client.get("/phoenix/events")
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    first = await _next_event(stream)
    assert first[0] == "snapshot" and set(first[1]) == {"jobs", "status", "preload"}
    await client.post("/phoenix/downloads", json={"refs": [_link(file_server, "ae.safetensors")]})
    states = set()
    for _ in range(50):
        kind, data = await _next_event(stream)
        if kind == "job":
            states.add(data["state"])
            if data["state"] == "done":
                break
    assert "done" in states
    stream.close()


async def _next_event(stream: Any) -> tuple[str, Any]:
    kind, data = "", ""
    while True:
        line = (await asyncio.wait_for(stream.content.readline(), 10)).decode().rstrip("\n")
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and kind:
            return kind, json.loads(data)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
_bodies = st.one_of(
    _json_values,
    st.fixed_dictionaries(
        {"refs": st.lists(st.text(max_size=60), max_size=4)},
        optional={"folder": st.text(max_size=30)},
    ),
    st.fixed_dictionaries(
        {}, optional={"huggingface": st.text(max_size=30), "civitai": _json_values}
    ),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=_bodies,
    route=st.sampled_from(["/phoenix/resolve", "/phoenix/downloads", "/phoenix/tokens"]),
)
async def test_any_json_body_gets_a_json_answer_never_a_crash(
    serve: ClientMaker, body: Any, route: str
) -> None:
    client = await serve()
    method = client.put if route.endswith("tokens") else client.post
    response = await method(route, json=body)
    assert response.status < 500, await response.text()
    payload = await response.json()
    if response.status >= 400:
        assert payload["error"] and payload["detail"]


async def test_a_rebound_name_on_loopback_cannot_delete_models(
    serve: ClientMaker, models_dir: Path
) -> None:
    target = models_dir / "loras" / "keep.safetensors"
    target.parent.mkdir(parents=True)
    target.write_bytes(safetensors_bytes(LORA))
    client = await serve()
    # DNS rebinding: the request comes from 127.0.0.1 but names the attacker's site.
    rebound = {"Host": "evil.example:8188", "Origin": "http://evil.example:8188"}
    refused = await client.delete("/phoenix/models/loras/keep.safetensors", headers=rebound)
    assert refused.status == 403 and target.exists()
    cross = await client.put(
        "/phoenix/tokens",
        json={"civitai": "abc123456789"},
        headers={"Origin": "http://evil.example"},
    )
    assert cross.status == 403
    allowed = await client.delete("/phoenix/models/loras/keep.safetensors")
    assert allowed.status == 200 and not target.exists()
