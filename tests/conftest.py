"""Shared fixtures: a real ``pos serve`` on loopback over a fresh SQLite file, and real terminals."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pos.demo import TOKENS, demo_fixture
from pos.service.admin import load_fixture, revoke_voucher, voucher_payload
from pos.service.schema import open_db
from pos.terminal.counter import Counter
from pos.terminal.endpoint import Endpoint
from pos.terminal.localdb import LocalDB
from pos.terminal.sync import sync
from pos.testing.process import ServiceProcess


@dataclass
class Shop:
    """The service process, its database file and the demo fixture's named voucher codes."""

    service: ServiceProcess
    db_path: Path
    codes: dict[str, str]
    tmp: Path

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Read the service's final state straight from its database file."""
        with sqlite3.connect(self.db_path) as conn:
            return conn.execute(sql, args).fetchall()

    def payload(self, name: str) -> str:
        db = open_db(self.db_path)
        try:
            return voucher_payload(db, self.codes[name])
        finally:
            db.close()

    def terminal(self, terminal_id: str = "S001-T1", *, pull: bool = True, timeout: float = 2.0,
                 transport: Any = None, path: Path | None = None) -> Terminal:
        """A terminal's connection, client and counter. Two calls with the same ``path`` are two connections
        to one terminal file, as the UI's counter and its background sync (or a shell's pos redeem) are."""
        local = LocalDB(path or self.tmp / f"{terminal_id}.db")
        endpoint = Endpoint(self.service.url, TOKENS[terminal_id], timeout=timeout, transport=transport)
        store = terminal_id.split("-")[0]
        term = Terminal(terminal_id, store, local, endpoint, Counter(local, endpoint, store_id=store, terminal_id=terminal_id))
        if pull:
            report = sync(local, endpoint, store)
            assert report.error is None, report.error
        return term


@dataclass
class Terminal:
    id: str
    store_id: str
    db: LocalDB
    endpoint: Endpoint
    counter: Counter

    def sync(self, **kw: Any) -> Any:
        return sync(self.db, self.endpoint, self.store_id, **kw)


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    db_path = tmp_path / "service.db"
    fixture, codes = demo_fixture(datetime.now(UTC))
    db = open_db(db_path)
    load_fixture(db, fixture)
    revoke_voucher(db, codes["revoked"])
    db.close()
    service = ServiceProcess(db_path, log=tmp_path / "service.log")
    service.start()
    try:
        yield Shop(service, db_path, codes, tmp_path)
    finally:
        service.stop()
