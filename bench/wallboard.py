"""Wallboard refresh time against the day's calls: it must stay flat.

    .venv/bin/python bench/wallboard.py [--calls 10000,100000,1000000] [--refreshes 200]

For each size, that many calls are folded into today's tallies through the same state
changes the pipeline hands them (CallOffered, then CallAnswered or CallAbandoned, then
CallEnded), spread over the day with realistic waits (most answered within 60 s, 8 %
abandoned, some timed out), across ``--queues`` queues. Agents and waiting callers add a
cost per agent and per queue, not per call; the live state here is empty. Then
``wallboard.build`` (what ``GET /api/wallboard`` and the once-a-second push run) is timed
``--refreshes`` times; the median and p99 are printed against the target (5 ms).

Before issue 16 the wallboard re-read the day from PostgreSQL: 57 s for one refresh at
1,000,000 calls.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime

from cti.settings import Settings
from cti.state.changes import (
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallRecord,
    Change,
    Outcome,
)
from cti.state.store import CtiState
from cti.supervision import wallboard
from cti.supervision.today import TodayTallies

TARGET_MS = 5.0
DAY = datetime(2026, 11, 23, tzinfo=UTC)


def record(
    linkedid: str, queue: str, at: float, outcome: Outcome, wait: int, talk: int
) -> CallRecord:
    answered = outcome is Outcome.ANSWERED
    return CallRecord(
        linkedid=linkedid,
        caller_number="905321112233",
        caller_name="",
        dialed="",
        direction="inbound",
        queue=queue,
        agent="SIP/1001" if answered else None,
        agent_name=None,
        outcome=outcome,
        started_at=at,
        queued_at=at,
        answered_at=at + wait if answered else None,
        ended_at=at + wait + talk,
        wait_s=wait,
        talk_s=talk if answered else None,
        hold_s=0,
        abandon_position=None if answered else 1,
        consent="granted",
        consent_method="dtmf",
        consent_at=at,
        recorded=answered,
        recording=None,
        hangup_cause=16,
        no_answer_count=0,
        ended_while_disconnected=False,
    )


def calls(count: int, queues: int, rng: random.Random) -> list[list[Change]]:
    """Each call's changes, in the order the pipeline would hand them over."""
    day = DAY.timestamp()
    out = []
    for n in range(count):
        queue = f"q{n % queues}"
        at = day + 86_000 * n / count
        linkedid = f"1700000000.{n}"
        offered = CallOffered(
            ts=at, linkedid=linkedid, queue=queue, caller_number="1", caller_name="", position=1
        )
        draw = rng.random()
        wait = min(int(rng.expovariate(1 / 15)), 900)
        if draw < 0.08:
            gone: Change = CallAbandoned(
                ts=at + wait, linkedid=linkedid, queue=queue, position=1, wait_s=wait
            )
            end = record(linkedid, queue, at, Outcome.ABANDONED, wait, 0)
            out.append([offered, gone, CallEnded(ts=at + wait, record=end)])
        elif draw < 0.09:
            end = record(linkedid, queue, at, Outcome.TIMED_OUT, 300, 0)
            out.append([offered, CallEnded(ts=at + 300, record=end)])
        else:
            talk = int(rng.expovariate(1 / 180))
            answer = CallAnswered(
                ts=at + wait,
                linkedid=linkedid,
                queue=queue,
                interface="SIP/1001",
                member_name="",
                wait_s=wait,
            )
            end = record(linkedid, queue, at, Outcome.ANSWERED, wait, talk)
            out.append([offered, answer, CallEnded(ts=at + wait + talk, record=end)])
    return out


def measure(count: int, queues: int, refreshes: int, settings: Settings) -> tuple[float, float]:
    rng = random.Random(16)
    now = DAY.timestamp() + 86_100
    today = TodayTallies(UTC, DAY.timestamp())
    for changes in calls(count, queues, rng):
        today.offer(changes)
    state = CtiState()
    timings = []
    for _ in range(refreshes):
        started = time.perf_counter()
        board = wallboard.build(settings, state, today, now)
        timings.append((time.perf_counter() - started) * 1000)
    offered = sum(q["windows"]["today"]["offered"] for q in board["queues"])
    assert offered == count, (offered, count)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.99) - 1]


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", default="10000,100000,1000000")
    parser.add_argument("--queues", type=int, default=10)
    parser.add_argument("--refreshes", type=int, default=200)
    args = parser.parse_args(argv)
    settings = Settings()
    worst = 0.0
    print(f"wallboard refresh, {args.queues} queues, {args.refreshes} refreshes per size")
    print(f"{'calls today':>12} {'median ms':>10} {'p99 ms':>8}  target <= {TARGET_MS} ms")
    for count in (int(c) for c in args.calls.split(",")):
        median, p99 = measure(count, args.queues, args.refreshes, settings)
        worst = max(worst, p99)
        print(f"{count:>12,} {median:>10.2f} {p99:>8.2f}  {'ok' if p99 <= TARGET_MS else 'OVER'}")
    return worst


if __name__ == "__main__":
    main()
