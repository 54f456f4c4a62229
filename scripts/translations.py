"""The terminal UI's translations: the Chinese catalog made from the code and checked (docs/translations.md).

    python scripts/translations.py extract   # pos.po updated from the code: new messages untranslated (or
                                             # fuzzy, with the old one's translation when they look alike),
                                             # translations kept, messages the code no longer has dropped
    python scripts/translations.py compile   # pos.po → pos.mo (what the UI reads, with the stdlib's gettext)
    python scripts/translations.py check     # every message translated, none fuzzy or left over, the same
                                             # {fields} in both languages, pos.mo compiled from this pos.po

Messages are found in ``pos/tui`` and ``pos/demo.py`` (Babel's extraction, with a reader of Python's syntax
tree, so calls inside f-strings count): the arguments written out as strings of ``_`` (``say`` in the demo),
``N_`` (marked to be translated where shown) and ``n_`` (singular and plural); every key binding's
description and tooltip (the UI translates them, ``pos/tui/keys.py``); and the tables of
``pos/tui/sentences.py``, each entry under its context (``code:expired``, ``verdict:…``, ``status:…``,
``kind:…``). Entries under the context ``refusal`` are kept by hand: sentences the service and the rules
send in English, which the UI translates when they arrive (``pos.tui.i18n.translation_of``); ``check``
makes sure each is one the code can still send.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import sys
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "pos" / "tui" / "locale" / "zh" / "LC_MESSAGES" / "pos.po"
MO = PO.with_suffix(".mo")
KEYWORDS: dict[str, Any] = {"_": None, "say": None, "N_": None, "n_": (1, 2), "pgettext": ((1, "c"), 2)}
#: the tables of pos/tui/sentences.py and the context prefix of their entries
TABLES = {"CODES": "code", "VERDICTS": "verdict", "STATUS": "status", "KINDS": "kind"}
KEPT = "refusal"  # the context of the entries kept by hand
PLURAL_FORMS = "nplurals=1; plural=0;"
SENDERS = ("domain", "service", "terminal")  # the layers whose sentences reach the UI in English
FIELD = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)[^{}]*\}")

Key = str | tuple[str, str]  # a msgid, or (msgid, context)


def sources() -> list[Path]:
    return [*sorted((ROOT / "pos" / "tui").rglob("*.py")), ROOT / "pos" / "demo.py"]


def _text(node: ast.expr | None) -> str | None:
    """A string written out (not empty: gettext("") is the header), else None."""
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value else None


def _called(node: ast.Call) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _binding_texts(node: ast.Call) -> Iterator[str | None]:
    """A Textual ``Binding``'s description and tooltip."""
    yield _text(node.args[2]) if len(node.args) > 2 else None
    for keyword in node.keywords:
        if keyword.arg in ("description", "tooltip"):
            yield _text(keyword.value)


def _table_entries(node: ast.stmt) -> Iterator[tuple[int, str, str]]:
    """(line, context, English) of a table of pos/tui/sentences.py."""
    target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
    value = getattr(node, "value", None)
    if not (isinstance(target, ast.Name) and target.id in TABLES and isinstance(value, ast.Dict)):
        return
    for key, text in zip(value.keys, value.values, strict=True):
        english, code = _text(text), _text(key)
        if english and code and text is not None:
            yield text.lineno, f"{TABLES[target.id]}:{code}", english


