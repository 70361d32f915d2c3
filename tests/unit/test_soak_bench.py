"""bench/soak.py with small options, on real processes (PostgreSQL, the simulator, `cti
serve`, supervisors' websockets): it runs to the end and every call it placed is in the call
log with its end. No timing asserted: the lag and memory verdicts are the bench's to print."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_the_soak_benchmark_logs_every_call_it_placed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(BENCH))  # soak.py imports its sibling pop_latency.py
    spec = importlib.util.spec_from_file_location("soak_bench", BENCH / "soak.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench)
    spec.loader.exec_module(bench)
    bench.main(["--calls", "150", "--rate", "30", "--agents", "40", "--supervisors", "1"])
    out = capsys.readouterr().out
    found = re.search(r"calls in the call log: ([\d,]+) of ([\d,]+) placed", out)
    assert found is not None, out
    assert found.group(1) == found.group(2) and int(found.group(2).replace(",", "")) >= 150
    assert "AMI reconnects during the run: 0" in out
