"""Kill the terminal and the service with SIGKILL at random moments; check that nothing is lost,
nothing is redeemed twice, and the terminal's outbox and journal and the service's audit agree.

A real ``pos serve`` (synchronous=FULL) on loopback behind a fault proxy that makes the service answer
slowly some of the time; a driver process (scripts/crash_driver.py) that redeems vouchers through the
real counter, undoes some, runs the UI's background sync beside it (a timer, and an upload as soon as
it goes offline) and records each verdict the moment it would be on screen. Each kill point picks a
victim (the terminal three times in four, else the service), waits a random 30–600 ms, sends SIGKILL
and restarts the victim (the service after a random outage, during which the terminal works
offline); between kill points the proxy is switched between passing and delaying (0.2–1.2 s, longer
than the counter's 0.5 s budget). After the last kill the driver runs once more to show what a kill
kept off the screen (``--finish``: it rescans those vouchers), and a plain ``pos sync`` settles the
rest; then the invariants are checked:

  lost        a voucher whose verdict was shown as accepted (and not undone), with no live redemption
              on the service
  duplicated  a voucher with more than one live redemption, or one redemption uploaded twice
  disagree    the terminal's live redemptions, outbox, journal and the service's redemptions and
              audit do not tell the same story (pending left behind, nonces that differ, an
              unaudited redemption, a conflict on a single-terminal shop, an undo the service did
              not hear of)
  given_never_displayed
              an acceptance committed to the journal that never reached the screen, even after the rescan

    .venv/bin/python scripts/crash_harness.py [--kills 200] [--vouchers 1500] [--seed N] [--engine postgres]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from benchlib import make_service_db

from pos.demo import TOKENS
from pos.service.engine import connect
from pos.terminal.config import TerminalConfig, write
from pos.testing.faultproxy import FaultProxy
from pos.testing.postgres import PostgresServer
from pos.testing.process import ServiceProcess

HERE = Path(__file__).parent


def rows(target: Path | str, sql: str, *args: object) -> list[tuple]:
    """Read a database: the terminal's file, or the service's (a file or a PostgreSQL URL)."""
    if str(target).startswith("postgresql://"):
        db = connect(str(target))
        try:
            return [tuple(r) for r in db.execute(sql.replace("json_extract(detail, '$.nonce')", "detail->>'nonce'"),
                                                 args).fetchall()]
        finally:
            db.close()
    with sqlite3.connect(target) as conn:
        return conn.execute(sql, args).fetchall()


def start_driver(cfg: Path, codes: Path, shown: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    out = open(log, "ab")
    return subprocess.Popen([sys.executable, str(HERE / "crash_driver.py"), str(cfg), str(codes), str(shown), *extra],
                            stdout=out, stderr=out)


def check(service_db: Path | str, terminal_db: Path, shown: Path) -> dict[str, object]:
    last: dict[str, str] = {}
    undoing: set[str] = set()
    undone: dict[str, str] = {}
    settled_undo: set[str] = set()
    for line in shown.read_text().splitlines():
        code, reason, extra = line.split()
        if reason == "undoing":
            undoing.add(code)
        elif reason == "undone":
            undone[code] = extra
            settled_undo.add(code)
        elif reason == "undo_refused":
            settled_undo.add(code)
        else:
            last.setdefault(code, reason) if reason != "ok" else last.__setitem__(code, "ok")
    uncertain = undoing - settled_undo  # a kill during the undo: it may or may not have happened
    accepted = {c for c, r in last.items() if r == "ok"}
    live = {}
    for code, n in rows(service_db, "SELECT code, count(*) FROM redemptions WHERE cancelled_at IS NULL GROUP BY code"):
        live[code] = n
    lost = sorted(c for c in accepted - set(undone) - uncertain if live.get(c, 0) == 0)
    duplicated = sorted(c for c, n in live.items() if n > 1)
    problems: list[str] = []
    s_nonces = {r[0] for r in rows(service_db, "SELECT nonce FROM redemptions WHERE cancelled_at IS NULL")}
    undo_unheard = sorted(c for c, nonce in undone.items() if nonce in s_nonces)
    if undo_unheard:
        problems.append(f"{len(undo_unheard)} undone vouchers still live on the service, e.g. {undo_unheard[:3]}")
    t_live = dict(rows(terminal_db, "SELECT nonce, code FROM redemptions WHERE cancelled_at IS NULL"))
    s_live = dict(rows(service_db, "SELECT nonce, code FROM redemptions WHERE cancelled_at IS NULL"))
    if t_live != s_live:
        only_t = set(t_live) - set(s_live)
        only_s = set(s_live) - set(t_live)
        problems.append(f"live redemptions differ: {len(only_t)} only on the terminal, {len(only_s)} only on the service")
    pending_out = rows(terminal_db, "SELECT count(*) FROM outbox WHERE state IN ('pending','sending')")[0][0]
    pending_journal = rows(terminal_db, "SELECT count(*) FROM journal WHERE state='pending'")[0][0]
    unshown = rows(terminal_db, "SELECT count(*) FROM journal WHERE state='unshown'")[0][0]
    if pending_out or pending_journal:
        problems.append(f"left pending: {pending_out} outbox, {pending_journal} journal")
    bad_states = rows(terminal_db, "SELECT state, count(*) FROM outbox WHERE state NOT IN "
                                   "('accepted','duplicate','voided','cancelled','withdrawn') GROUP BY state")
    if bad_states:
        problems.append(f"outbox entries in unexpected states: {bad_states}")
    audited = {r[0] for r in rows(service_db, "SELECT json_extract(detail, '$.nonce') FROM audit WHERE action='redeem'")}
    every = {r[0] for r in rows(service_db, "SELECT nonce FROM redemptions")}
    if every - audited:
        problems.append(f"{len(every - audited)} redemptions without a 'redeem' audit entry")
    redeem_audits = rows(service_db, "SELECT count(*) FROM audit WHERE action='redeem'")[0][0]
    if redeem_audits != len(every):
        problems.append(f"{redeem_audits} 'redeem' audit entries for {len(every)} redemptions")
    conflicts = rows(service_db, "SELECT count(*) FROM conflicts")[0][0]
    if conflicts:
        problems.append(f"{conflicts} conflicts on a single-terminal shop")
    shown_wrong = sorted(c for c, r in last.items() if r not in ("ok", "already_redeemed"))
    if shown_wrong:
        problems.append(f"{len(shown_wrong)} vouchers shown with an unexpected verdict, e.g. {shown_wrong[:3]}")
    journal_ok = {r[0] for r in rows(terminal_db, "SELECT code FROM journal WHERE reason='ok' AND code IS NOT NULL")}
    never_displayed = sorted(journal_ok - accepted)
    return {"shown_accepted": len(accepted), "undone": len(undone), "undo_interrupted": len(uncertain),
            "live_on_service": sum(live.values()), "lost": len(lost), "duplicated": len(duplicated),
            "disagreements": problems, "given_never_displayed": len(never_displayed),
            "redeemed_but_never_shown": len(set(live) - accepted), "awaiting_rescan": unshown}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--vouchers", type=int, default=0, help="default: 200 per kill point, so the work outlasts the kills")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--workdir", type=Path, default=Path("bench-out/crash"))
    ap.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite",
                    help="the service's database (postgres: a throwaway server started here)")
    args = ap.parse_args()
    if args.engine == "postgres":
        with PostgresServer() as pg:
            return run(args, pg.create_database("crash"))
    return run(args, None)


def run(args: argparse.Namespace, url: str | None) -> int:
    rng = random.Random(args.seed)
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    for f in work.glob("*"):
        shutil.rmtree(f) if f.is_dir() else f.unlink()
    service_db: Path | str = url or work / "service.db"
    terminal_db = work / "terminal.db"
    codes = make_service_db(service_db, args.vouchers or 200 * args.kills)
    (work / "codes.txt").write_text("\n".join(codes))
    shown = work / "shown.txt"
    service = ServiceProcess(service_db, log=work / "service.log").start()
    proxy = FaultProxy(service.port).start()
    cfg = work / "terminal.toml"
    write(cfg, TerminalConfig(service_url=proxy.url, token=TOKENS["S001-T1"], store_id="S001",
                              terminal_id="S001-T1", database=terminal_db))
    subprocess.run([sys.executable, "-m", "pos", "sync", "--config", str(cfg)], check=True, capture_output=True)
    kills = {"terminal": 0, "service": 0}
    driver = start_driver(cfg, work / "codes.txt", shown, work / "driver.log")
    started = time.monotonic()
    try:
        while sum(kills.values()) < args.kills:
            time.sleep(rng.uniform(0.03, 0.6))
            if rng.random() < 0.3:
                proxy.set("delay", delay=rng.uniform(0.2, 1.2))  # a slow answer: beyond the counter's budget
            else:
                proxy.set("pass")
            if driver.poll() is not None:
                if driver.returncode == 0:
                    break  # every voucher has been shown: no more work to interrupt
                driver = start_driver(cfg, work / "codes.txt", shown, work / "driver.log")
                continue
            if rng.random() < 0.75:
                driver.send_signal(signal.SIGKILL)
                driver.wait()
                kills["terminal"] += 1
                driver = start_driver(cfg, work / "codes.txt", shown, work / "driver.log")
            else:
                service.kill()
                kills["service"] += 1
                time.sleep(rng.uniform(0.05, 0.8))  # an outage: the terminal goes offline meanwhile
                service.start()
            n = sum(kills.values())
            if n % 25 == 0:
                print(f"  {n} kill points, {len(shown.read_text().splitlines()) if shown.exists() else 0} "
                      f"verdicts shown", flush=True)
        if driver.poll() is None:  # the last kill point: whatever it was doing stays unsettled
            driver.send_signal(signal.SIGKILL)
            driver.wait()
            kills["terminal"] += 1
        proxy.set("pass")
        finish = start_driver(cfg, work / "codes.txt", shown, work / "driver.log", "--finish")
        finish.wait(300)
        final = subprocess.run([sys.executable, "-m", "pos", "sync", "--config", str(cfg), "--json"],
                               capture_output=True, text=True)
    finally:
        if driver.poll() is None:
            driver.kill()
        proxy.stop()
        service.stop()
    result = check(service_db, terminal_db, shown)
    result.update(kills=kills, kill_points=sum(kills.values()), seed=args.seed,
                  seconds=round(time.monotonic() - started, 1), final_sync_exit=final.returncode,
                  verdicts_shown=len(shown.read_text().splitlines()))
    print(json.dumps(result, indent=1))
    bad = (result["lost"] or result["duplicated"] or result["disagreements"] or result["given_never_displayed"]
           or final.returncode != 0)
    print("INVARIANTS " + ("VIOLATED" if bad else "HOLD"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
