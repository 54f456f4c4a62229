"""Voucher codes: forgiving to read, strict about typos."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pos.domain import CodeError, display, generate, normalise
from pos.domain.codes import ALPHABET, BODY_LENGTH, CODE_LENGTH, check_character, is_valid

bodies = st.text(alphabet=ALPHABET, min_size=BODY_LENGTH, max_size=BODY_LENGTH)


def code_of(body: str) -> str:
    return body + check_character(body)


@given(bodies)
def test_a_generated_code_normalises_to_itself(body: str) -> None:
    code = code_of(body)
    assert normalise(code) == code
    assert normalise(display(code)) == code


@given(bodies, st.data())
def test_typing_is_forgiving_about_case_separators_and_look_alikes(body: str, data: st.DataObject) -> None:
    code = code_of(body)
    typed = []
    for ch in code:
        ch = {"0": data.draw(st.sampled_from("0oO")), "1": data.draw(st.sampled_from("1iIlL"))}.get(ch, ch)
        typed.append(ch.lower() if data.draw(st.booleans()) else ch)
        typed.append(data.draw(st.sampled_from(["", "", " ", "-"])))
    assert normalise("".join(typed)) == code


@given(bodies, st.integers(0, CODE_LENGTH - 1), st.sampled_from(ALPHABET))
def test_every_single_character_typo_is_caught(body: str, pos: int, wrong: str) -> None:
    code = code_of(body)
    if wrong == code[pos]:
        return
    typo = code[:pos] + wrong + code[pos + 1 :]
    with pytest.raises(CodeError) as err:
        normalise(typo)
    assert err.value.code == "code.check"


def test_nearly_every_swap_of_neighbours_is_caught() -> None:
    rng = random.Random(7)
    swaps = caught = 0
    for _ in range(20_000):
        code = generate(randbelow=rng.randrange)
        i = rng.randrange(CODE_LENGTH - 1)
        if code[i] == code[i + 1]:
            continue
        swaps += 1
        caught += not is_valid(code[:i] + code[i + 1] + code[i] + code[i + 2 :])
    assert caught / swaps > 0.99, (caught, swaps)


@given(st.text(max_size=600))
def test_any_text_either_normalises_or_raises_a_code_error(text: str) -> None:
    try:
        code = normalise(text)
    except CodeError as err:
        assert err.code.startswith("code.") and err.message
    else:
        assert len(code) == CODE_LENGTH and set(code) <= set(ALPHABET)


@pytest.mark.parametrize(("text", "why"), [
    ("", "code.empty"), ("   ", "code.empty"), ("ABC", "code.length"), ("ABCD-EFGH-JKMN-P", "code.length"),
    ("ABCD-EFGH-JKU1", "code.bad_character"), ("ABCD\x00EFGH", "code.bad_character"), ("A" * 600, "code.too_long"),
    ("券码券码券码券码券码券码", "code.bad_character"),
])
def test_bad_input_gets_a_specific_reason(text: str, why: str) -> None:
    with pytest.raises(CodeError) as err:
        normalise(text)
    assert err.value.code == why
