"""What the translations cost the till's start: importing ``pos.tui.i18n`` and reading the Chinese catalog.

    python scripts/bench_i18n.py [--runs 20] [--json]

Each run is a fresh interpreter that imports ``pos.tui.i18n`` (without the ``pos.tui`` package's own start,
which is the whole app: only this module and what it imports) and then calls ``set_language("zh")``, which
reads ``pos.mo``; the times come from ``time.perf_counter`` inside that interpreter. Measured twice: with
the modules' bytecode at hand (as on a till, where pip compiles it at install; kept in a temporary
``PYTHONPYCACHEPREFIX``, not beside the sources) and without (every module compiled from its source).
Figures: medians, in milliseconds (docs/translations.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import sys, time, types
t0 = time.perf_counter()
package = types.ModuleType("pos.tui")  # pos/tui/__init__.py starts the app: leave it out
package.__path__ = [sys.argv[1]]
sys.modules["pos.tui"] = package
import pos.tui.i18n as i18n
t1 = time.perf_counter()
i18n.set_language("zh")
t2 = time.perf_counter()
assert i18n._("Counter") != "Counter" and i18n.n_("{n} wrong PIN", "{n} wrong PINs", 2) != "2 wrong PINs"
print((t1 - t0) * 1000, (t2 - t1) * 1000)
"""


def run_once(env: dict[str, str]) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT / "pos" / "tui")], env=env, cwd=ROOT,
                         capture_output=True, text=True, check=True)
    imported, loaded = (float(x) for x in out.stdout.split())
    return imported, loaded


def measure(runs: int, env: dict[str, str]) -> dict[str, float]:
    times = [run_once(env) for _ in range(runs)]
    imported = statistics.median(t[0] for t in times)
    loaded = statistics.median(t[1] for t in times)
    total = statistics.median(t[0] + t[1] for t in times)
    return {"import_ms": round(imported, 2), "load_ms": round(loaded, 2), "total_ms": round(total, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="one JSON line instead of a table")
    args = parser.parse_args()
    runs = args.runs
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        run_once(env)  # writes the bytecode
        result = {"bytecode": measure(runs, env),
                  "no bytecode": measure(runs, {**env, "PYTHONDONTWRITEBYTECODE": "1",
                                                "PYTHONPYCACHEPREFIX": str(Path(cache) / "none")})}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"import pos.tui.i18n + set_language('zh'), median of {runs} fresh interpreters (ms)")
    for name, figures in result.items():
        print(f"  {name:12} import {figures['import_ms']:6.2f}  load {figures['load_ms']:6.2f}  "
              f"total {figures['total_ms']:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
