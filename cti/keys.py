"""Every ``web.AppKey`` of the application, in one place."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from cti.ami.connection import AmiClient
from cti.pipeline import Pipeline
from cti.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
PIPELINE = web.AppKey("pipeline", Pipeline)
AMI = web.AppKey("ami", AmiClient)
DB_POOL = web.AppKey("db_pool", asyncpg.Pool)
ADMIN_TOKEN = web.AppKey("admin_token", str)
