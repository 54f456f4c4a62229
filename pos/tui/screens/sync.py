"""What waits in the outbox, the conflicts uploads left (our side and the service's side), and
"sync now" with a progress bar. The sync runs in a thread of its own with its own connection, so
the counter keeps working meanwhile (SQLite's WAL lets both write, one after the other)."""

from __future__ import annotations

import json

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Label, ProgressBar

from pos.domain import display, parse_time, read_input
from pos.terminal.sync import SyncReport
from pos.tui.i18n import _, day
from pos.tui.jobs import work
from pos.tui.screens.office import OfficeScreen
from pos.tui.widgets.status import StatusLine


def side(text: str | None) -> str:
    """One side of a conflict in a line: when, where, how much."""
    if not text:
        return "—"
    try:
        d = json.loads(text)
    except ValueError:
        return text[:60]
    if not isinstance(d, dict):
        return str(d)[:60]
    parts = [day(parse_time(d[k])) for k in ("redeemed_at", "at") if isinstance(d.get(k), str)][:1]
    parts += [str(d[k]) for k in ("store_id", "terminal_id", "staff_id") if d.get(k)]
    return " · ".join(parts)[:80] or text[:60]


def shown_code(raw: str) -> str:
    """A voucher code as printed (``ABCD-EFGH-JKMN``) whether it was typed with dashes, in lower case, or
    scanned as a QR payload; what is no code at all is shown as typed, cut short."""
    try:
        return display(read_input(raw)[0])
    except ValueError:
        return raw[:24] or "—"


class SyncScreen(OfficeScreen):
    BINDINGS = [Binding("ctrl+s", "sync", "Sync now", tooltip="Upload the outbox and pull the catalog", id="sync.now"),
                Binding("ctrl+r", "reload", "Refresh", id="sync.refresh")]

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield Label(_("Waiting in the outbox"), classes="section-title")
        yield DataTable(id="outbox", zebra_stripes=True)
        yield Label(_("Conflicts from uploads"), classes="section-title")
        yield DataTable(id="conflicts", zebra_stripes=True)
        yield ProgressBar(total=1, id="progress", show_eta=False)
        yield Label("", id="sync-result")
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#outbox", DataTable).add_columns(_("Since"), _("Kind of item"), _("Code"), _("Staff"))
        self.query_one("#conflicts", DataTable).add_columns(_("Code"), _("Reason"), _("Ours"), _("Theirs"))

    def on_screen_resume(self) -> None:
        """Each time the screen is shown (the first time too): the outbox as it is now."""
        self.load()

    def action_reload(self) -> None:
        self.load()

    @work(exclusive=True, group="load")
    async def load(self) -> None:
        outbox = await self.app.station.outbox()
        conflicts = await self.app.station.conflicts()
        table = self.query_one("#outbox", DataTable)
        table.clear()
        for item in outbox:
            body = json.loads(item["body"])
            table.add_row(day(parse_time(item["created_at"])), _(item["kind"]),
                          shown_code(body.get("code") or item.get("target_code") or ""), body.get("staff_id", ""))
        table = self.query_one("#conflicts", DataTable)
        table.clear()
        for c in conflicts:
            table.add_row(display(c["code"]) if c["code"] else "—", f"{c['reason']}: {c['message']}"[:60],
                          side(c["ours"]), side(c["theirs"]))
        self.app.refresh_status()

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
            label.update(_("Uploaded {n} item(s), pulled {p} catalog row(s), {c} conflict(s).",
                           n=sum(report.results.values()), p=report.pulled, c=len(report.conflicts)))
        self.load()
