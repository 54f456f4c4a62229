"""When this till last synced, what waits in its outbox (item by item, with its state), the conflicts uploads
left — every till's, from the service, with the till and the member of staff on both sides, or this till's own
while the service cannot be reached — settling one (audited: who, when, a note), and "sync now" with a progress
bar. The sync runs in a thread of its own with its own connection, so the counter keeps working meanwhile
(SQLite's WAL lets both write, one after the other)."""

from __future__ import annotations

import json
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input, Label, ProgressBar

from pos.domain import display, parse_time, read_input
from pos.terminal.sync import SyncReport
from pos.tui.i18n import N_, _, day, n_, sentence
from pos.tui.jobs import work
from pos.tui.screens.form import FormModal
from pos.tui.screens.office import OfficeError, OfficeScreen
from pos.tui.widgets.footer import Footer
from pos.tui.widgets.status import StatusLine
from pos.tui.widgets.table import Table

NOTE_MAX = 200  # characters of a settlement's note (the service's rule)


def side(text: str | dict[str, Any] | None) -> str:
    """One side of a conflict in a line: when, where, at which till, by whom."""
    if not text:
        return "—"
    if isinstance(text, dict):
        d: Any = text
    else:
        try:
            d = json.loads(text)
        except ValueError:
            return text[:60]
    if not isinstance(d, dict):
        return str(d)[:60]
    parts = [day(parse_time(d[k])) for k in ("redeemed_at", "at") if isinstance(d.get(k), str)][:1]
    parts += [str(d[k]) for k in ("store_id", "terminal_id", "staff_id") if d.get(k)]
    return " · ".join(parts)[:80] or str(text)[:60]


def shown_code(raw: str) -> str:
    """A voucher code as printed (``ABCD-EFGH-JKMN``) whether it was typed with dashes, in lower case, or
    scanned as a QR payload; what is no code at all is shown as typed, cut short."""
    try:
        return display(read_input(raw)[0])
    except ValueError:
        return raw[:24] or "—"


STATES = {"pending": N_("waiting"), "sending": N_("on its way"), "accepted": N_("accepted"), "duplicate": N_("accepted"),
          "conflict": N_("conflict"), "withdrawn": N_("withdrawn"), "cancelled": N_("undone"), "voided": N_("voided"),
          "error": N_("error")}


def settled_text(conflict: dict[str, Any]) -> str:
    settled = conflict.get("settled")
    if not settled:
        return _("open")
    return _("settled by {staff}, {time}", staff=settled["by"], time=day(parse_time(settled["at"])))


class SettleForm(FormModal):
    """Mark a conflict settled, with an optional note (at most 200 characters); the service keeps who and when."""

    NARROW = True
    BINDINGS = [Binding("ctrl+s", "save", "Settle")]
    CODE_FIELDS = {"conflict.note.invalid": "note"}

    def __init__(self, conflict: dict[str, Any]) -> None:
        super().__init__()
        self.conflict = conflict

    def heading(self) -> str:
        code = display(self.conflict["code"]) if self.conflict.get("code") else "—"
        return _("Settle the conflict over {code}?", code=code)

    def hint(self) -> str:
        return _("Ctrl+S settles from any field · Esc cancels")

    def fields(self) -> ComposeResult:
        c = self.conflict
        yield Label(_("{reason} at {till} ({staff}): {message}", reason=c["reason"], till=c.get("terminal_id") or "—",
                      staff=c.get("staff_id") or "—", message=sentence(c["reason"], c.get("message") or "")),
                    classes="field-label")
        yield from self.field("note", _("Note: what was done (optional; at most 200 characters)"),
                              Input(id="c-note", max_length=NOTE_MAX))

    @on(Input.Submitted, "#c-note")
    @work(exclusive=True)
    async def save(self) -> None:
        if not self.begin():
            return
        note, cid = self.query_one("#c-note", Input).value.strip(), int(self.conflict["id"])
        done = await self.send(lambda office, session: office.settle_conflict(session, cid, note))
        if done is not None:
            self.dismiss(done)


