"""The terminal's configuration file and its environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from pos.terminal.config import ConfigError, TerminalConfig, load, write


def test_written_configuration_reads_back_with_awkward_values(tmp_path: Path) -> None:
    path = tmp_path / "pos.toml"
    cfg = TerminalConfig(service_url="http://127.0.0.1:1", token='to"ken\\x', store_id="S1", terminal_id="T1",
                         staff_id="alice", database=tmp_path / 'dir with "quotes"' / "t.db", timeout=1.5)
    write(path, cfg)
    assert load(path) == cfg


def test_environment_wins_and_relative_database_is_beside_the_file(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "pos.toml"
    path.write_text('[terminal]\ntoken = "t"\nstore_id = "S1"\nterminal_id = "T1"\ndatabase = "local.db"\n')
    monkeypatch.setenv("POS_STORE", "S2")
    monkeypatch.setenv("POS_TIMEOUT", "0.5")
    cfg = load(path)
    assert (cfg.store_id, cfg.timeout, cfg.database) == ("S2", 0.5, tmp_path / "local.db")


def test_missing_and_unknown_settings_are_named(tmp_path: Path) -> None:
    path = tmp_path / "pos.toml"
    path.write_text('[terminal]\ntoken = "t"\n')
    with pytest.raises(ConfigError, match="store_id, terminal_id missing"):
        load(path)
    path.write_text('[terminal]\ntoken = "t"\nstore = "S1"\n')
    with pytest.raises(ConfigError, match="unknown setting"):
        load(path)
