"""Staff log in at the terminal with their staff id and PIN.

The service decides when it can be reached (it keeps the failure count and the lockout). When it
cannot, the terminal checks the PIN against the salted hash it received with its catalog and keeps
its own failure count, so a cashier can start a shift with the network down but cannot guess PINs
at a terminal that was unplugged for the purpose. Back-office work needs the service, so a manager
logged in offline gets the counter and the outbox, not the screens that change the chain's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pos.domain.model import local_text
from pos.domain.pins import locked_until, verify_pin
from pos.terminal.endpoint import Endpoint, Refused, UnknownOutcome, Unreachable
from pos.terminal.localdb import LocalDB


class LoginError(Exception):
    """A login refused; ``code`` is stable (``login.failed``, ``login.locked``, …), ``message`` for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Shift:
    """Who is logged in at this terminal, and the service session when there is one."""

    staff_id: str
    name: str
    role: str
    session: str | None = None

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"

    @property
    def online(self) -> bool:
        return self.session is not None


def sign_in(db: LocalDB, endpoint: Endpoint | None, staff_id: str, pin: str, now: datetime,
            store_id: str | None = None) -> Shift:
    staff_id = staff_id.strip()
    if not staff_id or not pin:
        raise LoginError("login.incomplete", "Type your staff id and PIN.")
    if endpoint is not None:
        try:
            answer = endpoint.login(staff_id, pin)
        except Refused as err:
            raise LoginError(err.code, err.message) from err
        except (Unreachable, UnknownOutcome):
            pass
        else:
            db.login_succeeded(staff_id, now, mode="online")
            who = answer["staff"]
            return Shift(who["id"], who["name"], who["role"], answer["session"])
    return _offline(db, staff_id, pin, now, db.store_zone(store_id) if store_id else "UTC")


def _offline(db: LocalDB, staff_id: str, pin: str, now: datetime, zone: str) -> Shift:
    row = db.staff_member(staff_id)
    failures, last = db.login_failures(staff_id)
    until = locked_until(failures, last)
    if until is not None and now < until:
        raise LoginError("login.locked", f"Too many wrong PINs: locked until {local_text(until, zone)}. "
                                         "A manager can unlock.")
    if until is not None:
        failures = 0
    ok = row is not None and bool(row[2]) and verify_pin(pin, row[3])
    if ok:
        db.login_succeeded(staff_id, now, mode="offline")
    else:
        failures += 1
        db.login_failed(staff_id, failures, now)
    if not ok:  # the same words for a wrong PIN, an unknown staff id and a manager: ids cannot be told apart
        raise LoginError("login.offline_failed", "Wrong staff number or PIN. (Without the service, only this "
                                                 "store's cashiers can log in.)")
    assert row is not None
    return Shift(staff_id, row[0], row[1], None)
