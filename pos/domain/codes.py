"""Voucher codes a person can read aloud and type.

Codes use Crockford's base-32 alphabet (no I, L, O or U, so nothing looks like anything else) and end
in a Luhn mod 32 check character, which catches every single-character typo and nearly every swap of
two neighbours before the terminal goes anywhere near the network.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import lru_cache

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_INDEX = {ch: i for i, ch in enumerate(ALPHABET)}
# What people type instead of the real character.
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = str.maketrans("", "", " -_.\t")

BODY_LENGTH = 11
CODE_LENGTH = BODY_LENGTH + 1
GROUP = 4
MAX_INPUT = 512  # anything longer is refused before it is looked at


class DomainError(ValueError):
    """Input the domain refuses: ``code`` is a stable error code, ``message`` a sentence for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class CodeError(DomainError):
    """A typed code or scanned payload that cannot be a voucher."""


def check_character(body: str) -> str:
    """The Luhn mod 32 check character for ``body`` (already normalised)."""
    factor = 2
    total = 0
    for ch in reversed(body):
        addend = factor * _INDEX[ch]
        factor = 3 - factor
        total += addend // 32 + addend % 32
    return ALPHABET[(32 - total % 32) % 32]


def normalise(text: str) -> str:
    """Turn what a person typed into the canonical code, or raise :class:`CodeError`.

    Forgiving about case, spaces, dashes and the O/0, I/1, L/1 confusions; strict about everything
    else, including the check character.
    """
    if len(text) > MAX_INPUT:
        raise CodeError("code.too_long", f"That is {len(text)} characters long; a voucher code has {CODE_LENGTH}.")
    return _normalise(text)


@lru_cache(maxsize=8192)  # a batch upload reads each code twice; errors are not cached
def _normalise(text: str) -> str:
    if len(text) > MAX_INPUT:
        raise CodeError("code.too_long", f"That is {len(text)} characters long; a voucher code has {CODE_LENGTH}.")
    cleaned = text.upper().translate(_SEPARATORS).translate(_CONFUSABLE)
    if not cleaned:
        raise CodeError("code.empty", "No code was entered.")
    for ch in cleaned:
        if ch not in _INDEX:
            shown = ch if ch.isprintable() else repr(ch)
            raise CodeError("code.bad_character", f"{shown!s} cannot appear in a voucher code.")
    if len(cleaned) != CODE_LENGTH:
        raise CodeError(
            "code.length", f"A voucher code has {CODE_LENGTH} characters; this one has {len(cleaned)}."
        )
    if check_character(cleaned[:-1]) != cleaned[-1]:
        raise CodeError("code.check", "The code has a typo: its check character does not match.")
    return cleaned


def is_valid(text: str) -> bool:
    try:
        normalise(text)
    except CodeError:
        return False
    return True


def generate(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    """A new random code (55 bits of entropy) with its check character."""
    body = "".join(ALPHABET[randbelow(32)] for _ in range(BODY_LENGTH))
    return body + check_character(body)


def display(code: str) -> str:
    """The code as printed for people: ``ABCD-EFGH-JKMN``."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))
