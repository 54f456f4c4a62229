"""What the back office says when something was refused: a sentence for people in the reader's language,
naming the field by its label, and the stable code after it for whoever is asked for help — never the
validator's own text (``count: Input should be greater than or equal to 1``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from pos.tui.i18n import _, code_text, language, translation_of

#: a field's name as a sentence can use it: its label without the hint in brackets
_HINT = re.compile(r"\s*[(（].*$")

#: the codes of a request the service could not even read, whose message is a validator's ``where: what``
REQUEST_INVALID = "request.invalid"


def field_name(label: str) -> str:
    """``Send time (10:00 to 22:00)`` → ``Send time``; ``发送时间(10:00~22:00)`` → ``发送时间``."""
    return _HINT.sub("", label).strip() or label


def problem_sentence(code: str, message: str) -> str:
    """A refusal's sentence in the reader's language: in English the sender's own (it has the details),
    in Chinese the same sentence translated when it has no details of its own, else the one catalogued
    for its code. A message that only passes on what could not be parsed (``… cannot be read: …``) gives
    way to the catalogued sentence, and a code with neither gets a plain one: never the sender's raw text."""
    if language() == "zh":
        return translation_of(message) or code_text(code, _("This is not accepted."))
    if message and "cannot be read:" not in message:
        return message
    return code_text(code, _("This is not accepted."))


def with_code(text: str, code: str) -> str:
    """The sentence first, for the reader; the stable code after it, to quote when asking for help."""
    return f"{text} ({code})"


def split_invalid(message: str) -> tuple[list[str], str]:
    """``discount.percent_off: Input should be …`` → (["discount", "percent_off"], "Input should be …"):
    where the service found the value it could not read, without list indexes or the request's part."""
    where, _sep, what = message.partition(": ")
    if not what:
        return [], message
    path = [p for p in where.split(".") if p and not p.isdigit() and p not in ("body", "path", "query", "header")]
    return path, what


def invalid_sentence(what: str, name: str | None) -> str:
    """A validator's complaint (``String should have at least 1 character``) said for people, naming the
    field; with no field this form knows, a sentence that sends the reader to check the fields."""
    if name is None:
        return _("A value in this form is not accepted; check the fields.")
    number = re.search(r"(-?[\d,._]+)", what)
    n = number.group(1).replace("_", ",").rstrip(".,") if number else ""
    if "Field required" in what or re.search(r"at least 1 (character|item)\b", what):
        return _("{field} is required.", field=name)
    if "should have at least" in what and "character" in what:
        return _("{field} needs at least {n} characters.", field=name, n=n)
    if "should have at most" in what and "character" in what:
        return _("{field} takes at most {n} characters.", field=name, n=n)
    if "should have at most" in what:
        return _("{field} takes at most {n} entries.", field=name, n=n)
    if "greater than or equal to" in what:
        return _("{field} must be at least {n}.", field=name, n=n)
    if "greater than" in what:
        return _("{field} must be more than {n}.", field=name, n=n)
    if "less than or equal to" in what:
        return _("{field} must be at most {n}.", field=name, n=n)
    if "less than" in what:
        return _("{field} must be less than {n}.", field=name, n=n)
    if "valid integer" in what or "valid number" in what:
        return _("{field} must be a whole number.", field=name)
    if "match pattern" in what:
        return _("{field} is not written the way it should be.", field=name)
    if "Input should be" in what:
        return _("{field} must be one of the offered choices.", field=name)
    return _("{field} is not accepted as typed.", field=name)


def refusal_lines(code: str, message: str, problems: list[dict[str, str]], place: Callable[[str], str | None],
                  names: Mapping[str, str]) -> list[tuple[str | None, str]]:
    """Each thing a refusal says, as (the form's field it belongs to or None, the sentence with its code).
    ``place`` maps the service's name of a field to the form's (None: the form has no such field);
    ``names`` gives each of the form's fields its label, to name it in a sentence."""
    if problems:
        return [(place(p.get("field", "")), with_code(problem_sentence(p.get("code", code), p.get("message", "")),
                                                      p.get("code", code))) for p in problems]
    if code == REQUEST_INVALID:
        path, what = split_invalid(message)
        for part in reversed(path):
            key = place(part)
            if key is not None:
                return [(key, with_code(invalid_sentence(what, field_name(names.get(key, key))), code))]
        return [(None, with_code(invalid_sentence(what, None), code))]
    return [(None, with_code(problem_sentence(code, message), code))]
