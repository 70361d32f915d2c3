"""What ops sees: /metrics parsed by the Prometheus text parser, figures that agree with the
call log, and /readyz following the AMI link down and back up."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import aiohttp
import asyncpg
from harness import Daemon, signed_in
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from cti.calllog.spool import Spool
from cti.calllog.writer import CallLogWriter
from cti.database import Database
from cti.metrics import LiveSources, Metrics
from cti.replay import capture_bytes, replay
from cti.state.changes import AgentState

CAPTURES = (
    "basic-queue-calls.ami",
    "ring-no-answer.ami",
    "login-snapshot-midcall.ami",
    "load-6cps.ami.xz",
)
# Label values we allow; anything else (a caller number, a channel, a Linkedid) is a leak.
BOUNDED_LABELS = {
    "queue": re.compile(r"^(support|sales|bulk|billing)$"),
    "state": re.compile("^(" + "|".join(s.value for s in AgentState) + ")$"),
    "window": re.compile(r"^(15m|60m|today)$"),
    "event": re.compile(r"^[A-Za-z]+$"),
    "pbx": re.compile(r"^asterisk$"),
    "reason": re.compile(r"^(Break|Lunch|Training|Meeting|Back office|other)$"),
    "le": re.compile(r"^([0-9.]+|\+Inf)$"),
    "kind": re.compile(r"^(no_event|invalid_utf8|oversized)$"),  # garbage frames
}


def parsed(text: str) -> dict[str, float]:
    """Every sample as ``name{label="value",...}`` → value, via the official parser, with
    the label rules checked on the way."""
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        assert family.name.startswith("cti_"), family.name
        for sample in family.samples:
            for label, value in sample.labels.items():
                assert label in BOUNDED_LABELS, f"{sample.name}: unexpected label {label}"
                assert BOUNDED_LABELS[label].match(value), f"{sample.name}: {label}={value!r}"
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


def live_sources() -> LiveSources:
    return LiveSources(
        pipeline_depth=lambda: 0,
        pipeline_errors=lambda: 0,
        events_by_name=lambda: {},
        ami_connected=lambda: True,
        ami_sessions=lambda: 1,
        ami_login_failures=lambda: 0,
        spool_rows=lambda: 0,
        write_errors=lambda: 0,
        quarantined_rows=lambda: 0,
        reconciled_calls=lambda: 0,
        database_up=lambda: True,
        websocket_clients=lambda: 0,
        service_level_targets={},
    )


async def test_metrics_after_replays_agree_with_the_call_log(
    captures: Path, database_url: str, tmp_path: Path
) -> None:
    samples: dict[str, float] = {}
    for capture in CAPTURES:
        database = Database(database_url)
        writer = CallLogWriter(database, Spool(tmp_path / f"{capture}.spool"), "TR")
        _records, pipeline = replay(capture_bytes(captures / capture), sinks=[writer])
        metrics = Metrics(pipeline.state)
        # A second pass through a fresh pipeline feeds the metrics alone, so each capture's
        # figures stand on their own and the call log holds all of them.
        replay(capture_bytes(captures / capture), sinks=[metrics])
        metrics.attach(live_sources())
        await writer.drain()
        await database.close()
        for name, value in parsed(generate_latest(metrics.registry).decode()).items():
            additive = re.search(r"_(total|count|sum|bucket)\{", name)  # not the gauges
            samples[name] = samples.get(name, 0.0) + value if additive else value
    connection = await asyncpg.connect(database_url)
    try:
        by_outcome = {
            (r["queue"], r["outcome"]): r["n"]
            for r in await connection.fetch(
                "SELECT queue, outcome, count(*) AS n FROM calls GROUP BY queue, outcome"
            )
        }
        talk = {
            r["queue"]: r["n"]
            for r in await connection.fetch(
                "SELECT queue, count(*) AS n FROM calls WHERE talk_s IS NOT NULL GROUP BY queue"
            )
        }
        connects = {
            r["queue"]: r["n"]
            for r in await connection.fetch(
                "SELECT queue, count(*) AS n FROM call_events WHERE kind = 'agent_connect'"
                " GROUP BY queue"
            )
        }
        no_answer = await connection.fetchval(
            "SELECT count(*) FROM call_events WHERE kind = 'agent_no_answer'"
        )
    finally:
        await connection.close()
    for queue in ("support", "sales", "bulk"):
        # Answers the daemon saw happen: a call answered before it connected (Zeynep in
        # login-snapshot-midcall.ami) is in the call log as answered but was not counted.
        assert samples[f'cti_queue_calls_answered_total{{queue="{queue}"}}'] == connects[queue]
        assert by_outcome[(queue, "answered")] == connects[queue] + (queue == "support")
        assert samples.get(f'cti_queue_calls_abandoned_total{{queue="{queue}"}}', 0) == (
            by_outcome.get((queue, "abandoned"), 0)
        )
        assert samples[f'cti_queue_talk_seconds_count{{queue="{queue}"}}'] == talk[queue]
    assert (
        sum(v for k, v in samples.items() if k.startswith("cti_agent_ring_no_answer_total"))
        == no_answer
        > 0
    )
    assert by_outcome[("support", "abandoned")] == 3  # Ali; Emre and Elif (README)


async def test_readiness_follows_the_ami_link_and_metrics_parse(daemon: Daemon) -> None:
    async with aiohttp.ClientSession() as http:

        async def ready() -> tuple[int, dict[str, object]]:
            async with http.get(f"{daemon.url}/readyz") as response:
                return response.status, await response.json()

        async def metrics() -> dict[str, float]:
            async with http.get(f"{daemon.url}/metrics") as response:
                assert response.status == 200
                return parsed(await response.text())

        await wait_for_async(ready, lambda r: r[0] == 200)
        assert (await metrics())['cti_ami_connected{pbx="asterisk"}'] == 1
        await daemon.sim.go_offline()
        _, body = await wait_for_async(ready, lambda r: r[0] == 503)
        assert body["ami"] is False and body["database"] is True
        assert "not logged in to Asterisk AMI" in str(body["problems"])
        down = await metrics()
        assert down['cti_ami_connected{pbx="asterisk"}'] == 0
        await daemon.sim.go_online()
        _, body = await wait_for_async(ready, lambda r: r[0] == 200)
        tasks = body.pop("tasks")
        assert {"AMI link", "pipeline", "call-log writer", "clock tick"} <= set(tasks)
        assert body == {
            "ready": True,
            "ami": True,
            "resynced": True,
            "database": True,
            "call_log": True,
            "call_log_waiting_rows": 0,
            "call_log_quarantined_rows": 0,
            "problems": [],
        }
        up = await metrics()
        assert up['cti_ami_connected{pbx="asterisk"}'] == 1
        assert up["cti_ami_reconnects_total{}"] >= 1
        # The clock tick measures how late the loop woke it, once a second.
        ticked = await wait_for_async(
            metrics, lambda m: m.get("cti_event_loop_lag_seconds_count{}", 0) >= 1
        )
        assert ticked["cti_event_loop_lag_seconds_sum{}"] >= 0

    agent, csrf = await signed_in(daemon, "agent1")
    async with agent:
        headers = {"X-CSRF-Token": csrf, "Origin": daemon.url}
        async with agent.post(
            "/api/agent/state", json={"paused": True, "reason": "Lunch"}, headers=headers
        ) as response:
            assert response.status == 200, await response.text()
        async with aiohttp.ClientSession() as http:

            async def paused() -> dict[str, float]:
                async with http.get(f"{daemon.url}/metrics") as response:
                    return parsed(await response.text())

            samples = await wait_for_async(
                paused, lambda s: 'cti_agents_paused{queue="support",reason="Lunch"}' in s
            )
    assert samples['cti_agents{queue="support",state="paused"}'] == 1


Result = TypeVar("Result")


async def wait_for_async(
    probe: Callable[[], Awaitable[Result]], done: Callable[[Result], bool], timeout: float = 30.0
) -> Result:
    async def poll() -> Result:
        while not done(result := await probe()):
            await asyncio.sleep(0.1)
        return result

    return await asyncio.wait_for(poll(), timeout)
