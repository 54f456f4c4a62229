"""Network faults between terminal and service, injected by a TCP proxy on loopback.

Under each fault the counter answers within its budget, falls back offline where the campaign allows
it (and refuses where it does not), and a later ``pos sync`` converges to exactly once.
"""

from __future__ import annotations

import pytest

from pos.domain import Reason
from pos.terminal.counter import Counter
from pos.terminal.endpoint import Endpoint
from pos.testing.faultproxy import FaultProxy

from .conftest import Shop

TIMEOUT = 0.5
FAULTS = ["delay", "blackhole", "reset", "http500", "cut_after_send", "refuse"]


@pytest.fixture
def proxied(shop: Shop):
    with FaultProxy(shop.service.port) as proxy:
        t = shop.terminal()
        t.endpoint = Endpoint(proxy.url, "demo-token-riverside-1", timeout=TIMEOUT, bulk_timeout=4 * TIMEOUT)
        t.counter = Counter(t.db, t.endpoint, store_id="S001", terminal_id="S001-T1", budget=TIMEOUT)
        yield t, proxy


def _let_the_held_request_arrive(proxy: FaultProxy, fault: str) -> None:
    """A delayed request goes on to the service once the counter has given up on it; wait for its answer."""
    if fault == "delay":
        answers = proxy.answers
        proxy.release()
        proxy.wait_for(lambda p: p.holding == 0 and p.answers > answers)


def live(shop: Shop, code: str) -> int:
    return shop.query("SELECT count(*) FROM redemptions WHERE code=? AND cancelled_at IS NULL", code)[0][0]


@pytest.mark.parametrize("fault", FAULTS)
def test_offline_allowed_campaign_is_accepted_in_time_and_converges(shop: Shop, proxied, fault: str) -> None:
    t, proxy = proxied
    proxy.set(fault, hold=True)
    verdict = t.counter.redeem(shop.codes["spring"], "alice", 62000)
    assert verdict.accepted and verdict.offline, verdict
    if fault in ("delay", "blackhole"):  # the verdict came while the request was still held: nobody waited for it
        assert proxy.holding == 1, f"{fault}: the counter waited for the network"
    assert proxy.injected[fault] >= 1 or fault == "refuse"
    proxy.set("pass")
    _let_the_held_request_arrive(proxy, fault)
    report = t.sync()
    assert report.ok, report.to_dict()
    assert set(report.results) <= {"accepted", "duplicate"}
    if fault == "cut_after_send":
        assert report.results == {"duplicate": 1}  # the service had done it; the upload says so
    assert live(shop, shop.codes["spring"]) == 1
    assert t.db.pending_count() == 0
    assert shop.query("SELECT count(*) FROM conflicts") == [(0,)]


@pytest.mark.parametrize("fault", FAULTS)
def test_online_only_campaign_is_refused_in_time_and_nothing_stays_redeemed(shop: Shop, proxied, fault: str) -> None:
    t, proxy = proxied
    proxy.set(fault, hold=True)
    verdict = t.counter.redeem(shop.codes["vip3"], "alice", 10000)
    if fault in ("delay", "blackhole"):
        assert proxy.holding == 1, f"{fault}: the counter waited for the network"
    assert verdict.reason is Reason.OFFLINE_NOT_ALLOWED
    proxy.set("pass")
    _let_the_held_request_arrive(proxy, fault)  # the late request is done before the sync: the worst order
    report = t.sync()
    assert report.error is None and not report.conflicts
    assert live(shop, shop.codes["vip3"]) == 0, f"{fault}: the customer was refused but the voucher is used"
    # and the voucher can still be used once the link is back
    assert t.counter.redeem(shop.codes["vip3"], "alice", 10000).accepted
    assert live(shop, shop.codes["vip3"]) == 1


def test_sync_through_a_flaky_link_converges(shop: Shop, proxied) -> None:
    from pos.service.admin import issue_vouchers
    from pos.service.schema import open_db

    t, proxy = proxied
    db = open_db(shop.db_path)
    codes = issue_vouchers(db, "SPRING", count=120)
    db.close()
    t.sync()
    proxy.set("refuse")
    for code in codes:
        assert t.counter.redeem(code, "alice", 60000).offline
    for fault in ("cut_after_send", "reset", "http500", "blackhole", "pass"):
        proxy.set(fault, delay=TIMEOUT)
        report = t.sync(batch_size=25)
        if fault == "pass":
            assert report.ok, report.to_dict()
        else:
            assert report.error, fault
    assert shop.query("SELECT count(*), count(DISTINCT code) FROM redemptions WHERE cancelled_at IS NULL") == [(120, 120)]
    assert t.db.pending_count() == 0
    assert shop.query("SELECT count(*) FROM conflicts") == [(0,)]
