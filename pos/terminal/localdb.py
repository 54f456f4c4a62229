"""The terminal's own SQLite file: catalog cache, journal, outbox, redemptions, audit.

Long on purpose: every write to the terminal's file is here, so that no other module can write it.

This module is the one place that writes the terminal's state. The counter, the undo, the upload,
the catalog pull and the recovery call its methods; none of them issues its own SQL. Each step is one
``BEGIN IMMEDIATE`` transaction (:meth:`LocalDB.atomic`), so a crash leaves all of a step or none of
it and two connections never interleave inside one; every change of a row's state is a guarded
transition (:mod:`pos.terminal.states`). Each thread opens its own :class:`LocalDB` (a connection
belongs to one thread), and each is an :class:`~pos.terminal.owner.Owner` of the attempts it journals.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import sqlite_utils

from pos.domain import (
    Campaign,
    FirstRedemption,
    Reason,
    Verdict,
    Verifier,
    Voucher,
    VoucherStatus,
    format_time,
    parse_time,
)
from pos.terminal import owner as owners
from pos.terminal.states import StateConflict, allowed, move, must_move

__all__ = ["LocalDB", "StateConflict"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS stores (id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS staff (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, active INTEGER NOT NULL,
    pin_hash TEXT);
-- Wrong PINs typed at this terminal while it could not reach the service (the service counts its own).
CREATE TABLE IF NOT EXISTS logins (staff_id TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_failed_at TEXT);
CREATE TABLE IF NOT EXISTS verifiers (staff_id TEXT PRIMARY KEY, all_stores INTEGER NOT NULL, stores TEXT NOT NULL,
    active INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS campaigns (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS keys (kid TEXT PRIMARY KEY, public TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vouchers (code TEXT PRIMARY KEY, campaign_id TEXT NOT NULL, customer_id TEXT,
    claimed_at TEXT, status TEXT NOT NULL, redeemed_at TEXT, redeemed_store TEXT, redeemed_nonce TEXT);
-- Every verdict this terminal gave, written before it is shown.
CREATE TABLE IF NOT EXISTS journal (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, nonce TEXT,
    input TEXT NOT NULL, code TEXT, staff_id TEXT NOT NULL, store_id TEXT NOT NULL, amount INTEGER,
    state TEXT NOT NULL, mode TEXT, reason TEXT, message TEXT, discount INTEGER, detail TEXT);
CREATE INDEX IF NOT EXISTS journal_nonce ON journal(nonce);
CREATE INDEX IF NOT EXISTS journal_unsettled ON journal(code) WHERE state='pending';
CREATE INDEX IF NOT EXISTS journal_open ON journal(state) WHERE state IN ('pending','given','unshown','undoing');
-- Redemptions this terminal made (online or offline); at most one live per voucher.
CREATE TABLE IF NOT EXISTS redemptions (nonce TEXT PRIMARY KEY, code TEXT NOT NULL, campaign_id TEXT NOT NULL,
    customer_id TEXT, store_id TEXT NOT NULL, staff_id TEXT NOT NULL, amount INTEGER, discount INTEGER NOT NULL,
    redeemed_at TEXT NOT NULL, mode TEXT NOT NULL, cancelled_at TEXT, state TEXT NOT NULL DEFAULT 'ok');
CREATE UNIQUE INDEX IF NOT EXISTS redemptions_one_live ON redemptions(code) WHERE cancelled_at IS NULL;
CREATE INDEX IF NOT EXISTS redemptions_customer ON redemptions(campaign_id, customer_id, redeemed_at);
-- Work for the service, uploaded by pos sync exactly once (the nonce is the service's idempotency key).
CREATE TABLE IF NOT EXISTS outbox (nonce TEXT PRIMARY KEY, seq INTEGER NOT NULL, kind TEXT NOT NULL,
    body TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending', result TEXT, created_at TEXT NOT NULL,
    updated_at TEXT);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(state, seq);
CREATE TABLE IF NOT EXISTS conflicts (nonce TEXT PRIMARY KEY, code TEXT, reason TEXT NOT NULL, message TEXT NOT NULL,
    ours TEXT NOT NULL, theirs TEXT, recorded_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT,
    action TEXT NOT NULL, subject TEXT, detail TEXT);
CREATE TRIGGER IF NOT EXISTS audit_append_only_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_append_only_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
"""


