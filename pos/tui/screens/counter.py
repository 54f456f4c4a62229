"""The counter: one code input for typing, USB scanners and the camera; a large verdict; this shift.

A USB scanner types a whole code and Enter within milliseconds; ``Input.Submitted`` fires once per
Enter, so that is one scan (an empty Enter, as from a scanner sending CR LF, is ignored). The input is
cleared at once, in turn with the keys (:class:`~pos.tui.widgets.code_input.CodeInput`), so the next scan
can arrive while the service is still being asked about this one; the station answers them in order.

A verdict changes only what it changes: the panel, a row added at the top of this shift's list (the list
is not read again), the status line when the link or the outbox count moved. "Checking…" is shown only
when the answer takes longer than a frame or two would.

A refusal the cashier can fix (the basket amount or the goods missing or short) keeps the voucher: the
panel asks for the field, which gets the focus, and Enter there checks the kept voucher again; Esc drops
it. A cashier who may not verify vouchers in this store is told so as the shift begins.
"""

from __future__ import annotations

import asyncio
from collections import deque
from concurrent.futures import Future
from datetime import UTC, datetime
from itertools import count
from typing import TYPE_CHECKING

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from pos.domain import Campaign, Verdict, display, format_time, money, parse_time
from pos.domain.amounts import AmountError, parse_amount
from pos.tui.i18n import N_, _, clock
from pos.tui.jobs import work
from pos.tui.keys import InLanguage
from pos.tui.screens.confirm import Confirm
from pos.tui.station import Answer, ShiftRow
from pos.tui.widgets.camera import CameraScanner, toggle_camera, toggle_preview
from pos.tui.widgets.code_input import CodeInput
from pos.tui.widgets.footer import Footer
from pos.tui.widgets.status import StatusLine
from pos.tui.widgets.table import Table
from pos.tui.widgets.verdict import VerdictFrame, VerdictPanel, voucher_name

if TYPE_CHECKING:
    from textual.timer import Timer

    from pos.terminal.counter import Question
    from pos.tui.app import PosApp

SHIFT_ROWS = 200  # this shift's list shows the latest redemptions, newest first
CHECKING_AFTER = 0.15  # seconds an answer may take before "Checking…" is drawn
LIST_REDRAWN_AFTER = 0.3  # seconds after the last row added that the shift list is drawn once more


class Stamp(str):
    """The list's time cell: the time shown, and the order the row came in (the list is kept newest first)."""

    order: int

    def __new__(cls, text: str, order: int) -> Stamp:
        stamp = super().__new__(cls, text)
        stamp.order = order
        return stamp


