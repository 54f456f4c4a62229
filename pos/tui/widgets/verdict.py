"""The verdict, large: a symbol and a word, the discount, what was redeemed, the reason code, the sentence.

Symbol, word and colour all say the same thing, so the verdict reads in colour-blind conditions
and from a metre away; the reason code is there for the manager the cashier calls over.

An acceptance names the campaign, what it gives by its kind (an amount off, a percentage, a gift) and,
when a basket amount was typed, the new total. A refusal the cashier can fix (an amount or goods missing
or short, see :func:`pos.terminal.counter.fixable`) is a question instead, naming the voucher kept for
it; an undo shows the voucher put back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.containers import Vertical
from textual.content import Content
from textual.visual import VisualType
from textual.widgets import Static

from pos.domain import Campaign, Verdict, display, money
from pos.tui.i18n import N_, _, clock, code_text, language, verdict_sentence

if TYPE_CHECKING:
    from pos.terminal.counter import Question

#: Why goods asked for again fall short, said in the reader's language (the English sentence of the check
#: has the counts, and is shown in English).
GOODS_SHORT = {
    "rules.items_required": N_("This promotion counts the goods bought."),
    "rules.min_items": N_("Too few of the goods that count."),
    "rules.bundle_incomplete": N_("The bundle is not complete."),
    "rules.min_spend": N_("Too little spent on the goods that count."),
}


def voucher_name(code: str | None, campaign: Campaign | None, campaign_id: str | None = None) -> str:
    """A voucher as the cashier is told of it: its campaign's name and its code, "Spring 30 off (7M6E-TZWF-057N)"."""
    shown = display(code) if code else ""
    name = campaign.name if campaign is not None else campaign_id
    if name and shown:
        return f"{name} ({shown})"
    return name or shown


def offer(verdict: Verdict, campaign: Campaign | None) -> str:
    """What an acceptance gives, by the campaign's kind: "5% off", "30.00 off", "gift: G1 ×1"."""
    parts = []
    percent = campaign.discount.percent_off if campaign is not None and campaign.rule is None else None
    if percent:
        parts.append(_("{percent}% off", percent=percent))
    elif verdict.discount:
        parts.append(_("{amount} off", amount=money(verdict.discount)))
    if verdict.gifts:
        parts.append(_("gift: {gifts}", gifts=", ".join(verdict.gifts)))
    return " + ".join(parts)


def minimum_spend(verdict: Verdict, campaign: Campaign | None) -> str | None:
    """The minimum spend a refusal names, else the campaign's own."""
    if verdict.params.get("min_spend"):
        return verdict.params["min_spend"]
    if campaign is None:
        return None
    least = campaign.rule.quota if campaign.rule is not None else campaign.discount.min_spend
    return money(least) if least else None


class VerdictFrame(Vertical):
    """The panel's border and colour: a verdict's state is a class on both (``-accepted``, ``-refused``, …)."""


