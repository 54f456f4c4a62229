"""Schema upgrades on files made by an earlier pos (frozen in tests/schemas/), and moving a shop from
its SQLite file to PostgreSQL. Nothing recorded may be lost on the way, a terminal's outbox least of all."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from pos.cli import main
from pos.demo import TOKENS, demo_fixture
from pos.service import migrations
from pos.service.admin import load_fixture
from pos.service.engine import connect
from pos.service.schema import open_db
from pos.terminal.counter import Counter
from pos.terminal.endpoint import Endpoint
from pos.terminal.localdb import TERMINAL_VERSION, LocalDB, TerminalFileTooNew
from pos.terminal.sync import sync
from pos.testing.postgres import PostgresServer
from pos.testing.process import ServiceProcess

from .conftest import Shop, cheap_pins

SCHEMAS = Path(__file__).parent / "schemas"


def old_file(path: Path, schema: str, filled_from: Path, drop: tuple[tuple[str, str], ...] = ()) -> Path:
    """A file with an earlier pos's schema, holding the rows of ``filled_from`` (the columns both know)."""
    conn = sqlite3.connect(path)
    conn.executescript((SCHEMAS / schema).read_text())
    for table, column in drop:  # an even older shape, from before a column was added
        conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    conn.execute("ATTACH DATABASE ? AS new", (str(filled_from),))
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name != 'sqlite_sequence'")]
    for table in tables:
        old = [r[1] for r in conn.execute(f"PRAGMA main.table_info({table})")]
        cols = ", ".join(old)
        conn.execute(f"DELETE FROM main.{table}") if table == "counters" else None
        conn.execute(f"INSERT INTO main.{table} ({cols}) SELECT {cols} FROM new.{table}")
    conn.commit()
    conn.execute("DETACH DATABASE new")
    conn.close()
    return path


def counts_stores(db: object) -> int:
    return int(db.execute("SELECT count(*) FROM stores").fetchone()[0])  # type: ignore[attr-defined]


def test_a_service_database_from_before_versioned_migrations_upgrades_and_serves(tmp_path: Path) -> None:
    current = tmp_path / "current.db"
    fixture, codes = demo_fixture(datetime.now(UTC))
    db = open_db(current)
    with cheap_pins():
        load_fixture(db, fixture)
    counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("vouchers", "staff", "campaigns", "audit")}
    db.close()
    legacy = old_file(tmp_path / "legacy.db", "service-sqlite-0.sql", current)
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade", "--check", "--db", str(legacy)]).exit_code == 1
    done = runner.invoke(main, ["db", "upgrade", "--db", str(legacy)])
    assert done.exit_code == 0 and f"{migrations.LATEST} step(s) applied" in done.output, done.output
    again = runner.invoke(main, ["db", "upgrade", "--db", str(legacy)])
    assert again.exit_code == 0 and "already up to date" in again.output
    db = connect(legacy)
    assert [r[0] for r in db.execute("SELECT version FROM schema_migrations ORDER BY version")] == list(
        range(1, migrations.LATEST + 1))
    assert {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in counts} == counts
    assert "affiliate_id" in db.columns("vouchers")
    # the stores gained a zone, and new catalog versions above every older row, so terminals fetch them again
    (top,) = db.execute("SELECT max(version) FROM vouchers").fetchone()
    assert db.execute("SELECT timezone, version > ? FROM stores", (top,)).fetchall() == [("UTC", 1)] * counts_stores(db)
    db.close()
    with ServiceProcess(legacy, log=tmp_path / "service.log") as service, Endpoint(service.url, TOKENS["S001-T1"]) as e:
        answer = e.redeem(nonce="after-upgrade-1", code=codes["spring"], staff_id="alice", store_id="S001", amount=62000)
        assert answer["verdict"]["accepted"]


