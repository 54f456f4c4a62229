"""The life of a journal entry and of an outbox entry: which state may follow which.

Every change of state on the terminal goes through :func:`move`, an ``UPDATE … WHERE state IN (…)``
that names the states it expects; the number of rows changed is the answer. "Nothing changed" means a
concurrent actor got there first, and each caller decides what that means for it (an undo that finds
its outbox entry already being sent queues a cancel instead of withdrawing it).

Journal (one row per scan; an undo is a row of its own, state ``cancelled``)::

    pending ──► given ──► shown            verdict committed, then confirmed on screen
       │          └─────► unshown ─► shown  (recovery: an acceptance a dead counter never displayed)
       │          └─────► done             (recovery: a refusal a dead counter never displayed)
       ├──────► unshown / done              (recovery: the service's answer for a dead attempt)
       ├──────► abandoned                   (recovery or a rescan: voided, a late copy cannot count)
       └──────► error                       (the service would not consider the request)

    undoing ──► cancelled | error           an undo that asks the service; a dead counter's undo is
                                            completed by recovery (a cancel is queued), never dropped

Outbox (one row per item for the service, uploaded in ``seq`` order)::

    pending ──► sending ──► accepted | duplicate | cancelled | voided | conflict | error
       │  ▲         │
       │  └─────────┘  (an upload that ended without an answer for it: sent again next time)
       └──► withdrawn  (undo before any upload began; never sent)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

JOURNAL: dict[str, frozenset[str]] = {
    "pending": frozenset({"given", "unshown", "done", "abandoned", "error"}),
    "given": frozenset({"shown", "unshown", "done"}),
    "unshown": frozenset({"shown"}),
    "shown": frozenset(),
    "done": frozenset(),
    "abandoned": frozenset(),
    "error": frozenset(),
    "undoing": frozenset({"cancelled", "error"}),
    "cancelled": frozenset(),
}

ANSWERS = frozenset({"accepted", "duplicate", "cancelled", "voided", "conflict", "error"})

OUTBOX: dict[str, frozenset[str]] = {
    "pending": frozenset({"sending", "withdrawn"}),
    "sending": ANSWERS | {"pending"},
    "withdrawn": frozenset(),
    **{answer: frozenset() for answer in ANSWERS},
}

MACHINES = {"journal": JOURNAL, "outbox": OUTBOX}


class StateConflict(Exception):
    """A row was not in the state this step needs: a concurrent actor moved it first."""


def allowed(table: str, source: str, target: str) -> bool:
    return target in MACHINES[table].get(source, frozenset())


def move(conn: sqlite3.Connection, table: str, key: tuple[str, Any], sources: Iterable[str], target: str,
         **fields: Any) -> bool:
    """Move one row from one of ``sources`` to ``target`` (setting ``fields`` too); True if it moved."""
    sources = tuple(sources)
    for source in sources:
        if not allowed(table, source, target):
            raise ValueError(f"{table}: {source} → {target} is not a transition")
    column, value = key
    sets = ", ".join(["state=?", *(f"{name}=?" for name in fields)])
    marks = ",".join("?" * len(sources))
    cur = conn.execute(f"UPDATE {table} SET {sets} WHERE {column}=? AND state IN ({marks})",
                       (target, *fields.values(), value, *sources))
    return cur.rowcount == 1


def must_move(conn: sqlite3.Connection, table: str, key: tuple[str, Any], sources: Iterable[str], target: str,
              **fields: Any) -> None:
    """:func:`move`, where a row in another state means the step must not go on (the transaction rolls back)."""
    if not move(conn, table, key, sources, target, **fields):
        row = conn.execute(f"SELECT state FROM {table} WHERE {key[0]}=?", (key[1],)).fetchone()
        raise StateConflict(f"{table} {key[1]} is {row[0] if row else 'missing'}, expected one of "
                            f"{', '.join(sorted(set(sources)))} to become {target}")
