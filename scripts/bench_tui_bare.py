"""The floor for scripts/bench_tui.py: a bare Textual app, started in the pseudo-terminal the same way as
``pos ui``. A login screen with a label and an input; Enter switches to a second screen with a label, an
input and a line of text; each Enter there draws the code typed on that line. No pos import, no database,
no network: what Textual and the terminal cost by themselves.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Input, Label, Static


class Login(Screen[None]):
    def compose(self) -> ComposeResult:
        yield Label("Staff login")
        yield Input(id="pin", password=True)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self) -> None:
        self.app.push_screen(Counter())


class Counter(Screen[None]):
    def compose(self) -> ComposeResult:
        yield Label("Voucher code")
        yield Input(id="code")
        yield Static("Ready for the next voucher.", id="verdict")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#verdict", Static).update(f"ACCEPTED {event.value.strip()}")
        event.input.value = ""


class Bare(App[None]):
    def get_default_screen(self) -> Screen[None]:
        return Login()


if __name__ == "__main__":
    Bare().run()
