"""The throughput benchmark runs, both paths see every event frame, and it prints a ratio.
(No timing is asserted: machines here are shared and noisy.)"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "ami_throughput.py"


def test_benchmark_runs_and_reports_a_ratio(
    captures: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = importlib.util.spec_from_file_location("ami_throughput", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    ratio = bench.main(["--events", "20000", "--repeat", "1"])
    out = capsys.readouterr().out
    assert ratio > 0 and re.search(r"ratio b/a: \d+\.\d\d", out)
    assert "note:" not in out  # neither path lost an event frame
    events = int(re.search(r"stream: ([\d,]+) events", out).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert events >= 20000
    assert out.count(f"{events:,}") == 3  # the stream line and both paths' "events seen"


CALLLOG_BENCH = BENCH.parent / "calllog_writer.py"


def test_call_log_writer_benchmark_writes_every_row_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A few hundred synthetic calls through the real writer into an embedded PostgreSQL:
    every call and event lands once (the bench says "note:" otherwise), a rate is printed."""
    import sys

    spec = importlib.util.spec_from_file_location("calllog_writer_bench", CALLLOG_BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench)  # its dataclasses look themselves up
    spec.loader.exec_module(bench)
    calls_per_s = bench.main(["--calls", "300"])
    out = capsys.readouterr().out
    assert calls_per_s > 0 and re.search(r"sustained: [\d,]+ calls/s", out)
    assert "note:" not in out, out


def test_pop_latency_benchmark_runs_end_to_end(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """bench/pop_latency.py with small options, on real processes (PostgreSQL, simulator,
    `cti serve`): pops reach the agents' websockets with noise flowing, every panel
    connects, and every one sees the AMI link come back after the cut. No timing asserted."""
    import sys

    path = BENCH.parent / "pop_latency.py"
    spec = importlib.util.spec_from_file_location("pop_latency_bench", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench)  # its dataclasses look themselves up
    spec.loader.exec_module(bench)
    small = "--calls-today 300 --no-baseline --rates 0,1000 --seconds 2 --warmup 0.2"
    small += " --latency-agents 4 --latency-supervisors 1 --agents 8 --supervisors 2"
    small += " --panels-seconds 1 --cut-seconds 0.3 --after-seconds 0.5"
    results = bench.main(small.split())
    out = capsys.readouterr().out
    assert set(results["latency"]) == {0, 1000}
    assert sum(r["figures"].pops for r in results["latency"].values()) > 0, out
    assert results["panels"]["open"] == 10
    assert results["panels"]["link_up_seen"] == 10, out
    assert "websockets closed by the server across the reconnect" in out


def test_reconciliation_benchmark_writes_the_missed_calls_and_fills_the_consents(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """bench/reconcile.py on a small day: the first reconciliation writes exactly the calls
    left out of the call log and fills the consents (the bench asserts both), the next ones
    find nothing, a follow-up fills what was emptied. No timing asserted."""
    spec = importlib.util.spec_from_file_location("reconcile_bench", BENCH.parent / "reconcile.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(["--calls-today", "2000", "--missed", "20", "--unfilled", "5", "--repeat", "1"])
    out = capsys.readouterr().out
    assert "20 missed calls written, 5 consents filled in" in out
    assert "a reconciliation with nothing missed: median" in out
    assert "a follow-up of 5 calls' consents: median" in out
