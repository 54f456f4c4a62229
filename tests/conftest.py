"""Shared fixtures: a real ``pos serve`` on loopback over a fresh database, and real terminals.

The service's own suites (:data:`BOTH_ENGINES`) run twice: on a SQLite file and on a fresh database
of a throwaway PostgreSQL server that the test session starts (and stops) itself."""

from __future__ import annotations

import gc
import inspect
import shutil
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pos.demo import TOKENS, demo_fixture
from pos.service.admin import load_fixture, revoke_voucher, voucher_payload
from pos.service.engine import connect
from pos.service.schema import open_db
from pos.terminal.counter import Counter
from pos.terminal.endpoint import Endpoint
from pos.terminal.localdb import LocalDB
from pos.terminal.sync import sync
from pos.testing.postgres import PostgresServer
from pos.testing.process import ServiceProcess, ServiceThread

# the suites about the service itself: each of their tests runs on SQLite and on PostgreSQL (the command line's
# own tests run on SQLite; tests/test_cli.py runs the whole demo on PostgreSQL with two service processes)
BOTH_ENGINES = {"test_redemption_flow", "test_backoffice_api", "test_promotions_service", "test_staff_auth",
                "test_unknown_outcome", "test_sync_crash", "test_idempotency_expiry", "test_failover", "test_faults",
                "test_interleavings", "test_api_fuzz", "test_concurrent_writers", "test_staff_security",
                "test_store_time", "test_back_office_service"}


@dataclass
class Shop:
    """The service process, its database file and the demo fixture's named voucher codes."""

    service: ServiceProcess | ServiceThread
    db_path: str  # a file, or a postgresql:// URL
    codes: dict[str, str]
    tmp: Path
    engine: str = "sqlite"

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Read the service's final state straight from its database."""
        db = connect(self.db_path)
        try:
            return [tuple(r) for r in db.execute(sql, args).fetchall()]
        finally:
            db.close()

    def change(self, sql: str, *args: Any) -> None:
        """Change the service's state behind its back (time passing, a test's set-up), committed at once."""
        db = connect(self.db_path)
        try:
            with db.atomic():
                db.execute(sql, args)
        finally:
            db.close()

    def dump(self) -> str:
        """Every row of every table, as text (to look for what must never be stored)."""
        db = connect(self.db_path)
        try:
            return "\n".join(repr(tuple(row)) for table in sorted(db.tables())
                             for row in db.execute(f"SELECT * FROM {table}"))
        finally:
            db.close()

    def payload(self, name: str) -> str:
        db = open_db(self.db_path)
        try:
            return voucher_payload(db, self.codes[name])
        finally:
            db.close()

    def terminal(self, terminal_id: str = "S001-T1", *, pull: bool = True, timeout: float = 10.0,
                 transport: Any = None, path: Path | None = None) -> Terminal:
        """A terminal's connection, client and counter. Two calls with the same ``path`` are two connections
        to one terminal file, as the UI's counter and its background sync (or a shell's pos redeem) are."""
        local = LocalDB(path or self.tmp / f"{terminal_id}.db")
        endpoint = Endpoint(self.service.url, TOKENS[terminal_id], timeout=timeout, transport=transport)
        store = terminal_id.split("-")[0]
        term = Terminal(terminal_id, store, local, endpoint, Counter(local, endpoint, store_id=store, terminal_id=terminal_id))
        if pull:
            report = sync(local, endpoint, store)
            assert report.error is None, report.error
        return term


@dataclass
class Terminal:
    id: str
    store_id: str
    db: LocalDB
    endpoint: Endpoint
    counter: Counter

    def sync(self, **kw: Any) -> Any:
        return sync(self.db, self.endpoint, self.store_id, **kw)


@pytest.fixture(autouse=True)
def _machine_zone() -> Iterator[None]:
    """A UI run shows times in its store's zone (a process-wide setting): each test starts from the machine's."""
    from pos.tui import i18n

    i18n.set_zone(None)
    yield
    i18n.set_zone(None)


@pytest.fixture
def snap_compare(snap_compare: Any, request: pytest.FixtureRequest) -> Any:
    """pytest-textual-snapshot's comparison, which on a mismatch also says in the test's output what differs
    (the picture it writes stays on the machine that ran the test)."""
    import pickle

    from pytest_textual_snapshot import node_to_report_path

    from tests.snapshot_text import difference

    def compare(*args: Any, **kw: Any) -> bool:
        if snap_compare(*args, **kw):
            return True
        _result, expected, actual, *_rest = pickle.loads(node_to_report_path(request.node).read_bytes())
        raise AssertionError("the screen differs from its snapshot:\n" + difference(expected, actual))

    return compare


