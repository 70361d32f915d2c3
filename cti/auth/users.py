"""Users and server-side sessions in PostgreSQL.

A session is a random token in an HttpOnly cookie; the table keeps only its SHA-256, with a
CSRF token and an expiry. Validated sessions are cached in memory for a short while so a
slow database does not slow every request, and a signed-in agent keeps working through a
short database hiccup.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from cti.auth.passwords import hash_password, verify_password
from cti.database import Database

ROLES = ("agent", "supervisor", "admin")
SESSION_CACHE_S = 30.0


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


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user(row: asyncpg.Record) -> User:
    return User(row["id"], row["username"], row["display_name"], row["role"],
                tuple(row["interfaces"]))  # fmt: skip


async def create_user(
    pool: asyncpg.Pool, username: str, display_name: str, role: str, password: str,
    interfaces: tuple[str, ...] = (),
) -> User:  # fmt: skip
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
            username, display_name, role, password_hash, list(interfaces),
        )
    except asyncpg.UniqueViolationError:
        raise ValueError(f"user {username!r} exists already") from None
    except asyncpg.CheckViolationError:
        raise ValueError("usernames are 2-64 characters: a-z, 0-9, '.', '_', '-'") from None
    return _user(row)


async def set_user(
    pool: asyncpg.Pool, username: str, display_name: str, role: str, password: str,
    interfaces: tuple[str, ...] = (),
) -> None:  # fmt: skip
    """Create the user, or reset its name, role, password and phones (demo seeding)."""
    password_hash = await asyncio.to_thread(hash_password, password)
    await pool.execute(
        "INSERT INTO users (username, display_name, role, password_hash, interfaces) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (username) DO UPDATE SET "
        "display_name = EXCLUDED.display_name, role = EXCLUDED.role, "
        "password_hash = EXCLUDED.password_hash, interfaces = EXCLUDED.interfaces, "
        "disabled = false",
        username, display_name, role, password_hash, list(interfaces),
    )


class SessionStore:
    def __init__(self, database: Database, lifetime_s: float = 8 * 3600) -> None:
        self.database = database
        self.lifetime_s = lifetime_s
        self._cache: dict[str, tuple[float, Session]] = {}

    async def _get_pool(self) -> asyncpg.Pool:
        return await self.database.pool()

    async def authenticate(self, username: str, password: str) -> User | None:
        pool = await self._get_pool()
        row = await pool.fetchrow(
            "SELECT * FROM users WHERE username = $1 AND NOT disabled", username
        )
        # Verify against a dummy hash when the user is unknown, so timing does not tell.
        stored = row["password_hash"] if row else _DUMMY_HASH
        ok = await asyncio.to_thread(verify_password, password, stored)
        return _user(row) if row and ok else None

    async def open(self, user: User) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        session = Session(user, secrets.token_urlsafe(24), time.time() + self.lifetime_s)
        pool = await self._get_pool()
        await pool.execute(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at) "
            "VALUES ($1, $2, $3, $4)",
            _token_hash(token), user.id, session.csrf_token,
            datetime.now(UTC) + timedelta(seconds=self.lifetime_s),
        )
        self._cache[_token_hash(token)] = (time.monotonic(), session)
        return token, session

    async def lookup(self, token: str) -> Session | None:
        key = _token_hash(token)
        cached = self._cache.get(key)
        if cached and time.monotonic() - cached[0] < SESSION_CACHE_S:
            session = cached[1]
            return session if session.expires_at > time.time() else None
        pool = await self._get_pool()
        row = await pool.fetchrow(
            "SELECT s.csrf_token, s.expires_at, u.* FROM sessions s JOIN users u "
            "ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > now() "
            "AND NOT u.disabled", key,
        )  # fmt: skip
        if row is None:
            self._cache.pop(key, None)
            return None
        session = Session(_user(row), row["csrf_token"], row["expires_at"].timestamp())
        self._cache[key] = (time.monotonic(), session)
        return session

    async def close(self, token: str) -> None:
        key = _token_hash(token)
        self._cache.pop(key, None)
        pool = await self._get_pool()
        await pool.execute("DELETE FROM sessions WHERE token_hash = $1", key)


_DUMMY_HASH = hash_password("not-a-real-password-just-for-timing")
