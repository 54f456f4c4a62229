"""The terminal UI: the counter for cashiers and the back office for managers (Textual)."""

import os

# Textual draws at most TEXTUAL_FPS frames a second (60 unless set): a change waits for the next frame's
# slot, up to 17 ms, and a verdict usually follows the frame that emptied the code field. The UI draws only
# when something changed, so it asks for 120 (read when Textual is first imported; the environment wins).
os.environ.setdefault("TEXTUAL_FPS", "120")

from pos.tui.app import PosApp, make_app

__all__ = ["PosApp", "make_app"]
