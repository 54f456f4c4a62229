"""Signed QR payloads: a voucher a terminal can prove genuine with no network.

The issuer signs the voucher's claims with Ed25519; terminals hold the issuer's public keys (pulled
with the catalog) and check the signature locally. The payload is plain text so any QR decoder or
USB scanner can pass it through unchanged::

    VC1:<kid>:<code>:<campaign>:<customer or ->:<valid until YYYYMMDDHHMM UTC or ->:<signature>

The signature (base-32, no padding) covers everything before the last colon.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pos.domain.codes import MAX_INPUT, CodeError, normalise

PREFIX = "VC1"
_TIME = "%Y%m%d%H%M"
_NONE = "-"


@dataclass(frozen=True, slots=True)
class Claims:
    code: str
    campaign_id: str
    customer_id: str | None = None
    valid_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class SignedPayload:
    kid: str
    claims: Claims
    signed_part: bytes
    signature: bytes


def is_payload(text: str) -> bool:
    return text.startswith(PREFIX + ":")


def _field_ok(value: str) -> bool:
    return bool(value) and ":" not in value and value.isprintable() and len(value) <= 64


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=")


def _unb32(text: str) -> bytes:
    return base64.b32decode(text + "=" * (-len(text) % 8))


def sign(private_key: Ed25519PrivateKey, kid: str, claims: Claims) -> str:
    for name, value in (("kid", kid), ("campaign", claims.campaign_id), ("customer", claims.customer_id or _NONE)):
        if not _field_ok(value):
            raise ValueError(f"{name} {value!r} cannot be put in a QR payload")
    until = claims.valid_until.astimezone(UTC).strftime(_TIME) if claims.valid_until else _NONE
    signed = ":".join((PREFIX, kid, claims.code, claims.campaign_id, claims.customer_id or _NONE, until))
    return signed + ":" + _b32(private_key.sign(signed.encode("utf-8")))


def parse(text: str) -> SignedPayload:
    """Split a payload into its parts; raise :class:`CodeError` when it is not a well-formed one."""
    if len(text) > MAX_INPUT:
        raise CodeError("payload.too_long", "The scanned code is far too long to be a voucher.")
    parts = text.strip().split(":")
    if len(parts) != 7 or parts[0] != PREFIX:
        raise CodeError("payload.format", "The scanned code is not a voucher of this shop.")
    _, kid, code, campaign, customer, until, sig = parts
    if not all(_field_ok(p) for p in (kid, campaign, customer, until)) or not 100 <= len(sig) <= 110:
        raise CodeError("payload.format", "The scanned code is not a voucher of this shop.")
    code = normalise(code)
    try:
        valid_until = None if until == _NONE else datetime.strptime(until, _TIME).replace(tzinfo=UTC)
        signature = _unb32(sig)
    except ValueError as exc:
        raise CodeError("payload.format", "The scanned code is damaged.") from exc
    if len(signature) != 64:
        raise CodeError("payload.format", "The scanned code is damaged.")
    claims = Claims(code, campaign, None if customer == _NONE else customer, valid_until)
    signed_part = text.strip().rsplit(":", 1)[0].encode("utf-8")
    return SignedPayload(kid, claims, signed_part, signature)


def verify(payload: SignedPayload, public_key: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(payload.signature, payload.signed_part)
    except (InvalidSignature, ValueError):
        return False
    return True


def new_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_bytes(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
