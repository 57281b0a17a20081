"""A smoke run of send_to_receive.py's reaction timing, with tiny counts.

Why: the benchmarks are run by hand, seldom, and a bench that breaks is found only
when its figures are wanted. This runs it end to end (its own run.py, on the test
database server) and checks that it finishes, that its delivery checks passed (it
exits 1 otherwise), and that it reports the figures asked of it. No figure's value is
asserted: on a shared machine timings are not a test. The suite's fan-out of changes
is left out: even at N=3 it takes about 9 s (two servers, the settling waits).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tornado_chat.config import DatabaseURL

REPO_ROOT = Path(__file__).resolve().parent.parent
RUN_LIMIT = 120  # seconds; it takes about 2 on an idle machine


def bench(script: str, db_server: Callable[[str], DatabaseURL], *args: str) -> list[dict[str, Any]]:
    """Run bench/``script`` against the test database server (it makes and drops a throwaway
    database of its own); its JSON lines, after checking that it exited 0."""
    url = db_server("unused").url()  # the bench names its own database on this server
    command = [sys.executable, str(REPO_ROOT / "bench" / script), "--json-only", "--database-url", url, *args]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=RUN_LIMIT)
    assert done.returncode == 0, f"{script} exited {done.returncode}:\n{done.stderr[-3000:]}"
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_send_to_receive_times_reactions_beside_messages(db_server: Callable[[str], DatabaseURL]) -> None:
    (result,) = bench("send_to_receive.py", db_server, "--messages", "2", "--reactions")
    assert result["scenario"] == "send_to_receive_reactions" and result["n"] == 2
    for kind in ("message", "reaction"):
        assert {"median_ms", "p99_ms", "rtt_median_ms", "after_rtt_median_ms"} <= result[kind].keys()
    assert result["ratio_median"] > 0 and result["ratio_p99"] > 0

