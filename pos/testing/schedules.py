"""A schedule explorer: the counter, its undo, the background sync, a shell's ``pos redeem`` and a
second till, run against a real ``pos serve`` under many seeded interleavings, with invariants checked
after each.

Each actor is a thread with its own connection to its terminal file (as in the product). They run one
at a time: an actor runs until it reaches a *step point* — a request about to be sent, an answer
received, a local transaction about to begin — and parks there; the scheduler then picks, with a seeded
random choice, which parked actor goes on. So a schedule is a sequence of choices that the seed
reproduces exactly, and at every step point the other actors may have done anything. At network step
points the scheduler may also inject a fault: the request is refused (never sent) or its answer is lost
(the service acted, the terminal hears nothing).

After the schedule, the link is healed and each terminal syncs until clean; then:

- one live redemption per voucher on the service;
- each terminal's live redemptions are exactly the service's live redemptions from that terminal;
- nothing pending is forgotten (no outbox entry waiting or on its way, no journal entry pending);
- no verdict contradicts the service: an acceptance that was shown and not undone is live on the
  service under its nonce, or the terminal holds a conflict for it (two tills took it offline); a
  refusal or a successful undo leaves nothing live under its nonce.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from pos.terminal.counter import CancelError, Counter
from pos.terminal.endpoint import Endpoint, EndpointError, tls_context
from pos.terminal.localdb import LocalDB
from pos.terminal.sync import sync

WAIT = 60.0


class Killed(BaseException):
    """Raised in an actor at a step point to stop it as SIGKILL would: nothing more it does reaches the disk."""


class Stuck(RuntimeError):
    """No actor moved for a minute: a deadlock in the code under test (or in the explorer)."""


class Scheduler:
    def __init__(self, rng: random.Random, fault_rate: float, kill_rate: float = 0.0) -> None:
        self.rng = rng
        self.fault_rate = fault_rate
        self.kill_rate = kill_rate
        self.killed: set[str] = set()
        self.cv = threading.Condition()
        self.state: dict[str, str] = {}
        self.label: dict[str, str] = {}
        self.go: dict[str, threading.Event] = {}
        self.trace: list[str] = []
        self.faults = 0

    def add(self, actor: str) -> None:
        self.state[actor] = "running"
        self.go[actor] = threading.Event()

    def point(self, actor: str, label: str) -> None:
        if actor in self.killed:
            raise Killed(actor)
        with self.cv:
            self.state[actor] = "parked"
            self.label[actor] = label
            self.go[actor].clear()
            self.cv.notify_all()
        if not self.go[actor].wait(WAIT):
            raise Stuck(f"{actor} was never scheduled again after {label}")
        if actor in self.killed:
            raise Killed(actor)

    def finish(self, actor: str) -> None:
        with self.cv:
            self.state[actor] = "done"
            self.cv.notify_all()

    def fault(self, kind: str) -> bool:
        """Called by the running actor only, so the random stream stays in schedule order."""
        hit = self.rng.random() < self.fault_rate
        if hit:
            self.faults += 1
            self.trace.append(f"  fault: {kind}")
        return hit

    def run(self) -> None:
        while True:
            with self.cv:
                if not self.cv.wait_for(lambda: all(s != "running" for s in self.state.values()), WAIT):
                    raise Stuck("an actor kept running: " + ", ".join(a for a, s in self.state.items() if s == "running"))
                parked = sorted(a for a, s in self.state.items() if s == "parked")
                if not parked:
                    return
                chosen = self.rng.choice(parked)
                self.state[chosen] = "running"
                if self.rng.random() < self.kill_rate:
                    self.killed.add(chosen)
                    self.trace.append(f"{chosen}: KILLED at {self.label[chosen]}")
                else:
                    self.trace.append(f"{chosen}: {self.label[chosen]}")
            self.go[chosen].set()


class SteppedTransport(httpx.HTTPTransport):
    """Parks its actor before each request and after each answer; may refuse or lose one."""

    def __init__(self, sched: Scheduler, actor: str, *, down: bool = False) -> None:
        super().__init__(verify=tls_context())
        self.sched, self.actor, self.down = sched, actor, down

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sched.point(self.actor, f"send {request.method} {request.url.path}")
        if self.down or self.sched.fault("refused"):
            raise httpx.ConnectError("refused by the explorer", request=request)
        response = super().handle_request(request)
        response.read()
        self.sched.point(self.actor, f"answer {request.url.path}")
        if self.sched.fault("answer lost"):
            raise httpx.ReadTimeout("answer lost by the explorer", request=request)
        return response


class SteppedDB(LocalDB):
    """A terminal connection that parks its actor before each transaction."""

    def __init__(self, path: Path, sched: Scheduler, actor: str) -> None:
        self.sched, self.actor = sched, actor
        super().__init__(path)

    @contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        if not self.conn.in_transaction:
            self.sched.point(self.actor, "transaction")
        with super().atomic() as conn:
            yield conn


@dataclass
class Shown:
    """What a cashier was told, and under which nonce."""

    actor: str
    code: str
    accepted: bool
    nonce: str | None
    terminal: str


@dataclass
class Outcome:
    seed: int
    steps: int
    faults: int
    shown: list[Shown] = field(default_factory=list)
    undone: list[tuple[str, str]] = field(default_factory=list)  # (terminal, nonce)
    undoing: set[str] = field(default_factory=set)  # codes whose undo began (it may have been killed)
    kills: int = 0
    problems: list[str] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)


@dataclass
class Till:
    """A terminal id, its token and its template file (the catalog already pulled)."""

    terminal_id: str
    token: str
    template: Path


class Explorer:
    """Runs schedules against ``service_url``; ``codes`` are fresh SPRING vouchers, three per schedule."""

    def __init__(self, service_url: str, service_db: Path, tills: list[Till], codes: list[str], workdir: Path,
                 *, fault_rate: float = 0.15, kill_rate: float = 0.02) -> None:
        self.url, self.service_db, self.tills, self.codes = service_url, service_db, tills, list(codes)
        self.workdir, self.fault_rate, self.kill_rate = workdir, fault_rate, kill_rate

    def run(self, seed: int) -> Outcome:
        rng = random.Random(seed)
        sched = Scheduler(rng, self.fault_rate, self.kill_rate)
        vouchers = [self.codes.pop() for _ in range(3)]
        files: dict[str, Path] = {}
        for till in self.tills:
            files[till.terminal_id] = self.workdir / f"s{seed}-{till.terminal_id}.db"
            shutil.copy(till.template, files[till.terminal_id])
        one = _Schedule(self.url, sched, files, Outcome(seed, 0, 0))
        threads = one.actors(rng, vouchers, self.tills[0], self.tills[1])
        for th in threads:
            th.start()
        try:
            sched.run()
        finally:
            for th in threads:
                th.join(WAIT)
        out = one.out
        out.steps, out.faults, out.trace = len([t for t in sched.trace if not t.startswith(" ")]), sched.faults, sched.trace
        out.kills = len(sched.killed)
        out.problems += [f"{exc.__class__.__name__}: {exc}" for exc in one.errors]
        self._heal(files, out)
        self._check(vouchers, files, out)
        return out

    def _heal(self, files: dict[str, Path], out: Outcome) -> None:
        for till in self.tills:
            db = LocalDB(files[till.terminal_id])
            try:
                with Endpoint(self.url, till.token, timeout=10.0) as endpoint:
                    for _ in range(2):
                        report = sync(db, endpoint, "S001")
                        if report.error:
                            out.problems.append(f"{till.terminal_id}: final sync failed: {report.error}")
            finally:
                db.close()

    def _check(self, vouchers: list[str], files: dict[str, Path], out: Outcome) -> None:
        marks = ",".join("?" * len(vouchers))
        with sqlite3.connect(self.service_db) as conn:
            live = conn.execute(f"SELECT code, nonce, terminal_id FROM redemptions WHERE cancelled_at IS NULL "
                                f"AND code IN ({marks})", vouchers).fetchall()
        per_code: dict[str, int] = {}
        for code, _, _ in live:
            per_code[code] = per_code.get(code, 0) + 1
        out.problems += [f"{code} live {n} times on the service" for code, n in per_code.items() if n > 1]
        live_nonces = {nonce for _, nonce, _ in live}
        conflicts: set[str] = set()
        for till in self.tills:
            with sqlite3.connect(files[till.terminal_id]) as conn:
                mine = {r[0] for r in conn.execute("SELECT nonce FROM redemptions WHERE cancelled_at IS NULL "
                                                   "AND state='ok'")}
                conflicts |= {r[0] for r in conn.execute("SELECT nonce FROM conflicts")}
                waiting = conn.execute("SELECT count(*) FROM outbox WHERE state IN ('pending','sending')").fetchone()[0]
                pending = conn.execute("SELECT count(*) FROM journal WHERE state='pending'").fetchone()[0]
            theirs = {nonce for _, nonce, terminal in live if terminal == till.terminal_id}
            if mine != theirs:
                out.problems.append(f"{till.terminal_id}: terminal live {sorted(mine)} ≠ service live {sorted(theirs)}")
            if waiting or pending:
                out.problems.append(f"{till.terminal_id}: left pending: {waiting} outbox, {pending} journal")
        undone = {nonce for _, nonce in out.undone}
        for s in out.shown:
            if s.code in out.undoing and s.nonce not in undone:
                continue  # an undo that was killed midway: done or not, the terminal must agree (checked above)
            if s.accepted and s.nonce not in undone and s.nonce not in live_nonces and s.nonce not in conflicts:
                out.problems.append(f"{s.actor} was told {s.code} accepted ({s.nonce}); the service has it not live")
            if s.accepted and s.nonce in undone and s.nonce in live_nonces:
                out.problems.append(f"{s.actor} undid {s.code} ({s.nonce}); the service keeps it live")
            if not s.accepted and s.nonce and s.nonce in live_nonces:
                out.problems.append(f"{s.actor} was told {s.code} refused; the service has {s.nonce} live")


@contextmanager
def exploring(work: Path, schedules: int) -> Iterator[Explorer]:
    """A demo shop with three fresh SPRING vouchers per schedule, its ``pos serve`` on loopback, and two
    tills of store S001 with their catalogs pulled (copied afresh for each schedule)."""
    from datetime import UTC, datetime

    from pos.demo import TOKENS, demo_fixture
    from pos.service.admin import issue_vouchers, load_fixture
    from pos.service.schema import open_db
    from pos.testing.process import ServiceProcess

    service_db = work / "service.db"
    fixture, _ = demo_fixture(datetime.now(UTC))
    db = open_db(service_db)
    load_fixture(db, fixture)
    codes = issue_vouchers(db, "SPRING", count=3 * schedules + 3)
    db.close()
    service = ServiceProcess(service_db, log=work / "service.log").start()
    try:
        tills = []
        for tid in ("S001-T1", "S001-T2"):
            template = work / f"template-{tid}.db"
            local = LocalDB(template)
            with Endpoint(service.url, TOKENS[tid]) as endpoint:
                report = sync(local, endpoint, "S001")
            local.close()
            if report.error:
                raise RuntimeError(f"could not pull the catalog for {tid}: {report.error}")
            tills.append(Till(tid, TOKENS[tid], template))
        yield Explorer(service.url, service_db, tills, codes, work)
    finally:
        service.stop()


Program = Callable[[Counter, LocalDB, Endpoint], None]


class _Schedule:
    """One schedule's actors (the counter, the background sync, a shell's ``pos redeem``, a second till), each a
    random program drawn from the seed, run in threads that park at every step for the scheduler."""

    def __init__(self, url: str, sched: Scheduler, files: dict[str, Path], out: Outcome) -> None:
        self.url, self.sched, self.files, self.out = url, sched, files, out
        self.errors: list[BaseException] = []
        self.lock = threading.Lock()

    def actors(self, rng: random.Random, vouchers: list[str], t1: Till, t2: Till) -> list[threading.Thread]:
        plan = [rng.choice(vouchers[:2]) for _ in range(rng.randint(2, 3))]
        undo_at = rng.randrange(len(plan) + 1)
        shell_code = rng.choice(vouchers)
        till2_code = rng.choice(vouchers) if rng.random() < 0.6 else None
        syncs = rng.randint(1, 3)

        def counter_program(counter: Counter, db: LocalDB, endpoint: Endpoint) -> None:
            for i, code in enumerate(plan):
                if i == undo_at:
                    self.undo(counter, t1.terminal_id, plan[0])
                self.scan("counter", t1.terminal_id, counter, db, code)
            if undo_at == len(plan):
                self.undo(counter, t1.terminal_id, plan[-1])

        def sync_program(counter: Counter, db: LocalDB, endpoint: Endpoint) -> None:
            for _ in range(syncs):
                sync(db, endpoint, "S001", batch_size=rng.choice([1, 2, 1000]), overlap=False)

        def shell_program(counter: Counter, db: LocalDB, endpoint: Endpoint) -> None:
            from pos.terminal.sync import recover

            try:
                recover(db, endpoint)
            except EndpointError:
                pass
            self.scan("shell", t1.terminal_id, counter, db, shell_code)

        def till2_program(counter: Counter, db: LocalDB, endpoint: Endpoint) -> None:
            assert till2_code is not None
            self.scan("till2", t2.terminal_id, counter, db, till2_code)
            sync(db, endpoint, "S001", overlap=False)

        threads = [self.actor("counter", t1, counter_program), self.actor("sync", t1, sync_program),
                   self.actor("shell", t1, shell_program)]
        if till2_code is not None:
            threads.append(self.actor("till2", t2, till2_program, down=rng.random() < 0.7))
        return threads

    def actor(self, name: str, till: Till, program: Program, *, down: bool = False) -> threading.Thread:
        self.sched.add(name)

        def body() -> None:
            db = endpoint = None
            try:
                db = SteppedDB(self.files[till.terminal_id], self.sched, name)
                endpoint = Endpoint(self.url, till.token, timeout=5.0,
                                    transport=SteppedTransport(self.sched, name, down=down))
                program(Counter(db, endpoint, store_id="S001", terminal_id=till.terminal_id, budget=3600.0),
                        db, endpoint)
            except Killed:
                pass  # the connection is closed below, as the kernel would close a killed process's
            except BaseException as exc:
                with self.lock:
                    self.errors.append(exc)
            finally:
                if endpoint is not None:
                    endpoint.close()
                if db is not None:
                    db.close()
                self.sched.finish(name)
        return threading.Thread(target=body, name=f"explore-{name}")

    def scan(self, name: str, terminal: str, counter: Counter, db: LocalDB, code: str) -> None:
        decision = counter.decide(code, "alice", 62000)
        nonce = db.conn.execute("SELECT nonce FROM journal WHERE id=?", (decision.entry,)).fetchone()[0]
        counter.shown(decision.entry)
        with self.lock:
            self.out.shown.append(Shown(name, code, decision.verdict.accepted, nonce, terminal))

    def undo(self, counter: Counter, terminal: str, code: str) -> None:
        with self.lock:
            self.out.undoing.add(code)
        try:
            done = counter.cancel(code, "alice")
        except (CancelError, EndpointError):
            return
        with self.lock:
            self.out.undone.append((terminal, done.nonce))
