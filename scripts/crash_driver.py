"""A cashier that never stops, with the UI's background sync beside it: redeems the vouchers in CODES
one by one through the real counter, undoes some of them, and writes each verdict to SHOWN (fsynced)
the moment it would be on screen — then confirms the display to the journal, as the UI does after
drawing it. A second thread with its own connection syncs on a timer and as soon as the counter goes
offline (the UI's link-return upload), exactly as the UI's background sync does.

Run by scripts/crash_harness.py, which kills it with SIGKILL at random and starts it again; on each
start it settles what the last run left and carries on with the first code not yet shown.
``--finish``: rescan only the vouchers the journal knows and SHOWN does not (a verdict a kill kept off
the screen), then stop.

SHOWN lines: ``CODE REASON online|offline`` for a verdict; ``CODE undoing -`` before an undo,
``CODE undone NONCE`` / ``CODE undo_refused -`` after it.

    python scripts/crash_driver.py CONFIG CODES SHOWN [--sync-every 0.4] [--undo-every 6] [--seed N]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
from pathlib import Path
from typing import TextIO

from pos.terminal import config as cfgmod
from pos.terminal.counter import CancelError, Counter
from pos.terminal.endpoint import Endpoint, EndpointError
from pos.terminal.localdb import LocalDB
from pos.terminal.sync import recover, sync


def say(shown: TextIO, line: str) -> None:
    shown.write(line + "\n")
    shown.flush()
    os.fsync(shown.fileno())


def background_sync(cfg: cfgmod.TerminalConfig, every: float, wake: threading.Event, stop: threading.Event) -> None:
    """The UI's sync: its own connection and client, on a timer and when the link comes back."""
    db = LocalDB(cfg.database)
    endpoint = Endpoint(cfg.service_url, cfg.token, timeout=2.0)
    try:
        while not stop.is_set():
            wake.wait(every)
            wake.clear()
            try:
                sync(db, endpoint, cfg.store_id, batch_size=7)
            except EndpointError:
                pass
    finally:
        endpoint.close()
        db.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("codes", type=Path)
    ap.add_argument("shown", type=Path)
    ap.add_argument("--sync-every", type=float, default=0.4, help="seconds between background syncs")
    ap.add_argument("--undo-every", type=int, default=6, help="undo about one acceptance in N")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--finish", action="store_true")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    cfg = cfgmod.load(args.config)
    db = LocalDB(cfg.database)
    endpoint = Endpoint(cfg.service_url, cfg.token, timeout=0.5)
    counter = Counter(db, endpoint, store_id=cfg.store_id, terminal_id=cfg.terminal_id, budget=0.5)
    try:
        recover(db, endpoint)
    except EndpointError:
        pass
    seen = set()
    if args.shown.exists():
        seen = {line.split()[0] for line in args.shown.read_text().splitlines() if line.strip()}
    if args.finish:
        todo = [r[0] for r in db.conn.execute("SELECT DISTINCT code FROM journal WHERE nonce IS NOT NULL AND code "
                                               "IS NOT NULL ORDER BY id") if r[0] not in seen]
    else:
        todo = [c for c in args.codes.read_text().split() if c not in seen]
    wake, stop = threading.Event(), threading.Event()
    syncer = None
    if not args.finish:
        syncer = threading.Thread(target=background_sync, args=(cfg, args.sync_every, wake, stop), daemon=True)
        syncer.start()
    with open(args.shown, "a", encoding="utf-8") as shown:
        for code in todo:
            decision = counter.decide(code, "alice", 60000)
            verdict = decision.verdict
            say(shown, f"{code} {verdict.reason} {'offline' if verdict.offline else 'online'}")
            counter.shown(decision.entry)
            if verdict.offline:
                wake.set()  # the UI starts an upload as soon as the link is back
            if verdict.accepted and not args.finish and rng.randrange(args.undo_every) == 0:
                say(shown, f"{code} undoing -")
                try:
                    undo = counter.cancel(code, "alice")
                except CancelError:
                    say(shown, f"{code} undo_refused -")
                else:
                    say(shown, f"{code} undone {undo.nonce}")
    stop.set()
    wake.set()
    if syncer is not None:
        syncer.join(10)
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
