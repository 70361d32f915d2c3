"""Seed data for ``cti demo``: users whose phones are the simulator's agents.

Passwords are new at every start and printed, so nothing secret is committed and a newcomer
always knows how to sign in.
"""

from __future__ import annotations

import secrets

from cti.auth.users import set_user
from cti.database import Database

DEMO_USERS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("agent1", "Ayla Demir", "agent", ("SIP/1001",)),
    ("agent2", "Burak Kaya", "agent", ("SIP/1002",)),
    ("agent3", "Cem Yıldız", "agent", ("SIP/1003",)),
    ("supervisor", "Selin Aydın", "supervisor", ()),
    ("admin", "Admin", "admin", ()),
)


async def seed_demo(database: Database) -> list[tuple[str, str, str, tuple[str, ...]]]:
    pool = await database.pool()
    credentials = []
    for username, name, role, interfaces in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        await set_user(pool, username, name, role, password, interfaces)
        credentials.append((username, role, password, interfaces))
    return credentials
