"""One reading of typed money for the whole product (pos.domain.amounts): the counter, the forms, the
basket lines and ``pos redeem --amount``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pos.domain.amounts import AmountError, parse_amount
from pos.domain.promotions import parse_lines


@pytest.mark.parametrize(("typed", "cents"), [
    ("620", 62000), ("620.5", 62050), ("620.50", 62050), ("620,50", 62050), ("620,5", 62050),
    (" 620.50 ", 62050), ("¥620.50", 62050), ("620.50元", 62050), ("RMB 620", 62000), ("0", 0), ("0.01", 1),
    (".5", 50), (",5", 50), ("5.", 500), ("+3", 300),
    ("1,234.50", 123450), ("1.234,50", 123450), ("1 234,50", 123450), ("1'234.50", 123450),
    ("1,234", 123400), ("1,234,567", 123456700), ("1.234.567", 123456700), ("1.234,5", 123450),
    ("１２３", 12300), ("620.500", 62050), ("", None), ("   ", None), (None, None),
])
def test_amounts_people_type(typed: str | None, cents: int | None) -> None:
    assert parse_amount(typed) == cents


@pytest.mark.parametrize(("typed", "code"), [
    ("abc", "amount.invalid"), ("1e5", "amount.invalid"), ("NaN", "amount.invalid"), ("Infinity", "amount.invalid"),
    ("12,34.5", "amount.invalid"), ("620,5,0", "amount.invalid"), ("1,,234", "amount.invalid"),
    ("1.234.5", "amount.invalid"), ("1,23,456.00", "amount.invalid"), ("--5", "amount.invalid"),
    ("5 0", "amount.invalid"), ("0x10", "amount.invalid"), ("1_000", "amount.invalid"),
    ("-5", "amount.negative"), ("0.001", "amount.precision"), ("1,2345", "amount.precision"),
    ("9999999999", "amount.too_large"), ("1" * 400, "amount.too_large"),
])
def test_what_cannot_be_read_one_way_is_refused_with_a_reason(typed: str, code: str) -> None:
    with pytest.raises(AmountError) as err:
        parse_amount(typed)
    assert err.value.code == code and err.value.message


@given(st.integers(min_value=0, max_value=100_000_000_000))
def test_every_way_of_writing_an_amount_reads_back(cents: int) -> None:
    yuan, fen = divmod(cents, 100)
    grouped = f"{yuan:,}"
    for text in (f"{yuan}.{fen:02d}", f"{yuan},{fen:02d}", f"{grouped}.{fen:02d}",
                 grouped.replace(",", ".") + f",{fen:02d}", grouped.replace(",", " ") + f",{fen:02d}"):
        assert parse_amount(text) == cents, text


@given(st.text(max_size=40))
def test_any_text_is_an_amount_or_a_clear_refusal(text: str) -> None:
    try:
        value = parse_amount(text)
    except AmountError as err:
        assert err.code.startswith("amount.") and err.message
    else:
        assert value is None or (isinstance(value, int) and value >= 0)


def test_basket_lines_read_prices_the_same_way() -> None:
    assert parse_lines("12.5*2, A100@15.00", known=["A100"]) == [
        {"sku": None, "price": 1250, "qty": 2}, {"sku": "A100", "price": 1500, "qty": 1}]


def test_pos_redeem_amount_is_read_the_same_way() -> None:
    import click

    from pos.cli import parse_amount as cli_amount

    assert cli_amount("620,50") == 62050 and cli_amount("1,234.50") == 123450 and cli_amount(None) is None
    with pytest.raises(click.BadParameter, match="more than two decimals"):
        cli_amount("1.005")
