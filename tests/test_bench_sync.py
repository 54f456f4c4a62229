"""The sync benchmark at a size CI can afford (the full run: scripts/bench_sync.py, figures in
docs/performance.md): the real ``pos sync`` against a real ``pos serve``, and both one-by-one baselines.
Only what each run left behind is checked, never a time: these machines are shared and noisy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_the_sync_benchmark_runs_at_small_size_and_every_run_is_exactly_once(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_sync.py"), "--small", "--workdir", str(tmp_path)],
                       capture_output=True, text=True, timeout=280, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    result = json.loads(r.stdout.splitlines()[-1])
    assert result["exactly_once"]
    ours, one, seq = result["runs"]
    assert (ours["run"], ours["redemptions"], ours["service_has"], ours["outbox_accepted"]) == ("pos-sync", 2000, 2000, 2000)
    assert (one["run"], one["batch_size"], one["service_has"], one["outbox_accepted"]) == ("batch-size-1", 1, 200, 200)
    assert (seq["run"], seq["service_has"]) == ("sequential", 200)
