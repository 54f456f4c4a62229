"""``pos sync`` killed with SIGKILL in the middle of an upload, then run again: exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from pos.service.admin import issue_vouchers
from pos.service.engine import connect
from pos.service.schema import open_db

from .conftest import Shop
from .test_cli import configure

N = 1500


def test_sync_killed_midway_then_rerun_uploads_each_redemption_exactly_once(shop: Shop) -> None:
    db = open_db(shop.db_path)
    codes = issue_vouchers(db, "SPRING", count=N)
    db.close()
    env = configure(shop)
    t = shop.terminal()
    # the CLI's terminal database is the configured one; fill it through the counter, offline
    from pos.terminal.counter import Counter
    from pos.terminal.localdb import LocalDB
    from pos.terminal.sync import sync

    local = LocalDB(shop.tmp / "S001-T1-cli.db")
    sync(local, t.endpoint, "S001")
    shop.service.stop()
    counter = Counter(local, None, store_id="S001", terminal_id="S001-T1")
    for code in codes:
        assert counter.redeem(code, "alice", 60000).offline
    assert local.pending_count() == N
    local.close()
    shop.service.start()

    proc = subprocess.Popen([sys.executable, "-m", "pos", "sync", "--batch-size", "50", "--json"],
                            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    seen = 0
    service_db = connect(shop.db_path)
    try:
        while time.monotonic() < deadline and seen < 200:
            seen = service_db.execute("SELECT count(*) FROM redemptions").fetchone()[0]
            time.sleep(0.002)
    finally:
        service_db.close()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    local = LocalDB(shop.tmp / "S001-T1-cli.db")
    left = local.pending_count()
    assert 0 < left < N, f"the kill did not land midway ({left} pending)"
    local.close()

    rerun = subprocess.run([sys.executable, "-m", "pos", "sync", "--batch-size", "50", "--json"],
                           env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert shop.query("SELECT count(*), count(DISTINCT code) FROM redemptions WHERE cancelled_at IS NULL") == [(N, N)]
    assert shop.query("SELECT count(*) FROM conflicts") == [(0,)]
    local = LocalDB(shop.tmp / "S001-T1-cli.db")
    states = local.outbox_counts()
    assert states.get("pending", 0) == 0
    assert states.get("accepted", 0) + states.get("duplicate", 0) == N
    # every redemption the terminal made is on the service under the same nonce
    ours = {r[0] for r in local.conn.execute("SELECT nonce FROM redemptions")}
    theirs = {r[0] for r in shop.query("SELECT nonce FROM redemptions")}
    assert ours == theirs