# The terminal file's schema history: each step runs once, recorded in PRAGMA user_version. A step is
# never edited once released; a change is a new step at the end. Steps find their work done in a file
# from before this history (version 0), which had some of the columns already.
TERMINAL_STEPS: tuple[tuple[str, str, str] | None, ...] = (
    None,  # 1: the tables above
    ("staff", "pin_hash", "TEXT"),  # 2: offline logins
    ("journal", "items", "TEXT"),  # 3: basket lines
    ("journal", "owner", "TEXT"),  # 4: owners (pending rows of a file from before count as a dead owner's)
    ("outbox", "maybe_sent", "INTEGER NOT NULL DEFAULT 0"),  # 5: undo after a lost answer
    ("stores", "timezone", "TEXT"),  # 6: the store's own day and clock
)
TERMINAL_VERSION = len(TERMINAL_STEPS)


def boot_id() -> str:
    """This machine's current boot (a restart resets the monotonic clock); "" where the system does not say."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


class TerminalFileTooNew(Exception):
    pass


def upgrade(conn: sqlite3.Connection, path: Path) -> None:
    """Bring a terminal file's schema up to date, in one transaction, nothing in it lost (its outbox above all)."""
    (have,) = conn.execute("PRAGMA user_version").fetchone()
    if have > TERMINAL_VERSION:
        raise TerminalFileTooNew(f"{path} was written by a newer pos (schema {have}, this one knows {TERMINAL_VERSION}); "
                                 "upgrade pos on this terminal.")
    if have == TERMINAL_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")  # two connections opening an old file at once: one upgrades it
    try:
        (have,) = conn.execute("PRAGMA user_version").fetchone()
        for statement in _statements(SCHEMA):
            conn.execute(statement)
        for step in TERMINAL_STEPS[have:]:
            if step is None:
                continue
            table, column, decl = step
            if column not in {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
        conn.execute(f"PRAGMA user_version={TERMINAL_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _statements(script: str) -> list[str]:
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    return out


def _disagrees(row: dict[str, Any], res: dict[str, Any]) -> bool:
    """An answer that contradicts what the cashier was told: a refusal, or a void of a redemption."""
    return bool(res["result"] == "conflict" or (row["kind"] == "redeem" and res["result"] == "voided"))


def _flagged(res: dict[str, Any]) -> bool:
    """Accepted, but at another time than the till's clock said (kept, and shown to a manager)."""
    return bool(res["result"] == "accepted" and res.get("note"))


class LocalDB:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite_utils.Database(sqlite3.connect(str(self.path), timeout=10.0))
        self.db.enable_wal()
        self.db.execute("PRAGMA synchronous=FULL")  # a verdict shown is a verdict on disk
        self.db.execute("PRAGMA busy_timeout=10000")
        self.conn = self.db.conn
        upgrade(self.conn, self.path)
        self.owner = owners.Owner(self.path)
        self._campaigns: dict[str, Campaign] = {}
        self._campaigns_seen = -1  # PRAGMA data_version the cache was filled at

    def close(self) -> None:
        try:
            (mine,) = self.conn.execute("SELECT count(*) FROM journal WHERE owner=? AND state IN ('pending','given','undoing')",
                                        (self.owner.id,)).fetchone()
        except sqlite3.Error:
            mine = 1
        self.db.close()
        self.owner.release(forget=not mine)

    @contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        """One step, all or nothing. The write lock is taken at the start (``BEGIN IMMEDIATE``), so what
        the step reads cannot change under it before it writes."""
        if self.conn.in_transaction:
            with self.db.atomic():
                yield self.conn
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- meta -----------------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                          (key, value))

    # -- the domain's Catalog ---------------------------------------------------------------------
    def voucher(self, code: str) -> Voucher | None:
        row = self.conn.execute("SELECT campaign_id, customer_id, claimed_at, status FROM vouchers WHERE code=?",
                                (code,)).fetchone()
        if row is None:
            return None
        return Voucher(code, row[0], row[1], parse_time(row[2]) if row[2] else None, VoucherStatus(row[3]))

    def campaign(self, campaign_id: str) -> Campaign | None:
        """A campaign as the file holds it now. Parsed campaigns are kept only while no other connection
        has committed to the file (SQLite's ``data_version``): a pull by the background sync, or by
        ``pos sync`` in a shell, empties the cache before the next decision."""
        (version,) = self.conn.execute("PRAGMA data_version").fetchone()
        if version != self._campaigns_seen:
            self._campaigns.clear()
            self._campaigns_seen = version
        cached = self._campaigns.get(campaign_id)
        if cached is not None:
            return cached
        row = self.conn.execute("SELECT body FROM campaigns WHERE id=?", (campaign_id,)).fetchone()
        if row is None:
            return None
        campaign = self._campaigns[campaign_id] = Campaign.from_json(row[0])
        return campaign

    def verifier(self, staff_id: str) -> Verifier | None:
        row = self.conn.execute(
            "SELECT v.all_stores, v.stores, v.active AND coalesce(s.active, 1) FROM verifiers v "
            "LEFT JOIN staff s ON s.id = v.staff_id WHERE v.staff_id=?",
            (staff_id,),
        ).fetchone()
        return Verifier(staff_id, bool(row[0]), frozenset(json.loads(row[1])), bool(row[2])) if row else None

    def public_key(self, kid: str) -> bytes | None:
        row = self.conn.execute("SELECT public FROM keys WHERE kid=?", (kid,)).fetchone()
        return bytes.fromhex(row[0]) if row else None

    def store_zone(self, store_id: str) -> str:
        row = self.conn.execute("SELECT timezone FROM stores WHERE id=?", (store_id,)).fetchone()
        return row[0] if row and row[0] else "UTC"

    # -- the service's clock, as last seen -------------------------------------------------------
    def note_contact(self, service_time: str, *, monotonic: float | None = None) -> None:
        """Remember the service's time at a successful contact, with this machine's monotonic clock then,
        so that offline redemptions can later be placed in time without trusting the wall clock. One
        value, written and read whole: a counter reading it while a sync writes it sees one contact."""
        mono = time.monotonic() if monotonic is None else monotonic
        self.set_meta("contact", json.dumps({"at": service_time, "mono": mono, "boot": boot_id()}))

    def clock_anchor(self) -> dict[str, Any] | None:
        """The anchor sent with an offline redemption (see :mod:`pos.domain.offline_time`)."""
        text = self.get_meta("contact")
        if not text:
            return None
        contact = json.loads(text)
        elapsed = None
        if contact["boot"] and contact["boot"] == boot_id():  # the monotonic clock counts since that boot
            seconds = time.monotonic() - float(contact["mono"])
            elapsed = round(seconds, 3) if seconds >= 0 else None
        return {"contact_at": contact["at"], "elapsed": elapsed}

    def store(self, store_id: str) -> tuple[str, str | None]:
        """(name, time zone) of a store as the catalog gave it; ("", None) before the first pull."""
        row = self.conn.execute("SELECT name, timezone FROM stores WHERE id=?", (store_id,)).fetchone()
        return (str(row[0]), row[1]) if row else ("", None)

    # -- staff logging in at this terminal ------------------------------------------------------------
    def staff_member(self, staff_id: str) -> tuple[str, str, int, str | None] | None:
        """(name, role, active, PIN hash) from the catalog."""
        row = self.conn.execute("SELECT name, role, active, pin_hash FROM staff WHERE id=?", (staff_id,)).fetchone()
        return (str(row[0]), str(row[1]), int(row[2]), row[3]) if row else None

    def login_failures(self, staff_id: str) -> tuple[int, datetime | None]:
        seen = self.conn.execute("SELECT failures, last_failed_at FROM logins WHERE staff_id=?", (staff_id,)).fetchone()
        return (int(seen[0]), parse_time(seen[1]) if seen[1] else None) if seen else (0, None)

    def login_failed(self, staff_id: str, failures: int, at: datetime) -> None:
        with self.atomic():
            self.conn.execute("INSERT INTO logins (staff_id, failures, last_failed_at) VALUES (?,?,?) ON CONFLICT(staff_id) "
                              "DO UPDATE SET failures=excluded.failures, last_failed_at=excluded.last_failed_at",
                              (staff_id, failures, format_time(at)))
            self.audit(at, "login.failed", actor=staff_id, subject=staff_id, mode="offline", failures=failures)

    def login_succeeded(self, staff_id: str, at: datetime, *, mode: str) -> None:
        with self.atomic():
            self.conn.execute("DELETE FROM logins WHERE staff_id=?", (staff_id,))
            self.audit(at, "login", actor=staff_id, subject=staff_id, mode=mode)

    # -- the domain's History -------------------------------------------------------------------
    def local_redemption(self, code: str) -> dict[str, Any] | None:
        """This terminal's live redemption of a voucher, if any."""
        rows = self.db.query("SELECT * FROM redemptions WHERE code=? AND cancelled_at IS NULL", [code])
        return next(iter(rows), None)

    def live_redemption_by_nonce(self, nonce: str) -> dict[str, Any] | None:
        rows = self.db.query("SELECT * FROM redemptions WHERE nonce=? AND cancelled_at IS NULL", [nonce])
        return next(iter(rows), None)

    def active_redemption(self, code: str) -> FirstRedemption | None:
        row = self.conn.execute(
            "SELECT redeemed_at, store_id, nonce FROM redemptions WHERE code=? AND cancelled_at IS NULL", (code,)
        ).fetchone()
        if row is None:  # redeemed elsewhere, as of the last catalog pull?
            row = self.conn.execute(
                "SELECT redeemed_at, redeemed_store, redeemed_nonce FROM vouchers WHERE code=? AND redeemed_at IS NOT NULL",
                (code,),
            ).fetchone()
        return FirstRedemption(parse_time(row[0]), row[1], row[2]) if row else None

    def customer_redemptions(self, campaign_id: str, customer_id: str, since: datetime | None) -> int:
        """This terminal's live redemptions for the customer, plus those elsewhere as of the last pull."""
        after = format_time(since) if since else ""
        (n,) = self.conn.execute(
            "SELECT count(*) FROM (SELECT code FROM redemptions WHERE campaign_id=? AND customer_id=? "
            "AND cancelled_at IS NULL AND redeemed_at >= ? UNION SELECT code FROM vouchers WHERE campaign_id=? "
            "AND customer_id=? AND redeemed_at IS NOT NULL AND redeemed_at >= ?)",
            (campaign_id, customer_id, after, campaign_id, customer_id, after),
        ).fetchone()
        return int(n)

    # -- catalog pulls --------------------------------------------------------------------------
    def apply_delta(self, delta: dict[str, Any]) -> int:
        """Store one catalog page and its cursor in one transaction; returns rows applied."""
        n = 0
        with self.atomic():
            for table, pk, rows in (
                ("stores", "id", delta.get("stores", [])),
                ("staff", "id", [{**r, "active": int(r["active"])} for r in delta.get("staff", [])]),
                ("verifiers", "staff_id", [{**r, "all_stores": int(r["all_stores"]), "active": int(r["active"]),
                                            "stores": json.dumps(r["stores"])} for r in delta.get("verifiers", [])]),
                ("campaigns", "id", [{"id": c["id"], "body": json.dumps(c)} for c in delta.get("campaigns", [])]),
                ("keys", "kid", delta.get("keys", [])),
                ("vouchers", "code", delta.get("vouchers", [])),
            ):
                if rows:
                    self.db.table(table).upsert_all(rows, pk=pk, batch_size=1000)
                    n += len(rows)
            self.set_meta("catalog_cursor", str(int(delta["cursor"])))
            if isinstance(delta.get("now"), str):
                self.note_contact(delta["now"])
        self._campaigns.clear()
        return n

    @property
    def catalog_cursor(self) -> int:
        return int(self.get_meta("catalog_cursor", "0") or 0)

    # -- journal --------------------------------------------------------------------------------
    def journal(self, *, at: datetime, nonce: str | None, raw: str, staff_id: str, store_id: str,
                amount: int | None, state: str, mode: str | None = None, verdict: Any = None,
                code: str | None = None, items: list[dict[str, Any]] | None = None) -> int:
        """A new journal row owned by this connection (inside the caller's transaction)."""
        cur = self.conn.execute(
            "INSERT INTO journal (at, nonce, input, code, staff_id, store_id, amount, state, mode, reason, message, "
            "discount, detail, items, owner) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (format_time(at), nonce, raw[:512], code or getattr(verdict, "code", None), staff_id, store_id, amount,
             state, mode,
             str(verdict.reason) if verdict else None, verdict.message if verdict else None,
             verdict.discount if verdict else None, verdict.detail if verdict else None,
             json.dumps(items) if items else None, self.owner.id),
        )
        return int(cur.lastrowid or 0)

    def unsettled_attempt(self, code: str) -> dict[str, Any] | None:
        """The latest attempt at this voucher whose outcome was never learned because its counter died.

        An attempt of a live owner (a counter whose answer is still on its way, in this process or
        another) is not unsettled: it is in flight, and nobody else may continue or void it.
        """
        rows = self.db.query("SELECT id, nonce, staff_id, amount, items, owner FROM journal WHERE state='pending' "
                             "AND code=? AND nonce IS NOT NULL ORDER BY id DESC", [code])
        for row in rows:
            if row["owner"] != self.owner.id and not owners.is_alive(self.path, row["owner"]):
                return row
        return None

    def take_over(self, entry: int) -> bool:
        """Make a dead owner's pending attempt ours before continuing it under its nonce; False if recovery
        (in another connection) settled it first."""
        with self.atomic():
            cur = self.conn.execute("UPDATE journal SET owner=? WHERE id=? AND state='pending'", (self.owner.id, entry))
            return cur.rowcount == 1

    def settle(self, entry: int, target: str, *, mode: str, verdict: Verdict) -> None:
        """This connection's pending attempt gets its verdict (inside the caller's transaction)."""
        must_move(self.conn, "journal", ("id", entry), ["pending"], target, mode=mode, code=verdict.code,
                  reason=str(verdict.reason), message=verdict.message, discount=verdict.discount,
                  detail=verdict.detail)

    def mark_error(self, entry: int) -> None:
        with self.atomic():
            move(self.conn, "journal", ("id", entry), ["pending"], "error")

    def mark_shown(self, entry: int) -> bool:
        """The verdict of ``entry`` is on the screen (or printed). False if it was already marked."""
        with self.atomic():
            return move(self.conn, "journal", ("id", entry), ["given", "unshown"], "shown")

    def unshown_acceptance(self, nonce: str) -> dict[str, Any] | None:
        rows = self.db.query("SELECT id, message, discount FROM journal WHERE nonce=? AND state='unshown' "
                             "ORDER BY id DESC LIMIT 1", [nonce])
        return next(iter(rows), None)

    def abandon(self, entry: int, nonce: str, staff_id: str, now: datetime) -> bool:
        """Void a dead owner's attempt: a late copy of it can never count (inside the caller's transaction)."""
        if not move(self.conn, "journal", ("id", entry), ["pending"], "abandoned"):
            return False
        self.enqueue_void(nonce, staff_id, now)
        return True

    def dead_attempts(self) -> list[dict[str, Any]]:
        """Pending or undisplayed journal rows whose owner is gone (killed, or closed mid-step)."""
        rows = list(self.db.query("SELECT id, at, nonce, input, staff_id, amount, state, reason, owner FROM journal "
                                  "WHERE state IN ('pending','given','undoing') AND (owner IS NULL OR owner != ?)",
                                  [self.owner.id]))
        alive: dict[str | None, bool] = {}
        dead = []
        for row in rows:
            if row["owner"] not in alive:
                alive[row["owner"]] = owners.is_alive(self.path, row["owner"])
            if not alive[row["owner"]]:
                dead.append(row)
        return dead

    def forget_dead_owners(self) -> None:
        """Remove the lock files of owners that are gone and have nothing left unsettled."""
        open_ = {r[0] for r in self.conn.execute("SELECT DISTINCT owner FROM journal "
                                                 "WHERE state IN ('pending','given','undoing')")}
        for path in owners.owners_dir(self.path).glob("*.lock"):
            oid = path.stem
            if oid != self.owner.id and oid not in open_ and not owners.is_alive(self.path, oid):
                owners.forget(self.path, oid)

    # -- this terminal's redemptions --------------------------------------------------------------
    def remember(self, nonce: str, verdict: Verdict, *, store_id: str, staff_id: str, amount: int | None,
                 at: datetime | str, mode: str) -> None:
        """A live redemption of this terminal (inside the caller's transaction). The partial unique index
        refuses a second live one of the same voucher (``sqlite3.IntegrityError``); the same nonce twice is
        one redemption."""
        self.conn.execute(
            "INSERT INTO redemptions (nonce, code, campaign_id, customer_id, store_id, staff_id, amount, discount, "
            "redeemed_at, mode) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(nonce) DO NOTHING",
            (nonce, verdict.code, verdict.campaign_id, verdict.customer_id, store_id, staff_id, amount,
             verdict.discount, at if isinstance(at, str) else format_time(at), mode),
        )

    def close_undo(self, entry: int, target: str, *, mode: str = "online") -> None:
        """An undo journalled as ``undoing`` ends (inside the caller's transaction for ``cancelled``)."""
        must_move(self.conn, "journal", ("id", entry), ["undoing"], target, mode=mode)

    def cancel_redemption(self, nonce: str, at: datetime) -> bool:
        """Mark a live redemption undone (inside the caller's transaction); False if it no longer was live."""
        cur = self.conn.execute("UPDATE redemptions SET cancelled_at=? WHERE nonce=? AND cancelled_at IS NULL",
                                (format_time(at), nonce))
        return cur.rowcount == 1

    # -- audit ----------------------------------------------------------------------------------
    def audit(self, at: datetime, action: str, *, actor: str | None, subject: str | None, **detail: Any) -> None:
        self.conn.execute("INSERT INTO audit (at, actor, action, subject, detail) VALUES (?,?,?,?,?)",
                          (format_time(at), actor, action, subject, json.dumps(detail, default=str) if detail else None))

    # -- outbox ---------------------------------------------------------------------------------
    def enqueue(self, nonce: str, kind: str, body: dict[str, Any], at: datetime, *, maybe_sent: bool = False) -> None:
        (seq,) = self.conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM outbox").fetchone()
        self.conn.execute("INSERT INTO outbox (nonce, seq, kind, body, created_at, maybe_sent) VALUES (?,?,?,?,?,?)",
                          (nonce, seq, kind, json.dumps(body), format_time(at), int(maybe_sent)))

    def enqueue_void(self, nonce: str, staff_id: str, at: datetime) -> None:
        """Undo ``nonce`` on the service whatever became of it (a void ignores the cancel window, and one
        that arrives before the request makes the request refused)."""
        key = f"{nonce}-void"
        self.conn.execute("DELETE FROM outbox WHERE nonce=? AND state='withdrawn'", (key,))
        if self.conn.execute("SELECT 1 FROM outbox WHERE nonce=?", (key,)).fetchone() is None:
            self.enqueue(key, "void", {"kind": "void", "nonce": key, "target": nonce, "staff_id": staff_id}, at)

    def void_ahead_of(self, nonce: str, staff_id: str, at: datetime, ahead_of: str | None) -> None:
        """:meth:`enqueue_void`, sent before the waiting redemption ``ahead_of`` (of the same voucher), so
        that one is not refused for a redemption this void is about to undo."""
        self.enqueue_void(nonce, staff_id, at)
        other = self.conn.execute("SELECT seq FROM outbox WHERE nonce=? AND state='pending'", (ahead_of,)).fetchone()
        if ahead_of and other is not None:
            (mine,) = self.conn.execute("SELECT seq FROM outbox WHERE nonce=?", (f"{nonce}-void",)).fetchone()
            if mine > other[0]:
                self.conn.execute("UPDATE outbox SET seq=? WHERE nonce=?", (mine, ahead_of))
                self.conn.execute("UPDATE outbox SET seq=? WHERE nonce=?", (other[0], f"{nonce}-void"))

    def enqueue_cancel(self, nonce: str, staff_id: str, at: datetime) -> None:
        key = f"{nonce}-cancel"
        if self.conn.execute("SELECT 1 FROM outbox WHERE nonce=?", (key,)).fetchone() is None:
            self.enqueue(key, "cancel", {"kind": "cancel", "nonce": key, "target": nonce, "staff_id": staff_id,
                                         "requested_at": format_time(at)}, at)

    def outbox_entry(self, nonce: str) -> dict[str, Any] | None:
        rows = self.db.query("SELECT nonce, kind, state, maybe_sent FROM outbox WHERE nonce=?", [nonce])
        return next(iter(rows), None)

    def withdraw(self, nonce: str, at: datetime) -> bool:
        """Take a redemption out of the outbox before any upload began (inside the caller's transaction)."""
        return move(self.conn, "outbox", ("nonce", nonce), ["pending"], "withdrawn", updated_at=format_time(at))

    def claim(self, limit: int, after: int = 0) -> list[dict[str, Any]]:
        """The next ``limit`` pending entries after sequence ``after``, moved to ``sending`` in one step:
        from now on an undo sees them as on their way and queues a cancel instead of withdrawing."""
        with self.atomic():
            rows = list(self.db.query(
                "SELECT seq, nonce, kind, body FROM outbox WHERE state='pending' AND seq > ? ORDER BY seq LIMIT ?",
                [after, limit]))
            if rows:  # the pending entries up to the last one read are exactly these: the write lock is ours
                self.conn.execute("UPDATE outbox SET state='sending' WHERE state='pending' AND seq > ? AND seq <= ?",
                                  (after, rows[-1]["seq"]))
        return rows

    def unclaim_all(self) -> int:
        """Entries a sync left ``sending`` go back to ``pending`` (called by the one sync that runs). They
        may have reached the service, so an undo of one of them from now on voids it there too."""
        with self.atomic():
            return self.conn.execute("UPDATE outbox SET state='pending', maybe_sent=1 WHERE state='sending'").rowcount

    def pending(self, limit: int, after: int = 0) -> list[dict[str, Any]]:
        """The next ``limit`` pending outbox entries, in the order they were made, after sequence ``after``."""
        return list(self.db.query(
            "SELECT seq, nonce, kind, body FROM outbox WHERE state='pending' AND seq > ? ORDER BY seq LIMIT ?",
            [after, limit]))

    def waiting(self, limit: int = 500) -> list[dict[str, Any]]:
        """What the service has still to hear of (waiting, or on its way), in order, with the voucher a cancel
        or a void is about."""
        return list(self.db.query(
            "SELECT o.nonce, o.kind, o.body, o.created_at, coalesce(r.code, (SELECT j.code FROM journal j "
            "WHERE j.nonce = json_extract(o.body, '$.target') LIMIT 1)) AS target_code FROM outbox o "
            "LEFT JOIN redemptions r ON r.nonce = json_extract(o.body, '$.target') "
            "WHERE o.state IN ('pending', 'sending') ORDER BY o.seq LIMIT ?", [limit]))

    def outbox_items(self, limit: int = 500, *, answered: bool = False) -> list[dict[str, Any]]:
        """The outbox item by item, in the order it is uploaded, each with its state (``pending``, ``sending``,
        and with ``answered`` also what the service answered: ``accepted``, ``conflict``, ``withdrawn``, …), its
        times, and the voucher a cancel or a void is about."""
        states = "" if answered else "WHERE o.state IN ('pending', 'sending') "
        return list(self.db.query(
            "SELECT o.nonce, o.kind, o.state, o.body, o.created_at, o.updated_at, coalesce(r.code, (SELECT j.code "
            "FROM journal j WHERE j.nonce = json_extract(o.body, '$.target') LIMIT 1)) AS target_code FROM outbox o "
            f"LEFT JOIN redemptions r ON r.nonce = json_extract(o.body, '$.target') {states}ORDER BY o.seq LIMIT ?",
            [limit]))

    def last_sync(self) -> str | None:
        """The service's time at this terminal's last catalog pull, the last step of a sync that went through
        (None before the first)."""
        text = self.get_meta("contact")
        return str(json.loads(text)["at"]) if text else None

    def outbox_counts(self) -> dict[str, int]:
        return {row["state"]: row["n"] for row in self.db.query("SELECT state, count(*) AS n FROM outbox GROUP BY state")}

    def pending_count(self) -> int:
        """Items the service has still to hear of (waiting, or on their way in an upload)."""
        (n,) = self.conn.execute("SELECT count(*) FROM outbox WHERE state IN ('pending','sending')").fetchone()
        return int(n)

    def record_answers(self, rows: list[dict[str, Any]], results: list[dict[str, Any]], at: datetime) -> list[dict[str, Any]]:
        """The service's answers for one uploaded batch, in one transaction; returns the conflicts.

        Each entry moves from ``sending`` to its answer only if it is still ``sending``. A redemption the
        service voided (a void from an earlier recovery got there first) disagrees with what the
        cashier was told, so it is kept as a conflict like a refusal. A cancel still waiting for a
        redemption the service refused is withdrawn: there is nothing to cancel. The plain answers (most
        of them: accepted, duplicate) are recorded with one statement.
        """
        by_nonce = {r["nonce"]: r for r in results}
        stamp = format_time(at)
        plain: list[tuple[str, str, str, str]] = []
        special: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for row in rows:
            res = by_nonce.get(row["nonce"])
            if res is None:
                continue
            outcome = res["result"]
            if not allowed("outbox", "sending", outcome):
                raise ValueError(f"outbox: sending → {outcome} is not a transition")
            if _disagrees(row, res) or _flagged(res):
                special.append((row, res))
            else:
                plain.append((outcome, orjson.dumps(res).decode(), stamp, row["nonce"]))
        conflicts: list[dict[str, Any]] = []
        with self.atomic():
            self.conn.executemany("UPDATE outbox SET state=?, result=?, updated_at=? WHERE nonce=? AND state='sending'",
                                  plain)
            for row, res in special:
                conflict = self._record_disagreement(row, res, at)
                if conflict is not None:
                    conflicts.append(conflict)
            self.audit(at, "sync.upload", actor=None, subject=None, items=len(rows),
                       answered=sum(r["nonce"] in by_nonce for r in rows))
        return conflicts

    def _record_disagreement(self, row: dict[str, Any], res: dict[str, Any], at: datetime) -> dict[str, Any] | None:
        """An answer that is kept as a conflict (a refusal, a void of what the cashier saw accepted, an
        acceptance at another time than the till's clock said), if its entry was still ``sending``."""
        stamp = format_time(at)
        if not move(self.conn, "outbox", ("nonce", row["nonce"]), ["sending"], res["result"],
                    result=json.dumps(res), updated_at=stamp):
            return None
        found = self.conn.execute("SELECT code FROM redemptions WHERE nonce=?", (row["nonce"],)).fetchone()
        code = found[0] if found and (_flagged(res) or row["kind"] == "redeem") else None
        if _flagged(res):
            res = {**res, "reason": "clock", "message": res["note"]}
        elif row["kind"] == "redeem":
            self.conn.execute("UPDATE redemptions SET state='conflict' WHERE nonce=?", (row["nonce"],))
            for undo in (f"{row['nonce']}-cancel", f"{row['nonce']}-void"):
                self.withdraw(undo, at)
        reason = res.get("reason") or ("voided" if res["result"] == "voided" else "unknown")
        self.conn.execute(
            "INSERT OR REPLACE INTO conflicts (nonce, code, reason, message, ours, theirs, recorded_at) "
            "VALUES (?,?,?,?,?,?,?)",
            (row["nonce"], code, reason, res.get("message") or "", row["body"], json.dumps(res.get("existing")), stamp))
        return {"nonce": row["nonce"], "kind": row["kind"], "reason": reason, "message": res.get("message"),
                "ours": json.loads(row["body"]), "theirs": res.get("existing")}

    def settle_dead(self, row: dict[str, Any], answer: dict[str, Any] | None, at: datetime) -> None:
        """Recovery's decision for one row of a dead owner (see :func:`pos.terminal.sync.recover`)."""
        with self.atomic():
            if row["state"] == "undoing":  # the cashier asked for it: finish it, the service hears at the sync
                self.enqueue_cancel(row["nonce"], row["staff_id"], parse_time(row["at"]))
                self.cancel_redemption(row["nonce"], at)
                move(self.conn, "journal", ("id", row["id"]), ["undoing"], "cancelled", mode="offline")
            elif row["state"] == "given":  # decided, committed, never confirmed on screen
                move(self.conn, "journal", ("id", row["id"]), ["given"],
                     "unshown" if row["reason"] == str(Reason.OK) else "done")
            elif answer is None:
                self.abandon(row["id"], row["nonce"], row["staff_id"], at)
            else:
                verdict = Verdict.from_dict(answer["verdict"])
                red = answer.get("redemption")
                target = "unshown" if verdict.accepted else "done"
                if red and not red.get("cancelled_at"):
                    try:
                        with self.atomic():
                            self.remember(row["nonce"], verdict.but(code=red["code"], campaign_id=red["campaign_id"],
                                                                   customer_id=red.get("customer_id"),
                                                                   discount=red["discount"]),
                                          store_id=red["store_id"], staff_id=red["staff_id"], amount=red.get("amount"),
                                          at=red["redeemed_at"], mode="online")
                    except sqlite3.IntegrityError:
                        # Another connection of this terminal holds a live redemption of the voucher (taken
                        # offline meanwhile, and shown). This one was never shown: void it, ahead of that one.
                        other = self.local_redemption(red["code"])
                        self.void_ahead_of(row["nonce"], row["staff_id"], at, other["nonce"] if other else None)
                        target = "abandoned"
                move(self.conn, "journal", ("id", row["id"]), ["pending"], target,
                     mode="online", code=verdict.code or (red or {}).get("code"), reason=str(verdict.reason),
                     message=verdict.message, discount=verdict.discount, detail=verdict.detail)
            self.audit(at, "recover", actor=None, subject=None, nonce=row["nonce"], state=row["state"],
                       found=answer is not None)
