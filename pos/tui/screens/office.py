"""What every back-office screen shares: the status line, the manager's session, calls to the service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from textual.screen import Screen

from pos.terminal.endpoint import Endpoint, EndpointError, Refused
from pos.tui.i18n import _
from pos.tui.keys import InLanguage
from pos.tui.problems import refusal_lines

T = TypeVar("T")


class OfficeError(Exception):
    """A back-office call that failed; already shown to the manager (``str()`` is what was shown)."""


if TYPE_CHECKING:
    from pos.tui.app import PosApp


class OfficeScreen(InLanguage, Screen[None]):
    app: PosApp  # the app this screen belongs to (Textual types it as any App)

    def on_mount(self) -> None:
        self.app.refresh_status()

    async def ask(self, call: Callable[[Endpoint, str], T]) -> T:
        """Run ``call(endpoint, session)`` off the event loop; a refusal or a dead link is shown to the
        manager and raised as :class:`OfficeError`, so callers only decide what to leave undone."""
        session = self.app.shift.session if self.app.shift else None
        if session is None or self.app.office is None:
            said = _("This needs the service; you are logged in offline.")
            self.notify(said, severity="error")
            raise OfficeError(said)
        try:
            return await asyncio.to_thread(call, self.app.office, session)
        except Refused as err:
            said = "\n".join(line for _field, line in refusal_lines(err.code, err.message, err.problems,
                                                                   lambda _name: None, {}))
            self.notify(_("Refused: {message}", message=said), severity="error", timeout=8)
            raise OfficeError(said) from err
        except EndpointError as err:
            self.app.saw_link(False)
            said = _("The service cannot be reached: {error}", error=str(err))
            self.notify(said, severity="error", timeout=8)
            raise OfficeError(said) from err
