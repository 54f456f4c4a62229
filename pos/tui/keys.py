"""Bindings in the cashier's language: Textual reads a class's ``BINDINGS`` once, at import, so each
screen translates its own copy when it is created (after the language was chosen)."""

from __future__ import annotations

from dataclasses import replace

from textual.dom import DOMNode

from pos.tui.i18n import _


def translate_bindings(node: DOMNode) -> None:
    table = node._bindings.key_to_bindings  # the node's own copy (see DOMNode.__init__)
    for key, bindings in list(table.items()):
        table[key] = [replace(b, description=_(b.description), tooltip=_(b.tooltip) if b.tooltip else "")
                      for b in bindings]
