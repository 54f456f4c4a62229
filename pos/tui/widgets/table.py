"""The DataTable every list of the UI uses.

Textual's DataTable (8.2) sizes its columns to new rows only when it is next idle, and keeps the lines it drew
before that: its caches are keyed by a count that adding rows changes and sizing them does not. A list drawn in
between (a busy event loop; the shift list after an undo, re-filled with the same rows) kept header-wide
columns — "已撤" for "已撤销" — until its cursor moved; and a row's colour (the cursor, the stripes) stopped at
the old edge after the terminal was made wider. Once its columns or its size have changed, this table draws
again.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.geometry import Size
from textual.widgets import DataTable


class Table(DataTable[Any]):
    def watch_virtual_size(self, old: Size, new: Size) -> None:
        if old.width != new.width:  # the columns were sized again: what was drawn at the old widths is stale
            self.notify_style_update()  # the public hook that drops DataTable's drawn lines and repaints

    def on_resize(self, event: events.Resize) -> None:
        self.notify_style_update()  # a wider terminal: each row's colour reaches the new edge, not the old one
