"""Setting the service up: fixtures, vouchers, terminal tokens and the issuer's signing key.

These write straight to the service database (through sqlite-utils, inside one transaction each) and
are safe to run while ``pos serve`` is up: SQLite's WAL lets the service keep answering meanwhile.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pos.domain import Campaign, Verifier, format_time, generate, normalise, parse_time
from pos.domain import payload as qr
from pos.domain.model import local_text, zone
from pos.domain.pins import PinError, hash_pin
from pos.service.engine import Db
from pos.service.ledger import audit
from pos.service.schema import save_campaign, touch_staff


class FixtureError(ValueError):
    """A fixture file that cannot be loaded; the message names the entry and the field."""


class ClaimError(FixtureError):
    """A voucher the campaign's claim rules refuse; ``code`` is stable (``voucher.claim.closed`` …)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def read_fixture(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FixtureError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise FixtureError(f"{path} is not valid {'TOML' if path.suffix == '.toml' else 'JSON'}: {exc}") from exc
    if not isinstance(data, dict):
        raise FixtureError(f"{path}: the top level must be a table/object")
    return data


def signing_key(db: Db) -> tuple[str, Ed25519PrivateKey]:
    """The current issuer key, made on first use."""
    row = db.conn.execute("SELECT kid, private FROM keys WHERE private IS NOT NULL ORDER BY created_at DESC LIMIT 1").fetchone()
    if row:
        return row[0], Ed25519PrivateKey.from_private_bytes(bytes.fromhex(row[1]))
    key = qr.new_key()
    kid = "K" + secrets.token_hex(3).upper()
    with db.atomic():
        db.conn.execute(
            "INSERT INTO keys (kid, public, private, created_at, version) VALUES (?,?,?,?,?)",
            (kid, qr.public_bytes(key).hex(), key.private_bytes_raw().hex(), format_time(datetime.now(UTC)),
             db.next_versions()),
        )
    return kid, key


def voucher_payload(db: Db, code: str) -> str:
    """The signed QR payload for an issued voucher."""
    row = db.conn.execute(
        "SELECT v.campaign_id, v.customer_id, v.claimed_at, c.body FROM vouchers v JOIN campaigns c ON c.id = v.campaign_id "
        "WHERE v.code=?",
        (code,),
    ).fetchone()
    if row is None:
        raise KeyError(code)
    campaign = Campaign.from_json(row[3])
    _, until = campaign.validity.window(parse_time(row[2]) if row[2] else None)
    kid, key = signing_key(db)
    return qr.sign(key, kid, qr.Claims(code, row[0], row[1], until))


def _zone_named(name: Any, where: str) -> str:
    if not isinstance(name, str):
        raise FixtureError(f"{where}: a time zone is an IANA name such as \"Asia/Shanghai\", not {name!r}")
    try:
        zone(name)
    except ValueError as err:
        raise FixtureError(f"{where}: {err}") from err
    return name


def _need(entry: dict[str, Any], section: str, *fields: str) -> None:
    for f in fields:
        if f not in entry or entry[f] in (None, ""):
            raise FixtureError(f"{section}: entry {entry.get('id', entry)!r} has no {f!r}")


def load_fixture(db: Db, data: dict[str, Any], *, now: datetime | None = None) -> dict[str, int]:
    """Upsert stores, staff, verifiers, campaigns, customers, orders, vouchers and terminals (in that order, so
    each may name what came before); returns counts loaded. Runs in one transaction: a bad entry anywhere loads
    nothing."""
    unknown = set(data) - set(_SECTIONS) - {"timezone"}
    if unknown:
        raise FixtureError(f"unknown section(s): {', '.join(sorted(unknown))}; expected {', '.join(sorted(_SECTIONS))}")
    counts = dict.fromkeys(sorted(_SECTIONS), 0)
    signing_key(db)
    with db.atomic():
        at = _Loading(now or datetime.now(UTC), _zone_named(data.get("timezone", "UTC"), "timezone"))
        for section, load in _SECTIONS.items():
            for entry in data.get(section, []):
                counts[section] += load(db, entry, at)
    return counts


@dataclass(frozen=True)
class _Loading:
    now: datetime
    chain_zone: str  # the chain's time zone: a store's and a campaign's default


