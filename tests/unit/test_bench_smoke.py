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
