"""The login gate, in front of an aiohttp app shaped like ComfyUI's, with Phoenix's real routes.

The app has what the gate must cover in ComfyUI: plain routes and their ``/api`` aliases,
a websocket at ``/ws``, a sub-app (``/internal``), static files, Phoenix's own routes, and
unknown paths. The real-ComfyUI counterpart is ``test_gate_comfyui.py``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from conftest import CANARY_CIVITAI, CANARY_HF
from pydantic import SecretStr
from yarl import URL

from bootstrap.gate_probe import probe_gate
from comfyui_phoenix.security.gate import (
    LOGIN_CSP,
    SESSION_COOKIE,
    Gate,
    GateConfig,
    GateCredentials,
    client_address,
    install_gate,
    load_credentials,
    networks,
    safe_next,
)
from comfyui_phoenix.security.redact import SECRETS
from comfyui_phoenix.security.secrets import hash_password, write_secret_file
from comfyui_phoenix.settings import Settings
from comfyui_phoenix.surfaces.app import PhoenixApp
from comfyui_phoenix.surfaces.routes import register

USER, PASSWORD, TOKEN = "admin", "correct horse battery", "phx-api-token-0123456789"
HTML = {"Accept": "text/html,application/xhtml+xml"}
JSON_ACCEPT = {"Accept": "application/json"}
GATED = [
    "/",
    "/system_stats",
    "/api/system_stats",
    "/object_info",
    "/phoenix/status",
    "/api/phoenix/status",
    "/phoenix/capabilities",
    "/internal/logs",
    "/assets/app.js",
    "/no/such/route",
]


class Clock:
    """A clock the throttle and sessions read, moved by the test instead of sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def comfy_like_app(gate: Gate, settings: Settings, assets: Path) -> web.Application:
    """Routes like ComfyUI's, each also under ``/api``, behind the gate."""
    app = web.Application()
    routes = web.RouteTableDef()

    @routes.get("/")
    async def index(request: web.Request) -> web.Response:
        return web.Response(text="<html>ComfyUI</html>", content_type="text/html")

    @routes.get("/system_stats")
    async def system_stats(request: web.Request) -> web.Response:
        return web.json_response({"system": {"os": "posix"}})

    @routes.get("/object_info")
    async def object_info(request: web.Request) -> web.Response:
        return web.json_response({"KSampler": {}})

    @routes.post("/prompt")
    async def prompt(request: web.Request) -> web.Response:
        return web.json_response({"prompt_id": "1"})

    @routes.get("/ws")
    async def websocket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "status"})
        await ws.close()
        return ws

    register(routes)
    gate.register(routes)
    api = web.RouteTableDef()
    for route in routes:
        if isinstance(route, web.RouteDef):
            api.route(route.method, "/api" + route.path)(route.handler, **route.kwargs)
    app.add_routes(api)
    app.add_routes(routes)
    internal = web.Application()

    async def logs(request: web.Request) -> web.Response:
        return web.json_response({"entries": ["a secret prompt"]})

    internal.router.add_get("/logs", logs)
    app.add_subapp("/internal", internal)
    (assets / "app.js").write_text("console.log('comfy')")
    app.add_routes([web.static("/assets", assets)])
    install_gate(app, gate)
    PhoenixApp(settings, paths={"output": assets}, tokens_file=assets / "tokens.json").attach(app)
    return app


ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def creds() -> GateCredentials:
    return GateCredentials(USER, password=SecretStr(PASSWORD), api_token=SecretStr(TOKEN))


@pytest.fixture
def serve(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    clock: Clock,
    creds: GateCredentials,
) -> ClientMaker:
    async def start(
        config: GateConfig | None = None, credentials: GateCredentials | None = creds
    ) -> TestClient[Any, Any]:
        gate = Gate(config or GateConfig(), credentials, clock=clock)
        assets = tmp_path / "assets"
        assets.mkdir(exist_ok=True)
        app = comfy_like_app(gate, make_settings(engine="python", comfy_auth_setting=True), assets)
        client: TestClient[Any, Any] = await aiohttp_client(app)
        return client

    return start


