"""AMI ingest throughput: bare panoramisk vs our parser + state pipeline, on the same bytes.

    .venv/bin/python bench/ami_throughput.py [--events 500000] [--chunk 65536] [--repeat 5]

The real capture ``tests/captures/load-6cps.ami.xz`` (240 calls, ~20,800 events, most
of them VarSet/Newexten noise) is repeated until it holds at least ``--events`` events and
fed, in the same chunks, to:

  (a) panoramisk 1.4 as its users run it: its own ``AMIProtocol`` and one wildcard callback
      registered on a ``Manager`` (the callback only counts);
  (b) our path: ``CtiAmiProtocol`` (framing before decoding, noise skipped from raw bytes)
      into the ``Pipeline`` and the pure state core, drained after each chunk (as the
      daemon's consumer task runs between two reads) so every event was applied.

Both run in one process, taking turns, best of ``--repeat`` runs each (the fastest run is the
one others' work on a shared machine disturbed least), and the ratio b/a is printed. No
socket is involved: this measures parsing and dispatch, which is what differs.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol

from cti.ami.protocol import CtiAmiProtocol
from cti.pipeline import Pipeline
from cti.replay import capture_bytes
from cti.state.store import CtiState

CAPTURE = Path(__file__).resolve().parents[1] / "tests" / "captures" / "load-6cps.ami.xz"
TARGET_RATIO = 4.0  # issue 16, item 5


class _NullTransport:
    """Just enough of an asyncio transport for a protocol that never writes here."""

    def write(self, data: bytes) -> None:
        pass

    def abort(self) -> None:
        pass

    def close(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


def stream_of(events_wanted: int) -> tuple[bytes, int]:
    """The capture repeated until it has at least ``events_wanted`` events."""
    one = capture_bytes(CAPTURE)
    per_copy = one.count(b"\r\n\r\nEvent: ") + one.startswith(b"Event: ")
    copies = max(1, -(-events_wanted // per_copy))
    return one * copies, per_copy * copies


def chunks_of(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


async def run_panoramisk(chunks: list[bytes]) -> int:
    seen = 0

    def count(manager: Any, event: Any) -> None:
        nonlocal seen
        seen += 1

    manager = Manager(loop=asyncio.get_running_loop())
    manager.register_event("*", count)
    protocol = AMIProtocol()
    protocol.connection_made(_NullTransport())
    protocol.factory = manager
    protocol.encoding = "utf-8"
    for chunk in chunks:
        protocol.data_received(chunk)
    return seen


async def run_ours(chunks: list[bytes]) -> int:
    pipeline = Pipeline(CtiState())
    protocol = CtiAmiProtocol(pipeline.submit_message, lambda reason: None)
    protocol.connection_made(_NullTransport())
    for chunk in chunks:
        protocol.data_received(chunk)
        # Every kept event applied to the state, not just queued, after each read, as the
        # daemon's consumer task does between two reads. Draining once at the end would
        # measure a backlog of the whole stream (about 450 MB of queued messages, page
        # faults and cache misses) that the daemon never has.
        await pipeline.drain()
    stats = pipeline.stats
    responses = stats.by_event.get("Response", 0)  # answers to actions are not events
    return stats.messages - responses + sum(protocol.skipped.values())


Runner = Callable[[list[bytes]], Any]


def best_of(repeat: int, runs: list[Runner], chunks: list[bytes]) -> list[tuple[float, int]]:
    """Each runner's best time and what it saw. The runners take turns: on a shared machine
    the load drifts, and all the repeats of one before those of the other would count the
    drift as a difference between them."""
    best, seen = [float("inf")] * len(runs), [0] * len(runs)
    for _ in range(repeat):
        for i, run in enumerate(runs):
            started = time.perf_counter()
            seen[i] = asyncio.run(run(chunks))
            best[i] = min(best[i], time.perf_counter() - started)
    return list(zip(best, seen, strict=True))


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--chunk", type=int, default=65536)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    data, events = stream_of(args.events)
    chunks = chunks_of(data, args.chunk)
    print(
        f"stream: {events:,} events, {len(data) / 1e6:.1f} MB, {len(chunks):,} chunks of "
        f"{args.chunk:,} bytes; best of {args.repeat}"
    )
    (bare_s, bare_seen), (ours_s, ours_seen) = best_of(
        args.repeat, [run_panoramisk, run_ours], chunks
    )
    bare_rate, ours_rate = events / bare_s, events / ours_s
    print(f"{'path':<34}{'seconds':>9}{'events/s':>12}{'events seen':>13}")
    print(
        f"{'(a) panoramisk, wildcard callback':<34}{bare_s:>9.2f}{bare_rate:>12,.0f}"
        f"{bare_seen:>13,}"
    )
    print(
        f"{'(b) ours: frames + state pipeline':<34}{ours_s:>9.2f}{ours_rate:>12,.0f}"
        f"{ours_seen:>13,}"
    )
    ratio = ours_rate / bare_rate
    verdict = "meets" if ratio >= TARGET_RATIO else "misses"
    print(f"ratio b/a: {ratio:.2f} ({verdict} the target {TARGET_RATIO})")
    # "events seen" counts every Event frame each path looked at (ours: applied + skipped
    # as noise); a gap to the stream's count would mean lost frames, so say so.
    for name, seen in (("panoramisk", bare_seen), ("ours", ours_seen)):
        if seen < events:
            print(f"note: {name} saw {seen:,} of {events:,} event frames")
    return ratio


if __name__ == "__main__":
    main()
