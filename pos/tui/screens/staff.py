"""Staff and their right to verify vouchers: in all stores, in stores chosen from the chain's list, or not at
all; editing a member's name and role; deactivating them (no login, at the service at once and at a till after
its next catalog pull) and taking them back; unlocking a member of staff locked out by wrong PINs, and giving
them a new PIN. A change reaches each counter with its next catalog pull (at once on a terminal that syncs)."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Checkbox, DataTable, Footer, Input, Label, Select, SelectionList

from pos.domain import parse_time
from pos.domain.model import zone
from pos.tui.i18n import _, clock
from pos.tui.jobs import work
from pos.tui.problems import problem_sentence, with_code
from pos.tui.screens.confirm import Confirm
from pos.tui.screens.form import FormModal
from pos.tui.screens.office import OfficeError, OfficeScreen
from pos.tui.widgets.status import StatusLine


def where(verifier: dict[str, Any] | None) -> str:
    if not verifier or not verifier["active"]:
        return _("nowhere")
    return _("all stores") if verifier["all_stores"] else ", ".join(verifier["stores"])


class StaffForm(FormModal):
    """Add a staff member (id, name, role, PIN); the service answers with its own codes."""

    NARROW = True
    ALIASES = {"id": "staff_id"}
    CODE_FIELDS = {"staff.id.invalid": "staff_id", "staff.id.taken": "staff_id", "staff.name.invalid": "name",
                   "staff.role.invalid": "role", "pin.invalid": "pin", "pin.manager_short": "pin"}

    def heading(self) -> str:
        return _("Add a staff member")

    def fields(self) -> ComposeResult:
        yield from self.field("staff_id", _("Staff id"), Input(id="s-id", max_length=32))
        yield from self.field("name", _("Name"), Input(id="s-name", max_length=40))
        yield from self.field("role", _("Role"), Select([(_("cashier"), "cashier"), (_("manager"), "manager")],
                                                        value="cashier", allow_blank=False, id="s-role"))
        yield from self.field("pin", _("PIN"), Input(id="s-pin", password=True, max_length=8, restrict=r"[0-9]*"))

    def check_fields(self) -> dict[str, list[str]]:
        found = {key: [self.required(key)]
                 for key, wid in (("staff_id", "s-id"), ("name", "s-name"), ("pin", "s-pin"))
                 if not self.query_one(f"#{wid}", Input).value.strip()}
        pin = self.query_one("#s-pin", Input).value
        if pin and not pin_fits(pin, str(self.query_one("#s-role", Select).value)):
            found["pin"] = [pin_rule(pin)]
        return found

    @on(Input.Submitted, "#s-pin")
    @work(exclusive=True)
    async def save(self) -> None:
        if not self.begin():
            return
        values = {"staff_id": self.query_one("#s-id", Input).value.strip(),
                  "name": self.query_one("#s-name", Input).value.strip(),
                  "role": str(self.query_one("#s-role", Select).value), "pin": self.query_one("#s-pin", Input).value}
        added = await self.send(lambda office, session: office.add_staff(session, **values))
        if added is not None:
            self.dismiss(added)


def pin_fits(pin: str, role: str) -> bool:
    """A PIN as the service will take it: 4 to 8 digits, a manager's 6 to 8."""
    return pin.isdigit() and (6 if role == "manager" else 4) <= len(pin) <= 8


def pin_rule(pin: str) -> str:
    """Why the service would refuse a PIN that does not fit, with its code."""
    if pin.isdigit() and 4 <= len(pin) <= 8:
        return with_code(problem_sentence("pin.manager_short", "A manager's PIN is 6 to 8 digits."), "pin.manager_short")
    return with_code(problem_sentence("pin.invalid", "A PIN is 4 to 8 digits."), "pin.invalid")


def lock_state(member: dict[str, Any]) -> str:
    if member.get("locked_until"):
        return _("locked until {time}", time=clock(parse_time(member["locked_until"])))
    failures = int(member.get("failed_logins") or 0)
    return _("{n} wrong PIN(s)", n=failures) if failures else ""


