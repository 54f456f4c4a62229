"""The line at the top of every screen: where this terminal is, who is logged in, and the link."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from pos.tui.i18n import _


class StatusLine(Static):
    """Store and terminal (always visible), staff, online/offline in words and colour, outbox count."""

    _facts: tuple[object, ...] = ()

    def show(self, *, store: str, terminal: str, staff: str | None, online: bool | None, waiting: int | None) -> None:
        """``online`` None: not known yet; ``waiting`` None: the outbox has not been counted yet."""
        facts = (store, terminal, staff, online, waiting)
        if facts == self._facts:
            return  # nothing moved: no redraw
        self._facts = facts
        text = Text()
        text.append(f" {store} ", style="bold reverse")
        text.append(f"  {terminal}")
        if staff:
            text.append(f"  ·  {staff}")
        text.append("  ·  ")
        if online is None:
            text.append("… ", style="dim")
        elif online:
            text.append(f"● {_('Online')}", style="bold green")
        else:
            text.append(f"▲ {_('Offline')}", style="bold yellow")
        text.append("  ·  ")
        if waiting is None:
            text.append("…", style="dim")
        else:
            text.append(_("{n} waiting to upload", n=waiting), style="bold yellow" if waiting else "dim")
        self.update(text, layout=False)  # one line, always the screen's width
        self.set_class(online is False, "-offline")
