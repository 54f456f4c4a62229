"""Money as people type it, read one way everywhere: the counter's amount field, the goods and campaign
forms, the basket lines and ``pos redeem --amount``.

Yuan with at most two decimals become integer cents (fen). A decimal point or a decimal comma is
accepted (``620.50``, ``620,50``); thousands may be grouped with spaces, apostrophes, or the other mark
(``1,234.50``, ``1.234,50``, ``1 234,50``); ``¥``/``元``/``RMB`` around the number are ignored. What cannot
be read one way only is refused with a reason, never guessed: ``620,5,0`` or ``12,34.5``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from pos.domain.codes import DomainError

MAX_YUAN = Decimal(1_000_000_000)
_CURRENCY = re.compile(r"^(?:¥|￥|RMB|CNY)\s*|\s*(?:元|RMB|CNY)$", re.IGNORECASE)
_GROUPED = re.compile(r"\d{1,3}(?:[ '\u00a0\u202f]\d{3})+")


class AmountError(DomainError):
    """An amount that cannot be read; ``code`` is ``amount.invalid``, ``amount.negative``,
    ``amount.precision`` or ``amount.too_large``."""


def _quote(text: str) -> str:
    """The input, quoted and cut to what a message line can hold."""
    return repr(text if len(text) <= 24 else text[:23] + "…")


def _thousands(text: str, part: str) -> str:
    groups = re.split(r"[.,]", part)
    if not groups[0] or len(groups[0]) > 3 or any(len(g) != 3 for g in groups[1:]):
        raise AmountError("amount.invalid", f"{_quote(text)} groups its thousands oddly; write it like 1234.50")
    return "".join(groups)


def _normalise(text: str) -> str:
    """The number in plain ``1234.50`` form, separators resolved."""
    body = _CURRENCY.sub("", text.strip())
    sign = ""
    if body[:1] in ("+", "-"):
        sign, body = body[0], body[1:].strip()
    marks = [c for c in body if c in ".,"]
    integer, point, decimals = body, "", ""
    if len(set(marks)) == 2:  # 1,234.50 / 1.234,50: the last mark is the decimal one, the others group
        last = max(body.rfind("."), body.rfind(","))
        if body[last] in body[:last]:
            raise AmountError("amount.invalid", f"{_quote(text)} mixes its separators; write it like 1234.50")
        integer, point, decimals = _thousands(text, body[:last]), ".", body[last + 1:]
    elif marks == [","]:  # 620,50 is a decimal comma; 1,234 can only be thousands (money has two decimals)
        head, _, tail = body.partition(",")
        if len(tail) == 3 and head.strip("0 "):
            integer = _thousands(text, body)
        else:
            integer, point, decimals = head, ".", tail
    elif marks == ["."]:
        integer, _, decimals = body.partition(".")
        point = "."
    elif marks:  # 1,234,567 or 1.234.567
        integer = _thousands(text, body)
    if _GROUPED.fullmatch(integer):
        integer = re.sub(r"[ '\u00a0\u202f]", "", integer)
    if not re.fullmatch(r"\d*", integer) or not re.fullmatch(r"\d*", decimals) or not (integer or decimals):
        raise AmountError("amount.invalid", f"{_quote(text)} is not an amount; write it like 128.50")
    return f"{sign}{integer or '0'}{point}{decimals}"


def parse_amount(text: str | None) -> int | None:
    """Yuan as typed to cents; ``None`` or blank is no amount. :class:`AmountError` otherwise."""
    if text is None or not text.strip():
        return None
    try:
        value = Decimal(_normalise(text))
    except InvalidOperation:
        raise AmountError("amount.invalid", f"{_quote(text)} is not an amount; write it like 128.50") from None
    if not value.is_finite():
        raise AmountError("amount.invalid", f"{_quote(text)} is not an amount; write it like 128.50")
    if value < 0:
        raise AmountError("amount.negative", "An amount is zero or more.")
    if value > MAX_YUAN:
        raise AmountError("amount.too_large", f"{_quote(text)} is more than {MAX_YUAN:,} yuan.")
    if value != value.quantize(Decimal("0.01")):
        raise AmountError("amount.precision", f"{_quote(text)} has more than two decimals; money is counted to the fen.")
    return int(value * 100)
