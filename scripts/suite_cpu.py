"""Where the test suite's CPU goes: runs pytest (any arguments are passed on) with a plugin that records each
test's CPU time — its worker process, every thread of it (a service served from a thread counts), and the child
processes it waited for — then prints the modules and tests that cost the most.

    .venv/bin/python scripts/suite_cpu.py                       # the whole suite, two workers per core
    .venv/bin/python scripts/suite_cpu.py tests/test_tui_office.py -n 0

The suite is bound by the machine's CPU (two workers per core), so CPU, not wall time, is what a change to a
test or to what it runs saves; wall times under load mostly measure the other workers. Not counted: a PostgreSQL
server (a daemon, not a child of the test) and children not waited for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PLUGIN = '''
import json, os, resource, time
import pytest

def _cpu():
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    own, children, wall = *_cpu(), time.monotonic()
    yield
    own2, children2 = _cpu()
    name = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(os.path.join(os.environ["POS_SUITE_CPU_DIR"], name + ".jsonl"), "a") as out:
        out.write(json.dumps({"id": item.nodeid, "own": own2 - own, "children": children2 - children,
                              "wall": time.monotonic() - wall}) + "\\n")
'''


def main(args: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="pos-suite-cpu-") as folder:
        Path(folder, "pos_suite_cpu.py").write_text(PLUGIN)
        chose = any(a in ("-n", "--numprocesses", "no:xdist") or a.startswith(("-n", "--numprocesses=")) for a in args)
        workers = [] if chose else ["-n", str(2 * (os.cpu_count() or 1)), "--dist", "worksteal"]  # as ./test runs them
        env = {**os.environ, "POS_SUITE_CPU_DIR": folder,
               "PYTHONPATH": os.pathsep.join(p for p in (folder, os.environ.get("PYTHONPATH", "")) if p)}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        code = subprocess.call([sys.executable, "-m", "pytest", "-p", "pos_suite_cpu", "-q", *workers, *args],
                               cwd=ROOT, env=env)
        rows = [json.loads(line) for f in Path(folder).glob("*.jsonl") for line in f.read_text().splitlines()]
    if not rows:
        print("no test ran", file=sys.stderr)
        return code or 1
    cpu = {r["id"]: r["own"] + r["children"] for r in rows}
    print(f"\n{len(rows)} tests: {sum(cpu.values()):.0f} s of CPU ({sum(r['own'] for r in rows):.0f} s in the "
          f"test processes, {sum(r['children'] for r in rows):.0f} s in their children), "
          f"{sum(r['wall'] for r in rows):.0f} s of wall time summed over the workers")
    modules: Counter[str] = Counter()
    for test, seconds in cpu.items():
        modules[test.partition("::")[0]] += seconds
    print("\nCPU by module (s):")
    for module, seconds in modules.most_common(20):
        print(f"{seconds:7.1f}  {module}")
    print("\nCPU by test (s):")
    for test, seconds in Counter(cpu).most_common(20):
        print(f"{seconds:7.1f}  {test}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
