"""Staff id and PIN. A cashier lands on the counter; a manager can also reach the back office."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Button, Input, Label

from pos.tui.i18n import _, sentence
from pos.tui.jobs import work
from pos.tui.keys import InLanguage
from pos.tui.widgets.code_input import EnterInput
from pos.tui.widgets.footer import Footer
from pos.tui.widgets.status import StatusLine

if TYPE_CHECKING:
    from pos.tui.app import PosApp


class LoginScreen(InLanguage, Screen[None]):
    app: PosApp  # the app this screen belongs to (Textual types it as any App)
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]  # at 24 lines the box loses its outer spacing
    def __init__(self) -> None:
        super().__init__()

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        with Center(), Vertical(id="login-box"):
            yield Label(_("Staff login"), id="login-title")
            yield Label(_("Store {store} · terminal {terminal}", store=self.app.store_label,
                          terminal=self.app.cfg.terminal_id), id="login-store")
            yield Label(_("Staff id"))
            yield EnterInput(id="staff", max_length=32)
            yield Label(_("PIN"))
            yield EnterInput(id="pin", password=True, max_length=8, restrict=r"[0-9]*")
            yield Label("", id="login-error")
            yield Button(_("Log in"), variant="primary", id="login")
        yield Footer()

    def on_mount(self) -> None:
        self.app.draw_status()  # what is known now; the station fills in the rest once it is open
        self.query_one("#staff", Input).focus()

    def show_store(self) -> None:
        """The store's name, once the terminal's file has been read (the first frame shows its id)."""
        self.query_one("#login-store", Label).update(
            _("Store {store} · terminal {terminal}", store=self.app.store_label, terminal=self.app.cfg.terminal_id))

    def on_screen_resume(self) -> None:
        self.show_store()
        self.query_one("#pin", Input).value = ""
        self.query_one("#staff", Input).value = ""
        self.query_one("#login-error", Label).update("")
        self.query_one("#staff", Input).focus()

    @on(Input.Submitted, "#staff")
    def staff_entered(self) -> None:
        self.query_one("#pin", Input).focus()

    @on(Input.Submitted, "#pin")
    @on(Button.Pressed, "#login")
    def submit(self) -> None:
        self.log_in(self.query_one("#staff", Input).value, self.query_one("#pin", Input).value)

    @work(exclusive=True, group="login")
    async def log_in(self, staff_id: str, pin: str) -> None:
        from pos.terminal.login import LoginError  # loaded by the station by now, not with the first frame

        error = self.query_one("#login-error", Label)
        error.update(_("Checking…"))
        error.set_classes("")
        try:
            shift = await self.app.station.sign_in(staff_id, pin)
        except LoginError as err:
            error.update(sentence(err.code, err.message))
            error.set_classes("-error")
            self.query_one("#pin", Input).value = ""
            self.query_one("#pin", Input).focus()
            self.app.bell()
            return
        error.update("")
        await self.app.begin_shift(shift)
