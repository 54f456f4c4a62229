"""What every back-office screen shares: the status line, the manager's session, calls to the service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from textual.screen import Screen

from pos.terminal.endpoint import Endpoint, EndpointError, Refused
from pos.tui.i18n import _
from pos.tui.keys import translate_bindings
from pos.tui.widgets.verdict import sentence

T = TypeVar("T")


class OfficeError(Exception):
    """A back-office call that failed; already shown to the manager."""


class OfficeScreen(Screen[None]):
    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)

    def on_mount(self) -> None:
        self.app.refresh_status()

    async def ask(self, call: Callable[[Endpoint, str], T], *, quiet: bool = False) -> T:
        """Run ``call(endpoint, session)`` off the event loop; a refusal or a dead link is shown and raised."""
        session = self.app.shift.session if self.app.shift else None
        if session is None or self.app.office is None:
            self.notify(_("This needs the service; you are logged in offline."), severity="error")
            raise OfflineError
        try:
            return await asyncio.to_thread(call, self.app.office, session)
        except Refused as err:
            if not quiet:
                self.notify(_("Refused: {message}", message=sentence(err.code, err.message)), severity="error",
                            timeout=8)
            raise
        except EndpointError as err:
            self.app.saw_link(False)
            self.notify(_("The service cannot be reached: {error}", error=str(err)), severity="error", timeout=8)
            raise OfficeError(str(err)) from err


class OfflineError(OfficeError):
    pass


def csv_rows(rows: list[dict[str, Any]], columns: list[str]) -> list[list[Any]]:
    return [[r.get(c) for c in columns] for r in rows]
