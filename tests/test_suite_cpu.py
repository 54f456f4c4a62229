"""scripts/suite_cpu.py, run on a few tests: it runs them and names each with the CPU it took."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_the_suite_cpu_script_names_each_test_it_ran_and_its_module() -> None:
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "suite_cpu.py"), "tests/test_amounts.py", "-n", "0",
                        "-k", "people_type"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    ran = int(r.stdout.split(" passed")[0].split()[-1])
    assert ran >= 3
    assert f"\n{ran} tests: " in r.stdout
    modules = r.stdout.split("CPU by module (s):\n")[1].split("\n\n")[0].splitlines()
    assert len(modules) == 1 and modules[0].endswith("tests/test_amounts.py")
    tests = r.stdout.split("CPU by test (s):\n")[1].splitlines()
    assert len(tests) == min(ran, 20) and all("tests/test_amounts.py::test_amounts_people_type[" in t for t in tests)