class PinForm(FormModal):
    """A new PIN for a member of staff, typed twice and never shown; the service checks it against the rules
    for their role and clears their lockout."""

    NARROW = True
    CODE_FIELDS = {"pin.invalid": "pin", "pin.manager_short": "pin"}

    def __init__(self, member: dict[str, Any]) -> None:
        super().__init__()
        self.member = member

    def heading(self) -> str:
        return _("New PIN for {staff}", staff=f"{self.member['name']} ({self.member['id']})")

    def fields(self) -> ComposeResult:
        yield Label(_("A cashier's PIN is 4 to 8 digits, a manager's 6 to 8."), classes="field-label")
        yield from self.field("pin", _("New PIN"), Input(id="p-pin", password=True, max_length=8, restrict=r"[0-9]*"))
        yield from self.field("again", _("New PIN again"),
                              Input(id="p-again", password=True, max_length=8, restrict=r"[0-9]*"))

    def check_fields(self) -> dict[str, list[str]]:
        pin, again = self.query_one("#p-pin", Input).value, self.query_one("#p-again", Input).value
        found: dict[str, list[str]] = {}
        if not pin:
            found["pin"] = [self.required("pin")]
        elif not pin_fits(pin, self.member.get("role", "cashier")):
            found["pin"] = [pin_rule(pin)]
        if pin and again != pin and (self.attempted or again):
            found["again"] = [with_code(_("The two PINs differ: type the same PIN twice."), "form.pin.differ")]
        return found

    @on(Input.Submitted, "#p-pin")
    def next_field(self) -> None:
        self.query_one("#p-again", Input).focus()

    @on(Input.Submitted, "#p-again")
    @work(exclusive=True)
    async def save(self) -> None:
        if not self.begin():
            if "again" in self.errors():
                self.query_one("#p-again", Input).value = ""
            return
        pin = self.query_one("#p-pin", Input).value
        done = await self.send(lambda office, session: office.reset_pin(session, self.member["id"], pin))
        if done is not None:
            self.dismiss(done)


class RightsForm(FormModal):
    """Where a member of staff may verify vouchers: all stores, or stores chosen from the chain's list."""

    NARROW = True
    CODE_FIELDS = {"verifier.store_unknown": "stores", "verifier.no_store": "stores"}

    def __init__(self, member: dict[str, Any], stores: list[dict[str, Any]]) -> None:
        super().__init__()
        self.member = member
        self.stores = stores

    def heading(self) -> str:
        return _("Verifier rights for {staff}", staff=f"{self.member['name']} ({self.member['id']})")

    def hint(self) -> str:
        return _("Space ticks a store · Ctrl+S saves · Esc cancels · Tab goes to the next field")

    def fields(self) -> ComposeResult:
        v = self.member.get("verifier") or {}
        granted = set(v.get("stores") or []) if v.get("active", True) else set()
        everywhere = bool(v.get("all_stores")) and bool(v.get("active", True))
        yield from self.field("all_stores", _("Verifies in"), Checkbox(_("All stores"), value=everywhere, id="r-all"))
        yield from self.field("stores", _("Chosen stores"), SelectionList[str](
            *((f"{s['id']} {s['name']}", s["id"], s["id"] in granted) for s in self.stores),
            id="r-stores", disabled=everywhere))

    @on(Checkbox.Changed, "#r-all")
    def everywhere(self, event: Checkbox.Changed) -> None:
        self.query_one("#r-stores", SelectionList).disabled = event.value

    def chosen(self) -> list[str]:
        return sorted(self.query_one("#r-stores", SelectionList).selected)

    def check_fields(self) -> dict[str, list[str]]:
        if not self.query_one("#r-all", Checkbox).value and not self.chosen():
            return {"stores": [with_code(problem_sentence("verifier.no_store", "Choose all stores or at least one store."),
                                         "verifier.no_store")]}
        return {}

    @work(exclusive=True)
    async def save(self) -> None:
        if not self.begin():
            return
        stores = self.chosen()
        all_stores = self.query_one("#r-all", Checkbox).value
        grant = await self.send(lambda office, session: office.set_verifier(
            session, self.member["id"], all_stores=all_stores, stores=[] if all_stores else stores))
        if grant is not None:
            self.dismiss(grant)


