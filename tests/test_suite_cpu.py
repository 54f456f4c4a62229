"""scripts/suite_cpu.py, run on a small test file of its own: it runs the tests and names each with the CPU it took,
the costly one first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent

TESTS = '''
import hashlib

import pytest


def test_costly() -> None:  # about a second of CPU
    for _ in range(16):
        hashlib.scrypt(b"pin", salt=b"salt", n=2**14, r=8, p=1, maxmem=2**26)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_cheap(n: int) -> None:
    assert n
'''


def test_the_suite_cpu_script_names_each_test_it_ran_costliest_first(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(TESTS)
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "suite_cpu.py"), str(tmp_path / "test_sample.py"),
                        "-p", "no:xdist", "-p", "no:cacheprovider"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "\n4 tests: " in r.stdout
    modules = r.stdout.split("CPU by module (s):\n")[1].split("\n\n")[0].splitlines()
    assert len(modules) == 1 and modules[0].endswith("test_sample.py")
    tests = [line.split()[1].rpartition("::")[2] for line in r.stdout.split("CPU by test (s):\n")[1].splitlines()]
    assert sorted(tests) == ["test_cheap[1]", "test_cheap[2]", "test_cheap[3]", "test_costly"]
    assert tests[0] == "test_costly"
