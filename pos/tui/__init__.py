"""The terminal UI: the counter for cashiers and the back office for managers (Textual)."""

from pos.tui.app import PosApp, make_app

__all__ = ["PosApp", "make_app"]
