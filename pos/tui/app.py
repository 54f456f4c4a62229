"""The app: thin on purpose. It owns the station (counter machinery), the link indicator, the shift
and the modes; each place in the UI is a screen in :mod:`pos.tui.screens`.

The login screen is drawn first, with nothing else loaded: the terminal's file, the service's client,
the counter and the back office are imported and opened after that first frame, while the cashier types
(see :meth:`PosApp.on_mount`); a back-office screen's module loads when its mode is first shown.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.worker import get_current_worker

import pos
from pos.terminal.config import TerminalConfig
from pos.tui import support
from pos.tui.i18n import _, language_from_env, n_, set_language, set_zone
from pos.tui.jobs import work
from pos.tui.screens.confirm import Confirm
from pos.tui.screens.login import LoginScreen
from pos.tui.station import Station, terminal_modules
from pos.tui.widgets.status import StatusLine

if TYPE_CHECKING:
    from pos.terminal.endpoint import Endpoint
    from pos.terminal.login import Shift
    from pos.terminal.sync import SyncReport

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


#: mode → (the screen, as "module:class", imported when the mode is first shown; manager only; needs the service)
MODES_AVAILABLE: dict[str, tuple[str, bool, bool]] = {
    "counter": ("pos.tui.screens.counter:CounterScreen", False, False),
    "campaigns": ("pos.tui.screens.campaigns:CampaignsScreen", True, True),
    "staff": ("pos.tui.screens.staff:StaffScreen", True, True),
    "vouchers": ("pos.tui.screens.vouchers:VouchersScreen", True, True),
    "sync": ("pos.tui.screens.sync:SyncScreen", True, False),
    "reports": ("pos.tui.screens.reports:ReportsScreen", True, True),
    "pushes": ("pos.tui.screens.pushes:PushesScreen", True, True),
}


def screen_class(mode: str) -> type[Screen[Any]]:
    module, _sep, name = MODES_AVAILABLE[mode][0].partition(":")
    screen: type[Screen[Any]] = getattr(importlib.import_module(module), name)
    return screen


def new_screen(mode: str) -> Screen[Any]:
    return screen_class(mode)()

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
        self.cfg = cfg
        self.clock = clock
        self.hints = hints or []
        self.camera_source = camera
        self.transport = transport  # an httpx transport for every call to the service (tests hold requests)
        self.station = Station(cfg, clock=clock, transport=transport)
        self._office: Endpoint | None = None  # clients are made when first used (each costs an SSL context)
        self._probe_endpoint: Endpoint | None = None
        self.log_path = Path(cfg.database).with_name("pos-ui.log")
        # where the back office saves what it exports (reports, vouchers, templates): beside the terminal's
        # own file, whatever folder the UI was started from
        self.exports = Path(cfg.database).resolve().parent
        self.failures = 0  # workers that failed this session (each told on screen and logged)
        self.probe_every = probe_every
        self.pull_every = 300.0  # seconds between background syncs (catalog pull, outbox push)
        self.shift: Shift | None = None
        self.online: bool | None = None
        self.waiting: int | None = None  # unknown until the terminal's file has been read
        self.store_label = cfg.store_id
        self._modes_added: list[str] = []
        self._login_mode = False  # the login's own mode, added when a first shift ends (the first login is the default's)
        self.syncing = False
        self.auto_login = auto_login  # the demo opens on a logged-in counter
        self.counter: Any = None  # the counter screen of the next (or this) shift, built before the login

    def _endpoint(self, timeout: float) -> Endpoint | None:
        if not self.cfg.service_url:
            return None
        from pos.terminal.endpoint import Endpoint

        return Endpoint(self.cfg.service_url, self.cfg.token, timeout=timeout, transport=self.transport)

    @property
    def office(self) -> Endpoint | None:
        """The back office's client (longer timeout), made when a back-office screen first needs it."""
        if self._office is None:
            self._office = self._endpoint(10.0)
        return self._office

    # -- failures --------------------------------------------------------------------------------
    def worker_failed(self, what: str, exc: BaseException) -> None:
        """The one handler for a failed worker (see :mod:`pos.tui.jobs`): log it, say it, carry on."""
        self.failures += 1
        support.open_log(self.log_path)
        support.failure(what, exc)
        self.notify(_("Something went wrong ({what}: {error}). Nothing was lost; the counter keeps working. Details are in {log}.",
                      what=what, error=str(exc)[:120] or exc.__class__.__name__,
                      log=str(self.log_path)), severity="error", timeout=15)
        self.bell()

    # -- life ----------------------------------------------------------------------------------
    def get_default_screen(self) -> Screen[Any]:
        """The login screen is the app's first (its default mode's): drawn with no mode to set up first."""
        return LoginScreen()

    async def on_mount(self) -> None:
        """The login screen first; the rest once it is on the screen (:meth:`_open`)."""
        if self.cfg.service_url:
            self.syncing = True  # the first sync is due: it starts as soon as the station is open
        self.call_after_refresh(self._open)

    @work(group="open")
    async def _open(self) -> None:
        """After the first frame: the station opens the terminal's file and loads the counter (in its own
        thread, while the cashier types), then the counter screen's module; then the store's name, the
        first sync and the link probe."""
        support.open_log(self.log_path)
        support.event("start", terminal=self.cfg.terminal_id, store=self.cfg.store_id, version=pos.__version__,
                      service=self.cfg.service_url or None)
        try:
            await self.station.open()
        except Exception as exc:  # the terminal's file cannot be opened (unreadable, a newer pos's): nothing works
            self.exit(return_code=1, message=f"Cannot open the terminal's file: {exc.__class__.__name__}: {exc}")
            return
        await asyncio.to_thread(screen_class, "counter")
        await self.know_store()
        self.refresh_status()
        self.prepare_counter()
        if self.auto_login is not None:
            await self.begin_shift(await self.station.sign_in(*self.auto_login))
        if self.cfg.service_url:
            self.syncing = False
            self.start_sync(None, None)  # fresh campaigns, staff and vouchers; the outbox goes up
            self.set_interval(self.pull_every, lambda: self.start_sync(None, None))
            if self.probe_every > 0:
                self.probe()
                self.set_interval(self.probe_every, self.probe)

    async def on_unmount(self) -> None:
        self.workers.cancel_all()
        self.station.close()
        for endpoint in (self._office, self._probe_endpoint):
            if endpoint is not None:
                endpoint.close()

    def prepare_counter(self) -> None:
        """Build the next shift's counter screen now (compose, styles, layout), while the login screen is up,
        so that the login shows it rather than builds it. Textual builds a mode's screen in the first step of
        switching to it (``App._init_mode``), which is taken here ahead of time."""
        if self.counter is not None:
            return
        self.counter = new_screen("counter")
        self.add_mode("counter", lambda: self.counter)
        init = getattr(self, "_init_mode", None)
        if callable(init):
            init("counter")  # composed and mounted; its styles were brought up to date with the whole app's
            self.counter._css_update_count = self._css_update_count  # so the switch need not redo them

    async def begin_shift(self, shift: Shift) -> None:
        self.shift = shift
        self.prepare_counter()
        self.counter.begin()
        for mode, (_screen, manager_only, _needs) in MODES_AVAILABLE.items():
            if mode == "counter":
                self._modes_added.append(mode)
            elif not manager_only or shift.is_manager:
                self.add_mode(mode, partial(new_screen, mode))
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
        if not self._login_mode:  # Textual cannot switch back to its default mode: the login gets a mode of its own
            self.add_mode("login", LoginScreen)
            self._login_mode = True
        await self.switch_mode("login")
        for mode in self._modes_added:
            await self.remove_mode(mode)
        self._modes_added.clear()
        support.event("logout", staff=self.shift.staff_id)
        self.shift = None
        self.counter = None
        self.refresh_bindings()
        self.call_after_refresh(self.prepare_counter)  # the next shift's, once the login screen is drawn

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
        if self._probe_endpoint is None:
            self._probe_endpoint = self._endpoint(1.0)
        assert self._probe_endpoint is not None
        ok = self._probe_endpoint.health()
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self.saw_link, ok)

    def saw_link(self, online: bool, *, queued: int | None = None) -> None:
        """What the last contact with the service said; coming back online starts an upload of the outbox.

        ``queued``: a verdict that knows what it added to the outbox (an acceptance: 0 online, 1 offline); the
        status line is then redrawn from that, only if something moved, without reading the file again."""
        was = self.online
        self.online = online
        if online and was is False and self.waiting and self.shift is not None:
            self.notify(n_("Back online: uploading {n} offline redemption…", "Back online: uploading {n} offline redemptions…",
                           self.waiting))
            self.start_sync(None, lambda report: self.notify(
                n_("Uploaded {n}; {c} conflict.", "Uploaded {n}; {c} conflicts.", len(report.conflicts),
                   n=sum(report.results.values()), c=len(report.conflicts))))
        if queued is None or self.waiting is None:
            self.refresh_status()
        elif queued or was != online:
            self.waiting += queued
            self.draw_status()

    async def know_store(self) -> None:
        """The store's name for the status line, and its zone for every time shown (the machine's own zone
        until the first catalog pull names it)."""
        name, zone = await self.station.store()
        label = f"{name} ({self.cfg.store_id})" if name else self.cfg.store_id
        set_zone(zone)
        if label != self.store_label:
            self.store_label = label
            if isinstance(self.screen, LoginScreen):  # else it shows it when it is back (on_screen_resume)
                self.screen.show_store()

    def draw_status(self) -> None:
        """The status line of the current screen, from what the app knows now (no reading of the file)."""
        staff = f"{self.shift.name} ({_(self.shift.role)})" if self.shift else None
        for line in self.screen.query(StatusLine):
            line.show(store=self.store_label, terminal=self.cfg.terminal_id, staff=staff, online=self.online,
                      waiting=self.waiting)

    @work(exclusive=True, group="status")
    async def refresh_status(self) -> None:
        self.waiting = await self.station.pending()
        await self.know_store()  # a first start: the store's name and zone come with the catalog
        self.draw_status()

    def start_sync(self, progress: Callable[[str, int, int], None] | None,
                   done: Callable[[SyncReport], None] | None) -> None:
        if not self.syncing:
            self.syncing = True
            self._sync(progress, done)

    @work(thread=True, group="sync")
    def _sync(self, progress: Callable[[str, int, int], None] | None, done: Callable[[SyncReport], None] | None) -> None:
        """A sync with its own connection and client, in its own thread: the counter keeps answering."""
        terminal_modules()
        from pos.terminal.endpoint import Endpoint
        from pos.terminal.localdb import LocalDB
        from pos.terminal.sync import SyncReport, sync

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
        if not report.busy:
            support.event("sync", uploaded=" ".join(f"{k}:{v}" for k, v in sorted(report.results.items())) or None,
                          conflicts=len(report.conflicts) or None, pulled=report.pulled or None, error=report.error)
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
