"""Staff PINs: stored only as a slow, salted hash; locked after repeated failures.

scrypt (N=2^14, r=8, p=1: about 16 MiB and tens of milliseconds per try) makes a stolen staff table
expensive to attack even though PINs are short; the lockout makes guessing at the counter pointless.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from pos.domain.codes import DomainError

N, R, P = 2**14, 8, 1
MAX_FAILURES = 5
LOCKED_FOR = timedelta(minutes=15)


class PinError(DomainError):
    """A PIN that breaks the rules."""


MANAGER_PIN_DIGITS = 6  # a manager's PIN opens the back office of every store: a hundred times the tries


def check_pin_rules(pin: str, role: str = "cashier") -> None:
    if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 8):
        raise PinError("pin.invalid", "A PIN is 4 to 8 digits.")
    if role == "manager" and len(pin) < MANAGER_PIN_DIGITS:
        raise PinError("pin.manager_short", f"A manager's PIN is {MANAGER_PIN_DIGITS} to 8 digits.")


def hash_pin(pin: str, *, salt: bytes | None = None, role: str = "cashier") -> str:
    check_pin_rules(pin, role)
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=N, r=R, p=P, maxmem=64 * 2**20, dklen=32)
    return f"scrypt${N}${R}${P}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str | None) -> bool:
    """Constant-time check; a missing or malformed hash never matches (but costs the same time)."""
    try:
        scheme, n, r, p, salt, digest = (stored or "").split("$")
        assert scheme == "scrypt"
        params = int(n), int(r), int(p)
        salt_b, digest_b = bytes.fromhex(salt), bytes.fromhex(digest)
    except (ValueError, AssertionError):
        params, salt_b, digest_b = (N, R, P), b"\0" * 16, b""
    attempt = hashlib.scrypt(pin.encode()[:64], salt=salt_b, n=params[0], r=params[1], p=params[2],
                             maxmem=64 * 2**20, dklen=32)
    return bool(digest_b) and hmac.compare_digest(attempt, digest_b)


def locked_until(failures: int, last_failure: datetime | None) -> datetime | None:
    """When a staff member may try again, or None if not locked."""
    if failures >= MAX_FAILURES and last_failure is not None:
        return last_failure + LOCKED_FOR
    return None
