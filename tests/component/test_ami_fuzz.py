"""Fuzzed AMI over a real TCP socket into the real AmiClient, Pipeline, CtiState, Metrics and
call-log writer (real PostgreSQL): nothing crashes, the writer stays alive, a well-formed call
after the garbage is still logged, and memory and metric label sets stay bounded.

The frames are the reference captures' frames, about one in four mutated (truncated lines,
missing colons, huge values, NUL bytes, invalid UTF-8, random event names, impossible
Timestamps, random Uniqueid/Linkedid/Queue, random bytes, stray list starts); now and then a
message longer than the frame limit ends the session, and the first session opens with an
endless banner line. ``CTI_FUZZ_FRAMES`` sets how many (100,000 by default; the issue's
figure is 1,000,000) and ``CTI_FUZZ_SEED`` the seed: a failure replays with the same seed.
Run with ``-s`` to see the figures. No timing asserts: the client's own counts say when it is
done."""

from __future__ import annotations

import asyncio
import os
import random
import resource
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from harness import ScriptedAmi, wait_until

from cti.ami.connection import AmiClient, AmiConfig
from cti.ami.frames import ASTERISK_EVENTS, BANNER_PREFIX, FRAME_END, MAX_FRAME_BYTES
from cti.ami.protocol import GARBAGE
from cti.calllog.spool import Spool
from cti.calllog.writer import CallLogWriter
from cti.database import Database
from cti.metrics import MAX_LABEL_VALUES, LiveSources, Metrics
from cti.pipeline import Pipeline
from cti.replay import capture_bytes, replay
from cti.simulator.wire import BANNER
from cti.state.changes import CallEnded
from cti.state.resync import MAX_OPEN_LISTS
from cti.state.store import CtiState

FRAMES = int(os.environ.get("CTI_FUZZ_FRAMES", "100000"))
SEED = int(os.environ.get("CTI_FUZZ_SEED", "14"))
MUTATED = 0.25  # the share of frames mutated
GIANT_EVERY = 50_000  # one message longer than the frame limit (it ends the session) per this
BATCH = 500  # frames per write

FINAL_CAPTURE = "basic-queue-calls.ami"  # the well-formed calls after the garbage


def capture_frames(captures: Path) -> list[bytes]:
    """Every frame of the reference captures but FINAL_CAPTURE's (its calls must be new at
    the end) and Shutdown (which ends a session on purpose)."""
    paths = sorted(
        [*captures.glob("*.ami"), *captures.glob("*.ami.xz"), *captures.glob("real/*.ami")]
    )
    paths.remove(captures / FINAL_CAPTURE)
    out = []
    for path in paths:
        data = capture_bytes(path)
        if data.startswith(BANNER_PREFIX):
            data = data[data.index(b"\r\n") + 2 :]
        out += [
            frame
            for frame in data.split(FRAME_END)
            if frame and not frame.startswith(b"Event: Shutdown")
        ]
    return out


