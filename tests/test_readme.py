"""The README's set-up and the back office's keys say what the checkout and the app actually do."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pos.demo import pos_command
from pos.tui.app import PosApp

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
GUIDE = (ROOT / "docs" / "terminal-ui.md").read_text(encoding="utf-8")


def screens() -> dict[str, str]:
    """The function keys the app binds to a back-office screen, with the screen's name (F2 → Campaigns, …)."""
    return {b.key.upper(): b.description for b in PosApp.BINDINGS
            if hasattr(b, "key") and re.fullmatch(r"f\d", b.key) and b.key != "f1"}


def test_the_readme_and_the_guide_list_every_back_office_screen_by_its_key() -> None:
    keys = screens()
    assert set(keys) == {"F2", "F3", "F4", "F5", "F6", "F7"}, keys
    listed = re.sub(r"\s+", " ", README)
    for key, name in keys.items():
        assert f"{key} {name}" in listed, f"README: {key} {name}"
        assert re.search(rf"^\| {key} \| {name} \|", GUIDE, re.M), f"docs/terminal-ui.md: {key} {name}"


def test_the_readme_says_how_to_run_pos_after_the_set_up_as_the_scripts_do_it() -> None:
    bootstrap = (ROOT / "scripts" / "bootstrap.sh").read_text(encoding="utf-8")
    assert '"$PYTHON" -m venv .venv' in bootstrap and "pip install" in bootstrap and "-e ." in bootstrap
    assert "PATH" not in bootstrap  # it does not put .venv/bin on the PATH: the README must say how
    for script in ("demo", "test"):
        assert "scripts/bootstrap.sh" in (ROOT / script).read_text(encoding="utf-8"), script
    assert 'pos = "pos.cli:main"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")  # hence .venv/bin/pos
    setup = README.split("## Commands")[0]
    assert "`.venv/bin/pos`" in setup and ". .venv/bin/activate" in setup and "Neither puts\n`pos` on your PATH" in setup


def test_the_demo_writes_the_pos_command_as_this_shell_can_run_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sys

    venv_bin = Path(sys.executable).parent
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # not activated
    assert pos_command() == str(venv_bin / "pos")
    monkeypatch.chdir(venv_bin.parent.parent)
    assert pos_command() == str((venv_bin / "pos").relative_to(venv_bin.parent.parent))  # .venv/bin/pos
    monkeypatch.setenv("PATH", f"{venv_bin}:/usr/bin:/bin")  # activated
    assert pos_command() == "pos"