class StaffEditForm(FormModal):
    """A member of staff's name and role; making a cashier a manager asks for their new PIN (6 to 8 digits)."""

    NARROW = True
    CODE_FIELDS = {"staff.name.invalid": "name", "staff.role.invalid": "role", "staff.pin.required": "pin",
                   "pin.invalid": "pin", "pin.manager_short": "pin", "staff.self": "role", "staff.last_manager": "role"}

    def __init__(self, member: dict[str, Any]) -> None:
        super().__init__()
        self.member = member

    def heading(self) -> str:
        return _("Edit {staff}", staff=f"{self.member['name']} ({self.member['id']})")

    def fields(self) -> ComposeResult:
        yield from self.field("name", _("Name"), Input(self.member["name"], id="e-name", max_length=40))
        yield from self.field("role", _("Role"), Select([(_("cashier"), "cashier"), (_("manager"), "manager")],
                                                        value=self.member["role"], allow_blank=False, id="e-role"))
        yield from self.field("pin", _("New PIN (to make them a manager; else leave it empty)"),
                              Input(id="e-pin", password=True, max_length=8, restrict=r"[0-9]*"))

    def role(self) -> str:
        return str(self.query_one("#e-role", Select).value)

    def check_fields(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        if not self.query_one("#e-name", Input).value.strip():
            found["name"] = [self.required("name")]
        pin = self.query_one("#e-pin", Input).value
        if self.role() == "manager" and self.member["role"] != "manager" and not pin:
            found["pin"] = [with_code(problem_sentence("staff.pin.required", "A new manager needs a new PIN of 6 to 8 "
                                                                             "digits."), "staff.pin.required")]
        elif pin and not pin_fits(pin, self.role()):
            found["pin"] = [pin_rule(pin)]
        return found

    @on(Input.Submitted, "#e-pin")
    @work(exclusive=True)
    async def save(self) -> None:
        if not self.begin():
            return
        name, role = self.query_one("#e-name", Input).value.strip(), self.role()
        pin = self.query_one("#e-pin", Input).value or None
        changed = await self.send(lambda office, session: office.update_staff(session, self.member["id"], name=name,
                                                                              role=role, pin=pin))
        if changed is not None:
            self.dismiss(changed)


class StoreZoneForm(FormModal):
    """Move a store to another time zone: its "day" and the clock its tills show (audited)."""

    NARROW = True
    CODE_FIELDS = {"store.timezone.invalid": "timezone", "store.not_found": "store"}

    def __init__(self, stores: list[dict[str, Any]]) -> None:
        super().__init__()
        self.stores = stores

    def heading(self) -> str:
        return _("Stores and their time zones")

    def fields(self) -> ComposeResult:
        yield from self.field("store", _("Store"), Select([(f"{s['id']} {s['name']} · {s['timezone']}", s["id"])
                                                           for s in self.stores],
                                                          value=self.stores[0]["id"], allow_blank=False, id="z-store"))
        yield from self.field("timezone", _("Time zone (IANA name, e.g. Asia/Shanghai)"),
                              Input(self.stores[0]["timezone"], id="z-zone", max_length=64))

    @on(Select.Changed, "#z-store")
    def chosen(self, event: Select.Changed) -> None:
        zone_of = {s["id"]: s["timezone"] for s in self.stores}
        self.query_one("#z-zone", Input).value = zone_of.get(str(event.value), "")

    def check_fields(self) -> dict[str, list[str]]:
        text = self.query_one("#z-zone", Input).value.strip()
        if not text:
            return {"timezone": [self.required("timezone")]}
        try:
            zone(text)
        except ValueError:
            return {"timezone": [with_code(problem_sentence("store.timezone.invalid",
                                                            "Unknown time zone: use an IANA name such as Asia/Shanghai."),
                                           "store.timezone.invalid")]}
        return {}

    @on(Input.Submitted, "#z-zone")
    @work(exclusive=True)
    async def save(self) -> None:
        if not self.begin():
            return
        store = str(self.query_one("#z-store", Select).value)
        text = self.query_one("#z-zone", Input).value.strip()
        moved = await self.send(lambda office, session: office.set_store_zone(session, store, text))
        if moved is not None:
            self.dismiss(moved)


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
        yield DataTable(id="staff", cursor_type="row", zebra_stripes=True)
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