class Fuzzer:
    """Seeded mutations of real frames; ``made`` counts the frames of each kind."""

    def __init__(self, frames: list[bytes], seed: int) -> None:
        self.frames = frames
        self.rng = random.Random(seed)
        self.made: Counter[str] = Counter()
        self.mutations = [getattr(self, name) for name in dir(self) if name.startswith("m_")]

    def next_batch(self, size: int, since_giant: int) -> tuple[bytes, int, bool]:
        """Up to ``size`` frames; the batch ends with a giant message (True) when
        ``since_giant`` plus the frames reaches GIANT_EVERY."""
        rng, frames, out = self.rng, self.frames, []
        for n in range(size):
            if since_giant + n + 1 >= GIANT_EVERY:
                self.made["giant"] += 1
                out.append(b"Event: Newchannel\r\nCallerIDName: " + b"G" * (MAX_FRAME_BYTES + 64))
                return b"".join(out), n + 1, True
            frame = frames[rng.randrange(len(frames))]
            if rng.random() < MUTATED:
                mutate = rng.choice(self.mutations)
                self.made[mutate.__name__[2:]] += 1
                frame = mutate(frame)
            else:
                self.made["real"] += 1
            out.append(frame + FRAME_END)
        return b"".join(out), size, False

    def _lines(self, frame: bytes) -> list[bytes]:
        return frame.split(b"\r\n")

    def _set(self, frame: bytes, key: bytes, value: bytes) -> bytes:
        lines = [line for line in self._lines(frame) if not line.startswith(key + b": ")]
        lines.insert(self.rng.randrange(1, len(lines) + 1), key + b": " + value)
        return b"\r\n".join(lines)

    def _random_text(self, low: int, high: int) -> bytes:
        letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_/ "
        return "".join(self.rng.choices(letters, k=self.rng.randint(low, high))).encode()

    # --- the mutations ------------------------------------------------------------------

    def m_truncated(self, frame: bytes) -> bytes:
        return frame[: self.rng.randrange(len(frame))]

    def m_unterminated(self, frame: bytes) -> bytes:
        return frame + b"\r\n" + self.frames[self.rng.randrange(len(self.frames))]

    def m_missing_colon(self, frame: bytes) -> bytes:
        lines = self._lines(frame)
        i = self.rng.randrange(len(lines))
        lines[i] = lines[i].replace(b": ", b" ", 1)
        return b"\r\n".join(lines)

    def m_huge_value(self, frame: bytes) -> bytes:
        lines = self._lines(frame)
        i = self.rng.randrange(len(lines))
        size = self.rng.choice([1000, 10_000, 100_000, 500_000])
        lines[i] = lines[i].partition(b": ")[0] + b": " + b"h" * size
        return b"\r\n".join(lines)

    def m_nul(self, frame: bytes) -> bytes:
        i = self.rng.randrange(len(frame) + 1)
        return frame[:i] + b"\x00" * self.rng.randint(1, 3) + frame[i:]

    def m_invalid_utf8(self, frame: bytes) -> bytes:
        bad = self.rng.choice([b"\xff", b"\xc3", b"\xe2\x82", b"\xc0\xaf", b"\xed\xa0\x80"])
        i = self.rng.randrange(len(frame) + 1)
        return frame[:i] + bad + frame[i:]

    def m_event_name(self, frame: bytes) -> bytes:
        name = self._random_text(1, 40)
        lines = [line for line in self._lines(frame) if not line.startswith(b"Event: ")]
        # First (skipped as noise from the raw bytes) or later (parsed and passed on).
        lines.insert(self.rng.choice([0, len(lines)]), b"Event: " + name)
        return b"\r\n".join(lines)

    def m_timestamp(self, frame: bytes) -> bytes:
        stamp = self.rng.choice(
            [b"inf", b"-inf", b"nan", b"1e20", b"-5", b"1e308", b"0", b"abc", b""]
        )
        return self._set(frame, b"Timestamp", stamp)

    def m_ids(self, frame: bytes) -> bytes:
        def new_id() -> bytes:
            return b"%d.%d" % (
                self.rng.randrange(1_700_000_000, 1_800_000_000),
                self.rng.randrange(100_000),
            )

        for key in (b"Uniqueid", b"Linkedid", b"DestUniqueid", b"DestLinkedid"):
            if key + b": " in frame and self.rng.random() < 0.7:
                frame = self._set(frame, key, new_id())
        return frame

    def m_queue(self, frame: bytes) -> bytes:
        return self._set(frame, b"Queue", self._random_text(1, 30))

    def m_random_bytes(self, frame: bytes) -> bytes:
        return self.rng.randbytes(self.rng.randint(1, 2000))

    def m_list_start(self, frame: bytes) -> bytes:
        return b"Response: Success\r\nActionID: %s\r\nEventList: start" % self._random_text(1, 20)

    def m_empty_frames(self, frame: bytes) -> bytes:
        return frame + FRAME_END * self.rng.randint(1, 3)


