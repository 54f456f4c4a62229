"""``pos outbox`` as a till's operator runs it: each item with its time, state, kind and code (not only counts),
every item the outbox held with ``--all``, and when the terminal last synced."""

from __future__ import annotations

import json

from pos.domain import display

from .conftest import Shop
from .test_cli import configure, pos


def line_of(listing: str, code: str) -> str:
    [line] = [ln for ln in listing.splitlines() if display(code) in ln]
    return line


def test_pos_outbox_lists_each_item_with_its_time_state_and_code(shop: Shop) -> None:
    env = configure(shop)
    before = pos("outbox", env=env)
    assert before.returncode == 0 and "last sync: never" in before.stdout
    assert pos("sync", env=env).returncode == 0
    spring, spring2 = shop.codes["spring"], shop.codes["spring2"]
    shop.service.stop()
    try:
        assert pos("redeem", spring, "--amount", "600", env=env).returncode == 0
        assert pos("redeem", spring2, "--amount", "610", env=env).returncode == 0
        assert pos("cancel", spring2, env=env).returncode == 0  # never sent: taken out of the outbox
        listed = pos("outbox", env=env).stdout
        waiting = line_of(listed, spring)
        assert "waiting" in waiting and "redeem" in waiting and "600.00" in waiting and "(UTC)" in waiting, listed
        assert display(spring2) not in listed  # what waits only
        assert "withdrawn" in line_of(pos("outbox", "--all", env=env).stdout, spring2)
    finally:
        shop.service.start()
    assert pos("sync", env=env).returncode == 0
    answered = json.loads(pos("outbox", "--all", "--json", env=env).stdout)
    assert {(i["code"], i["state"]) for i in answered["items"]} == {(spring, "accepted"), (spring2, "withdrawn")}
    assert answered["waiting"] == [] and answered["last_sync"] is not None
    assert all(i["answered_at"] for i in answered["items"])
    text = pos("outbox", "--all", env=env).stdout
    assert "accepted" in line_of(text, spring) and "last sync: never" not in text