def _load_store(db: Db, s: dict[str, Any], at: _Loading) -> int:
    _need(s, "stores", "id", "name")
    store_zone = _zone_named(s.get("timezone", at.chain_zone), f"stores: {s['id']!r} timezone")
    db.execute("INSERT INTO stores (id, name, timezone, version) VALUES (?,?,?,?) "
               "ON CONFLICT (id) DO UPDATE SET name=excluded.name, timezone=excluded.timezone, version=excluded.version",
               (s["id"], s["name"], store_zone, db.next_versions()))
    return 1


def _load_staff(db: Db, s: dict[str, Any], at: _Loading) -> int:
    _need(s, "staff", "id", "name")
    role = s.get("role", "cashier")
    if role not in ("cashier", "manager"):
        raise FixtureError(f"staff: {s['id']!r} has role {role!r}; use cashier or manager")
    pin_hash = None
    if "pin" in s:
        try:
            pin_hash = hash_pin(str(s["pin"]), role=role)
        except PinError as exc:
            raise FixtureError(f"staff: {s['id']!r}: {exc.message}") from exc
    # a fixture without a PIN keeps the one the member of staff has
    db.execute("INSERT INTO staff (id, name, role, active, pin_hash, version) VALUES (?,?,?,?,?,?) "
               "ON CONFLICT (id) DO UPDATE SET name=excluded.name, role=excluded.role, active=excluded.active, "
               "pin_hash=coalesce(excluded.pin_hash, staff.pin_hash), version=excluded.version",
               (s["id"], s["name"], role, bool(s.get("active", True)), pin_hash, db.next_versions()))
    return 1


def _load_verifier(db: Db, v: dict[str, Any], at: _Loading) -> int:
    _need(v, "verifiers", "staff_id")
    ver = Verifier.from_dict(v)
    if not ver.all_stores and not ver.stores:
        raise FixtureError(f"verifiers: {ver.staff_id!r} needs all_stores = true or a list of stores")
    db.execute("INSERT INTO verifiers (staff_id, all_stores, stores, active, version) VALUES (?,?,?,?,?) "
               "ON CONFLICT (staff_id) DO UPDATE SET all_stores=excluded.all_stores, stores=excluded.stores, "
               "active=excluded.active, version=excluded.version",
               (ver.staff_id, ver.all_stores, json.dumps(sorted(ver.stores)), ver.active, db.next_versions()))
    touch_staff(db, ver.staff_id)
    audit(db, at.now, "verifier.grant", actor="fixture", terminal=None, subject=ver.staff_id, **ver.to_dict())
    return 1


def _load_campaign(db: Db, c: dict[str, Any], at: _Loading) -> int:
    _need(c, "campaigns", "id", "name", "begins_at", "ends_at")
    try:
        campaign = Campaign.from_dict({**c, "timezone": _zone_named(c.get("timezone", at.chain_zone),
                                                                   f"campaigns: {c['id']!r} timezone")})
    except (KeyError, ValueError, TypeError) as exc:
        raise FixtureError(f"campaigns: {c.get('id')!r}: {exc}") from exc
    save_campaign(db, campaign)
    audit(db, at.now, "campaign.load", actor="fixture", terminal=None, subject=campaign.id)
    return 1


def _load_customer(db: Db, cu: dict[str, Any], at: _Loading) -> int:
    _need(cu, "customers", "id")
    member = int(cu.get("member", 50))
    if member not in (50, 56, 61, 62, 105, 110):
        raise FixtureError(f"customers: {cu['id']!r} has member level {member}; use 50, 56, 61, 62, 105 or 110")
    db.execute("INSERT INTO customers (id, name, email, email_verified, opted_out, member, followed_at) "
               "VALUES (?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET name=excluded.name, email=excluded.email, "
               "email_verified=excluded.email_verified, opted_out=excluded.opted_out, member=excluded.member, "
               "followed_at=excluded.followed_at",
               (cu["id"], cu.get("name", ""), cu.get("email"), bool(cu.get("email_verified", False)),
                bool(cu.get("opted_out", False)), member,
                format_time(parse_time(cu["followed_at"])) if cu.get("followed_at") else None))
    return 1


def _load_order(db: Db, o: dict[str, Any], at: _Loading) -> int:
    _need(o, "orders", "order_no", "customer_id", "ordered_at")
    db.execute("INSERT INTO orders (order_no, customer_id, amount, ordered_at) VALUES (?,?,?,?) "
               "ON CONFLICT (order_no) DO UPDATE SET customer_id=excluded.customer_id, amount=excluded.amount, "
               "ordered_at=excluded.ordered_at",
               (str(o["order_no"]), o["customer_id"], int(o.get("amount", 0)), format_time(parse_time(o["ordered_at"]))))
    return 1


