"""The web and sign-in hardening of issue 14, against the live daemon (real sockets, real
PostgreSQL): who may unmask a national ID, sign-in limits that hold under parallel guesses
without locking the real user out, disabled users cut off at once, no login CSRF, Argon2
hashes with rehash on sign-in, and trusted reverse proxies."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from argon2 import PasswordHasher
from harness import PASSWORD, Daemon, handled_call, next_message, running_daemon, signed_in

from cti.app import create_app
from cti.auth.passwords import verify_password
from cti.auth.ratelimit import Limits
from cti.auth.users import SessionStore
from cti.keys import DATABASE, LOGIN_LIMITER, SESSIONS
from cti.push.ws import SIGNED_OUT
from cti.settings import Settings, SettingsError, load_settings

CALLER = "905321112233"  # handled_call's caller


def browser(daemon: Daemon, address: str | None = None) -> aiohttp.ClientSession:
    """A client of the panel, from ``address`` (another loopback address is another
    machine as far as the daemon can tell)."""
    connector = aiohttp.TCPConnector(limit=0, local_addr=(address, 0) if address else None)
    return aiohttp.ClientSession(
        daemon.url, connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True)
    )


async def closed_with(ws: aiohttp.ClientWebSocketResponse) -> int:
    """The close code of the socket, once the server closes it (messages before are skipped)."""

    async def read() -> int:
        while True:
            message = await ws.receive()
            if message.type == aiohttp.WSMsgType.CLOSE:
                return int(message.data)
            assert message.type == aiohttp.WSMsgType.TEXT, message

    return await asyncio.wait_for(read(), 10)


async def sign_in(
    session: aiohttp.ClientSession,
    username: str,
    password: str = PASSWORD,
    headers: dict[str, str] | None = None,
) -> aiohttp.ClientResponse:
    async with session.post(
        "/api/login", json={"username": username, "password": password}, headers=headers
    ) as response:
        await response.read()
        return response


# --- 1. national ID: only the caller of the agent's own call ---------------------------------


async def test_a_national_id_is_unmasked_only_for_the_caller_of_that_call(daemon: Daemon) -> None:
    pool = await daemon.app[DATABASE].pool()
    ids = {}
    for name, national_id, e164 in (
        ("Fatma Demir", "11111111110", "+" + CALLER),
        ("Someone Else", "22222222220", "+905559998877"),
    ):
        ids[name] = await pool.fetchval(
            "INSERT INTO customers (full_name, national_id) VALUES ($1, $2) RETURNING id",
            name,
            national_id,
        )
        await pool.execute(
            "INSERT INTO customer_phones (customer_id, e164, raw) VALUES ($1, $2, $2)",
            ids[name],
            e164,
        )
    linkedid = await handled_call(daemon, "SIP/1001")
    agent, csrf = await signed_in(daemon, "agent1")
    headers = {"X-CSRF-Token": csrf, "Origin": daemon.url}
    try:
        # Citing one's own call does not unmask a customer who did not make it.
        async with agent.post(
            f"/api/customers/{ids['Someone Else']}/verify",
            json={"linkedid": linkedid},
            headers=headers,
        ) as r:
            assert r.status == 403, await r.text()
            assert "not the caller" in await r.text()
        async with agent.post(
            f"/api/customers/{ids['Fatma Demir']}/verify",
            json={"linkedid": linkedid},
            headers=headers,
        ) as r:
            assert r.status == 200, await r.text()
            assert (await r.json())["national_id"] == "11111111110"
    finally:
        await agent.close()
    audited = await pool.fetch("SELECT customer_id FROM identity_checks")
    assert [r["customer_id"] for r in audited] == [ids["Fatma Demir"]]


# --- 2. sign-in limits ------------------------------------------------------------------------


async def test_parallel_guesses_reach_the_password_check_only_five_times(daemon: Daemon) -> None:
    attacker = browser(daemon)
    try:
        answers = await asyncio.gather(
            *(sign_in(attacker, "agent1", f"guess-{n}") for n in range(200))
        )
    finally:
        await attacker.close()
    statuses = [r.status for r in answers]
    checked = statuses.count(401)
    print(
        f"200 parallel guesses: {checked} reached the password check, "
        f"{statuses.count(429)} refused before it"
    )
    assert checked == 5 and statuses.count(429) == 195
    refused = next(r for r in answers if r.status == 429)
    assert int(refused.headers["Retry-After"]) > 0
    # The real user, on their own machine, is not locked out by the guesses.
    user = browser(daemon, "127.0.0.2")
    try:
        assert (await sign_in(user, "agent1")).status == 200
    finally:
        await user.close()


async def test_another_users_success_does_not_reset_an_address(daemon: Daemon) -> None:
    daemon.app[LOGIN_LIMITER].limits = Limits(per_address=5, per_user_address=100)
    sprayer = browser(daemon, "127.0.0.3")
    try:
        for n in range(4):
            assert (await sign_in(sprayer, f"nobody{n}", "guess-guess")).status == 401
        assert (await sign_in(sprayer, "agent2")).status == 200  # the sprayer's own account
        assert (await sign_in(sprayer, "nobody4", "guess-guess")).status == 401
        refused = await sign_in(sprayer, "nobody5", "guess-guess")
        assert refused.status == 429  # five failures from this address, success or not
    finally:
        await sprayer.close()


async def test_guesses_from_many_addresses_slow_down_without_locking_the_user_out(
    database_url: str, tmp_path: Path
) -> None:
    # Behind a trusted proxy: each guess seems to come from another address.
    async with running_daemon(
        database_url, tmp_path, http_trusted_proxies=("127.0.0.1",)
    ) as daemon:
        daemon.app[LOGIN_LIMITER].limits = Limits(user_free=3, user_delay_s=600, max_wait_s=0)
        proxy = browser(daemon)
        try:
            home = {"X-Forwarded-For": "198.51.100.7"}
            assert (await sign_in(proxy, "agent1", headers=home)).status == 200
            statuses = [
                (
                    await sign_in(
                        proxy,
                        "agent1",
                        "guess-guess",
                        headers={"X-Forwarded-For": f"203.0.113.9, 10.9.0.{n}"},
                    )
                ).status
                for n in range(6)
            ]
            # Three free guesses, a fourth spaced by the delay, then "wait": never a lock.
            assert statuses == [401, 401, 401, 401, 429, 429]
            slowed = await sign_in(proxy, "agent1", headers={"X-Forwarded-For": "198.51.100.8"})
            assert slowed.status == 429 and int(slowed.headers["Retry-After"]) > 0
            # From where the user signed in before, no delay at all.
            assert (await sign_in(proxy, "agent1", headers=home)).status == 200
        finally:
            await proxy.close()


# --- 3. disabled users are cut off -------------------------------------------------------------


async def test_disabling_a_user_ends_their_sessions_and_websocket_at_once(daemon: Daemon) -> None:
    agent, _ = await signed_in(daemon, "agent1")
    admin, admin_csrf = await signed_in(daemon, "root")
    try:
        async with agent.ws_connect("/ws", headers={"Origin": daemon.url}) as ws:
            await next_message(ws, "snapshot")
            async with agent.get("/api/me") as r:
                assert r.status == 200  # the session is in the daemon's cache now
            async with admin.post(
                "/api/users/agent1/disable",
                headers={"X-CSRF-Token": admin_csrf, "Origin": daemon.url},
            ) as r:
                assert r.status == 200, await r.text()
                assert await r.json() == {"disabled": "agent1", "websockets_closed": 1}
            async with agent.get("/api/me") as r:
                assert r.status == 401  # the very next request
            assert await closed_with(ws) == SIGNED_OUT
        assert (await sign_in(agent, "agent1")).status == 401
        async with admin.post(
            "/api/users/root/disable", headers={"X-CSRF-Token": admin_csrf, "Origin": daemon.url}
        ) as r:
            assert r.status == 409 and "another admin" in await r.text()
    finally:
        await agent.close()
        await admin.close()


async def test_a_user_disabled_by_another_process_is_cut_off_within_a_second(
    daemon: Daemon, database_url: str
) -> None:
    agent, _ = await signed_in(daemon, "agent2")
    try:
        async with agent.ws_connect("/ws", headers={"Origin": daemon.url}) as ws:
            await next_message(ws, "snapshot")
            async with agent.get("/api/me") as r:
                assert r.status == 200
            other_process = await asyncpg.connect(database_url)  # as `cti` or psql would
            try:
                await other_process.execute(
                    "UPDATE users SET disabled = true WHERE username = 'agent2'"
                )
            finally:
                await other_process.close()
            started = time.monotonic()

            async def refused() -> None:
                while True:
                    async with agent.get("/api/me") as r:
                        if r.status == 401:
                            return
                    await asyncio.sleep(0.05)

            await asyncio.wait_for(refused(), 10)
            requests_s = time.monotonic() - started
            assert await closed_with(ws) == SIGNED_OUT
            socket_s = time.monotonic() - started
        print(
            f"disabled elsewhere: requests refused after {requests_s:.2f} s, "
            f"websocket closed after {socket_s:.2f} s"
        )  # measured, not asserted
    finally:
        await agent.close()


async def test_the_cost_of_checking_sessions_in_the_database(daemon: Daemon) -> None:
    """Measured, not asserted: what the one-second session cache saves per request."""
    agent, _ = await signed_in(daemon, "agent1")
    try:
        token = next(c.value for c in agent.cookie_jar if c.key == "cti_session")
    finally:
        await agent.close()
    database, rounds = daemon.app[DATABASE], 300
    started = time.perf_counter()
    for _ in range(rounds):  # a fresh store has an empty cache: every lookup is a query
        assert await SessionStore(database).lookup(token) is not None
    uncached = (time.perf_counter() - started) / rounds
    store = daemon.app[SESSIONS]
    await store.lookup(token)
    started = time.perf_counter()
    for _ in range(rounds):
        assert await store.lookup(token) is not None
    cached = (time.perf_counter() - started) / rounds
    print(
        f"session lookup: {uncached * 1000:.3f} ms from PostgreSQL, "
        f"{cached * 1000:.4f} ms from the cache"
    )


# --- 4. login CSRF -------------------------------------------------------------------------------


async def test_no_other_site_can_sign_a_browser_in(daemon: Daemon) -> None:
    credentials = json.dumps({"username": "agent1", "password": PASSWORD})
    async with aiohttp.ClientSession(daemon.url) as browser_session:
        # What a hostile page can send without a preflight: text/plain or a form.
        async with browser_session.post(
            "/api/login",
            data=credentials,
            headers={
                "Content-Type": "text/plain",
                "Origin": "https://evil.example",
                "Sec-Fetch-Site": "cross-site",
            },
        ) as r:
            assert r.status == 403, await r.text()
        async with browser_session.post(
            "/api/login", data=credentials, headers={"Content-Type": "text/plain"}
        ) as r:
            assert r.status == 415 and "application/json" in await r.text()
        async with browser_session.post(
            "/api/login", data={"username": "agent1", "password": PASSWORD}
        ) as r:
            assert r.status == 415
        for foreign in (
            {"Origin": "https://evil.example"},
            {"Origin": "null"},
            {"Sec-Fetch-Site": "cross-site"},
            {"Sec-Fetch-Site": "same-site"},
        ):
            response = await sign_in(browser_session, "agent1", headers=foreign)
            assert response.status == 403, foreign
        own = {"Origin": daemon.url, "Sec-Fetch-Site": "same-origin"}
        assert (await sign_in(browser_session, "agent1", headers=own)).status == 200
    agent, csrf = await signed_in(daemon, "agent1")
    try:  # the same rule on every change, even with the right CSRF token
        async with agent.post(
            "/api/agent/state",
            json={"paused": False},
            headers={"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"},
        ) as r:
            assert r.status == 403 and "cross-site" in await r.text()
    finally:
        await agent.close()


# --- 5. Argon2, rehash on sign-in -----------------------------------------------------------------


def scrypt_hash(password: str) -> str:
    """A hash as the daemon stored them before Argon2 (N=2^14, r=8, p=1)."""
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return "$".join(
        [
            "scrypt",
            "16384",
            "8",
            "1",
            base64.b64encode(salt).decode(),
            base64.b64encode(digest).decode(),
        ]
    )


async def test_old_hashes_still_verify_and_are_upgraded_on_sign_in(daemon: Daemon) -> None:
    pool = await daemon.app[DATABASE].pool()
    assert (
        await pool.fetchval("SELECT password_hash FROM users WHERE username = 'agent1'")
    ).startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    for username, old in (("legacy", scrypt_hash(PASSWORD)), ("weak", weak)):
        await pool.execute(
            "INSERT INTO users (username, display_name, role, password_hash) "
            "VALUES ($1, $1, 'agent', $2)",
            username,
            old,
        )
    async with aiohttp.ClientSession(daemon.url) as session:
        assert (await sign_in(session, "legacy", "not the password")).status == 401
        assert await pool.fetchval(
            "SELECT password_hash FROM users WHERE username = 'legacy'"
        ) == scrypt_hash(PASSWORD)
        for username in ("legacy", "weak"):
            assert (await sign_in(session, username)).status == 200
            stored = await pool.fetchval(
                "SELECT password_hash FROM users WHERE username = $1", username
            )
            assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), stored
            assert verify_password(PASSWORD, stored)
            assert (await sign_in(session, username)).status == 200  # and again, with it


# --- 6. reverse proxies and HTTPS ------------------------------------------------------------------


def session_cookie(response: aiohttp.ClientResponse) -> Any:
    return response.cookies["cti_session"]


async def test_forwarded_headers_are_believed_only_from_a_trusted_proxy(
    daemon: Daemon, pg: Any, tmp_path: Path
) -> None:
    # No trusted proxy: a made-up X-Forwarded-For does not escape the per-address limit,
    # and a made-up X-Forwarded-Proto does not matter.
    async with aiohttp.ClientSession(daemon.url) as session:
        statuses = [
            (
                await sign_in(
                    session, "agent2", "guess-guess", headers={"X-Forwarded-For": f"10.0.0.{n}"}
                )
            ).status
            for n in range(6)
        ]
        assert statuses == [401] * 5 + [429]
        plain = await sign_in(session, "agent1", headers={"X-Forwarded-Proto": "https"})
        assert plain.status == 200 and not session_cookie(plain)["secure"]
    (tmp_path / "proxied").mkdir()
    async with (
        running_daemon(
            pg.create_database(), tmp_path / "proxied", http_trusted_proxies=("127.0.0.0/8",)
        ) as proxied,
        aiohttp.ClientSession(proxied.url) as session,
    ):
        # Each client behind the proxy has limits of its own; a hop the client wrote
        # itself (left of the proxy's) is not believed.
        spoofed = {"X-Forwarded-For": "198.51.100.1, 203.0.113.5"}
        statuses = [
            (await sign_in(session, "agent2", "guess-guess", headers=spoofed)).status
            for _ in range(6)
        ]
        assert statuses == [401] * 5 + [429]
        other = {"X-Forwarded-For": "198.51.100.1"}
        assert (await sign_in(session, "agent2", headers=other)).status == 200
        https = await sign_in(session, "agent1", headers={"X-Forwarded-Proto": "https"})
        assert https.status == 200 and session_cookie(https)["secure"]
        http = await sign_in(session, "agent1", headers={"X-Forwarded-Proto": "http"})
        assert http.status == 200 and not session_cookie(http)["secure"]


def test_the_trusted_proxies_setting_is_read_and_checked() -> None:
    settings = load_settings({"CTI_HTTP_TRUSTED_PROXIES": "10.0.0.5, 10.1.0.0/24"})
    assert settings.http_trusted_proxies == ("10.0.0.5", "10.1.0.0/24")
    with pytest.raises(SettingsError, match=r"CTI_HTTP_TRUSTED_PROXIES.*proxy\.lan"):
        create_app(Settings(http_trusted_proxies=("proxy.lan",)))