async def _login(
    client: TestClient[Any, Any],
    password: str = PASSWORD,
    *,
    headers: dict[str, str] | None = None,
    next_path: str = "/",
) -> aiohttp.ClientResponse:
    return await client.post(
        "/phoenix/login",
        data={"username": USER, "password": password, "next": next_path},
        headers={**HTML, **(headers or {})},
        allow_redirects=False,
    )


def _session_header(response: aiohttp.ClientResponse) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={response.cookies[SESSION_COOKIE].value}"}


# -- anonymous clients ----------------------------------------------------------------------------
async def test_anonymous_browsers_are_sent_to_the_login_page(serve: ClientMaker) -> None:
    client = await serve()
    for path, expected in (("/", "/"), ("/object_info?x=1&y=2", "/object_info?x=1&y=2")):
        response = await client.get(path, headers=HTML, allow_redirects=False)
        assert response.status == 303
        location = URL(response.headers["Location"])
        assert location.path == "/phoenix/login" and location.query["next"] == expected
        assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", GATED)
async def test_anonymous_api_clients_get_401_everywhere(serve: ClientMaker, path: str) -> None:
    client = await serve()
    response = await client.get(path, headers=JSON_ACCEPT)
    assert response.status == 401
    body = await response.json()
    assert body["error"] == "auth_required" and "/phoenix/login" in body["hint"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    posted = await client.post("/prompt", json={"prompt": {}})
    assert posted.status == 401


async def test_the_websocket_is_refused_without_credentials(serve: ClientMaker) -> None:
    client = await serve()
    for path in ("/ws", "/api/ws"):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect(path)
        assert refused.value.status == 401


async def test_only_health_and_the_login_page_are_open(serve: ClientMaker) -> None:
    client = await serve()
    for path in ("/phoenix/health", "/api/phoenix/health"):
        health = await client.get(path)
        assert health.status == 200 and (await health.json())["ok"] is True
    page = await client.get("/phoenix/login")
    text = await page.text()
    assert page.status == 200 and page.content_type == "text/html"
    assert page.headers["Content-Security-Policy"] == LOGIN_CSP
    assert "default-src 'none'" in LOGIN_CSP and "form-action 'self'" in LOGIN_CSP
    assert '<form class="phx-login" method="post"' in text and 'type="password"' in text
    assert "<script" not in text and "http" not in text.replace("http-equiv", "")
    assert (await client.get("/api/phoenix/login")).status == 200
    # Other methods on open paths, and encoded or dotted paths, stay closed.
    assert (await client.put("/phoenix/login")).status == 401
    assert (await client.post("/phoenix/health")).status == 401
    for raw in ("/phoenix%2Flogin", "/phoenix/health/../../system_stats", "/phoenix/login/"):
        sneaky = await client.get(URL(raw, encoded=True), headers=JSON_ACCEPT)
        assert sneaky.status == 401, raw


async def test_until_credentials_load_everything_is_refused(serve: ClientMaker) -> None:
    client = await serve(credentials=None)
    assert (await client.get("/system_stats")).status == 503
    assert (await client.get("/phoenix/health")).status == 200
    assert (await _login(client)).status == 401


# -- logging in -----------------------------------------------------------------------------------
async def test_login_sets_a_lax_httponly_cookie_that_opens_everything(serve: ClientMaker) -> None:
    client = await serve()
    response = await _login(client, next_path="/object_info?x=1")
    assert response.status == 303 and response.headers["Location"] == "/object_info?x=1"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie, "plain HTTP on loopback: a Secure cookie would never return"
    assert len(response.cookies[SESSION_COOKIE].value) >= 43, "256 random bits"
    session = _session_header(response)
    for path in GATED[:-3]:
        answer = await client.get(path, headers=session)
        assert answer.status == 200, path
    assert (await client.get("/internal/logs", headers=session)).status == 200
    assert (await client.get("/assets/app.js", headers=session)).status == 200
    ws = await client.ws_connect("/ws", headers=session)
    assert (await ws.receive_json())["type"] == "status"
    await ws.close()
    # The login page itself sends a logged-in browser on.
    page = await client.get("/phoenix/login?next=/system_stats", headers=session, allow_redirects=False)  # fmt: skip
    assert page.status == 303 and page.headers["Location"] == "/system_stats"


async def test_the_cookie_is_secure_when_the_proxy_says_https(serve: ClientMaker) -> None:
    client = await serve()
    response = await _login(client, headers={"X-Forwarded-Proto": "https"})
    assert response.status == 303
    assert "Secure" in response.headers["Set-Cookie"]


async def test_api_clients_log_in_with_json(serve: ClientMaker) -> None:
    client = await serve()
    wrong = await client.post("/phoenix/login", json={"username": USER, "password": "nope"})
    assert wrong.status == 401 and (await wrong.json())["error"] == "bad_login"
    right = await client.post(
        "/api/phoenix/login", json={"username": USER, "password": PASSWORD, "next": "/queue"}
    )
    assert right.status == 200 and await right.json() == {"ok": True, "next": "/queue"}
    assert (await client.get("/system_stats", headers=_session_header(right))).status == 200


async def test_a_wrong_password_shows_the_form_again(serve: ClientMaker) -> None:
    client = await serve()
    response = await _login(client, "wrong")
    assert response.status == 401
    page = await response.text()
    assert "Wrong username or password." in page and f'value="{USER}"' in page
    assert SESSION_COOKIE not in response.cookies
    wrong_user = await client.post(
        "/phoenix/login", data={"username": "root", "password": PASSWORD}, headers=HTML
    )
    assert wrong_user.status == 401


async def test_the_bearer_token_opens_everything_without_a_session(serve: ClientMaker) -> None:
    client = await serve()
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert (await client.get("/system_stats", headers=bearer)).status == 200
    assert (await client.post("/prompt", json={}, headers=bearer)).status == 200
    ws = await client.ws_connect("/ws", headers=bearer)
    assert (await ws.receive_json())["type"] == "status"
    await ws.close()
    bad_headers = (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer ", f"Basic {TOKEN}")
    for n, bad in enumerate(bad_headers):
        # One client each: wrong tokens count against the client like wrong passwords.
        headers = {"Authorization": bad, "X-Forwarded-For": f"198.51.100.{n + 1}"}
        response = await client.get("/system_stats", headers=headers)
        assert response.status == 401, bad


async def test_logout_ends_the_session(serve: ClientMaker) -> None:
    client = await serve()
    session = _session_header(await _login(client))
    response = await client.post("/phoenix/logout", headers=session)
    assert response.status == 200
    assert f"{SESSION_COOKIE}=" in response.headers["Set-Cookie"]
    assert "Max-Age=0" in response.headers["Set-Cookie"]
    replayed = await client.get("/system_stats", headers=session)
    assert replayed.status == 401, "the old cookie is dead on the server, not just in the browser"


async def test_sessions_expire_when_idle(serve: ClientMaker, clock: Clock) -> None:
    client = await serve(GateConfig(session_idle=60, session_lifetime=600))
    session = _session_header(await _login(client))
    clock.advance(50)
    assert (await client.get("/system_stats", headers=session)).status == 200
    clock.advance(50)
    assert (await client.get("/system_stats", headers=session)).status == 200, "use keeps it alive"
    clock.advance(61)
    assert (await client.get("/system_stats", headers=session)).status == 401


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/object_info?a=1", "/object_info?a=1"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/phoenix/login?next=//evil", "/"),
        ("/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x"),
        ("/\r\nLocation: //evil", "/"),
        ("", "/"),
    ],
)
def test_next_never_leaves_the_site(target: str, expected: str) -> None:
    assert safe_next(target) == expected


