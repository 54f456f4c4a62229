"""The service database's schema as an ordered history of steps, on SQLite and on PostgreSQL.

Each step runs once, in its own transaction, and is recorded in ``schema_migrations``. ``pos db upgrade``
applies what is missing; ``pos serve`` does the same at start (unless told not to) and refuses a
database whose schema is newer than the program. Steps are never edited once released: a change to
the schema is a new step at the end, with its SQLite and its PostgreSQL form.

A database made before this history existed (SQLite, version 1 or 2) upgrades like any other: the
first steps are written so that they find their work already done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pos.domain import format_time
from pos.service.engine import Db, EngineError

SQLITE_BASELINE = """
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO counters VALUES ('version', 0);
CREATE TABLE IF NOT EXISTS stores (id TEXT PRIMARY KEY, name TEXT NOT NULL, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS staff (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1,
    pin_hash TEXT, failed_logins INTEGER NOT NULL DEFAULT 0, last_failed_at TEXT, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, staff_id TEXT NOT NULL, terminal_id TEXT NOT NULL, role TEXT NOT NULL,
    created_at TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS verifiers (
    staff_id TEXT PRIMARY KEY, all_stores INTEGER NOT NULL, stores TEXT NOT NULL,
    active INTEGER NOT NULL, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS campaigns (id TEXT PRIMARY KEY, body TEXT NOT NULL, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS vouchers (
    code TEXT PRIMARY KEY, campaign_id TEXT NOT NULL, customer_id TEXT, claimed_at TEXT,
    status TEXT NOT NULL, issued_at TEXT NOT NULL, redeemed_at TEXT, redeemed_store TEXT,
    redeemed_nonce TEXT, version INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS vouchers_version ON vouchers(version);
CREATE INDEX IF NOT EXISTS vouchers_campaign ON vouchers(campaign_id);
CREATE TABLE IF NOT EXISTS redemptions (
    nonce TEXT PRIMARY KEY, code TEXT NOT NULL, campaign_id TEXT NOT NULL, customer_id TEXT,
    store_id TEXT NOT NULL, staff_id TEXT NOT NULL, terminal_id TEXT, amount INTEGER,
    discount INTEGER NOT NULL, redeemed_at TEXT NOT NULL, recorded_at TEXT NOT NULL, mode TEXT NOT NULL,
    cancelled_at TEXT, cancelled_by TEXT, cancel_reason TEXT,
    request_hash TEXT);  -- set for uploaded redemptions: they are their own idempotency record
-- The database itself refuses a second live redemption of one voucher.
CREATE UNIQUE INDEX IF NOT EXISTS redemptions_one_live ON redemptions(code) WHERE cancelled_at IS NULL;
CREATE INDEX IF NOT EXISTS redemptions_customer ON redemptions(campaign_id, customer_id, redeemed_at);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY, request_hash TEXT NOT NULL, terminal_id TEXT, status INTEGER NOT NULL,
    response TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS conflicts (
    id INTEGER PRIMARY KEY, nonce TEXT NOT NULL UNIQUE, code TEXT, terminal_id TEXT, store_id TEXT,
    reason TEXT NOT NULL, message TEXT NOT NULL, item TEXT NOT NULL, existing TEXT,
    recorded_at TEXT NOT NULL, resolved_at TEXT, request_hash TEXT);
CREATE TABLE IF NOT EXISTS terminals (
    id TEXT PRIMARY KEY, store_id TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
    active INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS keys (
    kid TEXT PRIMARY KEY, public TEXT NOT NULL, private TEXT, created_at TEXT NOT NULL,
    version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT, terminal_id TEXT,
    store_id TEXT, action TEXT NOT NULL, subject TEXT, detail TEXT);
CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', email TEXT, email_verified INTEGER NOT NULL DEFAULT 0,
    opted_out INTEGER NOT NULL DEFAULT 0, member INTEGER NOT NULL DEFAULT 50, followed_at TEXT);
CREATE TABLE IF NOT EXISTS orders (
    order_no TEXT PRIMARY KEY, customer_id TEXT NOT NULL, amount INTEGER NOT NULL, ordered_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bindings (
    plan TEXT NOT NULL, campaign_id TEXT NOT NULL, sku TEXT NOT NULL, effective_from TEXT NOT NULL,
    created_at TEXT NOT NULL, created_by TEXT, PRIMARY KEY (plan, campaign_id, sku));
CREATE TABLE IF NOT EXISTS pushes (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, campaign_id TEXT NOT NULL, send_at TEXT NOT NULL, week TEXT NOT NULL,
    followed_from TEXT, followed_to TEXT, orders TEXT NOT NULL, items TEXT NOT NULL, status TEXT NOT NULL,
    created_at TEXT NOT NULL, created_by TEXT, cancelled_at TEXT, sent_at TEXT, sent INTEGER, skipped INTEGER);
-- One push a week: the database itself refuses a second live push in the same ISO week.
CREATE UNIQUE INDEX IF NOT EXISTS pushes_one_a_week ON pushes(week) WHERE status != 'cancelled';
CREATE TABLE IF NOT EXISTS deliveries (
    push_id INTEGER NOT NULL, customer_id TEXT NOT NULL, email TEXT, status TEXT NOT NULL, reason TEXT,
    at TEXT NOT NULL, PRIMARY KEY (push_id, customer_id));
CREATE TRIGGER IF NOT EXISTS audit_append_only_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_append_only_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
"""

# The same tables with the engine's own types. Catalog versions need no counter row here (see engine.py).
POSTGRES_BASELINE = """
CREATE TABLE stores (id text PRIMARY KEY, name text NOT NULL, version bigint NOT NULL);
CREATE TABLE staff (
    id text PRIMARY KEY, name text NOT NULL, role text NOT NULL, active boolean NOT NULL DEFAULT true,
    pin_hash text, failed_logins integer NOT NULL DEFAULT 0, last_failed_at timestamptz, version bigint NOT NULL);
CREATE TABLE sessions (
    token_hash text PRIMARY KEY, staff_id text NOT NULL, terminal_id text NOT NULL, role text NOT NULL,
    created_at timestamptz NOT NULL, expires_at timestamptz NOT NULL);
CREATE TABLE verifiers (
    staff_id text PRIMARY KEY, all_stores boolean NOT NULL, stores jsonb NOT NULL,
    active boolean NOT NULL, version bigint NOT NULL);
CREATE TABLE campaigns (id text PRIMARY KEY, body jsonb NOT NULL, version bigint NOT NULL);
CREATE TABLE vouchers (
    code text PRIMARY KEY, campaign_id text NOT NULL, customer_id text, claimed_at timestamptz,
    status text NOT NULL, issued_at timestamptz NOT NULL, redeemed_at timestamptz, redeemed_store text,
    redeemed_nonce text, version bigint NOT NULL);
CREATE INDEX vouchers_version ON vouchers(version);
CREATE INDEX vouchers_campaign ON vouchers(campaign_id);
CREATE TABLE redemptions (
    nonce text PRIMARY KEY, code text NOT NULL, campaign_id text NOT NULL, customer_id text,
    store_id text NOT NULL, staff_id text NOT NULL, terminal_id text, amount bigint,
    discount bigint NOT NULL, redeemed_at timestamptz NOT NULL, recorded_at timestamptz NOT NULL, mode text NOT NULL,
    cancelled_at timestamptz, cancelled_by text, cancel_reason text, request_hash text);
CREATE UNIQUE INDEX redemptions_one_live ON redemptions(code) WHERE cancelled_at IS NULL;
CREATE INDEX redemptions_customer ON redemptions(campaign_id, customer_id, redeemed_at);
CREATE TABLE idempotency (
    key text PRIMARY KEY, request_hash text NOT NULL, terminal_id text, status integer NOT NULL,
    response jsonb NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE conflicts (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, nonce text NOT NULL UNIQUE, code text,
    terminal_id text, store_id text, reason text NOT NULL, message text NOT NULL, item jsonb NOT NULL,
    existing jsonb, recorded_at timestamptz NOT NULL, resolved_at timestamptz, request_hash text);
CREATE TABLE terminals (
    id text PRIMARY KEY, store_id text NOT NULL, token_hash text NOT NULL UNIQUE,
    active boolean NOT NULL DEFAULT true, created_at timestamptz NOT NULL);
CREATE TABLE keys (
    kid text PRIMARY KEY, public text NOT NULL, private text, created_at timestamptz NOT NULL,
    version bigint NOT NULL);
CREATE TABLE audit (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, at timestamptz NOT NULL, actor text,
    terminal_id text, store_id text, action text NOT NULL, subject text, detail jsonb);
CREATE TABLE customers (
    id text PRIMARY KEY, name text NOT NULL DEFAULT '', email text, email_verified boolean NOT NULL DEFAULT false,
    opted_out boolean NOT NULL DEFAULT false, member integer NOT NULL DEFAULT 50, followed_at timestamptz);
CREATE TABLE orders (
    order_no text PRIMARY KEY, customer_id text NOT NULL, amount bigint NOT NULL, ordered_at timestamptz NOT NULL);
CREATE INDEX orders_customer ON orders(customer_id, ordered_at);
CREATE TABLE bindings (
    plan text NOT NULL, campaign_id text NOT NULL, sku text NOT NULL, effective_from text NOT NULL,
    created_at timestamptz NOT NULL, created_by text, PRIMARY KEY (plan, campaign_id, sku));
CREATE TABLE pushes (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, kind text NOT NULL, campaign_id text NOT NULL,
    send_at timestamptz NOT NULL, week text NOT NULL, followed_from text, followed_to text, orders jsonb NOT NULL,
    items jsonb NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL, created_by text,
    cancelled_at timestamptz, sent_at timestamptz, sent integer, skipped integer);
CREATE UNIQUE INDEX pushes_one_a_week ON pushes(week) WHERE status != 'cancelled';
CREATE TABLE deliveries (
    push_id bigint NOT NULL, customer_id text NOT NULL, email text, status text NOT NULL, reason text,
    at timestamptz NOT NULL, PRIMARY KEY (push_id, customer_id));
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'audit is append-only' USING ERRCODE = 'integrity_constraint_violation'; END $$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
"""


@dataclass(frozen=True)
class Step:
    version: int
    name: str
    sqlite: str | Callable[[Db], None]
    postgres: str | Callable[[Db], None]


def _add_column(table: str, column: str, kind: str) -> Callable[[Db], None]:
    def run(db: Db) -> None:
        if column not in db.columns(table):  # a database from before this history may have it already
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    return run


def _store_zones(kind: str) -> Callable[[Db], None]:
    def run(db: Db) -> None:
        _add_column("stores", "timezone", kind)(db)
        # terminals hold their store's row from before: new versions send it to them with its zone
        ids = [r[0] for r in db.execute("SELECT id FROM stores ORDER BY id").fetchall()]
        if ids:
            first = db.next_versions(len(ids))
            for k, store_id in enumerate(ids):
                db.execute("UPDATE stores SET version=? WHERE id=?", (first + k, store_id))
    return run


def _lookup(text: str) -> Callable[[Db], None]:
    def run(db: Db) -> None:
        _add_column("vouchers", "revocation", text)(db)
        _add_column("conflicts", "resolved_by", text)(db)
        _add_column("conflicts", "resolution", text)(db)
        db.execute("CREATE INDEX IF NOT EXISTS redemptions_undone ON redemptions(code) WHERE cancelled_at IS NOT NULL")
        db.execute("CREATE INDEX IF NOT EXISTS conflicts_code ON conflicts(code)")
    return run


STEPS: tuple[Step, ...] = (
    Step(1, "baseline", SQLITE_BASELINE, POSTGRES_BASELINE),
    Step(2, "vouchers.affiliate_id", _add_column("vouchers", "affiliate_id", "TEXT"),
         _add_column("vouchers", "affiliate_id", "text")),
    # a store's own time zone: "once per day" and the times shown at its counters are its local ones
    Step(3, "stores.timezone", _store_zones("TEXT NOT NULL DEFAULT 'UTC'"), _store_zones("text NOT NULL DEFAULT 'UTC'")),
    # wrong PINs typed for ids that are no staff member's, counted and locked like a real account's, so that
    # the answers cannot tell which ids exist (rows live only as long as a lockout)
    Step(4, "login_failures",
         "CREATE TABLE IF NOT EXISTS login_failures (staff_id TEXT PRIMARY KEY, failures INTEGER NOT NULL, "
         "last_failed_at TEXT NOT NULL)",
         "CREATE TABLE IF NOT EXISTS login_failures (staff_id text PRIMARY KEY, failures integer NOT NULL, "
         "last_failed_at timestamptz NOT NULL)"),
    # a campaign's last rejection (its reason, who, when) as JSON: shown in the back office, never sent to tills
    Step(5, "campaigns.rejection", _add_column("campaigns", "rejection", "TEXT"), _add_column("campaigns", "rejection", "text")),
    # the back office: a voucher's revocation (its reason, who, when) as JSON, never sent to tills; who settled a
    # conflict and their note; a voucher's history read on indexes: its undone redemptions (few: a partial index
    # that a new redemption never touches) and its conflicts
    Step(6, "vouchers.revocation, conflicts.resolved_by", _lookup("TEXT"), _lookup("text")),
)
LATEST = STEPS[-1].version

_HISTORY = {
    "sqlite": "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
              "applied_at TEXT NOT NULL)",
    "postgres": "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
                "applied_at timestamptz NOT NULL)",
}


class SchemaTooNew(EngineError):
    pass


def current(db: Db) -> int:
    """The schema version of ``db``: 0 for an empty database."""
    if "schema_migrations" not in db.tables():
        return 0
    (v,) = db.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(v)


def check(db: Db) -> int:
    """The schema version, refusing one this program does not know."""
    have = current(db)
    if have > LATEST:
        raise SchemaTooNew(f"The database's schema is version {have}; this pos knows versions up to {LATEST}. "
                           "Upgrade pos before serving this database.")
    return have


def _run(db: Db, script: str | Callable[[Db], None]) -> None:
    if callable(script):
        script(db)
    elif db.kind == "sqlite":
        # sqlite3's executescript would commit our transaction first; run the statements one by one
        for statement in _statements(script):
            db.execute(statement)
    else:
        db.execute(script)


def _statements(script: str) -> list[str]:
    """A SQLite script cut into statements (triggers keep their ``BEGIN … END;`` bodies whole)."""
    import sqlite3

    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--") and not buf.strip():
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():  # a last statement without its semicolon
        out.append(buf.strip())
    return out


def upgrade(db: Db, *, progress: Callable[[Step], None] | None = None) -> list[Step]:
    """Apply every step the database lacks, each in its own transaction; returns the steps applied.

    Safe when several processes start at once: they take turns (the write lock on SQLite, an advisory
    lock on PostgreSQL), and a step found applied by another is skipped.
    """
    applied: list[Step] = []
    for step in STEPS:
        db.begin_write()
        try:
            db.lock("pos schema migrations")
            db.execute(_HISTORY[db.kind])
            have = check(db)
            if step.version <= have:
                db.execute("COMMIT")
                continue
            if progress:
                progress(step)
            _run(db, step.sqlite if db.kind == "sqlite" else step.postgres)
            db.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                       (step.version, step.name, format_time(datetime.now(UTC))))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        applied.append(step)
    check(db)
    return applied
