"""What every back-office screen shares: the status line, the manager's session, calls to the service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from textual.screen import Screen

from pos.terminal.endpoint import Endpoint, EndpointError, Refused
from pos.tui.i18n import _, sentence
from pos.tui.keys import translate_bindings

T = TypeVar("T")


class OfficeError(Exception):
    """A back-office call that failed; already shown to the manager."""


if TYPE_CHECKING:
    from pos.tui.app import PosApp


class OfficeScreen(Screen[None]):
    app: PosApp  # the app this screen belongs to (Textual types it as any App)
    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)

    def on_mount(self) -> None:
        self.app.refresh_status()

    async def ask(self, call: Callable[[Endpoint, str], T]) -> T:
        """Run ``call(endpoint, session)`` off the event loop; a refusal or a dead link is shown to the
        manager and raised as :class:`OfficeError`, so callers only decide what to leave undone."""
        session = self.app.shift.session if self.app.shift else None
        if session is None or self.app.office is None:
            self.notify(_("This needs the service; you are logged in offline."), severity="error")
            raise OfficeError("offline")
        try:
            return await asyncio.to_thread(call, self.app.office, session)
        except Refused as err:
            self.notify(_("Refused: {message}", message=sentence(err.code, err.message)), severity="error", timeout=8)
            raise OfficeError(err.code) from err
        except EndpointError as err:
            self.app.saw_link(False)
            self.notify(_("The service cannot be reached: {error}", error=str(err)), severity="error", timeout=8)
            raise OfficeError(str(err)) from err
