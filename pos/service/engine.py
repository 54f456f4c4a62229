"""Where the service keeps its state: one SQLite file (the default: a shop, the demo) or a PostgreSQL
database that many service processes on many hosts share (a chain).

The service's SQL is written once, in what both engines understand (``ON CONFLICT``, ``RETURNING``,
partial unique indexes, ``IS DISTINCT FROM``, ``UPDATE … FROM``); what differs lives here and in the
schema migrations:

=========================  ======================================  ========================================
concern                    SQLite                                  PostgreSQL
=========================  ======================================  ========================================
who writes                 one writer thread per file, ``flock``   several writer threads per process,
                           between processes, ``BEGIN IMMEDIATE``  any number of processes, ``BEGIN``
one voucher, one customer  serialised by the single writer         transaction-scoped advisory locks
                                                                   (:meth:`Db.lock`), unique indexes,
                                                                   retry on a unique violation/deadlock
catalog versions           a counter row, bumped in the writer     ``xid << 24 | n``: a transaction's own
                                                                   id, so the feed can stop below the
                                                                   oldest transaction still running
types                      TEXT times (ISO 8601, UTC), 0/1         ``timestamptz``, ``boolean``, ``jsonb``,
                                                                   identity keys
=========================  ======================================  ========================================

Values cross the seam in one shape on both engines: times as the domain's ISO 8601 text (``…Z``),
JSON as text, flags as Python bools. The driver is psycopg 3 (see docs/scale.md for why); its ``%s``
parameters are written ``?`` in the service's SQL, as sqlite3 wants them, and translated once per
statement text.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pos.domain import format_time, parse_time

VERSION_BITS = 24  # a PostgreSQL transaction numbers up to 16.7 million rows under its own id


class EngineError(Exception):
    """The database cannot be used: a bad address, a missing driver, a schema this program does not know."""


def is_postgres(target: str | Path) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def describe(target: str | Path) -> str:
    """The database named for people: a path, or a PostgreSQL URL without its password."""
    if is_postgres(target):
        return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", str(target))
    return str(target)


# -- SQLite -------------------------------------------------------------------------------------------------
class Db:
    """One connection to the service's database, for one thread at a time.

    ``conn.execute(sql, params)`` returns a cursor (``fetchone``, ``fetchall``, iteration, ``rowcount``)
    on both engines.
    """

    kind = "sqlite"
    concurrent = False  # one writer at a time: what it reads stays true until it commits
    row_key = "rowid"  # what finds a row read earlier in the same transaction without an index (see runs.py)
    conn: Any

    def __init__(self, conn: Any, target: str | Path) -> None:
        self.conn = conn
        self.target = target
        self.savepoint: str | None = None  # the savepoint the writer opened for the request running now

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql, params)

    @property
    def in_transaction(self) -> bool:
        return bool(self.conn.in_transaction)

    @property
    def alive(self) -> bool:
        """False once the connection is lost (a database restarted or failed over): open a new one."""
        return True

    def begin_write(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def begin_snapshot(self) -> None:
        """A read transaction: every query until COMMIT sees one state of the database."""
        self.conn.execute("BEGIN")

    @contextlib.contextmanager
    def atomic(self) -> Iterator[Db]:
        """A write transaction (a savepoint when one is already open): committed at the end of the block,
        rolled back on an exception."""
        if self.in_transaction:
            self.execute("SAVEPOINT atomic")
            try:
                yield self
            except BaseException:
                if self.in_transaction:
                    self.execute("ROLLBACK TO atomic")
                    self.execute("RELEASE atomic")
                raise
            self.execute("RELEASE atomic")
            return
        self.begin_write()
        try:
            yield self
        except BaseException:
            if self.in_transaction:
                self.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    def defer_checkpoints(self, pages: int) -> None:
        """Leave copying the WAL back into the database file to another connection (:meth:`checkpoint`, from a
        thread of its own); this one does it itself only once the WAL holds ``pages`` pages."""
        self.conn.execute(f"PRAGMA wal_autocheckpoint={int(pages)}")

    def checkpoint(self) -> None:
        """Copy what the WAL holds back into the database file, as far as it can without waiting for the
        writer or a reader (PASSIVE)."""
        self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()

    def lock(self, *keys: str) -> None:
        """Serialise transactions on ``keys`` (a voucher code, a customer): nothing to do where one writer
        runs at a time."""

    def lock_vouchers(self, codes: list[str]) -> None:
        """Lock these vouchers and the customers they belong to (per campaign) until the transaction ends."""

    def next_versions(self, n: int = 1) -> int:
        """Reserve ``n`` consecutive catalog versions for this transaction's changes and return the first.
        Must run inside a write transaction."""
        (last,) = self.conn.execute("UPDATE counters SET value = value + ? WHERE name='version' RETURNING value",
                                    (n,)).fetchone()
        return int(last) - n + 1

    def feed_upto(self) -> int:
        """The highest version a catalog reader may hand out now (inside :meth:`begin_snapshot`)."""
        (upto,) = self.conn.execute("SELECT value FROM counters WHERE name='version'").fetchone()
        return int(upto)

    def tables(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]

    def columns(self, table: str) -> list[str]:
        return [r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")]

    def close(self) -> None:
        self.conn.close()


def connect_sqlite(path: str | Path, *, synchronous: str = "FULL") -> Db:
    """A connection for one thread, in WAL mode.

    ``synchronous=FULL`` makes every commit durable (the WAL is fsynced); the writer commits many
    requests at once, so durability costs one fsync per batch, not per redemption.
    """
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=10.0, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA cache_size=-65536")  # 64 MiB of pages: the hot indexes stay in memory
    conn.execute("PRAGMA temp_store=MEMORY")
    # Checkpoint every ~40 MiB of WAL instead of 4 MiB: batches of redemptions touch pages all over the
    # indexes, and fewer, larger checkpoints write each of those pages back once instead of many times.
    conn.execute("PRAGMA wal_autocheckpoint=10000")
    return Db(conn, path)


# -- PostgreSQL ---------------------------------------------------------------------------------------------
_translated: dict[str, str] = {}
_translate_lock = threading.Lock()


def pg_sql(sql: str) -> str:
    """The service's ``?`` parameters as psycopg's ``%s`` (a literal ``%`` doubled), and an empty list
    ``IN ()`` (SQLite's: nothing is in it) as an empty query, which PostgreSQL reads the same way
    (``x IN`` it is false, ``x NOT IN`` it is true)."""
    out = _translated.get(sql)
    if out is None:
        out = sql.replace("%", "%%").replace("?", "%s").replace(" IN ()", " IN (SELECT NULL WHERE FALSE)")
        with _translate_lock:
            if len(_translated) > 4096:
                _translated.clear()
            _translated[sql] = out
    return out


class PgConn:
    """A psycopg connection that takes the service's SQL: ``?`` parameters, BEGIN/COMMIT as statements."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] | None = ()) -> Any:
        return self.raw.execute(pg_sql(sql), params or None)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Any:
        cur = self.raw.cursor()
        rows = list(rows)
        if rows:
            cur.executemany(pg_sql(sql), rows)
        return cur

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return bool(self.raw.info.transaction_status != TransactionStatus.IDLE)

    def close(self) -> None:
        self.raw.close()


class PgDb(Db):
    kind = "postgres"
    concurrent = True  # many writers: what must not change between a read and a write is locked
    row_key = "code"  # (a ctid moves when its row is updated; the primary key it is)

    @property
    def alive(self) -> bool:
        raw = self.conn.raw
        return not (raw.closed or raw.broken)

    def __init__(self, conn: PgConn, target: str) -> None:
        super().__init__(conn, target)
        self._base: int | None = None  # this transaction's first version (xid << VERSION_BITS)
        self._used = 0

    def begin_write(self) -> None:
        self.conn.execute("BEGIN")
        self._base = None

    def defer_checkpoints(self, pages: int) -> None:
        """PostgreSQL checkpoints by itself."""

    def checkpoint(self) -> None:
        """PostgreSQL checkpoints by itself."""

    def begin_snapshot(self) -> None:
        self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def lock(self, *keys: str) -> None:
        """Transaction-scoped advisory locks, always taken in the same (sorted) order, so two transactions
        locking overlapping sets wait for each other instead of deadlocking."""
        wanted = sorted(set(keys))
        if wanted:
            calls = ", ".join("pg_advisory_xact_lock(hashtextextended(?, 0))" for _ in wanted)
            self.conn.execute(f"SELECT {calls}", wanted).fetchone()

    def lock_vouchers(self, codes: list[str]) -> None:
        """One statement: the keys ``customer:<campaign>:<customer>`` and ``voucher:<code>``, in sorted order
        (as :meth:`lock` takes them), so that it and :meth:`lock` never deadlock against each other."""
        if codes:
            self.conn.execute(
                "SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM ("
                "SELECT k FROM (SELECT 'customer:' || campaign_id || ':' || customer_id AS k FROM vouchers "
                "WHERE code = ANY(CAST(? AS text[])) AND customer_id IS NOT NULL "
                "UNION SELECT 'voucher:' || c FROM unnest(CAST(? AS text[])) AS c) AS keys ORDER BY k) AS sorted",
                (codes, codes)).fetchone()

    def next_versions(self, n: int = 1) -> int:
        """Versions made of this transaction's id: every transaction older than the oldest one still
        running has finished, so a reader can hand out everything below that id without ever skipping
        a row that commits later (see :meth:`feed_upto`)."""
        if self._base is None or not self.conn.in_transaction:
            (xid,) = self.conn.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()
            self._base, self._used = int(xid) << VERSION_BITS, 0
        if self._used + n >= 1 << VERSION_BITS:
            raise EngineError(f"one transaction may change at most {(1 << VERSION_BITS) - 1} catalog rows")
        first = self._base + self._used
        self._used += n
        return first

    def feed_upto(self) -> int:
        (xmin,) = self.conn.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint").fetchone()
        return (int(xmin) << VERSION_BITS) - 1

    def tables(self) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")]

    def columns(self, table: str) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ? ORDER BY ordinal_position", (table,))]


def _pg_loaders(raw: Any) -> None:
    """This connection's loaders in the service's shapes: times as the domain's ISO text, JSON as text."""
    from psycopg.adapt import Loader
    from psycopg.types.string import TextLoader

    class IsoTimeLoader(Loader):
        """``2026-11-22 21:50:01.5+00`` (the session is in UTC) as ``2026-11-22T21:50:01.500000Z``, by slicing
        the text: a catalog page carries two times a row, and none of them needs to become a datetime."""

        def load(self, data: Any) -> str:
            text = bytes(data).decode()
            if not text.endswith("+00") or len(text) < 22:  # not the session's plain UTC form: the slow, general way
                return format_time(parse_time(text))
            whole, _, frac = text[:-3].partition(".")
            return f"{whole[:10]}T{whole[11:19]}.{frac.ljust(6, '0')}Z"

    raw.adapters.register_loader("timestamptz", IsoTimeLoader)
    raw.adapters.register_loader("jsonb", TextLoader)
    raw.adapters.register_loader("json", TextLoader)


def connect_postgres(url: str, *, synchronous: str = "FULL") -> PgDb:
    try:
        import psycopg
    except ImportError as exc:  # a terminal-only install
        raise EngineError("PostgreSQL needs the 'postgres' extra: pip install 'pos[postgres]'") from exc
    try:
        raw = psycopg.connect(url, autocommit=True, application_name="pos serve", connect_timeout=10)
    except psycopg.Error as exc:
        raise EngineError(f"cannot connect to {describe(url)}: {exc}") from exc
    _pg_loaders(raw)
    raw.execute("SET TIME ZONE 'UTC'")
    if synchronous.upper() in ("OFF", "NORMAL"):  # a benchmark's or a test's choice, never the default
        raw.execute("SET synchronous_commit = off")
    return PgDb(PgConn(raw), url)


def connect(target: str | Path, *, synchronous: str = "FULL") -> Db:
    """A connection to the service's database at ``target``: a file path, or a ``postgresql://`` URL."""
    if is_postgres(target):
        return connect_postgres(str(target), synchronous=synchronous)
    return connect_sqlite(target, synchronous=synchronous)


def retriable() -> tuple[type[BaseException], ...]:
    """Errors after which a PostgreSQL transaction is tried again: another transaction got there first."""
    try:
        from psycopg import errors
    except ImportError:
        return ()
    return (errors.UniqueViolation, errors.DeadlockDetected, errors.SerializationFailure,
            errors.LockNotAvailable)
