"""The layering rules are enforced by ruff (cti/state/ruff.toml): the pure state core may not
import an event loop, a clock or I/O. This shows the rule bites, on code the core does not
have, so that a broken configuration cannot pass silently."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def ruff_on(path: str, source: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--stdin-filename", path, "-"],
        input=source,
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    return result.stdout + result.stderr


def test_the_state_core_may_not_import_a_loop_a_clock_or_io() -> None:
    found = ruff_on(
        "cti/state/probe.py",
        "import time\nfrom asyncio import sleep\nimport aiohttp\nfrom datetime import datetime\n",
    )
    assert found.count("TID251") == 4, found


def test_the_rest_of_the_daemon_may() -> None:
    assert "TID251" not in ruff_on("cti/pipeline.py", "import time\nimport asyncio\n")