Stop = Callable[[Any], Awaitable[None]]


def _compare_stops(snapshot: Any, app: Any, start: Stop, stops: dict[str, Stop], sizes: dict[str, tuple[int, int]],
                   leave: Stop | None = None) -> None:
    """One run of ``app``: ``start``, then for each stop its way there and a picture at each size (the terminal
    resized between them as a person resizes theirs), ``leave`` and the first size again before the next stop.
    Every picture is compared with its stored snapshot and every difference is said at the end."""
    import asyncio

    from pytest_textual_snapshot import SVGImageExtension

    from tests.snapshot_text import difference
    from tests.tui_helpers import quiet, steady

    stored = snapshot.use_extension(SVGImageExtension)
    taken: dict[str, str] = {}
    first = next(iter(sizes.values()))

    async def scenario() -> None:
        async with app.run_test(size=first) as pilot:
            await start(pilot)
            for n, (stop, there) in enumerate(stops.items()):
                if n:  # back from the stop before
                    if leave is not None:
                        await leave(pilot)
                    if tuple(app.size) != first:
                        await pilot.resize_terminal(*first)
                    await quiet(pilot)
                await there(pilot)
                for size, (width, height) in sizes.items():
                    if (width, height) != tuple(app.size):
                        await pilot.resize_terminal(width, height)
                    await steady(pilot)
                    name = size if stop == "" else f"{stop}-{size}"
                    taken[name] = app.export_screenshot(title=app.title, simplify=True)  # as pytest-textual-snapshot

    asyncio.run(scenario())
    wrong = []
    for name, picture in taken.items():
        expected = stored(name=name)
        if not expected == picture:
            wrong.append(f"at {name}:\n" + difference(str(expected), picture))
    assert not wrong, "the screen differs from its snapshot " + "\n".join(wrong)


@pytest.fixture
def pictures(snapshot: Any) -> Any:
    """One run of the app and a picture at each terminal size, each compared with its stored snapshot: the way
    there (a login, a screen, a form) taken once for every size, the terminal resized between pictures as a
    person resizes theirs. After a deliberate change: ``--snapshot-update``, then look at each picture."""

    def compare(app: Any, before: Stop, sizes: dict[str, tuple[int, int]]) -> None:
        async def nothing(pilot: Any) -> None:
            pass

        _compare_stops(snapshot, app, before, {"": nothing}, sizes)

    return compare


@pytest.fixture
def tour(snapshot: Any) -> Any:
    """Pictures of several screens or forms from one run of the app (one log-in, one start): ``start``, then each
    stop in turn, each photographed at every size (snapshots named ``<stop>-<size>``), then ``leave`` (a form
    closed) before the next. A stop finds the app as the one before it left it, as a person would."""

    def compare(app: Any, start: Stop, stops: dict[str, Stop], sizes: dict[str, tuple[int, int]],
                leave: Stop | None = None) -> None:
        _compare_stops(snapshot, app, start, stops, sizes, leave)

    return compare


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" in metafunc.fixturenames and metafunc.module.__name__.rpartition(".")[2] in BOTH_ENGINES:
        metafunc.parametrize("engine", ["sqlite", "postgres"], indirect=True)


def _parse_css_once_per_run() -> None:
    """Textual parses every widget's CSS again for each new screen of each app (its stylesheet's cache lives and
    dies with one stylesheet): a tenth of a UI test's CPU, for the same text giving the same rules each time. Here
    the rules parsed from one text, with one set of variables, are kept for the whole run. Left alone if Textual's
    method no longer has the shape this expects."""
    from textual.css.stylesheet import Stylesheet

    original = Stylesheet._parse_rules
    if list(inspect.signature(original).parameters) != ["self", "css", "read_from", "is_default_rules",
                                                         "tie_breaker", "scope"]:
        return
    parsed: dict[tuple[Any, ...], Any] = {}

    def parse_rules(self: Stylesheet, css: str, read_from: Any, is_default_rules: bool = False,
                    tie_breaker: int = 0, scope: str = "") -> Any:
        key = (css, read_from, is_default_rules, tie_breaker, scope, tuple(sorted(self._variables.items())))
        if key not in parsed:
            parsed[key] = original(self, css, read_from, is_default_rules, tie_breaker, scope)
        return parsed[key]

    Stylesheet._parse_rules = parse_rules  # type: ignore[method-assign]


