"""Driving the terminal UI with Textual's Pilot against the real service of the ``shop`` fixture."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console
from textual.pilot import Pilot

from pos.demo import TOKENS
from pos.terminal.config import TerminalConfig
from pos.tui import PosApp, make_app
from tests.conftest import Shop


class Clock:
    """The app's clock, which a test can move forward (to step outside an undo window)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def app_for(shop: Shop, terminal: str = "S001-T1", *, language: str = "en", probe_every: float = 0.0,
            clock: Clock | None = None, **kw: Any) -> PosApp:
    cfg = TerminalConfig(service_url=shop.service.url, token=TOKENS[terminal], store_id=terminal.split("-")[0],
                         terminal_id=terminal, database=shop.tmp / f"{terminal}-ui.db", timeout=2.0)
    app = make_app(cfg, language=language, probe_every=probe_every, clock=clock or Clock(), **kw)
    app.bells = 0  # type: ignore[attr-defined]
    ring = app.bell

    def counting_bell() -> None:
        app.bells += 1  # type: ignore[attr-defined]
        ring()

    app.bell = counting_bell  # type: ignore[method-assign]
    return app


async def until(pilot: Pilot[Any], condition: Callable[[], object], timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        await pilot.pause(0.02)


async def ready(pilot: Pilot[Any]) -> None:
    """The login screen is up and the first catalog pull has finished."""
    app = pilot.app
    await until(pilot, lambda: type(app.screen).__name__ == "LoginScreen" and not app.syncing)


async def login(pilot: Pilot[Any], staff: str, pin: str, *, typed: bool = False) -> None:
    """The staff id, Enter, the PIN, Enter. Typed key by key when ``typed`` (each key Pilot presses waits for
    the whole process to be idle, tens of milliseconds); else each field filled at once, as a badge reader
    would, and the two Enter keys pressed."""
    await ready(pilot)
    screen = pilot.app.screen
    field, secret = screen.query_one("#staff"), screen.query_one("#pin")
    field.focus()
    if typed:
        await pilot.press(*staff, "enter", *pin, "enter")
        return
    field.value = staff
    await pilot.press("enter")
    await until(pilot, lambda: screen.focused is secret)
    secret.value = pin
    await pilot.press("enter")


async def log_in_at_counter(pilot: Pilot[Any], staff: str, pin: str, *, typed: bool = False) -> None:
    await login(pilot, staff, pin, typed=typed)
    await until(pilot, lambda: type(pilot.app.screen).__name__ == "CounterScreen" and pilot.app.screen.query("#amount"))


async def scan(pilot: Pilot[Any], raw: str, amount: str | None = None) -> Any:
    """Type (or scanner-type) a code and Enter; returns the verdict once it is on screen."""
    screen = pilot.app.screen
    before = screen.drawn
    if amount is not None:
        screen.query_one("#amount").value = amount
    code = screen.query_one("#code")
    code.focus()
    if len(raw) > 16:  # a QR payload: as the camera or a 2D scanner hands it over, in one piece
        code.value = raw
        await pilot.press("enter")
    else:
        await pilot.press(*raw, "enter")
    await until(pilot, lambda: screen.drawn > before)
    return screen.shown[-1]


async def back(pilot: Pilot[Any]) -> None:
    """Esc until the screen a function key opened is shown again (a form closed, the lookup left)."""
    app = pilot.app
    while len(app.screen_stack) > 1:
        shown = app.screen
        await pilot.press("escape")
        await until(pilot, lambda shown=shown: app.screen is not shown)


def text_of(app: Any, selector: str) -> str:
    """What a Static/Label on the current screen says, as plain text."""
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(app.screen.query_one(selector).content)
    return console.export_text()


def says_something(app: Any, form: str | None = None) -> bool:
    """A save has had its answer: an error, a form error or a note is shown, or the form ``form`` closed."""
    if form is not None and type(app.screen).__name__ != form:
        return True
    return any(label.display and str(label.content).strip()
               for label in app.screen.query(".field-error, #form-error, #form-note"))


def _pending(node: Any) -> bool:
    """A refresh asked for and not yet done: a widget hands its repaint to its screen by a message, and a
    DataTable sizes its columns to new or changed cells only when it is next idle. A screen under a modal does
    neither, so what is pending when a form opens stays undrawn behind it."""
    flags = ("_layout_required", "_repaint_required", "_scroll_required", "_require_update_dimensions")
    return any(getattr(node, flag, False) for flag in flags) or bool(getattr(node, "_updated_cells", None))


def _painted(screen: Any) -> bool:
    return not (_pending(screen) or getattr(screen, "_dirty_widgets", None)
                or any(_pending(widget) for widget in screen.walk_children()))


async def quiet(pilot: Pilot[Any], within: float = 10.0) -> None:
    """The app's workers done and what they brought drawn: what a snapshot should show (a fixed pause was not
    enough on a loaded machine, where a list's rows could arrive after it), and what a form opened next will
    show behind it."""
    try:
        await asyncio.wait_for(pilot.app.workers.wait_for_complete(), within)
    except TimeoutError:
        pass  # a worker that runs for as long as the app does (the camera's): what is drawn is drawn
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()
    screen = pilot.app.screen
    for _ in range(2):  # painting one thing can ask for another (a table sized, then the screen laid out)
        await until(pilot, lambda: _painted(screen), within)
        await asyncio.wait_for(screen.wait_for_refresh(), within)


async def steady(pilot: Pilot[Any], within: float = 10.0) -> None:
    """Ready for a snapshot: no blinking cursor, no toast left from getting here, the workers' results drawn,
    and the picture the same twice in a row a little apart (a message handled late, such as a select's first
    Changed, can redraw a list after everything above looked done)."""
    for field in pilot.app.screen.query("Input"):
        field.cursor_blink = False
    pilot.app.clear_notifications()
    deadline = asyncio.get_running_loop().time() + within
    last = None
    while True:
        await quiet(pilot, within)
        picture = pilot.app.export_screenshot()
        if picture == last or asyncio.get_running_loop().time() > deadline:
            return
        last = picture
        await pilot.pause(0.1)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


def screen_text(app: Any) -> str:
    """What the current screen shows, as the lines of text on the terminal."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def cut_off(screen: Any) -> list[str]:
    """Every piece of text the layout cuts on ``screen``: a label or button drawn without all of its words
    (an ellipsis, a clipped line), a widget that sticks out of its container's side, and one below the
    screen's bottom that nothing can scroll to. The footer scrolls sideways and is left out; so is the status
    line, which says less on a narrow terminal by design of its own."""
    from textual.geometry import Region
    from textual.widgets import Button, Footer, Static

    def skipped(widget: Any) -> bool:
        return any(type(node).__name__ in ("Footer", "StatusLine", "ToastRack", "DataTable", "Input")
                   for node in (widget, *widget.ancestors))

    found = []
    bottom = screen.size.height - sum(f.outer_size.height for f in screen.query(Footer))
    for widget in screen.query("*").results():
        if not widget.display or not widget.region.area or skipped(widget):
            continue
        if isinstance(widget, (Static, Button)):
            full = widget.label.plain if isinstance(widget, Button) else widget.visual.plain
            drawn = "".join(s.text for s in widget.render_lines(Region(0, 0, *widget.region.size)))
            if "".join(full.split()) not in "".join(drawn.split()):
                found.append(f"{widget!r} draws {drawn.strip()!r} of {full!r}")
        parent = widget.parent
        if parent is not None and parent is not screen and hasattr(parent, "content_region"):
            side = parent.content_region
            if widget.region.x < side.x or widget.region.right > side.right:
                found.append(f"{widget!r} at {widget.region} sticks out of {parent!r} at {side}")
        if widget.region.bottom > bottom and not any(
                node.styles.overflow_y in ("auto", "scroll") for node in widget.ancestors if hasattr(node, "styles")):
            found.append(f"{widget!r} at {widget.region} is below the screen and nothing scrolls to it")
    return found
