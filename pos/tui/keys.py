"""Key bindings in the cashier's language, through Textual's public API.

Textual reads a class's ``BINDINGS`` once, at import, before the language is chosen, and the footer and
the key panel show the bindings of the moment through :attr:`Screen.active_bindings`. A screen built on
:class:`InLanguage` answers that property with every binding's description and tooltip translated — its
own, its widgets' and the app's — so the keys read in the language chosen at run time."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from textual.binding import ActiveBinding, Binding

from pos.tui import i18n


@lru_cache(maxsize=1024)
def translated(binding: Binding, language: str) -> Binding:
    """``binding`` with its description and tooltip in ``language`` (the current one when asked)."""
    say = i18n._
    return replace(binding, description=say(binding.description), tooltip=say(binding.tooltip) if binding.tooltip else "")


class InLanguage:
    """Mixed in before a Textual ``Screen`` or ``ModalScreen``: its key bindings read in the UI's language."""

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        language = i18n.language()
        return {key: active._replace(binding=translated(active.binding, language))
                for key, active in super().active_bindings.items()}  # type: ignore[misc]

