"""Signed QR payloads: genuine offline, forgeries refused, damage reported."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pos.domain import CodeError, generate
from pos.domain import payload as qr

KEY = qr.new_key()
PUBLIC = qr.public_bytes(KEY)
CLAIMS = qr.Claims(generate(), "SPRING", "cust-1", datetime(2027, 1, 1, 12, 30, tzinfo=UTC))


def test_round_trip_and_verify() -> None:
    text = qr.sign(KEY, "K1", CLAIMS)
    parsed = qr.parse(text)
    assert parsed.claims == CLAIMS and parsed.kid == "K1"
    assert qr.verify(parsed, PUBLIC)
    assert not qr.verify(parsed, qr.public_bytes(qr.new_key()))


def test_no_expiry_and_no_customer() -> None:
    claims = qr.Claims(generate(), "C")
    assert qr.parse(qr.sign(KEY, "K1", claims)).claims == claims


@pytest.mark.parametrize("field", [2, 3, 4, 5])
def test_altering_any_signed_field_breaks_the_signature(field: int) -> None:
    parts = qr.sign(KEY, "K1", CLAIMS).split(":")
    replacement = {2: generate(), 3: "OTHER", 4: "cust-2", 5: "203001011230"}[field]
    parts[field] = replacement
    assert not qr.verify(qr.parse(":".join(parts)), PUBLIC)


@given(st.text(max_size=700))
def test_arbitrary_text_never_crashes_the_parser(text: str) -> None:
    try:
        parsed = qr.parse("VC1:" + text)
    except CodeError as err:
        assert err.code.startswith(("payload.", "code."))
    else:
        assert not qr.verify(parsed, PUBLIC)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_the_parser(data: bytes) -> None:
    text = data.decode("latin-1")
    try:
        qr.parse(text)
    except CodeError:
        pass