class Calls:
    """A sink counting the calls that ended; it keeps those of ``watched`` Linkedids."""

    def __init__(self, watched: set[str]) -> None:
        self.watched = watched
        self.ended = 0
        self.final: list[str] = []

    def offer(self, changes: Any) -> None:
        for change in changes:
            if isinstance(change, CallEnded):
                self.ended += 1
                if change.record.linkedid in self.watched:
                    self.final.append(change.record.linkedid)


def labels(metrics: Metrics, label: str) -> dict[str, set[str]]:
    """The distinct values of ``label`` in each exported metric family that has it."""
    out: dict[str, set[str]] = {}
    for family in metrics.registry.collect():
        for sample in family.samples:
            if label in sample.labels:
                out.setdefault(family.name, set()).add(sample.labels[label])
    return out


# Safety nets, not timing asserts: generous for a slow, shared machine.
TIMEOUT_S = max(300.0, FRAMES / 500)


@pytest.mark.timeout(TIMEOUT_S + 60)
async def test_fuzzed_frames_over_tcp_crash_nothing_and_stay_bounded(
    captures: Path, database_url: str, tmp_path: Path, capsys: Any
) -> None:
    fuzzer = Fuzzer(capture_frames(captures), SEED)
    final_stream = capture_bytes(captures / FINAL_CAPTURE)
    final_stream = final_stream[final_stream.index(b"\r\n") + 2 :]  # its banner line
    expected, clean = replay(capture_bytes(captures / FINAL_CAPTURE))
    expected_ids = {record.linkedid for record in expected}
    assert not any(i.encode() in frame for frame in fuzzer.frames for i in expected_ids)

    sent = 0
    fuzz_done = asyncio.Event()

    async def play(session: int) -> AsyncIterator[bytes | None]:
        nonlocal sent
        if fuzz_done.is_set():
            yield final_stream
            return
        while sent < FRAMES:
            data, count, giant = fuzzer.next_batch(min(BATCH, FRAMES - sent), sent % GIANT_EVERY)
            sent += count
            yield data
            if giant:
                return  # the client drops this session; the next one goes on
        fuzz_done.set()
        yield None  # a new session, whose resync forgets what the garbage left, plays the end

    def banner(session: int) -> bytes:
        if session == 1:  # a banner line that never ends: as long as any endless frame
            return BANNER_PREFIX + b"9" * (MAX_FRAME_BYTES + 64)
        return BANNER

    calls = Calls(expected_ids)
    state = CtiState()
    metrics = Metrics(state)
    database = Database(database_url)
    writer = CallLogWriter(database, Spool(tmp_path / "call-log.spool"), "TR")
    pipeline = Pipeline(state, [calls, metrics, writer])
    garbage_before = Counter(GARBAGE.counts)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    async with ScriptedAmi(play, banner) as peer:
        ami = AmiClient(
            AmiConfig(
                "127.0.0.1", peer.port, "cti", "secret", backoff_initial=0.01, ping_interval=3600.0
            ),
            pipeline.submit_message,
            pipeline.submit_event,
        )
        metrics.attach(
            LiveSources(
                pipeline_depth=lambda: pipeline.depth,
                pipeline_errors=lambda: pipeline.stats.handler_errors,
                events_by_name=lambda: dict(
                    Counter(pipeline.stats.by_event) + Counter(ami.skipped_events())
                ),
                ami_connected=lambda: ami.connected,
                ami_sessions=lambda: ami.stats.sessions,
                ami_login_failures=lambda: ami.stats.login_failures,
                spool_rows=lambda: writer.spool_depth,
                write_errors=lambda: writer.stats.write_errors,
                quarantined_rows=lambda: writer.stats.quarantined,
                reconciled_calls=lambda: 0,
                database_up=lambda: writer.healthy,
                websocket_clients=lambda: 0,
                service_level_targets={},
            )
        )
        tasks = {
            name: asyncio.create_task(run(), name=name)
            for name, run in (("pipeline", pipeline.run), ("ami", ami.run), ("writer", writer.run))
        }
        try:
            await wait_until(lambda: set(calls.final) == expected_ids, TIMEOUT_S)
            pool = await database.pool()

            async def logged() -> int:
                return int(
                    await pool.fetchval(
                        "SELECT count(*) FROM calls WHERE linkedid = ANY($1::text[])",
                        sorted(expected_ids),
                    )
                )

            async with asyncio.timeout(TIMEOUT_S):
                while await logged() < len(expected_ids):
                    assert not tasks["writer"].done(), tasks["writer"]
                    await asyncio.sleep(0.05)
            seconds = time.perf_counter() - started
            alive = {name: not task.done() for name, task in tasks.items()}
            event_labels = labels(metrics, "event").get("cti_ami_events", set())
            queue_labels = labels(metrics, "queue")
            sizes = {
                "channels": len(state.channels),
                "calls": len(state.calls),
                "queues": len(state.queues),
                "agents": len(state.agents),
                "open lists": len(state._listings),
            }
            counters = {
                "pipeline by_event": len(pipeline.stats.by_event),
                "skipped by name": len(ami.skipped_events()),
            }
            sessions, handler_errors = ami.stats.sessions, pipeline.stats.handler_errors
            quarantined = await pool.fetch(
                'SELECT coalesce(substring(reason from \'constraint "[^"]+"\'), left(reason, 80))'
                " AS reason, count(*) AS n FROM call_log_quarantine GROUP BY 1 ORDER BY 2 DESC"
            )
        finally:
            for task in tasks.values():
                task.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)
            await database.close()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    garbage = Counter(GARBAGE.counts) - garbage_before
    mutated = sum(n for kind, n in fuzzer.made.items() if kind != "real")
    with capsys.disabled():
        print(
            f"\nfuzz seed {SEED}: {sent:,} frames ({mutated:,} mutated: "
            f"{dict(sorted(fuzzer.made.items()))}) in {seconds:.1f} s, {sessions} sessions"
        )
        print(
            f"  the client saw as garbage: {dict(garbage)}; handler errors {handler_errors}; "
            f"calls ended {calls.ended:,}; writer: {writer.stats}"
        )
        print(
            f"  distinct labels: event {len(event_labels)} (bound {len(ASTERISK_EVENTS) + 2}),"
            f" queue {max(map(len, queue_labels.values()), default=0)} (bound "
            f"{MAX_LABEL_VALUES + 1}); counters {counters}"
        )
        print(
            f"  state after the final call: {sizes} (a clean replay leaves "
            f"{len(clean.state.channels)} channels, {len(clean.state.calls)} calls); peak RSS "
            f"{rss_before / 1024:.0f} -> {rss_after / 1024:.0f} MB"
        )
        print(f"  quarantined by PostgreSQL: {[(r['reason'], r['n']) for r in quarantined]}")
    assert alive == {"pipeline": True, "ami": True, "writer": True}
    assert sorted(calls.final) == sorted(expected_ids)  # the pipeline answered after it all
    assert writer.healthy
    assert sent == FRAMES and garbage["oversized"] == fuzzer.made["giant"] + 1  # + the banner
    assert garbage["no_event"] > 0 and garbage["invalid_utf8"] > 0
    assert sessions == fuzzer.made["giant"] + 3  # banner, the giants' next ones, the final
    # Bounded: label sets, counters by name, and the state once the garbage is resynced away.
    assert len(event_labels) <= len(ASTERISK_EVENTS) + 2  # + "Response", "other"
    assert all(len(values) <= MAX_LABEL_VALUES + 1 for values in queue_labels.values())
    assert all(n <= len(ASTERISK_EVENTS) + 2 for n in counters.values())
    assert sizes["channels"] == len(clean.state.channels)
    # Coarse: the frame limit times a few buffers, plus the state. Keeping the garbage would
    # take far more (a million frames are about 500 MB).
    assert (rss_after - rss_before) / 1024 < 256
    # No call without a channel (a queue event for an unknown call opens none), and the
    # lists garbage opened are bounded (cti/state/resync.py, MAX_OPEN_LISTS).
    assert sizes["calls"] == len(clean.state.calls)
    assert sizes["open lists"] <= MAX_OPEN_LISTS