class SyncScreen(OfficeScreen):
    DEFAULT_CSS = """
    SyncScreen #last-sync { margin: 1 1 0 1; width: 100%; }
    SyncScreen #conflict-detail { margin: 0 1; width: 100%; height: auto; color: $text-muted; }
    """
    BINDINGS = [Binding("ctrl+s", "sync", "Sync now", tooltip="Upload the outbox and pull the catalog", id="sync.now"),
                Binding("ctrl+r", "reload", "Refresh", id="sync.refresh"),
                Binding("m", "settle", "Mark settled", tooltip="Mark the selected conflict settled, with a note",
                        id="sync.settle"),
                Binding("h", "settled", "Settled too", tooltip="Show the settled conflicts too, or the open ones only",
                        id="sync.settled")]

    def __init__(self) -> None:
        super().__init__()
        self.conflicts: list[dict[str, Any]] = []
        self.from_service = False  # the list is the service's (every till's), not this till's own
        self.show_settled = False

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield Label("", id="last-sync")
        yield Label(_("Waiting in the outbox"), classes="section-title")
        yield Table(id="outbox", zebra_stripes=True)
        yield Label(_("Conflicts from uploads"), classes="section-title", id="conflicts-title")
        yield Table(id="conflicts", zebra_stripes=True, cursor_type="row")
        yield Label("", id="conflict-detail")
        yield ProgressBar(total=1, id="progress", show_eta=False)
        yield Label("", id="sync-result")
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#outbox", DataTable).add_columns(_("Since"), _("Kind of item"), _("Code"), _("Staff"), _("State"))
        self.query_one("#conflicts", DataTable).add_columns(_("Code"), _("Till"), _("Staff"), _("Reason"), _("Recorded"),
                                                            _("Settled"))

    def on_screen_resume(self) -> None:
        """Each time the screen is shown (the first time too): the outbox and the conflicts as they are now."""
        self.load()

    def action_reload(self) -> None:
        self.load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "settle":
            chosen = self.selected()
            return self.from_service and chosen is not None and not chosen.get("settled")
        if action == "settled":
            return self.from_service
        return True

    def selected(self) -> dict[str, Any] | None:
        row = self.query_one("#conflicts", DataTable).cursor_row
        return self.conflicts[row] if 0 <= row < len(self.conflicts) else None

    @work(exclusive=True, group="load")
    async def load(self) -> None:
        items, last = await self.app.station.call(lambda d: (d.db.outbox_items(500), d.db.last_sync()))
        self.query_one("#last-sync", Label).update(
            _("Last successful sync: {time}", time=day(parse_time(last))) if last else
            _("No sync has gone through on this till yet."))
        table = self.query_one("#outbox", DataTable)
        table.clear()
        for item in items:
            body = json.loads(item["body"])
            table.add_row(day(parse_time(item["created_at"])), _(item["kind"]),
                          shown_code(body.get("code") or item.get("target_code") or ""), body.get("staff_id", ""),
                          _(STATES.get(item["state"], item["state"])))
        await self.load_conflicts()
        self.app.refresh_status()

    async def load_conflicts(self) -> None:
        """The service's conflicts, every till's; this till's own when the service cannot be asked."""
        shift = self.app.shift
        state = "all" if self.show_settled else "open"
        answer = None
        if shift is not None and shift.online:
            try:
                answer = await self.ask(lambda e, s: e.conflicts(s, state=state))
            except OfficeError:  # already shown by ask()
                pass
        self.from_service = answer is not None
        title = self.query_one("#conflicts-title", Label)
        if answer is not None:
            self.conflicts = answer["items"]
            title.update(_("Conflicts from uploads, every till: {n} open", n=answer["open"]))
        else:
            self.conflicts = [self.own(c) for c in await self.app.station.conflicts()]
            title.update(_("Conflicts from this till's uploads (settled at the service, when it can be reached)"))
        table = self.query_one("#conflicts", DataTable)
        table.clear()
        for c in self.conflicts:
            table.add_row(display(c["code"]) if c.get("code") else "—", c.get("terminal_id") or "—",
                          c.get("staff_id") or "—", c["reason"], day(parse_time(c["recorded_at"])), settled_text(c))
        self.describe()
        self.refresh_bindings()

    def own(self, c: dict[str, Any]) -> dict[str, Any]:
        """One of this till's own conflicts, in the shape of the service's."""
        ours = json.loads(c["ours"]) if c.get("ours") else {}
        theirs = json.loads(c["theirs"]) if c.get("theirs") else None
        return {"code": c["code"], "terminal_id": self.app.cfg.terminal_id, "staff_id": ours.get("staff_id"),
                "reason": c["reason"], "message": c["message"], "recorded_at": c["recorded_at"],
                "redeemed_at": ours.get("redeemed_at"), "existing": theirs, "settled": None}

    @on(DataTable.RowHighlighted, "#conflicts")
    def describe(self) -> None:
        """The highlighted conflict in full: what was said, our side and the side it ran into."""
        chosen = self.selected()
        label = self.query_one("#conflict-detail", Label)
        if chosen is None:
            label.update("")
        else:
            ours = {"redeemed_at": chosen.get("redeemed_at"), "terminal_id": chosen.get("terminal_id"),
                    "staff_id": chosen.get("staff_id")}
            note = (chosen.get("settled") or {}).get("note")
            said = sentence(chosen["reason"], chosen.get("message") or "")
            label.update(_("{message} Ours: {ours}. Theirs: {theirs}.", message=said,
                           ours=side(ours), theirs=side(chosen.get("existing"))) + (f" {note}" if note else ""))
        self.refresh_bindings()

    def action_settled(self) -> None:
        self.show_settled = not self.show_settled
        self.load()

    def action_settle(self) -> None:
        chosen = self.selected()
        if chosen is None or not self.from_service:
            return

        def settled(done: dict[str, Any] | None) -> None:
            if done:
                self.notify(_("The conflict over {code} is settled.", code=display(done["code"]) if done.get("code")
                              else "—"))
                self.load()
        self.app.push_screen(SettleForm(chosen), settled)

    def action_sync(self) -> None:
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=None, progress=0)
        self.query_one("#sync-result", Label).update(_("Syncing…"))
        self.app.start_sync(self.progress, self.finished)

    def progress(self, phase: str, done: int, total: int) -> None:
        self.query_one("#progress", ProgressBar).update(total=max(total, 1), progress=done)

    def finished(self, report: SyncReport) -> None:
        label = self.query_one("#sync-result", Label)
        if report.error:
            label.update(_("Sync failed: {error}", error=report.error))
        else:
            self.query_one("#progress", ProgressBar).update(total=1, progress=1)
            label.update(_("{uploaded}, {pulled}, {conflicts}.",
                           uploaded=n_("Uploaded {n} item", "Uploaded {n} items", sum(report.results.values())),
                           pulled=n_("pulled {n} catalog row", "pulled {n} catalog rows", report.pulled),
                           conflicts=n_("{n} conflict", "{n} conflicts", len(report.conflicts))))
        self.load()
