"""The staff screen's forms: adding a member of staff, editing their name and role, a new PIN, where they may
verify (all stores, or stores ticked in the chain's list), and a store's time zone."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.widgets import Checkbox, Input, Label, Select, SelectionList

from pos.domain.model import zone
from pos.tui.i18n import _
from pos.tui.jobs import work
from pos.tui.problems import problem_sentence, with_code
from pos.tui.screens.form import FormModal


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
