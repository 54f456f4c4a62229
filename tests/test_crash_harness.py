"""The crash harness, at a size CI can afford (six kill points; the full 200-kill run: scripts/crash_harness.py): the
counter, its undo and the UI's background sync in one killed process, a slow service some of the time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_random_sigkills_of_terminal_and_service_lose_nothing(tmp_path: Path, engine: str) -> None:
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "crash_harness.py"), "--kills", "6", "--seed", "11",
                        "--workdir", str(tmp_path / "crash"), "--engine", engine],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    result = json.loads(r.stdout[r.stdout.index("{"): r.stdout.rindex("}") + 1])
    assert result["kill_points"] >= 6
    assert (result["lost"], result["duplicated"], result["disagreements"]) == (0, 0, [])
    assert result["given_never_displayed"] == 0
    assert result["shown_accepted"] > 0 and result["undone"] > 0  # the undo and the background sync ran too
