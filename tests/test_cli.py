"""The ``pos`` command as a user runs it: real processes, exit codes, JSON output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pos.demo import TOKENS
from pos.domain import display
from pos.domain import payload as qr
from pos.terminal.config import TerminalConfig, write

from .conftest import Shop


def pos(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pos", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def configure(shop: Shop, terminal_id: str = "S001-T1") -> dict[str, str]:
    path = shop.tmp / f"{terminal_id}.toml"
    write(path, TerminalConfig(service_url=shop.service.url, token=TOKENS[terminal_id], store_id="S001",
                               terminal_id=terminal_id, staff_id="alice", database=shop.tmp / f"{terminal_id}-cli.db"))
    return {"POS_CONFIG": str(path)}


def test_redeem_exit_codes_and_json(shop: Shop) -> None:
    env = configure(shop)
    assert pos("sync", "--json", env=env).returncode == 0
    ok = pos("redeem", shop.codes["spring"], "--amount", "620", "--json", env=env)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["reason"] == "ok" and json.loads(ok.stdout)["discount"] == 3000
    again = pos("redeem", shop.codes["spring"], "--amount", "620", env=env)
    assert again.returncode == 1 and "already_redeemed" in again.stdout
    assert shop.query("SELECT count(*) FROM redemptions") == [(1,)]


def test_bad_amount_and_missing_configuration_are_clear_errors(shop: Shop, tmp_path: Path) -> None:
    env = configure(shop)
    for amount, words in (("abc", "not an amount"), ("-5", "zero or more"), ("1.005", "two decimals")):
        r = pos("redeem", shop.codes["spring"], "--amount", amount, env=env)
        assert r.returncode == 2 and words in r.stderr, r.stderr
    r = pos("redeem", shop.codes["spring"], env={"POS_CONFIG": ""}, cwd=tmp_path)
    assert r.returncode == 2 and "not configured" in r.stderr
    assert shop.query("SELECT count(*) FROM redemptions") == [(0,)]


def test_sync_json_summary_and_failure_when_service_is_down(shop: Shop) -> None:
    env = configure(shop)
    assert pos("sync", env=env).returncode == 0
    shop.service.stop()
    offline = pos("redeem", shop.codes["spring"], "--amount", "600", "--json", env=env)
    assert offline.returncode == 0 and json.loads(offline.stdout)["offline"] is True
    down = pos("sync", "--json", env=env)
    assert down.returncode == 2 and json.loads(down.stdout)["error"]
    listed = pos("outbox", env=env)  # what waits, item by item, not only a count
    assert "redeem" in listed.stdout and display(shop.codes["spring"]) in listed.stdout and "600.00" in listed.stdout
    assert "(UTC)" in listed.stdout and "Z " not in listed.stdout  # on the store's clock, its zone named
    [item] = json.loads(pos("outbox", "--json", env=env).stdout)["waiting"]
    assert (item["kind"], item["code"], item["amount"]) == ("redeem", shop.codes["spring"], 60000)
    shop.service.start()
    up = pos("sync", "--json", env=env)
    summary = json.loads(up.stdout)
    assert up.returncode == 0 and summary["ok"] and summary["uploaded"] == {"accepted": 1}
    assert shop.query("SELECT mode FROM redemptions") == [("offline",)]
    status = json.loads(pos("outbox", "--json", env=env).stdout)
    assert status["outbox"] == {"accepted": 1} and status["conflicts"] == [] and status["waiting"] == []


def test_sync_exit_status_reports_conflicts(shop: Shop) -> None:
    env1, env2 = configure(shop, "S001-T1"), configure(shop, "S001-T2")
    pos("sync", env=env1), pos("sync", env=env2)
    shop.service.stop()
    assert pos("redeem", shop.codes["spring"], "--amount", "600", env=env1).returncode == 0
    assert pos("redeem", shop.codes["spring"], "--amount", "600", env=env2).returncode == 0
    shop.service.start()
    assert pos("sync", env=env1).returncode == 0
    second = pos("sync", "--json", env=env2)
    assert second.returncode == 1 and json.loads(second.stdout)["conflicts"][0]["reason"] == "already_redeemed"


def test_cancel_command(shop: Shop) -> None:
    env = configure(shop)
    pos("sync", env=env)
    assert pos("redeem", shop.codes["spring"], "--amount", "600", env=env).returncode == 0
    r = pos("cancel", shop.codes["spring"], env=env)
    assert r.returncode == 0 and "undone" in r.stdout
    assert pos("cancel", shop.codes["spring"], env=env).returncode == 1
    assert shop.query("SELECT cancelled_at IS NOT NULL FROM redemptions") == [(1,)]


def test_issue_vouchers_prints_codes_and_signed_payloads(shop: Shop) -> None:
    r = pos("vouchers", "issue", "SPRING", "-n", "3", "--json", "--db", str(shop.db_path))
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(lines) == 3
    (kid, public), = shop.query("SELECT kid, public FROM keys")
    for v in lines:
        parsed = qr.parse(v["payload"])
        assert parsed.kid == kid and parsed.claims.code == v["code"] and qr.verify(parsed, bytes.fromhex(public))
    assert shop.query("SELECT count(*) FROM vouchers WHERE campaign_id='SPRING'") == [(8,)]
    missing = pos("vouchers", "issue", "NOPE", "--db", str(shop.db_path))
    assert missing.returncode == 2 and "no campaign" in missing.stderr


def test_bad_fixture_loads_nothing(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"stores": [{"id": "S1", "name": "One"}], "staff": [{"id": "x", "name": "X", "role": "boss"}]}))
    r = pos("load", str(bad), "--db", str(db))
    assert r.returncode == 2 and "role 'boss'" in r.stderr
    broken = tmp_path / "broken.toml"
    broken.write_text("[[stores]\nid=")
    r = pos("load", str(broken), "--db", str(db))
    assert r.returncode == 2 and "not valid TOML" in r.stderr
    misfit = tmp_path / "misfit.json"  # a gift promotion cannot have an order rule: said, and nothing loaded
    misfit.write_text(json.dumps({"stores": [{"id": "S1", "name": "One"}], "campaigns": [{
        "id": "G", "name": "Gift", "kind": "gift", "begins_at": "2026-01-01T00:00:00Z", "ends_at": "2026-02-01T00:00:00Z",
        "rule": {"mode": "items_off", "quota": 3, "rate": 1}}]}))
    r = pos("load", str(misfit), "--db", str(db))
    assert r.returncode == 2 and "campaigns: 'G'" in r.stderr and "order rule" in r.stderr, r.stderr
    import sqlite3
    assert sqlite3.connect(db).execute("SELECT count(*) FROM stores").fetchone() == (0,)


def test_example_fixture_loads(tmp_path: Path) -> None:
    example = Path(__file__).parent.parent / "assets" / "fixture.example.toml"
    r = pos("load", str(example), "--db", str(tmp_path / "s.db"))
    assert r.returncode == 0, r.stderr
    assert "2 stores" in r.stdout and "campaigns" in r.stdout


def test_demo_runs_every_case_and_leaves_no_service_behind(tmp_path: Path) -> None:
    r = pos("demo", "--dir", str(tmp_path / "demo"))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "Every step gave the expected verdict" in r.stdout
    for reason in ("already_redeemed", "forged", "malformed", "expired", "store_not_allowed", "staff_not_verifier",
                   "offline_not_allowed", "limit_reached", "not_yet_valid", "revoked", "rules_not_met"):
        assert reason in r.stdout, reason
    procs = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(tmp_path / "demo") not in procs


def test_demo_on_postgresql_runs_the_same_shop_with_two_service_processes() -> None:
    import shutil
    import tempfile

    workdir = Path(tempfile.mkdtemp(prefix="pos-demo-"))  # the server runs as the postgres user: not in a 0700 folder
    workdir.chmod(0o755)
    try:
        r = pos("demo", "--walk", "--postgres", "--dir", str(workdir / "demo"))
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        assert "Every step gave the expected verdict" in r.stdout and "2 processes on PostgreSQL" in r.stdout
        procs = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        assert str(workdir) not in procs  # neither the service nor the PostgreSQL server is left running
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_bad_ports_and_missing_databases_are_refused_before_anything_happens(tmp_path) -> None:
    from click.testing import CliRunner

    from pos.cli import main

    runner = CliRunner()
    served = runner.invoke(main, ["serve", "--port", "99999", "--db", str(tmp_path / "s.db")])
    assert served.exit_code == 2 and "99999" in served.output and not (tmp_path / "s.db").exists()
    for args in (["vouchers", "issue", "SPRING", "-n", "1"], ["vouchers", "revoke", "ABCD"],
                 ["terminals", "add", "T9", "--store", "S001"]):
        result = runner.invoke(main, [*args, "--db", str(tmp_path / "typo.db")])
        assert result.exit_code == 2 and "does not exist" in result.output, (args, result.output)
    assert not (tmp_path / "typo.db").exists()  # no empty database left behind