class VerdictPanel(Static):
    """Its size is fixed by the style sheet, so a new verdict is drawn without laying out the screen again.
    It sits in a :class:`VerdictFrame`, which draws the border, so that what it says is only its text."""

    standing: str | None = None  # what the idle panel says this whole shift (a cashier who may not verify here)

    def state(self, name: str) -> None:
        """The panel's state (``-accepted``, ``-refused``, ``-prompt``, …), as a class of the panel and its frame."""
        self.set_classes(name)
        if isinstance(self.parent, VerdictFrame):
            self.parent.set_classes(name)

    def update(self, content: VisualType = "", *, layout: bool = False) -> None:
        super().update(content, layout=layout)

    def on_mount(self) -> None:
        self.idle()

    def idle(self, note: str | None = None) -> None:
        if self.standing and note is None:
            self.state("-warning")
            self.update(Content.styled(f"⚠ {self.standing}", "bold"))
            return
        self.state("-idle")
        self.update(Content.styled(note or _("Ready for the next voucher."), "dim"))

    def stand(self, note: str | None) -> None:
        """Say ``note`` whenever the panel is idle this shift (None: the usual "Ready for the next voucher.")."""
        self.standing = note
        self.idle()

    def waiting(self, raw: str) -> None:
        self.state("-waiting")
        shown = raw if len(raw) <= 24 else raw[:21] + "…"
        self.update(Content.styled(_("Checking {code}…", code=shown), "bold"))

    def prompt(self, message: str) -> None:
        self.state("-prompt")
        self.update(Content.styled(message, "bold"))

    def ask(self, question: Question, campaign: Campaign | None) -> None:
        """A refusal the cashier can fix: what to type, for which voucher, and why."""
        verdict = question.verdict
        voucher = voucher_name(verdict.code, campaign, verdict.campaign_id)
        self.state("-prompt")
        if question.field == "amount":
            headline = f"✎ {_('AMOUNT NEEDED')}"
            least = minimum_spend(verdict, campaign) if verdict.detail == "rules.min_spend" else None
            ask = (_("Minimum spend {minimum} — enter the basket amount for {voucher}.", minimum=least, voucher=voucher)
                   if least else _("Enter the basket amount for {voucher}.", voucher=voucher))
            typed = verdict.params.get("amount")
            why = _("The basket was {amount}.", amount=typed) if least and typed else ""
        else:
            headline = f"✎ {_('GOODS NEEDED')}"
            ask = _("List the goods bought for {voucher}: SKU*qty or price*qty.", voucher=voucher)
            short = GOODS_SHORT.get(verdict.detail or "")
            if verdict.detail == "rules.items_required" or (short is not None and language() != "en"):
                why = _(short or "")
            else:  # the check's own sentence has the counts ("Buy at least 5 items that count; there are 3.")
                why = verdict.message
        lines = [Content.styled(headline, "bold"), Content.styled(ask, "bold")]
        if why:
            lines.append(Content(why))
        lines.append(Content.styled(_("Enter: check again · Esc: drop this voucher"), "dim"))
        self.update(Content("\n").join(lines))

    def show(self, verdict: Verdict, campaign: Campaign | None = None, amount: int | None = None) -> None:
        lines: list[Content] = []
        if verdict.accepted:
            self.state("-accepted-offline" if verdict.offline else "-accepted")
            lines.append(Content.styled(f"✔ {_('ACCEPTED')}   −{money(verdict.discount)}", "bold"))
            what = " · ".join(p for p in (campaign.name if campaign else verdict.campaign_id, offer(verdict, campaign)) if p)
            lines.append(Content.styled(what, "bold"))
            if amount is not None:
                total = max(0, amount - verdict.discount) + verdict.surcharge
                lines.append(Content(_("New total {total} (basket {amount})", total=money(total), amount=money(amount))))
        else:
            self.state("-refused")
            lines.append(Content.styled(f"✘ {_('REFUSED')}", "bold"))
            if campaign is not None:
                lines.append(Content.styled(campaign.name, "bold"))
        offline = f"  ({_('accepted offline')})" if verdict.accepted and verdict.offline else ""
        lines.append(Content.assemble((str(verdict.reason), "bold underline"), f" · {code_text(str(verdict.reason))}",
                                      (offline, "italic")))
        lines.append(Content(verdict_sentence(verdict)))
        if verdict.gifts:
            plus = f"  (+{money(verdict.surcharge)})" if verdict.surcharge else ""
            lines.append(Content.assemble((f"🎁 {_('Hand over')}: {', '.join(verdict.gifts)}", "bold"), plus))
        if verdict.first_redemption is not None:
            first = verdict.first_redemption
            lines.append(Content.styled(f"{clock(first.at)} · {first.store_id}", "italic"))
        if verdict.code:
            lines.append(Content.styled(display(verdict.code), "dim"))
        self.update(Content("\n").join(lines))

    def undone(self, code: str, campaign: Campaign | None, discount: int, *, queued: bool) -> None:
        """A redemption undone: the voucher is back with the customer, its discount no longer given."""
        self.state("-undone")
        lines = [Content.styled(f"↶ {_('UNDONE')}", "bold"),
                 Content.styled(_("{voucher} can be used again; {amount} is no longer given.",
                        voucher=voucher_name(code, campaign), amount=money(discount)), "bold")]
        if queued:
            lines.append(Content(_("The service hears of it at the next sync.")))
        self.update(Content("\n").join(lines))