def test_a_database_with_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    db = open_db(path)
    with db.atomic():
        db.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from the future', ?)",
                   (migrations.LATEST + 1, "2030-01-01T00:00:00Z"))
    db.close()
    out = subprocess.run([sys.executable, "-m", "pos", "serve", "--db", str(path), "--port", "1"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "Upgrade pos before serving" in out.stderr, out.stderr
    assert CliRunner().invoke(main, ["db", "upgrade", "--db", str(path)]).exit_code == 2


@pytest.mark.parametrize("shape", ["previous", "before-owners"])
def test_a_terminal_file_from_before_keeps_its_outbox_through_the_upgrade(shop: Shop, tmp_path: Path, shape: str) -> None:
    """Offline redemptions waiting in a terminal file made by an earlier pos are uploaded exactly once after
    the new pos opens (and upgrades) it."""
    filled = tmp_path / "filled.db"
    t = shop.terminal()
    local = LocalDB(filled)
    assert sync(local, t.endpoint, "S001").error is None
    counter = Counter(local, None, store_id="S001", terminal_id="S001-T1")
    for name in ("spring", "spring2", "spring3"):
        verdict = counter.redeem(shop.codes[name], "alice", 62000)
        assert verdict.accepted and verdict.offline
    assert local.pending_count() == 3
    local.close()
    drop = (("outbox", "maybe_sent"), ("journal", "owner"), ("journal", "items")) if shape == "before-owners" else ()
    old = old_file(tmp_path / "old.db", "terminal-0.sql", filled, drop)

    upgraded = LocalDB(old)
    try:
        assert upgraded.conn.execute("PRAGMA user_version").fetchone() == (TERMINAL_VERSION,)
        assert upgraded.pending_count() == 3
        report = sync(upgraded, t.endpoint, "S001")
        assert report.ok and report.results.get("accepted") == 3
        assert not sync(upgraded, t.endpoint, "S001").results.get("accepted")  # nothing twice
        assert upgraded.pending_count() == 0
    finally:
        upgraded.close()
    assert shop.query("SELECT count(*) FROM redemptions WHERE mode='offline' AND cancelled_at IS NULL") == [(3,)]


def test_a_terminal_file_from_a_newer_pos_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "newer-terminal.db"
    LocalDB(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={TERMINAL_VERSION + 1}")
    conn.close()
    with pytest.raises(TerminalFileTooNew):
        LocalDB(path)


def test_pos_db_copy_moves_a_serving_shop_to_postgresql(shop: Shop, postgres: PostgresServer, tmp_path: Path) -> None:
    t = shop.terminal()
    first = t.endpoint.redeem(nonce="before-move-01", code=shop.codes["spring"], staff_id="alice", store_id="S001",
                              amount=62000)
    assert first["verdict"]["accepted"]
    url = postgres.create_database()
    try:
        runner = CliRunner()
        moved = runner.invoke(main, ["db", "copy", shop.db_path, url])
        assert moved.exit_code == 0 and "every table verified" in moved.output, moved.output
        assert "DIFFERENT" not in moved.output
        twice = runner.invoke(main, ["db", "copy", shop.db_path, url])
        assert twice.exit_code == 2 and "not empty" in twice.output
        shop.service.stop()
        with ServiceProcess(url, log=tmp_path / "pg.log") as service:
            e = Endpoint(service.url, TOKENS["S001-T1"])
            assert e.lookup("before-move-01")["verdict"]["accepted"]  # the first answer moved with the shop
            again = e.redeem(nonce="after-move-01", code=shop.codes["spring"], staff_id="alice", store_id="S001",
                             amount=62000)
            assert again["verdict"]["reason"] == "already_redeemed"
            fresh = e.redeem(nonce="after-move-02", code=shop.codes["spring2"], staff_id="alice", store_id="S001",
                             amount=62000)
            assert fresh["verdict"]["accepted"]
            # a terminal that last pulled from the SQLite shop goes on from its cursor
            assert sync(t.db, e, "S001").error is None
            e.close()
    finally:
        postgres.drop_database(url.rpartition("/")[2])


def test_pos_serve_no_upgrade_refuses_an_out_of_date_database(tmp_path: Path) -> None:
    legacy = tmp_path / "legacy.db"
    conn = sqlite3.connect(legacy)
    conn.executescript((SCHEMAS / "service-sqlite-0.sql").read_text())
    conn.close()
    out = subprocess.run([sys.executable, "-m", "pos", "serve", "--db", str(legacy), "--port", "1", "--no-upgrade"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "pos db upgrade" in out.stderr, out.stderr
    assert migrations.current(connect(legacy)) == 0  # untouched
