"""Moving a shop's service database to PostgreSQL: every table copied in one snapshot, then verified.

The source is read inside one read transaction, so a shop that keeps serving while it is copied gives a
consistent copy of one moment (what it records afterwards is not in it: stop ``pos serve`` for the
final copy, or copy again into a fresh database). The target must have the current schema and no
rows. Rows go in with PostgreSQL's COPY; afterwards each table is compared by its row count and by a
checksum of its rows in one canonical form (times as UTC ISO text, JSON with sorted keys, flags as
0/1), read back from both sides.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pos.domain import format_time, parse_time
from pos.service import migrations
from pos.service.engine import Db, EngineError, PgDb

# what is copied: every table of the schema but the engine's own bookkeeping
SKIP = {"counters", "schema_migrations", "sqlite_sequence"}
BATCH = 5000


@dataclass
class TableReport:
    table: str
    rows: int
    checksum: str
    same: bool


def _kinds(target: PgDb, table: str) -> dict[str, str]:
    return {name: kind for name, kind in target.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = ?", (table,))}


def _canonical(kind: str) -> Callable[[Any], Any]:
    """One column's values in the form both engines' copies are compared in."""
    if kind == "timestamp with time zone":
        return lambda v: None if v is None else format_time(parse_time(v))
    if kind in ("jsonb", "json"):
        return lambda v: None if v is None else json.dumps(json.loads(v), sort_keys=True, ensure_ascii=False)
    if kind == "boolean":
        return lambda v: None if v is None else int(bool(v))
    return lambda v: v


def _rows(db: Db, table: str, columns: list[str]) -> Iterator[tuple[Any, ...]]:
    cur = db.execute(f"SELECT {', '.join(columns)} FROM {table}")
    while batch := cur.fetchmany(BATCH):
        yield from batch


def checksum(db: Db, table: str, columns: list[str], canon: list[Callable[[Any], Any]]) -> tuple[int, str]:
    """Rows counted and summed as a multiset (the sum of each row's SHA-256): the same whatever order each
    engine returns them in (their collations differ)."""
    total, n = 0, 0
    for row in _rows(db, table, columns):
        line = json.dumps([f(v) for f, v in zip(canon, row, strict=True)], default=str).encode()
        total = (total + int.from_bytes(hashlib.sha256(line).digest())) % (1 << 256)
        n += 1
    return n, f"{total:064x}"


def copy(source: Db, target: PgDb, *, progress: Callable[[str, int], None] | None = None) -> list[TableReport]:
    """Copy every table of ``source`` (a SQLite service database) into ``target`` (an empty PostgreSQL one)."""
    if source.kind != "sqlite" or target.kind != "postgres":
        raise EngineError("pos db copy copies a SQLite service database into a PostgreSQL one")
    for db, name in ((source, "source"), (target, "target")):
        have = migrations.check(db)
        if have != migrations.LATEST:
            raise EngineError(f"the {name} database's schema is version {have}, not {migrations.LATEST}: "
                              "run pos db upgrade on it first")
    tables = sorted(t for t in source.tables() if t not in SKIP)
    busy = [t for t in tables if target.execute(f"SELECT EXISTS (SELECT 1 FROM {t})").fetchone()[0]]
    if busy:
        raise EngineError(f"the target database is not empty ({', '.join(busy)}): copy into a fresh database")
    source.begin_snapshot()  # one moment of a shop that may keep serving
    try:
        target.begin_write()
        try:
            for table in tables:
                columns = source.columns(table)
                raw = target.conn.raw
                with raw.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as pipe:
                    n = 0
                    for row in _rows(source, table, columns):
                        pipe.write_row(row)
                        n += 1
                if progress:
                    progress(table, n)
            for table in ("audit", "conflicts", "pushes"):  # identity keys continue after the copied ones
                target.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)")
            target.execute("COMMIT")
        except BaseException:
            if target.in_transaction:
                target.execute("ROLLBACK")
            raise
        return verify(source, target, tables)
    finally:
        source.execute("COMMIT")


def verify(source: Db, target: PgDb, tables: list[str]) -> list[TableReport]:
    """Each table's rows on both sides, counted and checksummed in one canonical form."""
    reports = []
    for table in tables:
        kinds = _kinds(target, table)
        columns = source.columns(table)
        canon = [_canonical(kinds.get(c, "")) for c in columns]
        n_source, sum_source = checksum(source, table, columns, canon)
        n_target, sum_target = checksum(target, table, columns, canon)
        reports.append(TableReport(table, n_target, sum_target, n_source == n_target and sum_source == sum_target))
    return reports
