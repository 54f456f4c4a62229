-- The schema of a service database (SQLite) made by pos before versioned migrations (frozen: never edit).
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE stores (id TEXT PRIMARY KEY, name TEXT NOT NULL, version INTEGER NOT NULL);
CREATE TABLE staff (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1,
    pin_hash TEXT, failed_logins INTEGER NOT NULL DEFAULT 0, last_failed_at TEXT, version INTEGER NOT NULL);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY, staff_id TEXT NOT NULL, terminal_id TEXT NOT NULL, role TEXT NOT NULL,
    created_at TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE TABLE verifiers (
    staff_id TEXT PRIMARY KEY, all_stores INTEGER NOT NULL, stores TEXT NOT NULL,
    active INTEGER NOT NULL, version INTEGER NOT NULL);
CREATE TABLE campaigns (id TEXT PRIMARY KEY, body TEXT NOT NULL, version INTEGER NOT NULL);
CREATE TABLE vouchers (
    code TEXT PRIMARY KEY, campaign_id TEXT NOT NULL, customer_id TEXT, claimed_at TEXT,
    status TEXT NOT NULL, issued_at TEXT NOT NULL, redeemed_at TEXT, redeemed_store TEXT,
    redeemed_nonce TEXT, version INTEGER NOT NULL, affiliate_id TEXT);
CREATE INDEX vouchers_version ON vouchers(version);
CREATE INDEX vouchers_campaign ON vouchers(campaign_id);
CREATE TABLE redemptions (
    nonce TEXT PRIMARY KEY, code TEXT NOT NULL, campaign_id TEXT NOT NULL, customer_id TEXT,
    store_id TEXT NOT NULL, staff_id TEXT NOT NULL, terminal_id TEXT, amount INTEGER,
    discount INTEGER NOT NULL, redeemed_at TEXT NOT NULL, recorded_at TEXT NOT NULL, mode TEXT NOT NULL,
    cancelled_at TEXT, cancelled_by TEXT, cancel_reason TEXT,
    request_hash TEXT);
CREATE UNIQUE INDEX redemptions_one_live ON redemptions(code) WHERE cancelled_at IS NULL;
CREATE INDEX redemptions_customer ON redemptions(campaign_id, customer_id, redeemed_at);
CREATE TABLE idempotency (
    key TEXT PRIMARY KEY, request_hash TEXT NOT NULL, terminal_id TEXT, status INTEGER NOT NULL,
    response TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE conflicts (
    id INTEGER PRIMARY KEY, nonce TEXT NOT NULL UNIQUE, code TEXT, terminal_id TEXT, store_id TEXT,
    reason TEXT NOT NULL, message TEXT NOT NULL, item TEXT NOT NULL, existing TEXT,
    recorded_at TEXT NOT NULL, resolved_at TEXT, request_hash TEXT);
CREATE TABLE terminals (
    id TEXT PRIMARY KEY, store_id TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
    active INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL);
CREATE TABLE keys (
    kid TEXT PRIMARY KEY, public TEXT NOT NULL, private TEXT, created_at TEXT NOT NULL,
    version INTEGER NOT NULL);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT, terminal_id TEXT,
    store_id TEXT, action TEXT NOT NULL, subject TEXT, detail TEXT);
CREATE TABLE customers (
    id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', email TEXT, email_verified INTEGER NOT NULL DEFAULT 0,
    opted_out INTEGER NOT NULL DEFAULT 0, member INTEGER NOT NULL DEFAULT 50, followed_at TEXT);
CREATE TABLE orders (
    order_no TEXT PRIMARY KEY, customer_id TEXT NOT NULL, amount INTEGER NOT NULL, ordered_at TEXT NOT NULL);
CREATE TABLE bindings (
    plan TEXT NOT NULL, campaign_id TEXT NOT NULL, sku TEXT NOT NULL, effective_from TEXT NOT NULL,
    created_at TEXT NOT NULL, created_by TEXT, PRIMARY KEY (plan, campaign_id, sku));
CREATE TABLE pushes (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, campaign_id TEXT NOT NULL, send_at TEXT NOT NULL, week TEXT NOT NULL,
    followed_from TEXT, followed_to TEXT, orders TEXT NOT NULL, items TEXT NOT NULL, status TEXT NOT NULL,
    created_at TEXT NOT NULL, created_by TEXT, cancelled_at TEXT, sent_at TEXT, sent INTEGER, skipped INTEGER);
CREATE UNIQUE INDEX pushes_one_a_week ON pushes(week) WHERE status != 'cancelled';
CREATE TABLE deliveries (
    push_id INTEGER NOT NULL, customer_id TEXT NOT NULL, email TEXT, status TEXT NOT NULL, reason TEXT,
    at TEXT NOT NULL, PRIMARY KEY (push_id, customer_id));
CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
INSERT INTO counters VALUES ('version', 0);
