"""Users and server-side sessions in PostgreSQL.

A session is a random token in an HttpOnly cookie; the table keeps only its SHA-256 (the
session's ``key``), with a CSRF token and an expiry.

Validated sessions are cached in memory for one second only, so that a page's burst of
requests costs one query. The bound matters: a user disabled by another process (the CLI, SQL)
loses their sessions within that second; one disabled through this daemon
(``SessionStore.disable_user``) loses them at once. An uncached lookup is one indexed query,
about 0.7 ms against 0.002 ms from the cache on the tests' embedded PostgreSQL (measured by
tests/component/test_security_hardening.py).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from cti.auth.passwords import hash_password, needs_rehash, rehash, verify_password
from cti.database import Database

log = logging.getLogger(__name__)

ROLES = ("agent", "supervisor", "admin")
SESSION_CACHE_S = 1.0
# Each Argon2 hash takes 64 MiB and ~0.2 s of CPU: a burst of sign-ins queues here rather than
# taking the host's memory.
HASHES_AT_ONCE = 4


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    display_name: str
    role: str
    interfaces: tuple[str, ...]

    def may(self, role: str) -> bool:
        """Whether this user may call a route that requires ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True, slots=True)
class Session:
    user: User
    csrf_token: str
    expires_at: float
    key: str  # SHA-256 of the cookie's token: what the sessions table and websockets know


def session_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user(row: asyncpg.Record) -> User:
    return User(
        row["id"], row["username"], row["display_name"], row["role"], tuple(row["interfaces"])
    )


async def create_user(
    pool: asyncpg.Pool,
    username: str,
    display_name: str,
    role: str,
    password: str,
    interfaces: tuple[str, ...] = (),
) -> User:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    for interface in interfaces:
        if "/" not in interface or any(c in interface for c in "\r\n,"):
            raise ValueError(f"{interface!r} is not a phone interface like PJSIP/1001")
    password_hash = await asyncio.to_thread(hash_password, password)
    try:
        row = await pool.fetchrow(
            "INSERT INTO users (username, display_name, role, password_hash, interfaces) "
            "VALUES ($1, $2, $3, $4, $5) RETURNING *",
            username,
            display_name,
            role,
            password_hash,
            list(interfaces),
        )
    except asyncpg.UniqueViolationError:
        raise ValueError(f"user {username!r} exists already") from None
    except asyncpg.CheckViolationError:
        raise ValueError("usernames are 2-64 characters: a-z, 0-9, '.', '_', '-'") from None
    return _user(row)


async def set_user(
    pool: asyncpg.Pool,
    username: str,
    display_name: str,
    role: str,
    password: str,
    interfaces: tuple[str, ...] = (),
) -> None:
    """Create the user, or reset its name, role, password and phones (demo seeding)."""
    password_hash = await asyncio.to_thread(hash_password, password)
    await pool.execute(
        "INSERT INTO users (username, display_name, role, password_hash, interfaces) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (username) DO UPDATE SET "
        "display_name = EXCLUDED.display_name, role = EXCLUDED.role, "
        "password_hash = EXCLUDED.password_hash, interfaces = EXCLUDED.interfaces, "
        "disabled = false",
        username,
        display_name,
        role,
        password_hash,
        list(interfaces),
    )


