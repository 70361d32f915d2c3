"""Customers as a feature: the record behind each screen-pop, and the agent's work on it.

The hub sends a pop at once; this feature then looks the caller up (our customer records,
and an external CRM when ``CTI_CRM_URL`` is set) and the card follows the pop. Its routes
are the agent's home page, notes, promises, callbacks, identity checks and new customers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from cti.customers import http
from cti.customers.crm import Crm
from cti.customers.dispositions import OwedDispositions
from cti.customers.records import find_by_number
from cti.keys import DATABASE, HUB, OWED_DISPOSITIONS, SETTINGS, SINKS
from cti.settings import SettingsError


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(customers_ctx)
    app.cleanup_ctx.append(owed_dispositions_ctx)
    http.add_routes(app)


async def owed_dispositions_ctx(app: web.Application) -> AsyncIterator[None]:
    app[OWED_DISPOSITIONS] = OwedDispositions(app[SETTINGS].center_disposition_required)
    app[SINKS].append(app[OWED_DISPOSITIONS])
    yield


async def customers_ctx(app: web.Application) -> AsyncIterator[None]:
    settings, database, hub = app[SETTINGS], app[DATABASE], app[HUB]

    async def lookup(number: str) -> list[dict[str, Any]]:
        return await find_by_number(await database.pool(), number, settings.center_region)

    hub.lookup = lookup
    crm = None
    if settings.crm_url:
        try:
            crm = Crm(
                settings.crm_url, settings.crm_timeout_s, settings.crm_token, settings.center_region
            )
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
        hub.crm = crm.lookup
    yield
    if crm is not None:
        await crm.close()
