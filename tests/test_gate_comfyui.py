"""The login gate in the real ComfyUI, started as the container starts it.

ComfyUI runs with ``PHOENIX_CONTAINER=1`` (the gate is on by default there) and the
bootstrap's handoff in ``$PHOENIX_RUNTIME_DIR/secrets.json``: the internal API token and a
hash of the login password. Its ``--base-directory`` is a temporary folder whose
``custom_nodes`` links to this repository, so the shared checkout is never modified.
Runs when COMFYUI_DIR and COMFYUI_PYTHON are set; the browser test also needs Chromium.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import CANARY_HF
from peers.browser import CHROMIUM, CHROMIUM_ARGS, needs_chromium
from peers.comfyui import COMFYUI_DIR, COMFYUI_PYTHON, ComfyUI, needs_comfyui, plain_log

from bootstrap.gate_probe import probe_gate
from comfyui_phoenix.security.gate import SESSION_COOKIE
from comfyui_phoenix.security.secrets import hash_password, write_secret_file

ROOT = Path(__file__).resolve().parents[1]
USER, PASSWORD = "pod-owner", "a long pod password 42"
TOKEN = CANARY_HF  # the internal bearer token doubles as a canary: it must never be logged
ANONYMOUS = [
    "/",
    "/system_stats",
    "/api/system_stats",
    "/object_info",
    "/extensions",
    "/queue",
    "/api/phoenix/status",
    "/phoenix/capabilities",
    "/internal/logs",
    "/extensions/comfyui-phoenix/phoenix.js",
]

pytestmark = needs_comfyui


@dataclass
class Comfy:
    url: str
    log: Path
    runtime: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def comfy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Comfy]:
    base = tmp_path_factory.mktemp("comfy-gate")
    runtime = base / "runtime"
    write_secret_file(
        runtime / "secrets.json",
        {
            "api_token": TOKEN,
            "comfy_username": USER,
            "comfy_password_hash": hash_password(PASSWORD, iterations=20_000),
        },
    )
    env = {
        "PHOENIX_CONTAINER": "1",
        "PHOENIX_RUNTIME_DIR": str(runtime),
        "PHOENIX_RUNTIME_ENV": str(base / "no-runtime.env"),
        "PHOENIX_ENGINE": "python",
        "PYTHONUNBUFFERED": "1",
    }
    comfyui = ComfyUI(Path(COMFYUI_DIR), Path(COMFYUI_PYTHON), base)
    try:
        # The readiness check the container uses: the open health route.
        comfyui.start(env=env, ready_path="/phoenix/health")
        yield Comfy(comfyui.url, comfyui.log_path, runtime)
    finally:
        comfyui.stop()


def _session() -> aiohttp.ClientSession:
    # No cookie jar: each request carries exactly the credentials the test gives it.
    return aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())


async def _login(client: aiohttp.ClientSession, base: str) -> dict[str, str]:
    async with client.post(
        base + "/phoenix/login",
        data={"username": USER, "password": PASSWORD, "next": "/"},
        headers={"Accept": "text/html"},
        allow_redirects=False,
    ) as response:
        assert response.status == 303, await response.text()
        assert response.headers["Location"] == "/"
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        return {"Cookie": f"{SESSION_COOKIE}={response.cookies[SESSION_COOKIE].value}"}


async def _status(client: aiohttp.ClientSession, url: str, **kwargs: Any) -> int:
    async with client.get(url, allow_redirects=False, **kwargs) as response:
        await response.read()
        return response.status


async def test_anonymous_clients_are_refused_everywhere(comfy: Comfy) -> None:
    async with _session() as client:
        for path in ANONYMOUS:
            status = await _status(client, comfy.url + path, headers={"Accept": "*/*"})
            assert status == 401, path
        async with client.get(
            comfy.url + "/", headers={"Accept": "text/html"}, allow_redirects=False
        ) as page:
            assert page.status == 303
            assert page.headers["Location"].startswith("/phoenix/login?next=")
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect(comfy.url + "/ws?clientId=anonymous")
        assert refused.value.status == 401
        async with client.post(comfy.url + "/prompt", json={"prompt": {}}) as queued:
            assert queued.status == 401, "nobody can queue work (or a miner) without logging in"


async def test_health_and_the_login_page_stay_open(comfy: Comfy) -> None:
    async with _session() as client:
        for path in ("/phoenix/health", "/api/phoenix/health", "/phoenix/login"):
            assert await _status(client, comfy.url + path) == 200, path
        async with client.get(comfy.url + "/phoenix/login") as page:
            assert "default-src 'none'" in page.headers["Content-Security-Policy"]
            assert 'name="password"' in await page.text()


async def test_a_logged_in_session_reaches_comfyui_and_its_websocket(comfy: Comfy) -> None:
    async with _session() as client:
        session = await _login(client, comfy.url)
        for path in ANONYMOUS:
            assert await _status(client, comfy.url + path, headers=session) == 200, path
        info = await (await client.get(comfy.url + "/object_info", headers=session)).json()
        assert "PhoenixFetchModel" in info
        ws = await client.ws_connect(comfy.url + "/ws?clientId=gate-test", headers=session)
        first = await ws.receive_json(timeout=10)
        assert first["type"] == "status"
        await ws.close()
        async with client.post(
            comfy.url + "/phoenix/logout", headers={**session, "Accept": "application/json"}
        ) as out:
            assert out.status == 200
        assert await _status(client, comfy.url + "/system_stats", headers=session) == 401


async def test_the_bearer_token_reaches_comfyui_and_its_websocket(comfy: Comfy) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    async with _session() as client:
        assert await _status(client, comfy.url + "/system_stats", headers=bearer) == 200
        assert await _status(client, comfy.url + "/api/phoenix/status", headers=bearer) == 200
        ws = await client.ws_connect(comfy.url + "/ws", headers=bearer)
        assert (await ws.receive_json(timeout=10))["type"] == "status"
        await ws.close()
        wrong = {"Authorization": f"Bearer {TOKEN[:-1]}"}
        assert await _status(client, comfy.url + "/system_stats", headers=wrong) == 401


async def test_the_fail_closed_probe_sees_the_gate(comfy: Comfy) -> None:
    result = await probe_gate(comfy.url)
    assert result.ok and not result.exposed, result.to_dict()
    health = next(c for c in result.checks if c.name == "health")
    assert health.passed, "Phoenix itself answered"


def test_no_secret_reaches_the_log_or_status(comfy: Comfy) -> None:
    request = urllib.request.Request(  # noqa: S310 - loopback
        comfy.url + "/api/phoenix/status", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        status = response.read().decode()
    json.loads(status)
    text = plain_log(comfy.log)
    for secret in (TOKEN, PASSWORD):
        assert secret not in text and secret not in status


@pytest.mark.browser
@needs_chromium
def test_chromium_shows_the_login_form_then_comfyui(comfy: Comfy, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            frames: list[str] = []
            page.on(
                "websocket",
                lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))),
            )
            page.goto(comfy.url + "/")
            assert "/phoenix/login" in page.url
            page.wait_for_selector("form.phx-login")
            page.fill("#phx-username", USER)
            page.fill("#phx-password", "not the password")
            page.click("button[type=submit]")
            page.wait_for_selector("text=Wrong username or password.")
            page.fill("#phx-username", USER)
            page.fill("#phx-password", PASSWORD)
            page.click("button[type=submit]")
            # ComfyUI's own UI, and Phoenix's sidebar tab: scripts, API and websocket all
            # passed the gate with the session cookie.
            page.wait_for_selector("#graph-canvas", timeout=90_000)
            page.locator('.phoenix-tab-button, [data-testid="phoenix-tab-button"]').first.wait_for(
                timeout=60_000
            )
            assert page.url.rstrip("/") == comfy.url
            for _ in range(100):
                if frames:
                    break
                page.wait_for_timeout(100)
            assert any('"status"' in f for f in frames), "ComfyUI's websocket passed the gate"

            cookies = {c["name"]: c for c in page.context.cookies()}
            assert cookies[SESSION_COOKIE]["httpOnly"] is True
            assert cookies[SESSION_COOKIE]["sameSite"] == "Lax"
            page.screenshot(path=str(tmp_path / "comfyui-behind-gate.png"))
            # A fresh browser profile is anonymous again.
            other = browser.new_page()
            other.goto(comfy.url + "/")
            other.wait_for_selector("form.phx-login")
        finally:
            browser.close()
