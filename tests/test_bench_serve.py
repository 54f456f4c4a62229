"""The service benchmark at a size CI can afford (the full run: scripts/bench_serve.py, figures in
docs/performance.md): 50 keep-alive clients against ``pos serve`` in each phase, then every answer
"accepted" is looked for in the database. Only what was answered and stored is checked, never a time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_the_service_benchmark_runs_at_small_size_and_every_acceptance_is_stored(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_serve.py"), "--seconds", "1", "--workdir", str(tmp_path)],
                       capture_output=True, text=True, timeout=280, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    result = json.loads(r.stdout.splitlines()[-1])
    assert result["durable"]
    ceiling, *redeeming = result["phases"]
    assert ceiling["phase"] == "ceiling" and ceiling["answers"] == {"ok": ceiling["requests"]} and ceiling["requests"] > 0
    assert [p["phase"] for p in redeeming] == ["baseline", "pos", "pos-2-workers"]
    for p in redeeming:  # every request was a new voucher: each answered accepted, and each of those stored
        assert p["answers"] == {"accepted": p["requests"]} and p["requests"] > 0, p
        assert p["in_database"] == p["requests"], p
