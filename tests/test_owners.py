"""Owners of a terminal's unsettled rows (pos.terminal.owner): alive while their connection is open, whatever
another connection's recovery does at the same moment."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from pos.terminal import owner as owners
from pos.terminal.localdb import LocalDB


def test_a_recovery_running_while_another_connection_opens_leaves_that_connection_alive(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A shell's ``pos redeem`` (or a sync) recovers while the counter's connection is being opened: its recovery
    runs at the worst moment, just before the new owner's lock is taken. The new owner must still be alive after,
    or its first attempt would be abandoned by the next recovery while its answer is on the way."""
    path = tmp_path / "terminal.db"
    shell = LocalDB(path)
    real_flock = fcntl.flock
    fired = []

    def flock(fd: int, operation: int) -> None:
        if not fired and ".owners" in os.readlink(f"/proc/self/fd/{fd}"):
            fired.append(os.readlink(f"/proc/self/fd/{fd}"))
            shell.forget_dead_owners()  # the other connection's recovery, in between
        real_flock(fd, operation)

    monkeypatch.setattr(fcntl, "flock", flock)
    counter = LocalDB(path)
    monkeypatch.undo()
    try:
        assert fired, "the new owner's lock was never taken"
        assert owners.is_alive(path, counter.owner.id)
        assert counter.owner.path.exists()
        assert not list(owners.owners_dir(path).glob(".*"))  # nothing half-made left behind
        assert shell.dead_attempts() == []
    finally:
        counter.close()
        shell.close()


def test_a_closed_connection_is_dead_and_its_lock_file_forgotten_once_it_owns_nothing(tmp_path: Path) -> None:
    path = tmp_path / "terminal.db"
    first, second = LocalDB(path), LocalDB(path)
    gone = first.owner.id
    assert owners.is_alive(path, gone)
    first.close()
    assert not owners.is_alive(path, gone)
    assert not (owners.owners_dir(path) / f"{gone}.lock").exists()  # it owned nothing: removed on close
    assert owners.is_alive(path, second.owner.id)
    second.close()
