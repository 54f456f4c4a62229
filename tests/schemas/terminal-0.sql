-- The schema of a terminal file made by pos before versioned migrations (frozen: never edit).
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE stores (id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE staff (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, active INTEGER NOT NULL,
    pin_hash TEXT);
CREATE TABLE logins (staff_id TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_failed_at TEXT);
CREATE TABLE verifiers (staff_id TEXT PRIMARY KEY, all_stores INTEGER NOT NULL, stores TEXT NOT NULL,
    active INTEGER NOT NULL);
CREATE TABLE campaigns (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE keys (kid TEXT PRIMARY KEY, public TEXT NOT NULL);
CREATE TABLE vouchers (code TEXT PRIMARY KEY, campaign_id TEXT NOT NULL, customer_id TEXT,
    claimed_at TEXT, status TEXT NOT NULL, redeemed_at TEXT, redeemed_store TEXT, redeemed_nonce TEXT);
CREATE TABLE journal (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, nonce TEXT,
    input TEXT NOT NULL, code TEXT, staff_id TEXT NOT NULL, store_id TEXT NOT NULL, amount INTEGER,
    state TEXT NOT NULL, mode TEXT, reason TEXT, message TEXT, discount INTEGER, detail TEXT, items TEXT, owner TEXT);
CREATE INDEX journal_nonce ON journal(nonce);
CREATE INDEX journal_unsettled ON journal(code) WHERE state='pending';
CREATE INDEX journal_open ON journal(state) WHERE state IN ('pending','given','unshown','undoing');
CREATE TABLE redemptions (nonce TEXT PRIMARY KEY, code TEXT NOT NULL, campaign_id TEXT NOT NULL,
    customer_id TEXT, store_id TEXT NOT NULL, staff_id TEXT NOT NULL, amount INTEGER, discount INTEGER NOT NULL,
    redeemed_at TEXT NOT NULL, mode TEXT NOT NULL, cancelled_at TEXT, state TEXT NOT NULL DEFAULT 'ok');
CREATE UNIQUE INDEX redemptions_one_live ON redemptions(code) WHERE cancelled_at IS NULL;
CREATE INDEX redemptions_customer ON redemptions(campaign_id, customer_id, redeemed_at);
CREATE TABLE outbox (nonce TEXT PRIMARY KEY, seq INTEGER NOT NULL, kind TEXT NOT NULL,
    body TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending', result TEXT, created_at TEXT NOT NULL,
    updated_at TEXT, maybe_sent INTEGER NOT NULL DEFAULT 0);
CREATE INDEX outbox_pending ON outbox(state, seq);
CREATE TABLE conflicts (nonce TEXT PRIMARY KEY, code TEXT, reason TEXT NOT NULL, message TEXT NOT NULL,
    ours TEXT NOT NULL, theirs TEXT, recorded_at TEXT NOT NULL);
CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT,
    action TEXT NOT NULL, subject TEXT, detail TEXT);
CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
