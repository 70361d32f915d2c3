"""The layering rules. The pure state core may not import an event loop, a clock or I/O:
enforced by ruff (cti/state/ruff.toml). The rest of the daemon reads the core only through
its read API (cti/state/views.py): enforced here, by parsing every module. Each rule is shown
to bite, on code the daemon does not have, so that a broken check cannot pass silently."""

from __future__ import annotations

import ast
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


# Readers outside the core use its read API (cti/state/views.py), never its mutable
# internals: an attribute of these names, on anything, is taken for a read of them.
CORE_INTERNALS = frozenset(
    {"calls", "agents", "queues", "channels", "ringing", "memberships", "agents_by_device"}
)
# The simulator is a PBX of its own: its calls, queues and channels are its model, not ours.
OWN_MODEL = "cti/simulator/"


def internals_read(source: str) -> list[str]:
    """Where this source reads an attribute named like one of the core's internals."""
    return sorted(
        f"line {node.lineno}: .{node.attr}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and node.attr in CORE_INTERNALS
    )


def test_readers_use_the_state_views_not_the_cores_internals() -> None:
    found = {}
    for path in sorted((REPO / "cti").rglob("*.py")):
        name = path.relative_to(REPO).as_posix()
        if name.startswith(("cti/state/", OWN_MODEL)):
            continue
        reads = internals_read(path.read_text(encoding="utf-8"))
        if reads:
            found[name] = reads
    assert not found, f"use cti/state/views.py instead: {found}"


def test_the_views_rule_bites() -> None:
    probe = (
        "def busy(state, hub):\n"
        "    call = state.calls.get('1.0')\n"
        "    return len(state.agents), call.ringing, hub.state.channels, 'calls'\n"
    )
    assert internals_read(probe) == [
        "line 2: .calls",
        "line 3: .agents",
        "line 3: .channels",
        "line 3: .ringing",
    ]


# Features are packages composed by cti/app.py, each through its plugin.setup(app); the core
# they build on (AMI, the state core, the pipeline, the push hub, the database, tasks and the
# clock) never imports one (DESIGN.md §3).
FEATURES = ("calllog", "campaigns", "customers", "quality", "routing", "supervision")
CORE = ("cti/ami/", "cti/state/", "cti/push/", "cti/database/")
CORE_MODULES = ("cti/pipeline.py", "cti/tasks.py", "cti/clock.py")


def features_imported(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
        found += [n for n in names if n.split(".")[:2] in (["cti", f] for f in FEATURES)]
    return found


def test_the_core_imports_no_feature() -> None:
    found = {}
    for path in sorted((REPO / "cti").rglob("*.py")):
        name = path.relative_to(REPO).as_posix()
        if name.startswith(CORE) or name in CORE_MODULES:
            imported = features_imported(path.read_text(encoding="utf-8"))
            if imported:
                found[name] = imported
    assert not found, f"the core must not depend on a feature: {found}"
    assert features_imported("from cti.routing.acd import Acd\nimport cti.calllog.writer\n") == [
        "cti.routing.acd",
        "cti.calllog.writer",
    ]


def test_every_feature_is_composed_through_its_plugin() -> None:
    from cti.app import FEATURES as composed

    assert sorted(f.__name__ for f in composed) == [f"cti.{f}.plugin" for f in sorted(FEATURES)]
    assert all(callable(f.setup) for f in composed)