def _load_vouchers(db: Db, v: dict[str, Any], at: _Loading) -> int:
    _need(v, "vouchers", "campaign_id")
    issued = issue_vouchers(db, v["campaign_id"], count=int(v.get("count", 1)),
                            codes=[v["code"]] if "code" in v else None, customer_id=v.get("customer_id"),
                            claimed_at=parse_time(v["claimed_at"]) if v.get("claimed_at") else None, now=at.now,
                            affiliate_id=v.get("affiliate_id"))
    return len(issued)


def _load_terminal(db: Db, t: dict[str, Any], at: _Loading) -> int:
    _need(t, "terminals", "id", "store_id", "token")
    add_terminal(db, t["id"], t["store_id"], token=t["token"], now=at.now)
    return 1


_SECTIONS: dict[str, Callable[[Db, dict[str, Any], _Loading], int]] = {
    "stores": _load_store, "staff": _load_staff, "verifiers": _load_verifier, "campaigns": _load_campaign,
    "customers": _load_customer, "orders": _load_order, "vouchers": _load_vouchers, "terminals": _load_terminal,
}


def issue_vouchers(db: Db, campaign_id: str, *, count: int = 1, codes: Iterable[str] | None = None,
                   customer_id: str | None = None, claimed_at: datetime | None = None,
                   now: datetime | None = None, actor: str = "admin", terminal: Any = None,
                   affiliate_id: str | None = None) -> list[str]:
    """Issue (a customer claims) vouchers for a campaign, within its quantity and claim rules; returns their codes.

    Claim rules: inside the claim window when the campaign has one; a customer's member level at least
    the campaign's; a per-person limit of once (ever) or once a day; an affiliate only when the
    campaign is shared with affiliates."""
    now = now or datetime.now(UTC)
    with db.atomic():
        # one claim of a campaign at a time: its quantity and each customer's limit are counted, then written
        db.lock(f"claims:{campaign_id}")
        row = db.execute("SELECT body FROM campaigns WHERE id=?", (campaign_id,)).fetchone()
        if row is None:
            raise FixtureError(f"no campaign {campaign_id!r}")
        campaign = Campaign.from_json(row[0])
        try:
            wanted = [normalise(c) for c in codes] if codes is not None else None
        except ValueError as exc:
            raise FixtureError(f"vouchers: {exc}") from exc
        n = len(wanted) if wanted is not None else count
        if n < 1:
            raise FixtureError("count must be at least 1")
        claim_rules(db, campaign, n=n, customer_id=customer_id, affiliate_id=affiliate_id, now=claimed_at or now)
        (issued,) = db.execute("SELECT count(*) FROM vouchers WHERE campaign_id=?", (campaign_id,)).fetchone()
        if campaign.quantity is not None and issued + n > campaign.quantity:
            raise FixtureError(f"campaign {campaign_id!r} allows {campaign.quantity} vouchers; {issued} are issued already")
        first = db.next_versions(n)
        if wanted is None:
            wanted = []
            seen: set[str] = set()
            while len(wanted) < n:
                code = generate()
                if code not in seen:
                    seen.add(code)
                    wanted.append(code)
        claimed = format_time(claimed_at or now)
        issued_at = format_time(now)
        rows = [(code, campaign_id, customer_id, claimed, "issued", issued_at, first + i, affiliate_id)
                for i, code in enumerate(wanted)]
        with db.atomic():
            try:
                db.conn.executemany("INSERT INTO vouchers (code, campaign_id, customer_id, claimed_at, status, issued_at, "
                                    "version, affiliate_id) VALUES (?,?,?,?,?,?,?,?)", rows)
            except Exception as exc:  # a code that already exists
                raise FixtureError(f"vouchers: {exc}") from exc
        audit(db, now, "vouchers.issue", actor=actor, terminal=terminal, subject=campaign_id, count=n)
    return wanted


