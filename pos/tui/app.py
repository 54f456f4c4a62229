"""The app: thin on purpose. It owns the station (counter machinery), the link indicator, the shift
and the modes; each place in the UI is a screen in :mod:`pos.tui.screens`."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable
from functools import partial
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.worker import get_current_worker

from pos.terminal.config import TerminalConfig
from pos.terminal.counter import Clock, utcnow
from pos.terminal.endpoint import Endpoint
from pos.terminal.localdb import LocalDB
from pos.terminal.login import Shift
from pos.terminal.sync import SyncReport, sync
from pos.tui.i18n import _, language_from_env, set_language, set_zone
from pos.tui.jobs import work
from pos.tui.keys import translate_bindings
from pos.tui.screens.campaigns import CampaignsScreen
from pos.tui.screens.confirm import Confirm
from pos.tui.screens.counter import CounterScreen
from pos.tui.screens.login import LoginScreen
from pos.tui.screens.pushes import PushesScreen
from pos.tui.screens.reports import ReportsScreen
from pos.tui.screens.staff import StaffScreen
from pos.tui.screens.sync import SyncScreen
from pos.tui.screens.vouchers import VouchersScreen
from pos.tui.station import Station
from pos.tui.widgets.status import StatusLine

#: mode → (screen, manager only, needs the service)
MODES_AVAILABLE: dict[str, tuple[type[Screen[Any]], bool, bool]] = {
    "counter": (CounterScreen, False, False),
    "campaigns": (CampaignsScreen, True, True),
    "staff": (StaffScreen, True, True),
    "vouchers": (VouchersScreen, True, True),
    "sync": (SyncScreen, True, False),
    "reports": (ReportsScreen, True, True),
    "pushes": (PushesScreen, True, True),
}

Hint = tuple[str, str, str]  # (what it is, what to submit, how to show it)


class PosApp(App[None]):
    CSS_PATH = "pos.tcss"
    TITLE = "pos"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "show('counter')", "Counter", tooltip="Go to the counter", id="mode.counter"),
        Binding("f2", "show('campaigns')", "Campaigns", tooltip="Campaign list, create, edit, lifecycle", id="mode.campaigns"),
        Binding("f3", "show('staff')", "Staff", tooltip="Staff members and verifier rights", id="mode.staff"),
        Binding("f4", "show('vouchers')", "Vouchers", tooltip="Issue vouchers and export them", id="mode.vouchers"),
        Binding("f5", "show('sync')", "Sync", tooltip="Outbox, conflicts and sync now", id="mode.sync"),
        Binding("f6", "show('reports')", "Reports", tooltip="Redemptions per campaign, store and day", id="mode.reports"),
        Binding("f7", "show('pushes')", "Pushes", tooltip="Coupon pushes by e-mail: schedule, preview, cancel",
                id="mode.pushes"),
        Binding("ctrl+l", "logout", "Log out", tooltip="End this shift and return to the login", id="logout"),
        Binding("ctrl+q", "leave", "Quit", tooltip="Close the app (asks first while a shift is open)", id="quit",
                priority=True),
    ]

    def __init__(self, cfg: TerminalConfig, *, hints: list[Hint] | None = None, clock: Clock = utcnow,
                 probe_every: float = 3.0, camera: str | None = None,
                 auto_login: tuple[str, str] | None = None, transport: Any = None) -> None:
        super().__init__()
        translate_bindings(self)
        self.cfg = cfg
        self.clock = clock
        self.hints = hints or []
        self.camera_source = camera
        self.transport = transport  # an httpx transport for every call to the service (tests hold requests)
        self.station = Station(cfg, clock=clock, transport=transport)
        self.office = self._endpoint(10.0)
        self._probe_endpoint = self._endpoint(1.0)
        self.log_path = Path(cfg.database).with_name("pos-ui.log")
        # where the back office saves what it exports (reports, vouchers, templates): beside the terminal's
        # own file, whatever folder the UI was started from
        self.exports = Path(cfg.database).resolve().parent
        self.failures = 0  # workers that failed this session (each told on screen and logged)
        self.probe_every = probe_every
        self.pull_every = 300.0  # seconds between background syncs (catalog pull, outbox push)
        self.shift: Shift | None = None
        self.online: bool | None = None
        self.waiting = 0
        self.store_label = cfg.store_id
        self._modes_added: list[str] = []
        self.syncing = False
        self.auto_login = auto_login  # the demo opens on a logged-in counter

    def _endpoint(self, timeout: float) -> Endpoint | None:
        if not self.cfg.service_url:
            return None
        return Endpoint(self.cfg.service_url, self.cfg.token, timeout=timeout, transport=self.transport)

    # -- failures --------------------------------------------------------------------------------
    def worker_failed(self, what: str, exc: BaseException) -> None:
        """The one handler for a failed worker (see :mod:`pos.tui.jobs`): log it, say it, carry on."""
        self.failures += 1
        logger = logging.getLogger("pos.ui")
        target = str(self.log_path.resolve())
        for old in [h for h in logger.handlers if isinstance(h, RotatingFileHandler) and h.baseFilename != target]:
            logger.removeHandler(old)  # an earlier app in this process wrote beside another terminal file
            old.close()
        if not any(isinstance(h, RotatingFileHandler) for h in logger.handlers):
            try:
                handler = RotatingFileHandler(self.log_path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
            except OSError:
                handler = None
            if handler is not None:
                handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
                logger.addHandler(handler)
                logger.setLevel(logging.INFO)
        logger.error("%s failed: %s\n%s", what, exc,
                     "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        self.notify(_("Something went wrong ({what}: {error}). Nothing was lost; the counter keeps working. Details are in {log}.",
                      what=what, error=str(exc)[:120] or exc.__class__.__name__,
                      log=str(self.log_path)), severity="error", timeout=15)
        self.bell()

    # -- life ----------------------------------------------------------------------------------
    async def on_mount(self) -> None:
        await self.know_store()
        self.add_mode("login", LoginScreen)
        await self.switch_mode("login")
        if self.auto_login is not None:
            await self.begin_shift(await self.station.sign_in(*self.auto_login))
        if self._probe_endpoint is not None:
            self.start_sync(None, None)  # fresh campaigns, staff and vouchers; the outbox goes up
            self.set_interval(self.pull_every, lambda: self.start_sync(None, None))
            if self.probe_every > 0:
                self.probe()
                self.set_interval(self.probe_every, self.probe)

    async def on_unmount(self) -> None:
        self.workers.cancel_all()
        self.station.close()
        for endpoint in (self.office, self._probe_endpoint):
            if endpoint is not None:
                endpoint.close()

    async def begin_shift(self, shift: Shift) -> None:
        self.shift = shift
        for mode, (screen, manager_only, _needs) in MODES_AVAILABLE.items():
            if not manager_only or shift.is_manager:
                self.add_mode(mode, screen)
                self._modes_added.append(mode)
        await self.switch_mode("counter")
        if not shift.online:
            self.notify(_("Logged in offline: the service cannot be reached."), severity="warning")
        self.refresh_bindings()

    def action_leave(self) -> None:
        """Quit; with a shift open, only after the person confirms (a stray Ctrl+Q must not close the till)."""
        if self.shift is None:
            self.exit()
            return
        if isinstance(self.screen, Confirm):
            return
        question = _("Close the app and end {name}'s shift? Offline redemptions stay in the outbox.",
                     name=self.shift.name)
        self.push_screen(Confirm(question, _("Yes, quit")), lambda yes: self.exit() if yes else None)

    async def action_logout(self) -> None:
        if self.shift is None:
            return
        await self.switch_mode("login")
        for mode in self._modes_added:
            await self.remove_mode(mode)
        self._modes_added.clear()
        self.shift = None
        self.refresh_bindings()

    # -- navigation -----------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "show":
            mode = str(parameters[0])
            if self.shift is None or mode not in self._modes_added:
                return False  # hidden: a cashier does not see the back office at all
            needs_service = MODES_AVAILABLE[mode][2]
            return None if needs_service and not self.shift.online else True  # greyed out when offline
        if action == "logout":
            return self.shift is not None
        return True

    async def action_show(self, mode: str) -> None:
        if self.shift is None:
            return
        if mode not in self._modes_added:
            self.notify(_("Only a manager may open this screen."), severity="error")
            return
        if MODES_AVAILABLE[mode][2] and not self.shift.online:
            self.notify(_("This needs the service; you are logged in offline."), severity="error")
            return
        await self.switch_mode(mode)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The palette lists every action the footer offers, with its key, so each one can be found by name."""
        yield from super().get_system_commands(screen)
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.description or not active.enabled or binding.action in seen:
                continue
            seen.add(binding.action)
            yield SystemCommand(f"{binding.description} ({self.get_key_display(binding)})",
                                binding.tooltip or binding.description, partial(self.run_action, binding.action, active.node))

    # -- the link and the outbox ----------------------------------------------------------------
    @work(thread=True, exclusive=True, group="probe")
    def probe(self) -> None:
        assert self._probe_endpoint is not None
        ok = self._probe_endpoint.health()
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self.saw_link, ok)

    def saw_link(self, online: bool) -> None:
        """What the last contact with the service said; coming back online starts an upload of the outbox."""
        was = self.online
        self.online = online
        if online and was is False and self.waiting and self.shift is not None:
            self.notify(_("Back online: uploading {n} offline redemption(s)…", n=self.waiting))
            self.start_sync(None, lambda report: self.notify(
                _("Uploaded {n}; {c} conflict(s).", n=sum(report.results.values()), c=len(report.conflicts))))
        self.refresh_status()

    async def know_store(self) -> None:
        """The store's name for the status line, and its zone for every time shown (the machine's own zone
        until the first catalog pull names it)."""
        name, zone = await self.station.store()
        self.store_label = f"{name} ({self.cfg.store_id})" if name else self.cfg.store_id
        set_zone(zone)

    @work(exclusive=True, group="status")
    async def refresh_status(self) -> None:
        self.waiting = await self.station.pending()
        await self.know_store()  # a first start: the store's name and zone come with the catalog
        staff = f"{self.shift.name} ({_(self.shift.role)})" if self.shift else None
        for line in self.screen.query(StatusLine):
            line.show(store=self.store_label, terminal=self.cfg.terminal_id, staff=staff, online=self.online,
                      waiting=self.waiting)

    def start_sync(self, progress: Callable[[str, int, int], None] | None,
                   done: Callable[[SyncReport], None] | None) -> None:
        if not self.syncing:
            self.syncing = True
            self._sync(progress, done)

    @work(thread=True, group="sync")
    def _sync(self, progress: Callable[[str, int, int], None] | None, done: Callable[[SyncReport], None] | None) -> None:
        """A sync with its own connection and client, in its own thread: the counter keeps answering."""
        try:
            db = LocalDB(self.cfg.database)
            endpoint = Endpoint(self.cfg.service_url, self.cfg.token, timeout=max(self.cfg.timeout, 10.0),
                                transport=self.transport)
            try:
                report = sync(db, endpoint, self.cfg.store_id, progress=(
                    (lambda phase, n, total: self.call_from_thread(progress, phase, n, total)) if progress else None))
            finally:
                endpoint.close()
                db.close()
        except Exception as exc:  # a sync that could not even start still ends, and says why
            report = SyncReport(error=f"{exc.__class__.__name__}: {exc}")
        self.call_from_thread(self._synced, report, done)

    def _synced(self, report: SyncReport, done: Callable[[SyncReport], None] | None) -> None:
        self.syncing = False
        if report.error is None:
            self.online = True
        if done is not None:
            done(report)
        self.refresh_status()


def make_app(cfg: TerminalConfig, *, language: str | None = None, hints: list[Hint] | None = None,
             clock: Clock = utcnow, probe_every: float = 3.0, camera: str | None = None,
             auto_login: tuple[str, str] | None = None, transport: Any = None) -> PosApp:
    """The app for ``pos``, ``pos demo`` and the tests alike."""
    set_language(language_from_env(language))
    return PosApp(cfg, hints=hints, clock=clock, probe_every=probe_every, camera=camera, auto_login=auto_login,
                  transport=transport)