def extract_ui(fileobj: IO[bytes], keywords: Collection[str], comment_tags: Collection[str],
               options: Mapping[str, Any]) -> Iterator[tuple[int, str, tuple[str | None, ...], list[str]]]:
    """Babel's extraction method for the UI's modules (see the module's docstring)."""
    tree = ast.parse(fileobj.read())
    found: list[tuple[int, str, tuple[str | None, ...], list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _called(node)
            if name in keywords:
                found.append((node.lineno, name, tuple(_text(a) for a in node.args), []))
            elif name == "Binding":
                found += [(node.lineno, "_", (text,), []) for text in _binding_texts(node) if text]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node in tree.body:
            found += [(line, "pgettext", (context, english), []) for line, context, english in _table_entries(node)]
    yield from sorted(found, key=lambda item: item[0])  # in the order of the source


def extracted() -> Catalog:
    """The messages the code has, as a template catalog."""
    template = Catalog(domain="pos", project="pos", fuzzy=False)
    for path in sources():
        where = path.relative_to(ROOT).as_posix()
        for line, message, _comments, context in extract_from_file(extract_ui, path, keywords=KEYWORDS):
            template.add(message, locations=[(where, line)], context=context)
    for message in template:
        if message.id:
            message.flags.discard("python-format")  # "80% off" is no %-format: these messages use {fields}
            if any(FIELD.search(text) for text in _ids(message)):
                message.flags.add("python-brace-format")
    return template


def _ids(message: Message) -> tuple[str, ...]:
    return (message.id,) if isinstance(message.id, str) else tuple(message.id)


def _strings(message: Message) -> tuple[str, ...]:
    if isinstance(message.string, (list, tuple)):
        return tuple(message.string)
    return (message.string or "",)


def key(message: Message) -> Key:
    singular = _ids(message)[0]
    return (singular, message.context) if message.context else singular


def read(path: Path = PO) -> Catalog:
    with path.open("rb") as po:
        return read_po(po, locale="zh", domain="pos")


def write(catalog: Catalog, path: Path = PO) -> None:
    out = io.BytesIO()
    write_po(out, catalog, ignore_obsolete=True, include_previous=True, include_lineno=False, width=100)
    path.write_bytes(out.getvalue())


def compiled(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def update(catalog: Catalog, template: Catalog) -> list[Message]:
    """``catalog`` updated from ``template`` in place, keeping the hand-kept entries; the messages dropped."""
    for message in catalog:
        if message.id and message.context == KEPT and key(message) not in template:
            template.add(message.id, locations=message.locations, context=KEPT)
    catalog.update(template, update_header_comment=False, update_creation_date=False)
    dropped = list(catalog.obsolete.values())
    catalog.obsolete.clear()
    return dropped


def _sendable() -> list[re.Pattern[str]]:
    """Every sentence the rules, the service and the till can send, as a pattern (an f-string's fields match
    any text; one with less than a few words of its own is left out, as it would match anything)."""
    found: set[str] = set()
    for layer in SENDERS:
        for path in (ROOT / "pos" / layer).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    found.add(re.escape(node.value))
                elif isinstance(node, ast.JoinedStr):
                    words = [p.value for p in node.values if isinstance(p, ast.Constant) and isinstance(p.value, str)]
                    if len("".join(words).split()) >= 3:
                        found.add("".join(re.escape(p.value) if isinstance(p, ast.Constant) else ".+?"
                                          for p in node.values))
    return [re.compile(p, re.S) for p in found]


def untranslated(message: Message, plurals: int) -> bool:
    strings = _strings(message)
    return not all(strings) or (not isinstance(message.id, str) and len(strings) != plurals)


def _fields(texts: tuple[str, ...]) -> set[str]:
    return {name for text in texts for name in FIELD.findall(text)}


def problems(catalog: Catalog, template: Catalog, mo: bytes | None) -> dict[str, list[str]]:
    """What is wrong with the catalog, by kind (each list empty when all is well)."""
    ours = {key(m): m for m in catalog if m.id}
    wanted = {key(m): m for m in template if m.id}
    sendable = _sendable()
    found: dict[str, list[str]] = {
        "missing (run extract)": [repr(k) for k in wanted if k not in ours],
        "left over (run extract)": [repr(k) for k, m in ours.items() if k not in wanted and m.context != KEPT]
        + [repr(m.id) for m in catalog.obsolete.values()],
        "untranslated": [repr(k) for k, m in ours.items() if untranslated(m, catalog.num_plurals)],
        "fuzzy": [repr(k) for k, m in ours.items() if m.fuzzy],
        "fields differ": [repr(k) for k, m in ours.items() if all(_strings(m))
                          and any(_fields((s,)) != _fields(_ids(m)) for s in _strings(m))],
        "kept but never sent": [repr(k) for k, m in ours.items() if m.context == KEPT
                                and not any(p.fullmatch(str(m.id)) for p in sendable)],
        "header": [] if catalog.plural_forms == PLURAL_FORMS and str(catalog.locale) == "zh"
        else [f"Language zh and Plural-Forms {PLURAL_FORMS!r}, not {catalog.locale} and {catalog.plural_forms!r}"],
        "pos.mo is not pos.po compiled (run compile)": [] if mo == compiled(catalog) else [str(MO.relative_to(ROOT))],
    }
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["extract", "compile", "check"])
    command = parser.parse_args(argv).command
    catalog = read()
    if command == "extract":
        dropped = update(catalog, extracted())
        write(catalog)
        for message in dropped:
            print(f"dropped (no longer in the code): {message.id!r}")
        new = [m for m in catalog if m.id and (m.fuzzy or untranslated(m, catalog.num_plurals))]
        print(f"{PO.relative_to(ROOT)}: {len(catalog)} messages, {len(new)} to translate (empty or fuzzy)")
    elif command == "compile":
        MO.write_bytes(compiled(catalog))
        print(f"{MO.relative_to(ROOT)}: {len([m for m in catalog if m.id and not m.fuzzy])} messages")
    else:
        found = problems(catalog, extracted(), MO.read_bytes() if MO.exists() else None)
        for kind, items in found.items():
            for item in items:
                print(f"{kind}: {item}")
        if any(found.values()):
            return 1
        print(f"{PO.relative_to(ROOT)}: every message translated; {MO.relative_to(ROOT)} up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
