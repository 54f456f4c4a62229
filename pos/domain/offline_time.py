"""When did an offline redemption happen? The till's word, checked against what the till cannot fake.

A till's wall clock can be wrong by days (a flat battery, a hand-set clock), and a wrong clock must not
stretch a voucher's life. So with each offline redemption a terminal sends, besides its wall-clock time,
its **anchor**: the service's own time at the terminal's last successful contact (a catalog pull), and
the seconds its monotonic clock counted from that contact to the redemption (``None`` when the machine
has restarted since, which resets that clock). The service then knows:

* the redemption happened after the contact and no later than the upload;
* with an elapsed count, it happened at ``contact + elapsed`` (to within the drift of a quartz clock).

:func:`judge` turns that into the moment at which the service decides the voucher's validity, and a
note when the claimed time is impossible or disagrees with the anchor by more than the allowed skew.
Such a redemption is still decided (the goods are gone), at the trusted time, and flagged for a manager.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pos.domain.model import format_time

SKEW = timedelta(minutes=5)  # how far a till's clock may be off before a redemption is flagged


@dataclass(frozen=True, slots=True)
class Anchor:
    contact_at: datetime  # the service's time at the terminal's last successful contact
    elapsed: float | None  # monotonic seconds from that contact to the redemption; None after a restart


@dataclass(frozen=True, slots=True)
class Judged:
    at: datetime  # the moment the voucher's validity is decided at, and the redemption recorded at
    note: str | None = None  # why the till's own time was not believed; None when it was
    code: str | None = None  # ``clock.ahead``, ``clock.before_contact``, ``clock.skew``


def judge(claimed: datetime | None, anchor: Anchor | None, now: datetime, skew: timedelta = SKEW) -> Judged:
    """The time to decide an offline redemption at (never after ``now``, the upload)."""
    if claimed is None:
        return Judged(now)
    if anchor is not None and anchor.elapsed is not None:
        trusted = min(anchor.contact_at + timedelta(seconds=anchor.elapsed), now)
        if abs(claimed - trusted) > skew:
            return Judged(trusted, f"The till's clock said {format_time(claimed)}, but the time since its last contact "
                                   f"with the service puts the redemption at {format_time(trusted)}; decided at that time.",
                          "clock.skew")
        return Judged(min(claimed, now))
    if claimed > now + skew:
        return Judged(now, f"The till's clock said {format_time(claimed)}, later than the upload at {format_time(now)}; "
                           "decided at the upload.", "clock.ahead")
    if anchor is not None and claimed < anchor.contact_at - skew:
        return Judged(now, f"The till's clock said {format_time(claimed)}, before its last contact with the service at "
                           f"{format_time(anchor.contact_at)}; decided at the upload.", "clock.before_contact")
    return Judged(min(claimed, now))