class CounterScreen(InLanguage, Screen[None]):
    app: PosApp  # the app this screen belongs to (Textual types it as any App)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # at 80 columns the shift list's key columns fit
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]  # at 24 lines the verdict keeps every line
    BINDINGS = [
        Binding("ctrl+z", "undo", "Undo", tooltip="Undo the selected redemption", id="undo"),
        Binding("escape", "focus_code", "Scan",
                tooltip="Back to the code input; drops a voucher waiting for its amount or goods", id="focus_code"),
        Binding("f8", "camera", "Camera", tooltip="Switch the camera scanner on or off", id="camera"),
        Binding("f9", "preview", "Preview", tooltip="Switch the camera preview on or off", id="preview"),
        Binding("ctrl+f", "lookup", "Look up", tooltip="Look up a voucher", id="lookup"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.since = format_time(datetime.now(UTC))  # this shift's redemptions: from the login on (see begin)
        self.rows: list[ShiftRow] = []  # as listed, newest first
        self._order = count()
        self.pending_code: str | None = None  # a voucher kept while the cashier types its basket amount or goods
        self.kept = ""  # how the kept voucher is named to the cashier
        self.shown: deque[Verdict] = deque(maxlen=100)  # the latest verdicts drawn, oldest first
        self.drawn = 0  # how many verdicts were drawn this shift
        self.asked = 0  # how many times a kept voucher's amount or goods were asked for
        self.undos_drawn = 0  # how many undos were drawn this shift
        self.list_redraw: Timer | None = None

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        with Horizontal(id="counter"):
            with Vertical(id="counter-left"):
                code = CodeInput(placeholder=_("Type or scan a code, then Enter"), id="code", max_length=512,
                                 on_enter=self.code_entered, select_on_focus=False)  # keys go on, never replace
                code.border_title = _("Voucher code")
                yield code
                with Horizontal(id="basket-row"):  # asked for when the voucher's rules need them
                    amount = Input(placeholder=_("e.g. 620.50"), id="amount", max_length=16, restrict=r"[0-9.,¥]*")
                    amount.border_title = _("Amount")
                    yield amount
                    goods = Input(placeholder="A100*2, 12.50*3", id="goods", max_length=2000)
                    goods.border_title = _("Goods")
                    yield goods
                with VerdictFrame(id="verdict-frame"):
                    yield VerdictPanel(id="verdict")
                yield Vertical(id="camera-slot")
            with Vertical(id="counter-right"):
                yield Label(_("This shift"), classes="section-title")
                yield Table(id="shift", cursor_type="row", zebra_stripes=True)
                if self.app.hints:
                    yield Label(_("Try these vouchers"), classes="section-title")
                    yield OptionList(*(Option(f"{label}\n  {shown}", id=str(i))
                                       for i, (label, _raw, shown) in enumerate(self.app.hints)), id="hints")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        """Built before the login (see ``PosApp.prepare_counter``): nothing here may need the shift."""
        table = self.query_one("#shift", DataTable)
        # DataTable keeps up to 10,000 rendered cells and 1,000 rendered rows and lines, keyed by its update
        # count, which every added row moves on: the renders of rows long scrolled away filled several MiB
        # over a shift. The list shows some forty rows of five cells; a few screens' worth is kept.
        for cache, size in ((table._cell_render_cache, 600), (table._row_render_cache, 120),
                            (table._row_renderable_cache, 120), (table._line_cache, 120)):
            cache.maxsize = size
        # what tells one redemption from another first (the code, its discount, undone or not): at 80 columns
        # those are in view, the time and the campaign a scroll away
        for label, key in ((_("Code"), "code"), (_("Discount"), "discount"), (_("Mode"), "mode"), (_("Time"), "time"),
                           (_("Campaign"), "campaign")):
            table.add_column(label, key=key)
        self.query_one("#code", Input).focus()
        if not self.app.camera_source:
            self.query_one("#camera-slot").mount(
                Static(_("Camera off. Press F8 to scan with the camera."), classes="camera-note"))

    def begin(self) -> None:
        """The shift begins (the person logged in): its list starts now, the camera starts if configured."""
        self.since = format_time(datetime.now(UTC))
        self.check_rights()
        if self.app.camera_source:
            self.query_one("#camera-slot").mount(CameraScanner(self.app.camera_source, id="camera"))

    @work(group="rights", exclusive=True)
    async def check_rights(self) -> None:
        """Tell a person who may not verify vouchers in this store so at once, not at the first scan (a manager
        keeps the back office)."""
        shift = self.app.shift
        if shift is None:
            return
        may = await self.app.station.may_verify(shift.staff_id)
        if may is not False or self.app.shift is not shift:
            return
        note = _("You may not verify vouchers in store {store}; ask a manager to add you as a verifier.",
                 store=self.app.store_label)
        if shift.is_manager:
            note += " " + _("The back office (F2–F7) is open to you.")
        self.query_one(VerdictPanel).stand(note)

    def on_screen_resume(self) -> None:
        self.app.refresh_status()

    # -- scanning ------------------------------------------------------------------------------
    def code_entered(self, text: str) -> None:
        """Enter in the code field, in turn with the keys (the field has emptied itself, see CodeInput)."""
        raw = text.strip()
        if raw:
            self.submit(raw)

    @on(Input.Submitted, "#amount")
    @on(Input.Submitted, "#goods")
    def amount_entered(self) -> None:
        raw = self.pending_code or self.query_one("#code", Input).value.strip()
        self.query_one("#code", Input).value = ""
        if raw:
            self.submit(raw)
        else:
            self.action_focus_code()

    @on(CameraScanner.CodeRead)
    def camera_read(self, event: CameraScanner.CodeRead) -> None:
        self.submit(event.text)

    @on(CameraScanner.Ambiguous)
    def camera_ambiguous(self) -> None:
        self.query_one(VerdictPanel).prompt(_("Two codes in view: show one voucher at a time."))
        self.app.bell()

    @on(CameraScanner.Stopped)
    async def camera_stopped(self, event: CameraScanner.Stopped) -> None:
        """The capture could not start, or ended: said where the camera was; F8 starts it again. The preview
        is gone before the note is there (never both at once)."""
        slot = self.query_one("#camera-slot")
        await slot.remove_children()
        if event.error:
            await slot.mount(Static(_("Camera: {message}", message=event.error), classes="camera-note -error"))
        else:
            await slot.mount(Static(event.ended, classes="camera-note -ended"))

    @on(OptionList.OptionSelected, "#hints")
    def hint_chosen(self, event: OptionList.OptionSelected) -> None:
        _label, raw, _shown = self.app.hints[int(event.option.id or 0)]
        self.action_focus_code()
        self.submit(raw)

    def submit(self, raw: str) -> None:
        amount_input = self.query_one("#amount", Input)
        try:
            amount = parse_amount(amount_input.value)
        except AmountError as err:
            self.query_one(VerdictPanel).prompt(_("The amount is not a number of yuan: {text}", text=err.message))
            self.app.bell()
            amount_input.focus()
            return
        shift = self.app.shift
        if shift is None:  # logged out meanwhile
            return
        panel = self.query_one(VerdictPanel)
        checking = self.set_timer(CHECKING_AFTER, lambda: panel.waiting(raw))
        # handed to the station now, not when a worker starts: scans are decided in the order they came
        answer = self.app.station.start_redeem(raw, shift.staff_id, amount, self.query_one("#goods", Input).value)
        self.redeem(raw, answer, checking)

    @work(group="redeem")
    async def redeem(self, raw: str, answer: Future[Answer], checking: Timer) -> None:
        """The station's answer for one scan, drawn."""
        from pos.terminal.counter import Question
        from pos.terminal.endpoint import Refused

        panel = self.query_one(VerdictPanel)
        try:
            got = await asyncio.wrap_future(answer)
        except Refused as err:  # the service would not consider it at all (a withdrawn token, say)
            checking.stop()
            panel.prompt(_("Refused: {message}", message=err.message))
            self.app.bell()
            return
        checking.stop()
        if isinstance(got.decided, Question):
            self.ask(raw, got.decided, got.campaign)
            return
        verdict = got.verdict
        self.pending_code = None
        self.query_one("#amount", Input).value = ""
        self.query_one("#goods", Input).value = ""
        panel.show(verdict, got.campaign, got.amount)
        self.call_after_refresh(self.confirm_shown, got.decided.entry)  # once the frame with the verdict is drawn
        if not verdict.accepted:
            self.app.bell()
        self.action_focus_code()
        self.shown.append(verdict)
        self.drawn += 1
        if got.row is not None:  # a refusal changes neither this shift's list nor the outbox
            self.call_after_refresh(self.list_redemption, got.row)  # after the verdict's frame: the list redraws in full
        if verdict.accepted:  # online: the link is up; offline: one more redemption waits to be uploaded
            self.app.saw_link(not verdict.offline, queued=int(verdict.offline))
        elif verdict.offline:  # an offline refusal may have queued a void
            self.app.saw_link(False)

    def ask(self, raw: str, question: Question, campaign: Campaign | None) -> None:
        """A refusal the cashier can fix: the voucher is kept, its field asked for and focused."""
        self.pending_code = raw
        self.kept = voucher_name(question.verdict.code, campaign, question.verdict.campaign_id) or raw[:24]
        self.asked += 1
        self.query_one(VerdictPanel).ask(question, campaign)
        field = self.query_one("#amount" if question.field == "amount" else "#goods", Input)
        if question.field == "amount":
            field.value = ""  # the amount that fell short is in the panel; the goods stay, to be added to
        field.focus()
        if question.verdict.detail not in (None, "rules.amount_required", "rules.items_required"):
            self.app.bell()  # a basket that falls short: the cashier looks up

    def drop_kept(self) -> bool:
        """Esc with a voucher kept for its amount or goods: it is let go, the basket fields emptied."""
        if self.pending_code is None:
            return False
        self.pending_code = None
        self.query_one("#amount", Input).value = ""
        self.query_one("#goods", Input).value = ""
        self.query_one(VerdictPanel).idle(_("{code} dropped: nothing was redeemed. Ready for the next voucher.",
                                            code=self.kept))
        return True

    @work(group="shown")
    async def confirm_shown(self, entry: int) -> None:
        await self.app.station.shown(entry)

    # -- this shift ----------------------------------------------------------------------------
    @work(group="shift", exclusive=True)
    async def reload_shift(self) -> None:
        """This shift's list read again from the terminal's file (after an undo)."""
        self.rows = await self.app.station.shift(self.since, SHIFT_ROWS)
        table = self.query_one("#shift", DataTable)
        table.clear()
        for r in reversed(self.rows):
            self._add_row(table, r)
        table.sort("time", key=lambda stamp: stamp.order, reverse=True)
        self._redraw_later(table)

    def list_redemption(self, row: ShiftRow) -> None:
        """A redemption just made, at the top of this shift's list: one row added, the rest moved down."""
        table = self.query_one("#shift", DataTable)
        if row.nonce in table.rows:
            return
        self.rows.insert(0, row)
        self._add_row(table, row)
        if len(self.rows) > SHIFT_ROWS:
            table.remove_row(self.rows.pop().nonce)
        table.sort("time", key=lambda stamp: stamp.order, reverse=True)
        self._redraw_later(table)

    def _redraw_later(self, table: DataTable[str]) -> None:
        """The list drawn once more when its rows stop changing: on a busy till the last rows of a scanner burst
        were in the table, but the frame that should have shown them never reached the terminal
        (docs/performance.md)."""
        if self.list_redraw is not None:
            self.list_redraw.stop()
        self.list_redraw = self.set_timer(LIST_REDRAWN_AFTER, table.refresh)

    def _add_row(self, table: DataTable[str], r: ShiftRow) -> None:
        mode = _("undone") if r.cancelled else _(r.mode)
        table.add_row(display(r.code), money(r.discount), mode, Stamp(clock(parse_time(r.redeemed_at)), next(self._order)),
                      r.campaign_id, key=r.nonce)

    def action_focus_code(self) -> None:
        """Esc: back to the code input, dropping a voucher kept for its amount or goods."""
        self.drop_kept()
        self.query_one("#code", Input).focus()

    def action_undo(self) -> None:
        table = self.query_one("#shift", DataTable)
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= len(self.rows):
            self.notify(_("Select a redemption in the list first."), severity="warning")
            return
        row = self.rows[table.cursor_row]
        if row.cancelled:
            return
        question = _("Undo the redemption of {code} ({discount} off)?", code=display(row.code),
                     discount=money(row.discount))
        self.app.push_screen(Confirm(question, _("Yes, undo")), lambda yes: self.undo(row.nonce) if yes else None)

    @work(group="undo")
    async def undo(self, nonce: str) -> None:
        from pos.terminal.counter import CancelError

        try:
            shift = self.app.shift
            if shift is None:
                return
            done, campaign = await self.app.station.cancel(nonce, shift.staff_id)
        except CancelError as err:
            self.notify(str(err), severity="error", timeout=8)
            self.app.bell()
            return
        discount = next((r.discount for r in self.rows if r.nonce == nonce), 0)
        self.query_one(VerdictPanel).undone(done.code, campaign, discount, queued=done.queued)
        self.undos_drawn += 1
        text = N_("Undone: {code} (the service hears of it at the next sync).") if done.queued else N_("Undone: {code}.")
        self.notify(_(text, code=display(done.code)))
        self.reload_shift()
        self.app.refresh_status()

    # -- camera (see pos.tui.widgets.camera) -----------------------------------------------------
    def action_camera(self) -> None:
        toggle_camera(self.app, self)

    def action_preview(self) -> None:
        toggle_preview(self)

    def on_key(self, event: events.Key) -> None:
        """Typing while the focus is elsewhere on the counter (the shift list, the vouchers to try) types into
        the code field, and Enter then submits it: a scanner's code is never lost to a focus the cashier did not
        notice. A key gets here only if no field took it; a burst's keys were all handed to the widget that had
        the focus when the first arrived, so each is taken here, not judged by where the focus is now."""
        code = self.query_one("#code", CodeInput)
        if event.is_printable and event.character:
            code.insert_text_at_cursor(event.character)
        elif event.key == "enter" and code.value:
            self.code_entered(code.value)
            code.value = ""
        else:
            return
        self.set_focus(code)
        event.stop()
        event.prevent_default()

    # -- a voucher looked up (see pos.tui.screens.lookup): the code typed so far, if any ----------
    def action_lookup(self) -> None:
        from pos.tui.screens.lookup import LookupScreen

        self.app.push_screen(LookupScreen(self.query_one("#code", Input).value))