def claim_rules(db: Db, campaign: Campaign, *, n: int, customer_id: str | None,
                affiliate_id: str | None, now: datetime) -> None:
    c = campaign
    if c.claim_starts_at is not None and c.claim_ends_at is not None and not c.claim_starts_at <= now < c.claim_ends_at:
        raise ClaimError("voucher.claim.closed", f"Vouchers of {c.id} can be claimed from "
                                                 f"{local_text(c.claim_starts_at, c.timezone, with_zone=False)} "
                                                 f"to {local_text(c.claim_ends_at, c.timezone)}.")
    if affiliate_id is not None and not c.affiliates:
        raise ClaimError("voucher.affiliate.invalid", f"Campaign {c.id} is not shared with affiliates.")
    if customer_id is None:
        if int(c.member) > 50:
            raise ClaimError("voucher.member.invalid", f"Campaign {c.id} is for members of level {int(c.member)} and "
                                                       "above: name the customer.")
        return
    row = db.conn.execute("SELECT member FROM customers WHERE id=?", (customer_id,)).fetchone()
    level = int(row[0]) if row else 50
    if level < int(c.member):
        raise ClaimError("voucher.member.invalid", f"Customer {customer_id} is member level {level}; "
                                                   f"campaign {c.id} needs {int(c.member)} or above.")
    if c.claim_limit.value != "unlimited":
        if n > 1:
            raise ClaimError("voucher.claim.limit", "Each customer may claim one voucher of this campaign at a time.")
        sql, args = "SELECT count(*) FROM vouchers WHERE campaign_id=? AND customer_id=?", [c.id, customer_id]
        since = ""
        if c.claim_limit.value == "once_per_day":
            local = now.astimezone(ZoneInfo(c.timezone))
            since = format_time(datetime.combine(local.date(), time(0), tzinfo=local.tzinfo))
            sql, args = sql + " AND claimed_at >= ?", [*args, since]
        (had,) = db.execute(sql, args).fetchone()
        if had:
            span = "today" if since else "already"
            raise ClaimError("voucher.claim.limit", f"Customer {customer_id} has {span} claimed a voucher of {c.id}.")


def give_voucher(db: Db, code: str, to_customer: str, *, now: datetime, actor: str = "admin",
                 terminal: Any = None) -> None:
    """Hand a voucher to a friend: only when its campaign allows it and nobody has used it yet."""
    row = db.conn.execute("SELECT v.customer_id, v.status, c.body FROM vouchers v JOIN campaigns c ON c.id = v.campaign_id "
                          "WHERE v.code=?", (code,)).fetchone()
    if row is None:
        raise ClaimError("voucher.non.exist", f"No voucher {code}.")
    campaign = Campaign.from_json(row[2])
    if not campaign.giftable:
        raise ClaimError("voucher.gift.not_allowed", f"Vouchers of {campaign.id} cannot be given to a friend.")
    if row[1] != "issued" or db.conn.execute("SELECT 1 FROM redemptions WHERE code=? AND cancelled_at IS NULL",
                                             (code,)).fetchone():
        raise ClaimError("voucher.gift.used", "This voucher was used or withdrawn; it cannot be given away.")
    if to_customer == row[0]:
        raise ClaimError("voucher.gift.same", "The voucher already belongs to this customer.")
    db.execute("UPDATE vouchers SET customer_id=?, version=? WHERE code=?", (to_customer, db.next_versions(), code))
    audit(db, now, "voucher.give", actor=actor, terminal=terminal, subject=code, before=row[0], after=to_customer)


def revoke_voucher(db: Db, code: str, *, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    with db.atomic():
        cur = db.conn.execute("UPDATE vouchers SET status='revoked', version=? WHERE code=?",
                              (db.next_versions(), normalise(code)))
        if cur.rowcount == 0:
            raise FixtureError(f"no voucher {code!r}")
        audit(db, now, "voucher.revoke", actor="admin", terminal=None, subject=normalise(code))


def add_terminal(db: Db, terminal_id: str, store_id: str, *, token: str | None = None,
                 now: datetime | None = None) -> str:
    """Register a terminal for a store; returns its bearer token (only its hash is kept)."""
    now = now or datetime.now(UTC)
    if db.conn.execute("SELECT 1 FROM stores WHERE id=?", (store_id,)).fetchone() is None:
        raise FixtureError(f"terminals: no store {store_id!r}")
    token = token or secrets.token_urlsafe(24)
    with db.atomic():
        db.execute("INSERT INTO terminals (id, store_id, token_hash, active, created_at) VALUES (?,?,?,?,?) "
                   "ON CONFLICT (id) DO UPDATE SET store_id=excluded.store_id, token_hash=excluded.token_hash, "
                   "active=excluded.active, created_at=excluded.created_at",
                   (terminal_id, store_id, token_hash(token), True, format_time(now)))
        audit(db, now, "terminal.add", actor="admin", terminal=None, subject=terminal_id, store_id=store_id)
    return token
