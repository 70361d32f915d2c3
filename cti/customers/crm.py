"""An optional external CRM, asked for the caller while the pop is already on screen.

``CTI_CRM_URL`` is a template with ``{number}`` (the caller's number in E.164, URL-encoded),
for example ``https://crm.example.com/api/lookup?phone={number}``. The CRM answers 200 with a
JSON object; we keep only what the panel shows, as plain strings of bounded length:

    {"name": "...", "summary": "...", "url": "https://...", "fields": {"label": "value"}}

404 or an empty object means "not known". The CRM is not trusted: its text is shown as text,
a link is kept only if it is http(s), and a slow CRM is abandoned after ``CTI_CRM_TIMEOUT_S``
so the pop never waits for it.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import aiohttp

from cti.phone import to_e164

log = logging.getLogger(__name__)

MAX_TEXT = 500
MAX_FIELDS = 20


class CrmError(Exception):
    """The CRM did not give a usable answer. ``str()`` says why in English, for the log;
    ``failure`` says it for the panel, which puts it in the agent's language:
    ``{"kind": "status" | "timeout" | "unreachable" | "not_json", ...its figure}``."""

    def __init__(self, text: str, kind: str, **figures: float) -> None:
        super().__init__(text)
        self.failure: dict[str, Any] = {"kind": kind, **figures}


def _text(value: Any) -> str:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)[:MAX_TEXT]
    return ""


def clean(answer: Any) -> dict[str, Any] | None:
    """What the panel may show of a CRM answer; None when it knows no one."""
    if not isinstance(answer, dict):
        raise CrmError("the CRM answered something other than a JSON object", "not_json")
    url = _text(answer.get("url"))
    fields = answer.get("fields")
    if not isinstance(fields, dict):
        fields = {}
    shown = {
        "name": _text(answer.get("name")),
        "summary": _text(answer.get("summary")),
        "url": url if url.lower().startswith(("https://", "http://")) else "",
        "fields": [[_text(k), _text(v)] for k, v in list(fields.items())[:MAX_FIELDS]],
    }
    return shown if any(shown.values()) else None


class Crm:
    def __init__(
        self, url_template: str, timeout_s: float, token: str = "", region: str = "TR"
    ) -> None:
        if "{number}" not in url_template:
            raise ValueError("CTI_CRM_URL must contain {number}, where the caller's number goes")
        self.url_template = url_template
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.headers = {"Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.region = region
        self._session: aiohttp.ClientSession | None = None

    def url_for(self, number: str) -> str:
        e164 = to_e164(number, self.region) or number
        return self.url_template.replace("{number}", quote(e164, safe=""))

    async def lookup(self, number: str) -> dict[str, Any] | None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout, headers=self.headers)
        url = self.url_for(number)
        try:
            async with self._session.get(url, allow_redirects=False) as response:
                if response.status == 404:
                    return None
                if response.status != 200:
                    raise CrmError(
                        f"the CRM answered HTTP {response.status}", "status", status=response.status
                    )
                return clean(await response.json(content_type=None))
        except TimeoutError:
            seconds = self.timeout.total or 0.0
            raise CrmError(
                f"the CRM did not answer within {seconds} s", "timeout", seconds=seconds
            ) from None
        except (aiohttp.ClientError, ValueError) as exc:
            raise CrmError(
                f"the CRM could not be asked ({type(exc).__name__}: {exc})", "unreachable"
            ) from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
