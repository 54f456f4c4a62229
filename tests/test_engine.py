"""The storage seam's own promises: one shape for values on both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pos.domain import format_time, parse_time
from pos.service.engine import connect, describe, pg_sql
from pos.testing.postgres import PostgresServer


def test_times_come_back_in_the_domains_form_whatever_was_stored(postgres: PostgresServer) -> None:
    url = postgres.create_database()
    db = connect(url)
    try:
        now = datetime.now(UTC)
        for value in ["2026-11-22T21:50:01Z", "2026-11-22T21:50:01.5Z", "2026-11-22T21:50:01.123456Z",
                      "2026-11-23T05:50:01+08:00", "1999-01-01T00:00:00.000001Z", format_time(now),
                      format_time(now - timedelta(days=400))]:
            got = db.execute("SELECT CAST(? AS timestamptz)", (value,)).fetchone()[0]
            assert got == format_time(parse_time(value)), (value, got)
        assert db.execute("SELECT CAST(? AS jsonb)", ('{"b": 1, "a": [true]}',)).fetchone()[0] in (
            '{"a": [true], "b": 1}', '{"b": 1, "a": [true]}')
    finally:
        db.close()
        postgres.drop_database(url.rpartition("/")[2])


def test_an_empty_list_holds_nothing_on_both_engines(postgres: PostgresServer, tmp_path: Path) -> None:
    """``IN ()`` with no marks (a list built from no values) is legal SQLite; PostgreSQL is given an empty query
    that means the same, so a request with an empty list is answered alike, not with a 500 on one engine."""
    url = postgres.create_database()
    engines = [connect(url), connect(str(tmp_path / "service.db"))]
    try:
        for db in engines:
            db.execute("CREATE TABLE t (a TEXT)")
            db.execute("INSERT INTO t VALUES ('x')")
            marks = ",".join("?" * 0)
            assert db.execute(f"SELECT count(*) FROM t WHERE a IN ({marks})", []).fetchone()[0] == 0
            assert db.execute(f"SELECT count(*) FROM t WHERE a NOT IN ({marks})", []).fetchone()[0] == 1
            assert db.execute("SELECT count(*) FROM t WHERE a IN (?)", ["x"]).fetchone()[0] == 1
    finally:
        for db in engines:
            db.close()
        postgres.drop_database(url.rpartition("/")[2])


def test_parameters_and_passwords() -> None:
    assert pg_sql("SELECT ? WHERE a LIKE '%x'") == "SELECT %s WHERE a LIKE '%%x'"
    assert describe("postgresql://pos:secret@db1/pos") == "postgresql://pos:***@db1/pos"
    assert describe("/var/lib/pos/service.db") == "/var/lib/pos/service.db"


def test_versions_of_later_transactions_are_higher(postgres: PostgresServer) -> None:
    url = postgres.create_database()
    a, b = connect(url), connect(url)
    try:
        a.begin_write()
        first = a.next_versions(3)
        assert a.next_versions() == first + 3  # one transaction: consecutive
        b.begin_write()
        later = b.next_versions()
        assert later > first + 3
        b.execute("COMMIT")
        reader = connect(url)
        reader.begin_snapshot()
        assert reader.feed_upto() < first  # a is still open: nothing at or above its versions is handed out
        reader.execute("COMMIT")
        a.execute("COMMIT")
        reader.begin_snapshot()
        assert reader.feed_upto() >= later
        reader.execute("COMMIT")
        reader.close()
    finally:
        a.close()
        b.close()
        postgres.drop_database(url.rpartition("/")[2])
