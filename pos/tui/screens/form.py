"""What the back office's modal forms share: Esc and the Cancel button close them unsaved; Save sends
the form to the service off the event loop and shows a refusal (code and sentence) or a dead link in
the form's error line, leaving the form open to correct."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from pos.terminal.endpoint import Endpoint, EndpointError, Refused
from pos.tui.i18n import _, sentence
from pos.tui.keys import translate_bindings

if TYPE_CHECKING:
    from pos.tui.app import PosApp


class FormModal(ModalScreen[dict[str, Any] | None]):
    app: PosApp  # the app this screen belongs to (Textual types it as any App)
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "save", "Save")]
    AUTO_FOCUS = "Input, Select"  # the first field, ready to type into (not the scrolling form around it)

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)

    def buttons(self) -> ComposeResult:
        yield Label("", id="form-error", classes="field-error")
        with Horizontal(id="buttons"):
            yield Button(f"{_('Save')} (ctrl+s)", variant="primary", id="save")
            yield Button(f"{_('Cancel')} (esc)", id="cancel")

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:
        save = getattr(self, "save", None)  # each form's own save worker
        if save is not None:
            save()

    @on(Button.Pressed, "#cancel")
    def cancel_pressed(self) -> None:
        self.dismiss(None)

    def refused(self, err: Refused) -> None:
        self.query_one("#form-error", Label).update(f"{err.code}: {sentence(err.code, err.message)}")

    async def send(self, call: Callable[[Endpoint, str], dict[str, Any]]) -> dict[str, Any] | None:
        """``call(endpoint, session)`` off the event loop; None (and the reason shown) when it failed."""
        error = self.query_one("#form-error", Label)
        session = self.app.shift.session if self.app.shift else None
        if session is None or self.app.office is None:
            error.update(_("This needs the service; you are logged in offline."))
            return None
        try:
            return await asyncio.to_thread(call, self.app.office, session)
        except Refused as err:
            self.refused(err)
            self.app.bell()
        except EndpointError as err:
            error.update(_("The service cannot be reached: {error}", error=str(err)))
        return None
