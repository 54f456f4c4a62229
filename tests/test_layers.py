"""The layer contracts in pyproject.toml hold (cli > demo > tui > terminal | service > scanner > domain;
the domain imports no I/O; the UI no service code; no product layer the test tooling)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def test_import_contracts_are_kept() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is a dev dependency"
    r = subprocess.run([lint], capture_output=True, text=True, cwd=Path(__file__).parent.parent, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert " 0 broken" in r.stdout
