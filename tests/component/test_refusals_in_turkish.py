"""The daemon's refusals in the user's language, through the live daemon's API: the same
refusals asked with the Accept-Language the panel sends in Turkish ("tr") or a Turkish
browser's, and in English, another language or none. Turkish for the first, English for the
rest, the status unchanged: Ready refused for a missing disposition, a bad promise amount
(one with a hostile value, kept as typed), a search too short, a refused dial, and the
refusals of ``authorize`` itself (no session, no CSRF token, the wrong role), which the
middleware must wrap. A translated refusal keeps the security headers; a successful answer
is the same in both languages."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from harness import handled_call, running_daemon, signed_in
from multidict import CIMultiDictProxy

TURKISH = ("tr", "tr-TR,tr;q=0.9,en-US;q=0.8,en;q=0.7")
NOT_TURKISH = (None, "en", "en-US,en;q=0.9,tr;q=0.8", "de")


async def ask(
    session: aiohttp.ClientSession,
    method: str,
    path: str,
    body: Any,
    headers: dict[str, str],
    language: str | None,
) -> tuple[int, str, CIMultiDictProxy[str]]:
    sent = dict(headers)
    if language is not None:
        sent["Accept-Language"] = language
    async with session.request(method, path, json=body, headers=sent) as r:
        return r.status, await r.text(), r.headers


async def test_refusals_come_in_the_language_the_request_prefers(
    database_url: str, tmp_path: Path
) -> None:
    async with running_daemon(
        database_url, tmp_path, center_disposition_required=("support",)
    ) as daemon:
        await handled_call(daemon, "SIP/1001")  # Fatma Demir's, which owes a disposition
        agent, csrf = await signed_in(daemon, "agent1")
        headers = {"X-CSRF-Token": csrf, "Origin": daemon.url}
        async with agent:
            customer = {"full_name": "Ece Tan", "phone": "0532 111 22 99"}
            async with agent.post("/api/customers", headers=headers, json=customer) as r:
                assert r.status == 201, await r.text()
                promises = f"/api/customers/{(await r.json())['id']}/promises"
            due = (date.today() + timedelta(days=7)).isoformat()
            hostile = "<script>{x}%s</script>"
            refusals = [
                (
                    ("POST", "/api/agent/state", {"paused": False}),
                    409,
                    "choose a disposition for the call from Fatma Demir first: queue support"
                    " needs one before you are ready",
                    "hazır olmadan önce Fatma Demir ile görüşmeniz için bir sonuç kodu seçin:"
                    " support kuyruğunda sonuç kodu zorunlu",
                ),
                (
                    ("POST", promises, {"amount": "-5", "due_date": due}),
                    400,
                    "the amount must be positive, with at most 2 decimals",
                    "tutar, en fazla 2 ondalık basamaklı pozitif bir sayı olmalı",
                ),
                (
                    ("POST", promises, {"amount": hostile, "due_date": due}),
                    400,
                    f"{hostile!r} is not an amount",
                    f"{hostile!r} bir tutar değil",
                ),
                (
                    ("GET", "/api/customers?q=ay", None),
                    400,
                    "type at least three letters of a name, or a number",
                    "bir adın en az üç harfini ya da bir numara yazın",
                ),
                (
                    ("POST", "/api/agent/dial", {"number": "x"}),
                    400,
                    "number must be a phone number",
                    "numara bir telefon numarası olmalı",
                ),
                (  # authorize's: a change without the session's CSRF token
                    ("POST", "/api/agent/state", {"paused": True, "reason": "Break"}),
                    403,
                    "missing or wrong CSRF token; reload the page",
                    "CSRF belirteci eksik ya da yanlış; sayfayı yeniden yükleyin",
                ),
                (  # authorize's: an agent on a supervisor's route
                    ("GET", "/api/kpi", None),
                    403,
                    "this needs the supervisor role",
                    "bunun için süpervizör rolü gerekir",
                ),
            ]
            for (method, path, body), status, english, turkish in refusals:
                sent = {"Origin": daemon.url} if status == 403 and method == "POST" else headers
                for language in (*TURKISH, *NOT_TURKISH):
                    got = await ask(agent, method, path, body, sent, language)
                    expected = turkish if language in TURKISH else english
                    assert got[:2] == (status, expected), (path, language, got[:2])

            # Translated, a refusal keeps what every answer carries.
            answer = (await ask(agent, "GET", "/api/kpi", None, headers, "tr"))[2]
            assert answer["Content-Language"] == "tr"
            assert answer["Content-Type"] == "text/plain; charset=utf-8"
            assert "frame-ancestors 'none'" in answer["Content-Security-Policy"]
            assert answer["X-Content-Type-Options"] == "nosniff"
            assert answer["Cache-Control"] == "no-store"
            in_english = (await ask(agent, "GET", "/api/kpi", None, headers, "en"))[2]
            assert "Content-Language" not in in_english

            # A successful answer is the same whatever the language.
            config = [
                await ask(agent, "GET", "/api/agent/config", None, headers, language)
                for language in ("tr", "en")
            ]
            assert config[0][:2] == config[1][:2]
            assert config[0][0] == 200
            assert "Content-Language" not in config[0][2]

        # authorize's, before any session: signing in first, and a wrong password.
        async with aiohttp.ClientSession(daemon.url) as stranger:
            for language in (*TURKISH, *NOT_TURKISH):
                got = await ask(stranger, "GET", "/api/agent/home", None, {}, language)
                expected = "önce giriş yapın" if language in TURKISH else "sign in first"
                assert got[:2] == (401, expected), (language, got[:2])
            wrong = {"username": "agent2", "password": "not the password"}
            got = await ask(stranger, "POST", "/api/login", wrong, {}, "tr")
            assert got[:2] == (401, "kullanıcı adı ya da parola yanlış")
