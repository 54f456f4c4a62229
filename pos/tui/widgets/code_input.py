"""Fields whose Enter is read in turn with the characters typed before and after it.

Textual's ``Input`` inserts characters as their keys arrive but acts on Enter through a binding, which
runs only once the Enter key has bubbled up to the app: by then the keys that followed it are already in
the field. A USB scanner types a whole code and Enter in a burst, and a second code may follow before
the first is answered: two scans arrived as one code of 24 characters (or twenty as one of 240). A
cashier who types the staff id, Enter and the PIN quickly had the PIN's first digit in the staff id.
Here Enter submits the field's text up to that Enter before the next key is read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import events
from textual.widgets import Input


class EnterInput(Input):
    """An ``Input`` whose Enter posts ``Input.Submitted`` in turn with the keys, or, given ``on_enter``,
    calls it there and then with the text (no message to travel up to the screen first)."""

    clear_on_enter = False

    def __init__(self, *args: Any, on_enter: Callable[[str], None] | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.on_enter = on_enter

    async def _on_key(self, event: events.Key) -> None:
        if event.key != "enter":
            return  # Input's own handler (called after this one) inserts the character
        event.stop()
        event.prevent_default()
        value = self.value
        if self.clear_on_enter:
            self.value = ""
        if self.on_enter is not None:
            self.on_enter(value)
        else:
            self.post_message(self.Submitted(self, value))


class CodeInput(EnterInput):
    """The counter's code field: emptied on Enter, ready for the next scan before this one is answered."""

    clear_on_enter = True
