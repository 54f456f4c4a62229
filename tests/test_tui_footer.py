"""The footer keeps its keys while what it shows stays the same (moving between fields does not build them
again) and shows a change as soon as there is one: a key that becomes unavailable, a new screen's keys."""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input
from textual.widgets._footer import FooterKey

from pos.tui.widgets.footer import Footer
from tests.tui_helpers import run


class Other(Screen[None]):
    BINDINGS: ClassVar = [Binding("f5", "noop", "Refresh")]

    def compose(self) -> ComposeResult:
        yield Footer()


class TwoFields(App[None]):
    BINDINGS: ClassVar = [Binding("ctrl+s", "save", "Save"), Binding("f2", "other", "Other screen")]
    ENABLE_COMMAND_PALETTE = False
    saving = True

    def compose(self) -> ComposeResult:
        yield Input(id="a")
        yield Input(id="b")
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return None if action == "save" and not self.saving else True  # None: shown, but greyed out

    def action_other(self) -> None:
        self.push_screen(Other())


def keys(app: App[None]) -> list[FooterKey]:
    return list(app.screen.query(FooterKey))


def test_the_footer_keeps_its_keys_while_they_stay_the_same_and_shows_each_change() -> None:
    async def scenario() -> None:
        app = TwoFields()
        async with app.run_test(size=(60, 8)) as pilot:
            await pilot.pause()
            first = keys(app)
            assert [k.description for k in first] == ["Save", "Other screen"]
            for _ in range(3):
                await pilot.press("tab")
                await pilot.pause()
            assert keys(app) == first and all(k.is_attached for k in first)  # the same widgets, not rebuilt

            app.saving = False
            app.refresh_bindings()
            await pilot.pause()
            await pilot.pause()
            now = keys(app)
            assert [(k.description, k.has_class("-disabled")) for k in now] == [("Save", True), ("Other screen", False)]
            assert not any(k.is_attached for k in first)

            await pilot.press("f2")
            await pilot.pause()
            assert [k.description for k in keys(app)] == ["Refresh", "Save", "Other screen"]

    run(scenario)
