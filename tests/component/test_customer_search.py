"""Customer search and the customer card outside a call, through the live daemon's HTTP API
on a real PostgreSQL: by a part of the name, a phone number as people write it, the
national ID's last digits, the customer number; the ID stays masked; mistakes are named."""

from __future__ import annotations

from harness import Daemon, signed_in

from cti.demo import seed_demo_customers
from cti.keys import DATABASE


async def test_an_agent_finds_a_customer_every_way_and_opens_the_card(daemon: Daemon) -> None:
    await seed_demo_customers(await daemon.app[DATABASE].pool(), "agent1")
    agent, _ = await signed_in(daemon, "agent1")
    async with agent:

        async def names(query: str) -> list[str]:
            async with agent.get("/api/customers", params={"q": query}) as r:
                assert r.status == 200, await r.text()
                found = await r.json()
            assert all("national_id" not in c for c in found)  # only the masked one
            return [c["full_name"] for c in found]

        assert await names("çağrı") == ["Ayşe Çağrı Yılmaz"]  # any case, mid-name
        # Turkish capitals: ÇAĞRI is Çağrı, YILMAZ is Yılmaz (the dotless ı), AYŞE is Ayşe.
        for shouted in ("ÇAĞRI", "YILMAZ", "AYŞE", "ayşe çağri"):
            assert await names(shouted) == ["Ayşe Çağrı Yılmaz"], shouted
        assert await names("0532 123 45 67") == ["Ayşe Çağrı Yılmaz"]  # national format
        assert await names("+90 532 123 4567") == ["Ayşe Çağrı Yılmaz"]
        assert await names("8901") == ["Ayşe Çağrı Yılmaz"]  # the ID's last digits
        assert await names("zzz-nobody") == []
        async with agent.get("/api/customers", params={"q": "Ayşe"}) as r:
            ayse = (await r.json())[0]
        assert ayse["national_id_masked"] == "•••••••8901"
        assert ayse["phones"] == ["+905321234567"]
        assert await names(str(ayse["id"])) == ["Ayşe Çağrı Yılmaz"]  # the customer number

        async with agent.get(f"/api/customers/{ayse['id']}") as r:
            card = await r.json()
        assert card["full_name"] == "Ayşe Çağrı Yılmaz" and card["open_promises"]
        assert card["national_id_masked"] == "•••••••8901" and "national_id" not in card

        async with agent.get("/api/customers", params={"q": "ay"}) as r:
            assert r.status == 400 and "at least three letters" in await r.text()
        async with agent.get("/api/customers", params={"q": "x" * 201}) as r:
            assert r.status == 400 and "longer than 200" in await r.text()
        async with agent.get("/api/customers/999999999") as r:
            assert r.status == 404 and "no such customer" in await r.text()
