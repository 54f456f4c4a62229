"""Staff PINs, lockout, sessions, and what only a manager may do — against a real service."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from pos.demo import PINS, TOKENS
from pos.domain import Reason
from pos.domain.pins import PinError, hash_pin, verify_pin
from pos.terminal.endpoint import Refused
from pos.testing.process import ServiceProcess

from .conftest import Shop


def refused(call) -> Refused:
    with pytest.raises(Refused) as err:
        call()
    return err.value


def real_cost_pins(shop: Shop) -> None:
    """The demo staff's PINs hashed again at the product's cost (the tests' template uses a cheaper one)."""
    for staff_id, pin in PINS.items():
        role = shop.query("SELECT role FROM staff WHERE id = ?", staff_id)[0][0]
        shop.change("UPDATE staff SET pin_hash = ? WHERE id = ?", hash_pin(pin, role=role), staff_id)


def test_pins_are_stored_as_slow_salted_hashes(tmp_path) -> None:
    from datetime import UTC, datetime

    from pos.demo import demo_fixture
    from pos.service.admin import load_fixture
    from pos.service.schema import open_db

    db = open_db(str(tmp_path / "service.db"))
    try:
        load_fixture(db, demo_fixture(datetime.now(UTC))[0])
        hashes = {row[0]: row[1] for row in db.execute("SELECT id, pin_hash FROM staff").fetchall()}
    finally:
        db.close()
    assert set(hashes) == set(PINS)
    for staff_id, stored in hashes.items():
        scheme, n, r, p, salt, digest = stored.split("$")
        assert (scheme, int(n), int(r), int(p)) == ("scrypt", 2**14, 8, 1)
        assert len(bytes.fromhex(salt)) == 16 and len(bytes.fromhex(digest)) == 32
        assert PINS[staff_id] not in stored
        assert verify_pin(PINS[staff_id], stored) and not verify_pin("0000", stored)
    assert hash_pin("1234") != hash_pin("1234")  # salted
    for bad in ("123", "123456789", "12a4", "", "１２３４"):
        with pytest.raises(PinError):
            hash_pin(bad)


def test_login_and_lockout_after_five_wrong_pins(shop: Shop) -> None:
    t = shop.terminal()
    ok = t.endpoint.login("alice", PINS["alice"])
    assert ok["staff"] == {"id": "alice", "name": "Alice Wang", "role": "cashier"} and ok["session"]
    assert refused(lambda: t.endpoint.login("nobody", "1234")).code == "login.failed"  # no hint who exists
    for _ in range(5):
        err = refused(lambda: t.endpoint.login("bob", "0000"))
        assert (err.status, err.code) == (401, "login.failed")
    assert err.message == "Wrong staff number or PIN."  # the fifth says no more than an unknown id would
    locked = refused(lambda: t.endpoint.login("bob", PINS["bob"]))  # even the right PIN
    assert (locked.status, locked.code) == (423, "login.locked")
    assert shop.query("SELECT count(*) FROM audit WHERE action='login.failed' AND subject='bob'") == [(5,)]
    assert shop.query("SELECT count(*) FROM audit WHERE action='login.locked'") == [(1,)]
    assert shop.query("SELECT failed_logins FROM staff WHERE id='alice'") == [(0,)]


def test_a_cashier_is_refused_on_manager_endpoints(shop: Shop) -> None:
    t = shop.terminal()
    cashier = t.endpoint.login("alice", PINS["alice"])["session"]
    err = refused(lambda: t.endpoint.set_verifier(cashier, "bob", stores=["S001"]))
    assert (err.status, err.code) == (403, "role.manager_required")
    err = refused(lambda: t.endpoint.issue_vouchers(cashier, "SPRING", 5))
    assert err.code == "role.manager_required"
    assert refused(lambda: t.endpoint.set_verifier("made-up", "bob", stores=["S001"])).code == "session.invalid"
    r = httpx.put(shop.service.url + "/v1/verifiers/bob", json={"stores": ["S001"]},
                  headers={"Authorization": f"Bearer {TOKENS['S001-T1']}"})
    assert (r.status_code, r.json()["error"]["code"]) == (401, "session.missing")
    # a manager's session from another terminal does not work here either
    other = shop.terminal("S001-T2", pull=False)
    carol_elsewhere = other.endpoint.login("carol", PINS["carol"])["session"]
    assert refused(lambda: t.endpoint.set_verifier(carol_elsewhere, "bob", stores=["S001"])).code == "session.invalid"
    assert shop.query("SELECT count(*) FROM audit WHERE action='role.refused'") == [(2,)]
    assert shop.query("SELECT stores, active FROM verifiers WHERE staff_id='bob'") == []


def test_manager_assigns_a_verifier_to_one_store_and_it_holds_at_the_counters(shop: Shop) -> None:
    riverside, station = shop.terminal("S001-T1"), shop.terminal("S002-T1")
    carol = riverside.endpoint.login("carol", PINS["carol"])["session"]
    assert riverside.endpoint.set_verifier(carol, "bob", stores=["S002"]) == {
        "staff_id": "bob", "all_stores": False, "stores": ["S002"], "active": True}
    riverside.sync(), station.sync()
    assert riverside.counter.redeem(shop.codes["spring"], "bob", 62000).reason is Reason.STAFF_NOT_VERIFIER
    assert station.counter.redeem(shop.codes["station"], "bob").accepted
    # revoked: effective at the counter after the next pull, and at the service at once
    riverside.endpoint.set_verifier(carol, "bob", active=False)
    assert station.counter.redeem(shop.codes["spring2"], "bob", 62000).reason is Reason.STAFF_NOT_VERIFIER
    station.sync()
    shop.service.stop()
    assert station.counter.redeem(shop.codes["spring2"], "bob", 62000).reason is Reason.STAFF_NOT_VERIFIER
    shop.service.start()
    assert shop.query("SELECT action, actor FROM audit WHERE action LIKE 'verifier.%' AND subject='bob'") == [
        ("verifier.grant", "carol"), ("verifier.revoke", "carol")]
    assert refused(lambda: riverside.endpoint.set_verifier(carol, "bob", stores=["S999"])).code == "verifier.store_unknown"


def test_manager_issues_vouchers_that_redeem(shop: Shop) -> None:
    t = shop.terminal()
    carol = t.endpoint.login("carol", PINS["carol"])["session"]
    issued = t.endpoint.issue_vouchers(carol, "SPRING", 3, customer_id="cust-9")
    assert len(issued["vouchers"]) == 3
    assert t.counter.redeem(issued["vouchers"][0]["payload"], "alice", 60000).accepted
    assert refused(lambda: t.endpoint.issue_vouchers(carol, "NOPE", 1)).code == "vouchers.refused"


def test_secrets_never_reach_the_logs(tmp_path, shop: Shop) -> None:
    """Tokens and PINs in requests, and in failed ones, appear in no log and in no terminal file."""
    log = tmp_path / "debug.log"
    shop.service.stop()
    with ServiceProcess(shop.db_path, log=log, extra=["--log-level", "debug", "--access-log"]) as service:
        secret_pin, token = "97531864", TOKENS["S001-T1"]
        with httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {token}"}) as c:
            c.post("/v1/sessions", json={"staff_id": "alice", "pin": secret_pin})
            c.post("/v1/sessions", json={"staff_id": "alice", "pin": PINS["alice"]})
            c.post("/v1/redemptions", json={"nonce": "secret-test-1", "code": shop.codes["spring"], "staff_id": "alice",
                                            "store_id": "S001", "amount": 62000})
            httpx.get(service.url + "/v1/catalog", headers={"Authorization": "Bearer wrong-token-xyz"})
    text = log.read_text(errors="replace")
    requests = {line["message"] for line in map(json.loads, text.splitlines()) if line["logger"] == "uvicorn.access"}
    assert {"POST /v1/sessions 401", "GET /v1/catalog 401"} <= requests  # requests logged
    for secret in (secret_pin, PINS["alice"], token, "wrong-token-xyz"):
        assert secret not in text, secret
    dumped = shop.dump()
    assert token not in dumped and secret_pin not in dumped
    shop.service.start()


def test_a_wrong_pin_and_an_unknown_staff_id_get_the_same_words(shop: Shop) -> None:
    from pos.terminal.endpoint import Refused

    t = shop.terminal()
    answers = []
    for staff_id in ("alice", "nobody-here"):
        try:
            t.endpoint.login(staff_id, "0000")
        except Refused as err:
            answers.append((err.status, err.code, err.message))
    assert len(answers) == 2 and answers[0] == answers[1], answers


def test_an_unknown_staff_id_is_locked_like_a_real_one_word_for_word(shop: Shop) -> None:
    """Six wrong tries each: the same answers in the same order, a lockout included, so that neither the
    words nor the lockout tell which ids exist."""
    import re

    from pos.terminal.endpoint import Refused

    t = shop.terminal()

    def answers(staff_id: str) -> list[tuple[int, str, str]]:
        out = []
        for _ in range(7):
            try:
                t.endpoint.login(staff_id, "0000")
            except Refused as err:  # the lockout's end is a minute apart at most: compare its shape
                out.append((err.status, err.code, re.sub(r"\d\d:\d\d", "HH:MM", err.message)))
        return out

    known, unknown = answers("bob"), answers("nobody-here")
    assert known == unknown, (known, unknown)
    assert [a[1] for a in known] == ["login.failed"] * 5 + ["login.locked"] * 2
    # the right PIN does not get a locked account in either (the real one stays locked until unlocked)
    try:
        t.endpoint.login("bob", PINS["bob"])
        raise AssertionError("a locked account logged in")
    except Refused as err:
        assert err.code == "login.locked"


def test_a_wrong_pin_and_an_unknown_id_take_the_same_time(shop: Shop) -> None:
    """Both pay for one PIN hash; the medians of interleaved tries agree within noise."""
    import statistics
    import time

    from pos.terminal.endpoint import Refused

    real_cost_pins(shop)  # an unknown id pays the product's cost: so must a known one, or the test is moot
    t = shop.terminal()
    known_ids = ["alice", "bob", "dan", "carol", "grace"]
    timings: dict[bool, list[float]] = {True: [], False: []}
    for _round in range(4):  # four tries per id: none of them gets locked
        for k, staff_id in enumerate(known_ids):
            for is_known, who in ((True, staff_id), (False, f"ghost-{k}")):
                started = time.perf_counter()
                try:
                    t.endpoint.login(who, "0000")
                except Refused as err:
                    assert err.code == "login.failed"
                timings[is_known].append(time.perf_counter() - started)
    known, unknown = statistics.median(timings[True]), statistics.median(timings[False])
    assert abs(known - unknown) < max(0.020, 0.35 * max(known, unknown)), (known, unknown)
    assert min(known, unknown) > 0.005  # both paid for a hash (scrypt: tens of milliseconds)


def test_a_till_holds_only_the_pin_hashes_of_cashiers_who_may_verify_in_its_store(shop: Shop) -> None:
    """A stolen till's file gives away no manager's PIN hash and no other store's cashier's."""
    from datetime import UTC, datetime

    from pos.terminal.login import LoginError, sign_in

    def hashes(t: Any) -> dict[str, bool]:
        return {r[0]: r[1] is not None for r in t.db.conn.execute("SELECT id, pin_hash FROM staff")}

    riverside, station = shop.terminal("S001-T1"), shop.terminal("S002-T1")
    assert hashes(riverside) == {"alice": True, "bob": False, "dan": False, "carol": False, "grace": False}
    assert hashes(station) == {"alice": False, "bob": False, "dan": True, "carol": False, "grace": False}

    session = riverside.endpoint.login("carol", PINS["carol"])["session"]
    riverside.endpoint.set_verifier(session, "alice", stores=["S001", "S002"])
    assert station.sync().error is None
    assert hashes(station)["alice"]  # granted: the station's till may now let her in offline
    riverside.endpoint.set_verifier(session, "alice", stores=["S001"])
    assert station.sync().error is None
    assert not hashes(station)["alice"]  # taken away again: the hash goes with it

    shop.service.stop()  # offline: the store's cashier gets in, the manager and an unknown id get one answer
    now = datetime.now(UTC)
    assert sign_in(riverside.db, None, "alice", PINS["alice"], now).staff_id == "alice"
    answers = set()
    for staff, pin in (("carol", PINS["carol"]), ("nobody", "1234"), ("dan", PINS["dan"])):
        with pytest.raises(LoginError) as refused_offline:
            sign_in(riverside.db, None, staff, pin, now)
        answers.add((refused_offline.value.code, refused_offline.value.message))
    assert len(answers) == 1 and next(iter(answers))[0] == "login.offline_failed"


def test_a_managers_pin_has_at_least_six_digits(shop: Shop) -> None:
    """A manager's PIN opens every store's back office: four digits are 10,000 tries, six a million."""
    t = shop.terminal()
    session = t.endpoint.login("carol", PINS["carol"])["session"]
    short = refused(lambda: t.endpoint.add_staff(session, staff_id="erin", name="Erin", role="manager", pin="4321"))
    assert short.code == "pin.manager_short"
    assert t.endpoint.add_staff(session, staff_id="erin", name="Erin", role="manager", pin="432198")["role"] == "manager"
    assert t.endpoint.add_staff(session, staff_id="fay", name="Fay", role="cashier", pin="4321")["role"] == "cashier"
    with pytest.raises(PinError):
        hash_pin("1234", role="manager")
