"""Several hosts of one service: a terminal lists them and goes to the next one when a host cannot be
reached; two ``pos serve`` processes on one database give one answer per voucher."""

from __future__ import annotations

import fcntl
import os
import signal
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pos.demo import TOKENS
from pos.domain import read_input
from pos.service.engine import connect
from pos.terminal.counter import Counter
from pos.terminal.endpoint import Endpoint
from pos.terminal.localdb import LocalDB
from pos.terminal.sync import sync
from pos.testing.process import ServiceProcess, free_port

from .conftest import Shop


def test_a_host_that_cannot_be_reached_is_skipped_and_the_one_that_answers_kept(shop: Shop) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    endpoint = Endpoint(f"{dead}, {shop.service.url}", TOKENS["S001-T1"])
    assert endpoint.lookup("never-sent-0001") is None  # answered by the second host
    assert endpoint.current == shop.service.url
    answer = endpoint.redeem(nonce="failover-0001", code=shop.codes["spring"], staff_id="alice", store_id="S001",
                             amount=62000)
    assert answer["verdict"]["accepted"]
    assert shop.query("SELECT count(*) FROM redemptions WHERE cancelled_at IS NULL") == [(1,)]


@pytest.mark.process
def test_two_service_processes_on_one_database_with_terminals_failing_over(shop: Shop, tmp_path: Path) -> None:
    second = ServiceProcess(shop.db_path, log=tmp_path / "second.log").start()
    try:
        urls = f"{shop.service.url}, {second.url}"
        local = LocalDB(tmp_path / "till.db")
        endpoint = Endpoint(urls, TOKENS["S001-T1"])
        assert sync(local, endpoint, "S001").error is None
        counter = Counter(local, endpoint, store_id="S001", terminal_id="S001-T1")
        assert counter.redeem(shop.codes["spring"], "alice", 62000).accepted
        assert endpoint.current == shop.service.url
        shop.service.kill()  # the first host dies
        verdict = counter.redeem(shop.codes["spring2"], "alice", 62000)
        assert verdict.accepted and not verdict.offline and endpoint.current == second.url
        other = Endpoint(second.url, TOKENS["S001-T2"])
        again = other.redeem(nonce="failover-0002", code=shop.codes["spring"], staff_id="alice", store_id="S001",
                             amount=62000)
        assert again["verdict"]["reason"] == "already_redeemed"  # what the first host wrote, the second knows
        shop.service.start()

        # 50 tills redeem one voucher at the same moment, half through each process: one acceptance
        def attempt(i: int) -> bool:
            url = shop.service.url if i % 2 else second.url
            with Endpoint(url, TOKENS["S001-T1"], timeout=10.0) as e:
                return bool(e.redeem(nonce=f"race-{i:04d}-of-50", code=shop.codes["spring3"], staff_id="alice",
                                     store_id="S001", amount=62000)["verdict"]["accepted"])

        with ThreadPoolExecutor(max_workers=50) as pool:
            accepted = sum(pool.map(attempt, range(50)))
        assert accepted == 1
        assert shop.query("SELECT count(*) FROM redemptions WHERE code=? AND cancelled_at IS NULL",
                          shop.codes["spring3"]) == [(1,)]
        endpoint.close()
        other.close()
        local.close()
    finally:
        second.stop()


def test_readyz_says_whether_a_host_can_take_requests(shop: Shop) -> None:
    import httpx

    ready = httpx.get(shop.service.url + "/readyz")
    assert ready.status_code == 200 and ready.json() == {"ready": True, "problems": []}
    assert httpx.get(shop.service.url + "/healthz").json()["ok"]


def test_readyz_is_503_once_a_newer_pos_has_upgraded_the_database(shop: Shop) -> None:
    """Hosts are upgraded one by one: one that still runs the old pos leaves the pool when the schema moves on."""
    import httpx

    from pos.service import migrations

    shop.change("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'next', ?)",
                migrations.LATEST + 1, "2030-01-01T00:00:00Z")
    answer = httpx.get(shop.service.url + "/readyz")
    assert answer.status_code == 503 and "newer" in " ".join(answer.json()["problems"]), answer.json()


def test_readyz_is_503_while_the_writer_is_not_running(tmp_path: Path) -> None:
    import asyncio

    import httpx

    from pos.service.api import create_app

    app = create_app(tmp_path / "service.db")  # lifespan not run: the writer never started

    async def ask() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as client:
            return await client.get("/readyz")

    answer = asyncio.run(ask())
    assert answer.status_code == 503 and answer.json()["problems"] == ["writer: not running"]


@pytest.mark.process
def test_sigterm_lets_the_redemption_in_flight_finish_and_stops_taking_new_ones(shop: Shop) -> None:
    """A load balancer takes a host out and sends it SIGTERM while a redemption is on its way through: the
    host stops listening at once, but finishes that redemption (answered, on disk) before it exits."""
    code = read_input(shop.codes["spring"])[0]
    proc = shop.service.proc
    assert proc is not None
    if shop.engine == "postgres":  # hold the voucher: the service's transaction waits for it
        holder, watcher = connect(shop.db_path), connect(shop.db_path)
        holder.begin_write()
        holder.lock(f"voucher:{code}")

        def waiting() -> bool:
            return bool(watcher.execute("SELECT count(*) FROM pg_locks WHERE locktype='advisory' AND NOT granted")
                        .fetchone()[0])

        def release() -> None:
            holder.execute("COMMIT")
            holder.close()
            watcher.close()
    else:  # hold the writers' turn: the service's writer waits for it
        fd = os.open(f"{shop.db_path}.writer-lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)

        def waiting() -> bool:
            return any(" -> FLOCK " in line and f" {proc.pid} " in line for line in Path("/proc/locks").read_text().splitlines())

        def release() -> None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    with ThreadPoolExecutor(1) as pool, Endpoint(shop.service.url, TOKENS["S001-T1"], timeout=30.0) as e:
        pending = pool.submit(e.redeem, nonce="in-flight-0001", code=shop.codes["spring"], staff_id="alice",
                              store_id="S001", amount=62000)
        try:
            while not waiting():
                assert not pending.done(), pending.result()
            proc.send_signal(signal.SIGTERM)
            while listening(shop.service.port):  # the host leaves the pool at once …
                assert proc.poll() is None
        finally:
            release()
        answer = pending.result()  # … and answers what it had begun
    assert answer["verdict"]["accepted"]
    assert proc.wait(30) in (0, -signal.SIGTERM)  # drained, then ended by the signal (as uvicorn re-raises it)
    assert shop.query("SELECT count(*) FROM redemptions WHERE nonce='in-flight-0001'") == [(1,)]


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