async def disable_user(pool: asyncpg.Pool, username: str) -> User | None:
    """Disable a user and delete their sessions (None: no such user). Any process may call
    it (a CLI); a running daemon notices within ``SESSION_CACHE_S``."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "UPDATE users SET disabled = true WHERE username = $1 RETURNING *", username
        )
        if row is None:
            return None
        await conn.execute("DELETE FROM sessions WHERE user_id = $1", row["id"])
    return _user(row)


class SessionStore:
    def __init__(self, database: Database, lifetime_s: float = 8 * 3600) -> None:
        self.database = database
        self.lifetime_s = lifetime_s
        self._cache: dict[str, tuple[float, Session]] = {}
        self._hashing = asyncio.Semaphore(HASHES_AT_ONCE)
        self._swept_at = 0.0

    async def _get_pool(self) -> asyncpg.Pool:
        return await self.database.pool()

    async def authenticate(self, username: str, password: str) -> User | None:
        pool = await self._get_pool()
        row = await pool.fetchrow(
            "SELECT * FROM users WHERE username = $1 AND NOT disabled", username
        )
        # Verify against a dummy hash when the user is unknown, so timing does not tell.
        stored = row["password_hash"] if row else await asyncio.to_thread(_dummy_hash)
        async with self._hashing:
            ok = await asyncio.to_thread(verify_password, password, stored)
        if not (row and ok):
            return None
        if needs_rehash(stored):
            await self._rehash(pool, row["id"], password, stored)
        return _user(row)

    async def _rehash(self, pool: asyncpg.Pool, user_id: int, password: str, old: str) -> None:
        """Replace a hash of older parameters (or scrypt) now that we hold the password;
        only if it is still the one we verified, so a concurrent password change wins."""
        async with self._hashing:
            new = await asyncio.to_thread(rehash, password)
        await pool.execute(
            "UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3",
            new,
            user_id,
            old,
        )
        log.info("password hash of user %d upgraded to current Argon2 parameters", user_id)

    async def open(self, user: User) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        key = session_key(token)
        session = Session(user, secrets.token_urlsafe(24), time.time() + self.lifetime_s, key)
        pool = await self._get_pool()
        await pool.execute(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at) "
            "VALUES ($1, $2, $3, $4)",
            key,
            user.id,
            session.csrf_token,
            datetime.now(UTC) + timedelta(seconds=self.lifetime_s),
        )
        self._cache[key] = (time.monotonic(), session)
        return token, session

    async def lookup(self, token: str) -> Session | None:
        key = session_key(token)
        cached = self._cache.get(key)
        if cached and time.monotonic() - cached[0] < SESSION_CACHE_S:
            session = cached[1]
            return session if session.expires_at > time.time() else None
        pool = await self._get_pool()
        row = await pool.fetchrow(
            "SELECT s.csrf_token, s.expires_at, u.* FROM sessions s JOIN users u "
            "ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > now() "
            "AND NOT u.disabled",
            key,
        )
        if row is None:
            self._cache.pop(key, None)
            return None
        session = Session(_user(row), row["csrf_token"], row["expires_at"].timestamp(), key)
        self._cache[key] = (time.monotonic(), session)
        self._forget_stale()
        return session

    async def ended(self, keys: set[str]) -> set[str]:
        """Which of these session keys are no longer valid (expired, closed or disabled):
        one query for all the open websockets, whoever changed the database. It answers
        with the few that ended, not the thousands still valid, as it runs every second."""
        pool = await self._get_pool()
        # The keys go as one comma-separated text, not a text[]: asyncpg encodes an array
        # element by element on the event loop, 1-2 ms for 2,000 keys every second, a stall
        # a screen-pop could wait behind; one string is 0.2 ms. Keys are hex: no commas.
        rows = await pool.fetch(
            "SELECT key FROM unnest(string_to_array($1, ',')) AS key WHERE NOT EXISTS ("
            " SELECT FROM sessions s JOIN users u ON u.id = s.user_id"
            " WHERE s.token_hash = key AND s.expires_at > now() AND NOT u.disabled)",
            ",".join(keys),
        )
        gone = {row["key"] for row in rows}
        for key in gone:
            self._cache.pop(key, None)
        return gone

    async def close(self, token: str) -> None:
        key = session_key(token)
        self._cache.pop(key, None)
        pool = await self._get_pool()
        await pool.execute("DELETE FROM sessions WHERE token_hash = $1", key)

    async def disable_user(self, username: str) -> User | None:
        """``disable_user``, and this daemon forgets the user's sessions at once. The caller
        closes their websockets (``cti.push.ws.close_sockets``)."""
        user = await disable_user(await self._get_pool(), username)
        if user is not None:
            for key in [k for k, (_, s) in self._cache.items() if s.user.id == user.id]:
                del self._cache[key]
        return user

    def _forget_stale(self) -> None:
        """Entries older than the cache time are never used again; drop them once a minute
        so the cache holds about one entry per active session."""
        now = time.monotonic()
        if now - self._swept_at < 60:
            return
        self._swept_at, limit = now, now - SESSION_CACHE_S
        for key in [k for k, (at, _) in self._cache.items() if at < limit]:
            del self._cache[key]


@functools.cache
def _dummy_hash() -> str:
    return hash_password("not-a-real-password-just-for-timing")