async def test_login_redirects_only_inside_the_site(serve: ClientMaker) -> None:
    client = await serve()
    for target in ("//evil.example", "https://evil.example/x", "/\\evil.example"):
        response = await _login(client, next_path=target)
        assert response.status == 303 and response.headers["Location"] == "/", target
    client.session.cookie_jar.clear()  # anonymous again: the page is shown, not skipped
    page = await client.get("/phoenix/login", params={"next": '/"><script>alert(1)</script>'})
    text = await page.text()
    assert "<script>" not in text and "&quot;&gt;&lt;script&gt;" in text


# -- cross-site requests ----------------------------------------------------------------------
async def test_cookie_requests_from_other_sites_are_refused(serve: ClientMaker) -> None:
    client = await serve()
    session = _session_header(await _login(client))
    same = {**session, "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}
    assert (await client.post("/prompt", json={}, headers=same)).status == 200
    # A sibling pod on proxy.runpod.net is the same *site*: SameSite would let it through.
    sibling = {**session, "Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "cors"}
    refused = await client.post("/prompt", json={}, headers=sibling)
    assert refused.status == 403 and (await refused.json())["error"] == "cross_site"
    assert (await client.get("/system_stats", headers=sibling)).status == 403
    # Following a link from runpod.io still opens the page.
    link = {**session, **HTML, "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
    assert (await client.get("/", headers=link)).status == 200
    # Browsers without Fetch Metadata: Origin must name this host.
    evil = {**session, "Origin": "https://evil.example"}
    assert (await client.post("/prompt", json={}, headers=evil)).status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError) as hijack:
        await client.ws_connect("/ws", headers=evil)
    assert hijack.value.status == 403
    own = {**session, "Origin": f"http://{client.host}:{client.port}"}
    assert (await client.post("/prompt", json={}, headers=own)).status == 200
    # A bearer token is no ambient credential: no origin check.
    bearer = {"Authorization": f"Bearer {TOKEN}", "Origin": "https://tool.example"}
    assert (await client.post("/prompt", json={}, headers=bearer)).status == 200


async def test_gate_sessions_pass_phoenix_destructive_route_check(serve: ClientMaker) -> None:
    client = await serve()
    session = _session_header(await _login(client))
    forwarded = {"X-Forwarded-For": "203.0.113.7", **session}
    response = await client.put("/phoenix/tokens", json={"civitai": CANARY_CIVITAI}, headers=forwarded)  # fmt: skip
    assert response.status == 200, "logged in through the gate: trusted like the API token"
    assert CANARY_CIVITAI not in await response.text()


# -- brute force --------------------------------------------------------------------------------
async def test_failed_logins_are_delayed_then_locked_out(serve: ClientMaker, clock: Clock) -> None:
    config = GateConfig(free_attempts=2, base_delay=1, max_delay=8, lockout_after=5, lockout=600)
    client = await serve(config)
    attacker = {"X-Forwarded-For": "198.51.100.23"}
    assert (await _login(client, "a", headers=attacker)).status == 401
    assert (await _login(client, "b", headers=attacker)).status == 401
    throttled = await _login(client, PASSWORD, headers=attacker)
    assert throttled.status == 429 and throttled.headers["Retry-After"] == "1"
    assert "Too many failed logins" in await throttled.text()
    for guess, wait in (("c", 2), ("d", 4), ("e", 600)):
        clock.advance(float(throttled.headers["Retry-After"]) + 0.01)
        assert (await _login(client, guess, headers=attacker)).status == 401
        throttled = await _login(client, PASSWORD, headers=attacker)
        assert throttled.status == 429 and int(throttled.headers["Retry-After"]) == wait
    clock.advance(300)
    locked = await _login(client, PASSWORD, headers=attacker)
    assert locked.status == 429, "locked out: even the right password waits"
    # Someone else behind the same proxy is not locked out.
    assert (await _login(client, headers={"X-Forwarded-For": "192.0.2.50"})).status == 303
    clock.advance(301)
    assert (await _login(client, headers=attacker)).status == 303


async def test_forged_forwarded_addresses_do_not_reset_the_count(
    serve: ClientMaker, clock: Clock
) -> None:
    # The test client connects from loopback; with no trusted proxies its
    # X-Forwarded-For is the client's own claim and is ignored.
    client = await serve(GateConfig(free_attempts=1, base_delay=30, trusted_proxies=()))
    assert (await _login(client, "x", headers={"X-Forwarded-For": "198.51.100.1"})).status == 401
    rotated = await _login(client, "y", headers={"X-Forwarded-For": "198.51.100.2"})
    assert rotated.status == 429
    # Behind a trusted proxy, hops the client wrote further left prove nothing either.
    client = await serve(GateConfig(free_attempts=1, base_delay=30))
    first = {"X-Forwarded-For": "10.9.9.9, 198.51.100.5"}
    assert (await _login(client, "x", headers=first)).status == 401
    forged = {"X-Forwarded-For": "10.1.1.1, 198.51.100.5"}
    assert (await _login(client, "y", headers=forged)).status == 429


async def test_failures_from_everyone_together_have_a_ceiling(
    serve: ClientMaker, clock: Clock
) -> None:
    client = await serve(GateConfig(free_attempts=5, global_failures=3, failure_window=60))
    for n in range(3):
        forwarded = {"X-Forwarded-For": f"198.51.100.{n + 1}"}
        assert (await _login(client, "x", headers=forwarded)).status == 401
    fresh = await _login(client, headers={"X-Forwarded-For": "192.0.2.99"})
    assert fresh.status == 429
    clock.advance(61)
    assert (await _login(client, headers={"X-Forwarded-For": "192.0.2.99"})).status == 303


class HashMeter:
    """How many password checks run at once (they run in threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = 0
        self.peak = 0

    def __enter__(self) -> None:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.running -= 1


@dataclass(frozen=True)
class MeteredCredentials(GateCredentials):
    """The real credentials, with each password check timed like a slow PBKDF2."""

    meter: HashMeter = field(default_factory=HashMeter)

    def check_login(self, username: str, password: str) -> bool:
        with self.meter:
            time.sleep(0.03)
            return super().check_login(username, password)


def _statuses(responses: list[aiohttp.ClientResponse]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for response in responses:
        counts[response.status] = counts.get(response.status, 0) + 1
    return counts


async def test_a_burst_of_parallel_logins_gets_only_the_free_attempts(serve: ClientMaker) -> None:
    creds = MeteredCredentials(USER, password_hash=hash_password(PASSWORD, iterations=1000))
    client = await serve(GateConfig(free_attempts=3, base_delay=30), credentials=creds)
    attacker = {"X-Forwarded-For": "198.51.100.77"}
    burst = await asyncio.gather(
        *(_login(client, f"guess-{n}", headers=attacker) for n in range(30))
    )
    counts = _statuses(burst)
    assert counts.get(401, 0) <= 3 and counts.get(401, 0) + counts.get(429, 0) == 30, counts
    assert creds.meter.peak <= 2, "a login flood must not take every worker thread"
    assert (await _login(client, headers=attacker)).status == 429


async def test_the_ceiling_for_everyone_holds_under_a_parallel_burst(
    serve: ClientMaker, clock: Clock
) -> None:
    creds = MeteredCredentials(USER, password=SecretStr(PASSWORD))
    client = await serve(
        GateConfig(free_attempts=5, global_failures=4, failure_window=60), credentials=creds
    )
    burst = await asyncio.gather(
        *(
            _login(client, "x", headers={"X-Forwarded-For": f"198.51.100.{n + 1}"})
            for n in range(30)
        )
    )
    counts = _statuses(burst)
    assert counts.get(401, 0) <= 4 and counts.get(401, 0) + counts.get(429, 0) == 30, counts
    assert creds.meter.peak <= 2
    clock.advance(61)
    assert (await _login(client, headers={"X-Forwarded-For": "192.0.2.99"})).status == 303


async def test_a_successful_login_does_not_count_against_the_ceiling(serve: ClientMaker) -> None:
    client = await serve(GateConfig(global_failures=2))
    for n in range(5):
        response = await _login(client, headers={"X-Forwarded-For": f"198.51.100.{n + 1}"})
        assert response.status == 303, n


async def test_wrong_api_tokens_are_throttled_like_wrong_passwords(
    serve: ClientMaker, clock: Clock
) -> None:
    client = await serve(GateConfig(free_attempts=2, base_delay=30, lockout_after=4))
    attacker = {"X-Forwarded-For": "198.51.100.23", **JSON_ACCEPT}

    def bearer(token: str) -> dict[str, str]:
        return {**attacker, "Authorization": f"Bearer {token}"}

    for guess in ("guess-1", "guess-2"):
        assert (await client.get("/system_stats", headers=bearer(guess))).status == 401
    throttled = await client.get("/system_stats", headers=bearer(TOKEN))
    assert throttled.status == 429, "throttled: even the right token waits"
    assert throttled.headers["Retry-After"] == "30"
    assert (await throttled.json())["error"] == "too_many_attempts"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/ws", headers=bearer("guess-3"))
    assert refused.value.status == 429
    parallel = await asyncio.gather(
        *(client.get("/system_stats", headers=bearer(f"g{n}")) for n in range(20))
    )
    assert {r.status for r in parallel} == {429}
    # Someone else behind the same proxy still gets in.
    other = {"X-Forwarded-For": "192.0.2.50", "Authorization": f"Bearer {TOKEN}"}
    assert (await client.get("/system_stats", headers=other)).status == 200
    clock.advance(31)
    assert (await client.get("/system_stats", headers=bearer(TOKEN))).status == 200
    # A good token wipes the slate: two more typos are free again.
    for guess in ("typo-1", "typo-2"):
        assert (await client.get("/system_stats", headers=bearer(guess))).status == 401
    # Wrong tokens and wrong passwords share one count per client.
    assert (await _login(client, headers=attacker)).status == 429


def test_client_address_trusts_forwarding_only_from_trusted_proxies() -> None:
    from aiohttp.test_utils import make_mocked_request

    def request(peer: str, forwarded: str | None) -> web.Request:
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        req = make_mocked_request("GET", "/", headers=headers)
        return req.clone(remote=peer)

    private = networks("127.0.0.0/8", "10.0.0.0/8")
    assert client_address(request("10.0.0.5", "203.0.113.9"), private) == "203.0.113.9"
    assert client_address(request("203.0.113.1", "198.51.100.7"), private) == "203.0.113.1"
    assert client_address(request("10.0.0.5", "1.2.3.4, 203.0.113.9, 10.0.0.6"), private) == (
        "203.0.113.9"
    )
    assert client_address(request("10.0.0.5", "not-an-ip"), private) == "10.0.0.5"
    assert client_address(request("10.0.0.5", None), private) == "10.0.0.5"
    container = GateConfig.for_settings(Settings(PHOENIX_CONTAINER=True)).trusted_proxies
    local = GateConfig.for_settings(Settings()).trusted_proxies
    assert client_address(request("10.0.0.5", "203.0.113.9"), container) == "203.0.113.9"
    assert client_address(request("10.0.0.5", "203.0.113.9"), local) == "10.0.0.5"


# -- credentials --------------------------------------------------------------------------------
async def test_credentials_come_from_the_handoff_as_a_hash(
    serve: ClientMaker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    handoff = tmp_path / "runtime" / "secrets.json"
    write_secret_file(
        handoff,
        {
            "api_token": CANARY_HF,
            "comfy_username": "pod-user",
            "comfy_password_hash": hash_password(PASSWORD, iterations=1000),
        },
    )
    settings = Settings(COMFY_PASSWORD="env-password-ignored-for-hash")
    creds = load_credentials(settings, handoff)
    assert creds.username == "pod-user" and creds.password_hash is not None
    assert CANARY_HF in set(SECRETS.values()), "the API token is masked in logs"
    client = await serve(credentials=creds)
    caplog.set_level(logging.INFO)
    login = await client.post(
        "/phoenix/login",
        data={"username": "pod-user", "password": PASSWORD},
        headers=HTML,
        allow_redirects=False,
    )
    assert login.status == 303
    bad = await client.post(
        "/phoenix/login", data={"username": "pod-user", "password": CANARY_CIVITAI}, headers=HTML
    )
    assert bad.status == 401
    bearer = await client.get("/system_stats", headers={"Authorization": f"Bearer {CANARY_HF}"})
    assert bearer.status == 200
    assert CANARY_CIVITAI not in caplog.text and CANARY_HF not in caplog.text


def test_credentials_default_to_filebrowser_and_settings() -> None:
    fb = load_credentials(Settings(FB_USERNAME="fbuser", FB_PASSWORD="fb-secret-pw"))
    assert fb.username == "fbuser" and fb.check_login("fbuser", "fb-secret-pw")
    assert not fb.check_login("fbuser", "fb-secret-pw ") and fb.api_token is None
    comfy = load_credentials(
        Settings(
            FB_USERNAME="fbuser",
            FB_PASSWORD="fb-secret-pw",
            COMFY_USERNAME="artist",
            COMFY_PASSWORD="own-password",
            PHOENIX_API_TOKEN=TOKEN,
        )
    )
    assert comfy.check_login("artist", "own-password") and not comfy.check_login("fbuser", "fb-secret-pw")  # fmt: skip
    assert comfy.check_bearer(TOKEN) and not comfy.check_bearer(TOKEN + "x")
    nobody = load_credentials(Settings())
    assert not nobody.can_log_in and not nobody.check_login("admin", "")


async def test_oversized_login_bodies_are_refused(serve: ClientMaker) -> None:
    client = await serve()
    response = await client.post(
        "/phoenix/login", data={"username": USER, "password": "x" * 10_000}, headers=HTML
    )
    assert response.status == 413


# -- the fail-closed probe ----------------------------------------------------------------------
async def test_the_probe_passes_a_working_gate(serve: ClientMaker) -> None:
    client = await serve()
    result = await probe_gate(str(client.make_url("/")))
    assert result.ok and not result.exposed, result.to_dict()
    names = {c.name for c in result.checks}
    assert names == {"api", "page", "websocket", "health"}
    assert "refuses anonymous requests" in result.message
    json.dumps(result.to_dict())


async def test_the_probe_catches_an_open_comfyui(
    aiohttp_server: Any, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    gate = Gate(GateConfig(), GateCredentials(USER, password=SecretStr(PASSWORD)))
    app = comfy_like_app(gate, make_settings(engine="python"), tmp_path)
    app.middlewares.clear()  # Phoenix failed to load: no gate
    server: TestServer = await aiohttp_server(app)
    result = await probe_gate(str(server.make_url("/")))
    assert not result.ok and result.exposed
    assert "/system_stats" in result.message and "/ws" in result.message
    assert "not in place" in result.message


async def test_the_probe_fails_closed_when_nothing_answers() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = await probe_gate(f"http://127.0.0.1:{port}", timeout=2)
    assert not result.ok and not result.exposed
    assert "unexpectedly" in result.message