# A test process holds far more live objects than the product does (every module of the service, the terminal and
# the UI, Hypothesis, schemathesis, OpenCV), and Python's collector walks all of them again at each full pass:
# at its default thresholds that was a sixth of a UI or fuzz test's CPU. Collecting young objects every 20,000
# allocations instead of every 700, and each older generation every 20 passes of the one below instead of 10, cuts
# it to a third; cycles are still collected, later.
GC_THRESHOLDS = (20_000, 20, 20)


def pytest_configure(config: pytest.Config) -> None:
    gc.set_threshold(*GC_THRESHOLDS)
    _parse_css_once_per_run()
    config.addinivalue_line("markers", "process: the shop's service runs as a child process (the test kills it "
                                       "or reads its process), not served from a thread of the test run")


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """The service's database engine: PostgreSQL too for the service's own suites, SQLite for the rest."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole session (fast settings: nothing in it outlives the run)."""
    with PostgresServer(fast=True) as server:
        yield server


@pytest.fixture
def service_db(request: pytest.FixtureRequest, engine: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty service database: a SQLite file, or a new database on the session's PostgreSQL."""
    if engine == "sqlite":
        yield str(tmp_path / "service.db")
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url.rpartition("/")[2])


def load_shop(db_path: str, fixture: dict[str, Any], codes: dict[str, str]) -> None:
    """``fixture`` loaded into a test's database, its PINs hashed at :data:`TEST_PIN_COST`."""
    db = open_db(db_path)
    try:
        with cheap_pins():
            load_fixture(db, fixture)
        if "revoked" in codes:
            revoke_voucher(db, codes["revoked"])
    finally:
        db.close()


@contextmanager
def serving(tmp_path: Path, db_path: str, fixture: dict[str, Any] | None, codes: dict[str, str], *,
            process: bool = False) -> Iterator[Shop]:
    """``fixture`` loaded into the database at ``db_path`` (None: it is there already) and the service over it
    on loopback — served from a thread of this run, or as a real ``pos serve`` process — stopped after."""
    if fixture is not None:
        load_shop(db_path, fixture, codes)
    service = (ServiceProcess(db_path, log=tmp_path / "service.log") if process else ServiceThread(db_path))
    with service:
        yield Shop(service, db_path, codes, tmp_path, "postgres" if db_path.startswith("postgresql:") else "sqlite")


TEST_PIN_COST = 2**10


@contextmanager
def cheap_pins() -> Iterator[None]:
    """PINs hashed at a sixteenth of the product's scrypt cost (``pos.domain.pins.N``) while a test's shop is
    loaded: each log-in of a test then pays about 4 ms instead of 60 (a stored hash names its own cost, so the
    service verifies it as it is). The product's cost is checked on fresh hashes in tests/test_staff_auth.py."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("pos.domain.pins.N", TEST_PIN_COST)
        yield


@dataclass(frozen=True)
class DemoShop:
    """The demo shop loaded once per run; each test gets a copy (its PINs hashed at :data:`TEST_PIN_COST`)."""

    fixture: dict[str, Any]
    codes: dict[str, str]
    sqlite: Path


@pytest.fixture(scope="session")
def demo_shop(tmp_path_factory: pytest.TempPathFactory) -> DemoShop:
    fixture, codes = demo_fixture(datetime.now(UTC))  # validity windows are days wide: a run's minutes don't matter
    path = tmp_path_factory.mktemp("demo-shop") / "service.db"
    load_shop(str(path), fixture, codes)
    assert not path.with_name(path.name + "-wal").exists(), "the template must be complete in its main file"
    return DemoShop(fixture, codes, path)


_PG_TEMPLATE = "demo_shop_template"


@pytest.fixture
def shop(request: pytest.FixtureRequest, engine: str, tmp_path: Path, demo_shop: DemoShop) -> Iterator[Shop]:
    """The demo shop on a fresh copy of its database, served on loopback; ``@pytest.mark.process`` for a child
    process instead of a thread."""
    process = request.node.get_closest_marker("process") is not None
    if engine == "sqlite":
        db_path = str(tmp_path / "service.db")
        shutil.copyfile(demo_shop.sqlite, db_path)
        with serving(tmp_path, db_path, None, dict(demo_shop.codes), process=process) as running:
            yield running
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    if not server.has_database(_PG_TEMPLATE):
        load_shop(server.create_database(_PG_TEMPLATE), demo_shop.fixture, demo_shop.codes)
    url = server.create_database(template=_PG_TEMPLATE)
    try:
        with serving(tmp_path, url, None, dict(demo_shop.codes), process=process) as running:
            yield running
    finally:
        server.drop_database(url.rpartition("/")[2])
