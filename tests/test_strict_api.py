"""The API takes nothing loosely: no coercion of money, counts or flags, a body that is not JSON is a
400, and a refusal names the field. In-process, through the app itself (httpx.ASGITransport)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from pos.demo import TOKENS, demo_fixture
from pos.service.admin import load_fixture
from pos.service.api import create_app
from pos.service.schema import open_db

from .conftest import cheap_pins


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    path = tmp_path_factory.mktemp("strict") / "service.db"
    fixture, codes = demo_fixture(datetime.now(UTC))
    db = open_db(path)
    with cheap_pins():
        load_fixture(db, fixture)
    db.close()
    app = create_app(path)
    runner = asyncio.Runner()
    lifespan = app.router.lifespan_context(app)
    runner.run(lifespan.__aenter__())
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pos",
                               headers={"Authorization": f"Bearer {TOKENS['S001-T1']}"})
    try:
        yield lambda method, url, **kw: runner.run(client.request(method, url, **kw)), codes
    finally:
        runner.run(client.aclose())
        runner.run(lifespan.__aexit__(None, None, None))
        runner.close()


def redeem_body(codes: dict[str, str], **changes: Any) -> dict[str, Any]:
    return {"nonce": "strict-000001", "code": codes["spring"], "staff_id": "alice", "store_id": "S001",
            "amount": 62000, **changes}


@pytest.mark.parametrize(("field", "value"), [
    ("amount", "5000"), ("amount", True), ("amount", False), ("amount", 620.5), ("amount", 62000.0),
    ("amount", 10**30), ("amount", -1), ("amount", [62000]), ("amount", {"cents": 1}),
    ("nonce", 12345678), ("staff_id", True), ("staff_id", "ali\x00ce"), ("code", "SPRING\x00"),
])
def test_a_redeem_with_a_loosely_typed_field_is_refused_and_the_field_named(service: Any, field: str,
                                                                           value: Any) -> None:
    call, codes = service
    answer = call("POST", "/v1/redemptions", json=redeem_body(codes, **{field: value}))
    assert answer.status_code == 422, answer.text
    err = answer.json()["error"]
    assert err["code"] == "request.invalid" and err["message"].startswith(f"{field}:"), err


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/uploads", {"store_id": "S001", "items": [{"nonce": "strict-000002", "staff_id": "alice",
                                                     "code": "X", "amount": "100"}]}),
    ("/v1/uploads", {"store_id": "S001", "items": [{"nonce": "strict-000003", "staff_id": "alice",
                                                     "code": "X", "items": [{"price": 100, "qty": "2"}]}]}),
    ("/v1/sessions", {"staff_id": "alice", "pin": 1234}),
    ("/v1/uploads", {"store_id": "S001", "items": [{"nonce": "strict-000004", "staff_id": "alice",
                                                     "code": "X", "items": [{"sku": "A\x00", "qty": 1}]}]}),
])
def test_counts_and_flags_elsewhere_are_not_coerced_either(service: Any, path: str, body: dict[str, Any]) -> None:
    call, _ = service
    answer = call("POST", path, json=body)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "request.invalid", answer.text


@pytest.mark.parametrize("raw", [b"not json", b"{", b"\xff\xfe", b'{"nonce": '])
def test_a_body_that_is_not_json_is_a_400(service: Any, raw: bytes) -> None:
    call, _ = service
    answer = call("POST", "/v1/redemptions", content=raw, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and answer.json()["error"] == {"code": "http.400",
                                                                  "message": "The body is not valid JSON."}


def test_a_well_typed_redeem_still_goes_through(service: Any) -> None:
    call, codes = service
    answer = call("POST", "/v1/redemptions", json=redeem_body(codes, nonce="strict-000009"))
    assert answer.status_code == 200 and answer.json()["verdict"]["accepted"], answer.text


def test_times_are_still_read_from_iso_strings(service: Any, tmp_path: Path) -> None:
    call, codes = service
    item = {"nonce": "strict-000010", "staff_id": "alice", "code": codes["spring2"], "amount": 62000,
            "redeemed_at": datetime.now(UTC).isoformat()}
    answer = call("POST", "/v1/uploads", json={"store_id": "S001", "items": [item]})
    assert answer.status_code == 200 and answer.json()["results"][0]["result"] == "accepted", answer.text
