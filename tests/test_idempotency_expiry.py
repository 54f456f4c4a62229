"""Idempotency keys expire (48 h by default, never under 24 h), and nothing a key recorded is lost with it:
a redemption answers a retry, and a lookup, from its own row; a voided key's tombstone stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pos.service import ledger
from pos.service.schema import open_db
from pos.terminal.sync import recover

from .conftest import Shop


def age_keys(shop: Shop, hours: float) -> None:
    old = (datetime.now(UTC) - timedelta(hours=hours)).isoformat(timespec="microseconds").replace("+00:00", "Z")
    shop.change("UPDATE idempotency SET created_at=?", old)


def expire(shop: Shop, keep_hours: float = 48) -> int:
    db = open_db(shop.db_path)
    try:
        with db.atomic():
            return ledger.expire_keys(db, datetime.now(UTC), timedelta(hours=keep_hours))
    finally:
        db.close()


def test_after_expiry_a_redemption_still_answers_its_retry_and_its_lookup(shop: Shop) -> None:
    t = shop.terminal()
    first = t.endpoint.redeem(nonce="expiry-000001", code=shop.codes["spring"], staff_id="alice", store_id="S001",
                              amount=62000)
    refused = t.endpoint.redeem(nonce="expiry-000002", code=shop.codes["expired"], staff_id="alice",
                                store_id="S001", amount=62000)
    assert first["verdict"]["accepted"] and not refused["verdict"]["accepted"]
    assert expire(shop) == 0  # young keys stay
    age_keys(shop, 49)
    assert expire(shop) == 2
    assert shop.query("SELECT count(*) FROM idempotency") == [(0,)]
    retry = t.endpoint.redeem(nonce="expiry-000001", code=shop.codes["spring"], staff_id="alice", store_id="S001",
                              amount=62000)
    assert retry["verdict"]["accepted"] and retry["redemption"]["nonce"] == "expiry-000001"
    assert shop.query("SELECT count(*) FROM redemptions") == [(1,)]  # the same redemption, not a second
    assert t.endpoint.lookup("expiry-000001")["redemption"]["code"] == shop.codes["spring"]
    # a refused request is forgotten: sent again, it is decided again (and refused again)
    assert t.endpoint.lookup("expiry-000002") is None
    again = t.endpoint.redeem(nonce="expiry-000002", code=shop.codes["expired"], staff_id="alice", store_id="S001",
                              amount=62000)
    assert again["verdict"]["reason"] == "expired"


def test_a_terminal_that_comes_back_after_expiry_recovers_without_voiding(shop: Shop) -> None:
    from pos.terminal.localdb import LocalDB

    t = shop.terminal()
    dead = LocalDB(t.db.path)  # died after the service redeemed, before recording the answer
    with dead.atomic():
        dead.journal(at=datetime.now(UTC), nonce="expiry-000003", raw=shop.codes["spring"], staff_id="alice",
                     store_id="S001", amount=62000, state="pending", mode="online", code=shop.codes["spring"])
    t.endpoint.redeem(nonce="expiry-000003", code=shop.codes["spring"], staff_id="alice", store_id="S001", amount=62000)
    dead.close()
    age_keys(shop, 72)
    assert expire(shop) == 1
    assert recover(t.db, t.endpoint) == 1
    assert t.db.local_redemption(shop.codes["spring"])["nonce"] == "expiry-000003"  # adopted, not voided
    assert t.sync().results == {}
    assert shop.query("SELECT cancelled_at FROM redemptions") == [(None,)]


def test_a_void_tombstone_outlives_the_expiry(shop: Shop) -> None:
    t = shop.terminal()
    assert t.endpoint.upload("S001", [{"kind": "void", "nonce": "late-0009-void", "target": "late-0009",
                                       "staff_id": "alice"}])[0]["result"] == "voided"
    age_keys(shop, 1000)
    expire(shop)
    late = t.endpoint.redeem(nonce="late-0009", code=shop.codes["spring"], staff_id="alice", store_id="S001",
                             amount=62000)
    assert not late["verdict"]["accepted"]
    assert shop.query("SELECT count(*) FROM redemptions") == [(0,)]


def test_keys_are_kept_at_least_a_day(shop: Shop) -> None:
    with pytest.raises(ValueError):
        expire(shop, keep_hours=23)
