"""Staff and their right to verify vouchers: in all stores, in stores chosen from the chain's list, or not at
all; editing a member's name and role; deactivating them (no login, at the service at once and at a till after
its next catalog pull) and taking them back; unlocking a member of staff locked out by wrong PINs, and giving
them a new PIN. A change reaches each counter with its next catalog pull (at once on a terminal that syncs)."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Label

from pos.domain import parse_time
from pos.tui.i18n import _, clock, n_
from pos.tui.jobs import work
from pos.tui.screens.confirm import Confirm
from pos.tui.screens.office import OfficeError, OfficeScreen
from pos.tui.screens.staff_forms import PinForm, RightsForm, StaffEditForm, StaffForm, StoreZoneForm
from pos.tui.widgets.footer import Footer
from pos.tui.widgets.status import StatusLine
from pos.tui.widgets.table import Table


def where(verifier: dict[str, Any] | None) -> str:
    if not verifier or not verifier["active"]:
        return _("nowhere")
    return _("all stores") if verifier["all_stores"] else ", ".join(verifier["stores"])


def lock_state(member: dict[str, Any]) -> str:
    if member.get("locked_until"):
        return _("locked until {time}", time=clock(parse_time(member["locked_until"])))
    failures = int(member.get("failed_logins") or 0)
    return n_("{n} wrong PIN", "{n} wrong PINs", failures) if failures else ""


class StaffScreen(OfficeScreen):
    BINDINGS = [
        Binding("n", "add", "Add staff", tooltip="Add a staff member", id="staff.add"),
        Binding("e", "edit", "Edit", tooltip="Change the selected staff member's name or role", id="staff.edit"),
        Binding("d", "active(False)", "Deactivate", tooltip="Stop the selected staff member from logging in anywhere",
                id="staff.deactivate"),
        Binding("a", "active(True)", "Reactivate", tooltip="Let the selected staff member log in again",
                id="staff.reactivate"),
        Binding("v", "rights", "Rights", tooltip="Set verifier rights for the selected staff member", id="staff.rights"),
        Binding("x", "revoke", "Revoke", tooltip="Revoke the selected staff member's verifier right", id="staff.revoke"),
        Binding("u", "unlock", "Unlock", tooltip="Clear the selected staff member's wrong PINs and lockout",
                id="staff.unlock"),
        Binding("p", "pin", "New PIN", tooltip="Give the selected staff member a new PIN", id="staff.pin"),
        Binding("t", "zones", "Store zones", tooltip="The stores' time zones; move a store to another",
                id="staff.zones"),
        Binding("ctrl+r", "reload", "Refresh", tooltip="Reload from the service", id="staff.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.members: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield Label(_("Staff"), classes="section-title")
        yield Table(id="staff", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#staff", DataTable)
        table.add_columns(_("Staff id"), _("Name"), _("Role"), _("Verifies in"), _("Locked"), _("State"))
        table.focus()
        self.load()

    def selected(self) -> dict[str, Any] | None:
        row = self.query_one("#staff", DataTable).cursor_row
        return self.members[row] if 0 <= row < len(self.members) else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "revoke":
            chosen = self.selected()
            return bool(chosen and chosen["verifier"] and chosen["verifier"]["active"])
        if action in ("rights", "unlock", "pin", "edit"):
            return self.selected() is not None
        if action == "active":
            chosen = self.selected()  # the one of the two that applies: deactivate an active member, reactivate one not
            return chosen is not None and bool(chosen.get("active", True)) != bool(parameters[0])
        return True

    @on(DataTable.RowHighlighted)
    def highlighted(self) -> None:
        self.refresh_bindings()

    @work(exclusive=True, group="load")
    async def load(self, keep: str | None = None) -> None:
        try:
            self.members = await self.ask(lambda e, s: e.staff(s))
        except OfficeError:  # already shown by ask()
            return
        table = self.query_one("#staff", DataTable)
        table.clear()
        for m in self.members:
            table.add_row(m["id"], m["name"], _(m["role"]), where(m["verifier"]), lock_state(m),
                          _("active") if m.get("active", True) else _("deactivated"), key=m["id"])
        ids = [m["id"] for m in self.members]
        if keep in ids:
            table.move_cursor(row=ids.index(keep))
        self.refresh_bindings()

    def action_zones(self) -> None:
        self.open_zones()

    @work(exclusive=True, group="zones")
    async def open_zones(self) -> None:
        try:
            stores = await self.ask(lambda e, s: e.stores(s))
        except OfficeError:  # already shown by ask()
            return
        if not stores:
            return

        def moved(store: dict[str, Any] | None) -> None:
            if store:
                self.notify(_("{store} keeps {zone} time; its tills follow at their next catalog pull.",
                              store=f"{store['name']} ({store['id']})", zone=store["timezone"]))

        self.app.push_screen(StoreZoneForm(stores), moved)

    def action_reload(self) -> None:
        self.load()

    def action_add(self) -> None:
        def added(member: dict[str, Any] | None) -> None:
            if member:
                self.notify(_("Added {staff}.", staff=member["id"]))
                self.load(member["id"])
        self.app.push_screen(StaffForm(), added)

    def action_rights(self) -> None:
        chosen = self.selected()
        if chosen is not None:
            self.open_rights(chosen)

    @work(exclusive=True, group="rights")
    async def open_rights(self, chosen: dict[str, Any]) -> None:
        try:
            stores = await self.ask(lambda e, s: e.stores(s))
        except OfficeError:  # already shown by ask()
            return

        def granted(grant: dict[str, Any] | None) -> None:
            if grant:
                self.notify(_("{staff} may now verify in {where}; terminals apply it at their next catalog pull.",
                              staff=chosen["id"], where=where(grant)))
                self.load(chosen["id"])
        self.app.push_screen(RightsForm(chosen, stores), granted)

    def action_edit(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return

        def edited(member: dict[str, Any] | None) -> None:
            if member:
                self.notify(_("{staff} is now {name}, {role}; tills show it from their next catalog pull.",
                              staff=member["id"], name=member["name"], role=_(member["role"])))
                self.load(member["id"])
        self.app.push_screen(StaffEditForm(chosen), edited)

    def action_active(self, active: bool) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        staff = f"{chosen['name']} ({chosen['id']})"
        if active:
            question, yes = _("Reactivate {staff}? They can log in again.", staff=staff), _("Reactivate")
        else:
            question = _("Deactivate {staff}? They cannot log in from now on (at a till: after its next catalog pull).",
                         staff=staff)
            yes = _("Deactivate")
        self.app.push_screen(Confirm(question, yes), lambda sure: self.set_active(chosen["id"], active) if sure else None)

    @work(group="active")
    async def set_active(self, staff_id: str, active: bool) -> None:
        try:
            await self.ask(lambda e, s: e.set_staff_active(s, staff_id, active))
        except OfficeError:  # already shown by ask()
            return
        self.notify(_("{staff} can log in again.", staff=staff_id) if active else
                    _("{staff} is deactivated.", staff=staff_id))
        self.load(staff_id)

    def action_revoke(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        self.app.push_screen(Confirm(_("Revoke") + f" {chosen['id']}?", _("Revoke")),
                             lambda yes: self.revoke(chosen["id"]) if yes else None)

    @work(group="revoke")
    async def revoke(self, staff_id: str) -> None:
        try:
            await self.ask(lambda e, s: e.set_verifier(s, staff_id, active=False))
        except OfficeError:  # already shown by ask()
            return
        self.notify(_("{staff} may no longer verify vouchers.", staff=staff_id))
        self.load(staff_id)

    def action_unlock(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        self.app.push_screen(Confirm(_("Unlock {staff}?", staff=f"{chosen['name']} ({chosen['id']})"), _("Unlock")),
                             lambda yes: self.unlock(chosen["id"]) if yes else None)

    @work(group="unlock")
    async def unlock(self, staff_id: str) -> None:
        try:
            await self.ask(lambda e, s: e.unlock_staff(s, staff_id))
        except OfficeError:  # already shown by ask()
            return
        self.notify(_("{staff} is unlocked.", staff=staff_id))
        self.load(staff_id)

    def action_pin(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return

        def changed(done: dict[str, Any] | None) -> None:
            if done:
                self.notify(_("{staff} has a new PIN; the tills where they verify receive it at their next catalog pull.",
                              staff=chosen["id"]))
                self.load(chosen["id"])
        self.app.push_screen(PinForm(chosen), changed)
