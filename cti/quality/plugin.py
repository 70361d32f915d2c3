"""Quality review as a feature: its page and API (cti/quality/http.py); no task, no sink."""

from __future__ import annotations

from aiohttp import web

from cti.quality import http


def setup(app: web.Application) -> None:
    http.add_routes(app)
