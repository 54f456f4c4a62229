"""The terminal UI's benchmark, at a size CI can afford (the full run: scripts/bench_tui.py, figures in
docs/performance.md): ``pos ui`` in a pseudo-terminal against a real service runs every measure through.
Only that it ran and what it counted are checked, never a time: these machines are shared and noisy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_the_pty_benchmark_runs_at_small_size() -> None:
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_tui.py"), "--small", "--json", "--burst-wait", "60"],
                       capture_output=True, text=True, timeout=280, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    result = json.loads(r.stdout.splitlines()[-1])
    starts, counter = result["starts"], result["counter"]
    assert all(len(starts[k]) == 2 for k in ("start", "login", "bare start", "bare login"))
    assert all(len(counter[k]) == 5 for k in ("online", "offline", "expired", "typo"))
    burst = counter["burst"]
    # the 20 codes of one burst: 20 verdicts, all in the list (if not: what the verdict panel showed instead)
    assert burst["all_listed"] is not None, "\n".join([f"missing from the list: {burst.get('missing')}", *burst.get("list", []),
                                                        *burst.get("panel", [])])
    assert burst["recorded"] == {"distinct": 20, "rows": 20}  # none lost, none taken twice
    assert [n for n, _ in result["shift"]["rss"]] == [0, 1, 20]
