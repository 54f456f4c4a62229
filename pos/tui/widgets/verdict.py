"""The verdict, large: a symbol and a word, the reason code, the discount, the sentence.

Symbol, word and colour all say the same thing, so the verdict reads in colour-blind conditions
and from a metre away; the reason code is there for the manager the cashier calls over.
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.visual import VisualType
from textual.widgets import Static

from pos.domain import Verdict, display, money
from pos.tui.i18n import _, clock, code_text, verdict_sentence


class VerdictPanel(Static):
    """Its size is fixed by the style sheet, so a new verdict is drawn without laying out the screen again."""

    def update(self, content: VisualType = "", *, layout: bool = False) -> None:
        super().update(content, layout=layout)

    def on_mount(self) -> None:
        self.idle()

    def idle(self, note: str | None = None) -> None:
        self.set_classes("-idle")
        self.update(Text(note or _("Ready for the next voucher."), style="dim"))

    def waiting(self, raw: str) -> None:
        self.set_classes("-waiting")
        shown = raw if len(raw) <= 24 else raw[:21] + "…"
        self.update(Text(_("Checking {code}…", code=shown), style="bold"))

    def prompt(self, message: str) -> None:
        self.set_classes("-prompt")
        self.update(Text(message, style="bold"))

    def show(self, verdict: Verdict) -> None:
        headline = Text()
        if verdict.accepted:
            self.set_classes("-accepted-offline" if verdict.offline else "-accepted")
            headline.append(f"✔ {_('ACCEPTED')}", style="bold")
            headline.append(f"   −{money(verdict.discount)}", style="bold")
        else:
            self.set_classes("-refused")
            headline.append(f"✘ {_('REFUSED')}", style="bold")
        reason = Text()
        reason.append(str(verdict.reason), style="bold underline")
        reason.append(f"  {code_text(str(verdict.reason))}")
        if verdict.accepted and verdict.offline:
            reason.append(f"  ({_('accepted offline')})", style="italic")
        lines = [headline, Text(""), reason, Text(verdict_sentence(verdict))]
        if verdict.gifts:
            gifts = Text(f"🎁 {_('Hand over')}: {', '.join(verdict.gifts)}", style="bold")
            if verdict.surcharge:
                gifts.append(f"  (+{money(verdict.surcharge)})")
            lines.append(gifts)
        if verdict.first_redemption is not None:
            first = verdict.first_redemption
            lines.append(Text(f"{clock(first.at)} · {first.store_id}", style="italic"))
        if verdict.code:
            lines.append(Text(display(verdict.code), style="dim"))
        self.update(Group(*lines))
