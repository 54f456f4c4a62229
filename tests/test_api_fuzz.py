"""Property-based requests against the service's own OpenAPI document (schemathesis), and random input
at the counter: no 5xx, no crash, a clear error, nothing redeemed."""

from __future__ import annotations

import os
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from pos.demo import PINS
from pos.domain import Reason
from pos.terminal.counter import Counter
from pos.terminal.localdb import LocalDB

from .conftest import Shop

EXAMPLES = int(os.environ.get("POS_FUZZ_EXAMPLES", "20"))  # per operation; docs/reliability.md: a deeper run


def our_store(case: schemathesis.Case) -> schemathesis.Case:
    """Valid requests name the token's store, so they reach the ledger instead of stopping at 403."""
    if isinstance(case.body, dict) and "store_id" in case.body:
        case.body["store_id"] = "S001"
    return case


def fuzz_operation(operation, base_url: str, headers: dict[str, str], calls: dict, examples: int) -> None:
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE).map(our_store),
                      operation.as_strategy(GenerationMode.POSITIVE),
                      operation.as_strategy(GenerationMode.NEGATIVE))

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=cases)
    def run(case: schemathesis.Case) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=10)
        calls["n"] += 1
        calls["by_status"][response.status_code] = calls["by_status"].get(response.status_code, 0) + 1
        assert response.status_code < 500, (case.as_curl_command(), response.text[:300])
        if response.status_code >= 400:
            error = response.json()["error"]
            assert error["code"] and error["message"], response.text
        case.validate_response(response, checks=[schemathesis.checks.not_a_server_error])

    run()


def test_every_operation_survives_generated_requests(shop: Shop) -> None:
    schema = schemathesis.openapi.from_url(shop.service.url + "/openapi.json")
    calls: dict = {"n": 0, "by_status": {}}
    till = {"Authorization": "Bearer demo-token-riverside-1"}
    session = shop.terminal(pull=False).endpoint.login("carol", PINS["carol"])["session"]
    # a manager logged in at a till reaches every operation's handler; a till's token alone, or nothing, must
    # stop at the door (401) wherever a session or a token is needed, which a few examples per operation show
    for headers, examples in (({**till, "X-Staff-Session": session}, EXAMPLES), (till, max(1, EXAMPLES // 6)),
                              ({}, max(1, EXAMPLES // 6))):
        for result in schema.get_all_operations():
            fuzz_operation(result.ok(), shop.service.url, headers, calls, examples)
    print(f"\nschemathesis: {calls['n']} generated requests, by status {dict(sorted(calls['by_status'].items()))}")
    assert calls["n"] >= 6 * 2
    assert calls["by_status"].get(401, 0) < calls["n"] // 3  # most requests got past the door, to the handlers
    # garbage never redeems anything, nor touches a voucher
    assert shop.query("SELECT count(*) FROM redemptions") == [(0,)]
    assert shop.query("SELECT count(*) FROM vouchers WHERE redeemed_nonce IS NOT NULL OR status != 'issued'") == [(1,)]


texts = st.one_of(
    st.text(max_size=2000),
    st.binary(max_size=600).map(lambda b: b.decode("latin-1")),
    st.text(alphabet=st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "Lo", "So"]), max_size=300),
    st.from_regex(r"VC1:[A-Z0-9]{1,8}:[0-9A-Z\-]{1,20}:[A-Z]{1,8}:[a-z\-0-9]{1,8}:[0-9\-]{1,12}:[A-Z2-7]{1,120}",
                  fullmatch=True),
    st.sampled_from(["'; DROP TABLE redemptions; --", "\x00" * 50, "%s%s%n", "A" * 10_000, "\u202e1KJ4-AB00", "  "]),
)


def test_the_counter_answers_any_input_with_a_verdict(tmp_path: Path) -> None:
    db = LocalDB(tmp_path / "t.db")
    counter = Counter(db, None, store_id="S001", terminal_id="T")

    @settings(max_examples=EXAMPLES * 5, deadline=None, database=None)
    @given(raw=texts)
    def run(raw: str) -> None:
        verdict = counter.redeem(raw, "alice", None)
        assert isinstance(verdict.reason, Reason) and verdict.message.strip()
        assert not verdict.accepted

    run()
    (tried,) = db.conn.execute("SELECT count(*) FROM journal").fetchone()
    print(f"\ncounter: {tried} random inputs, every one answered with a verdict")
    assert db.conn.execute("SELECT count(*) FROM redemptions").fetchone() == (0,)
    assert db.conn.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
