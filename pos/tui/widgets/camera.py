"""The camera scanner at the counter: a thread worker that opens, reads and releases the capture in
that one thread, checks for cancellation every frame, and posts a typed message per code read — into
the same verdict flow as typed codes. A small half-block preview helps the cashier aim; it can be
switched off (and costs nothing then).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import get_current_worker

from pos.scanner.sources import describe
from pos.tui.i18n import _

if TYPE_CHECKING:
    import numpy as np

# OpenCV, numpy and the decoders load when the camera is first switched on, not with the counter: a
# till with a USB scanner only starts faster and needs no camera stack (the "camera" extra).

PREVIEW_COLUMNS = 40
PREVIEW_ROWS = 12
PREVIEW_EVERY = 0.2  # seconds between preview images: enough to aim, cheap to draw


def source_of(text: str) -> int | str:
    """ "0" is the first camera; anything else a file or a stream URL."""
    return int(text) if text.strip().isdigit() else text.strip()


def half_blocks(frame: np.ndarray, columns: int = PREVIEW_COLUMNS, rows: int = PREVIEW_ROWS) -> Text:
    """A frame as ``rows`` lines of ``columns`` "▀" cells: the top pixel in the foreground, the bottom one behind."""
    import cv2

    from pos.scanner.decoders import to_gray

    small = cv2.resize(to_gray(frame), (columns, rows * 2), interpolation=cv2.INTER_AREA)
    text = Text()
    for y in range(rows):
        top, bottom = small[2 * y], small[2 * y + 1]
        for x in range(columns):
            a, b = int(top[x]), int(bottom[x])
            text.append("▀", Style(color=Color.from_rgb(a, a, a), bgcolor=Color.from_rgb(b, b, b)))
        if y < rows - 1:
            text.append("\n")
    return text


class CameraScanner(Static):
    class CodeRead(Message):
        """A voucher code the camera read (once per appearance, see :class:`~pos.scanner.events.Debouncer`)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Ambiguous(Message):
        def __init__(self, texts: tuple[str, ...]) -> None:
            super().__init__()
            self.texts = texts

    class Stopped(Message):
        """The capture ended (a file ran out) or could not start; ``error`` says why, for the cashier."""

        def __init__(self, error: str | None) -> None:
            super().__init__()
            self.error = error

    class Frame(Message):
        def __init__(self, image: Text) -> None:
            super().__init__()
            self.image = image

    def __init__(self, source: str, *, window: float = 3.0, preview: bool = True, **kw: Any) -> None:
        super().__init__(**kw)
        self.source = source_of(source)
        self.window = window
        self.preview = preview
        self.frames_read = 0

    def on_mount(self) -> None:
        self.update(_("Camera on ({source}).", source=describe(self.source)))
        self.run_worker(self.capture, thread=True, exclusive=True, group="camera", exit_on_error=False)

    def capture(self) -> None:
        worker = get_current_worker()
        try:
            import cv2

            from pos.scanner.decoders import Pipeline
            from pos.scanner.events import Debouncer
            from pos.scanner.sources import SourceError, open_capture
        except ImportError as err:
            self.post_message(self.Stopped(_("Camera support is not installed ({error}).", error=str(err))))
            return
        try:
            cap = open_capture(self.source)
        except SourceError as err:
            self.post_message(self.Stopped(str(err)))
            return
        try:
            # A file plays at its own frame rate, as a camera would deliver it; a camera paces itself.
            paced = isinstance(self.source, str) and "://" not in self.source
            fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
            pipeline, debounce = Pipeline(), Debouncer(self.window)
            started, last_preview = time.monotonic(), 0.0
            while not worker.is_cancelled:
                ok, frame = cap.read()
                if not ok:
                    self.post_message(self.Stopped(None))
                    return
                self.frames_read += 1
                if paced:
                    delay = started + self.frames_read / fps - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                now = time.monotonic()
                texts = sorted({r.text for r in pipeline.decode(frame)})
                if len(texts) > 1:
                    if any([debounce.seen(t, now) for t in texts]):
                        self.post_message(self.Ambiguous(tuple(texts)))
                elif texts and debounce.seen(texts[0], now):
                    self.post_message(self.CodeRead(texts[0]))
                if self.preview and now - last_preview >= PREVIEW_EVERY:
                    last_preview = now
                    self.post_message(self.Frame(half_blocks(frame)))
        finally:
            cap.release()

    def on_camera_scanner_frame(self, message: Frame) -> None:
        if self.preview:
            self.update(message.image)

    def set_preview(self, on: bool) -> None:
        self.preview = on
        self.set_class(not on, "-no-preview")
        if not on:
            self.update(_("Camera on ({source}).", source=describe(self.source)))


def toggle_camera(app: Any, screen: Screen[Any]) -> None:
    slot = screen.query_one("#camera-slot")
    running = slot.query(CameraScanner)
    if running:
        running.remove()  # its worker is cancelled with it and releases the capture
        slot.query("Static").remove()
        slot.mount(Static(_("Camera off. Press F8 to scan with the camera."), classes="camera-note"))
        return
    slot.remove_children()
    slot.mount(CameraScanner(app.camera_source or "0", id="camera"))


def toggle_preview(screen: Screen[Any]) -> None:
    for scanner in screen.query(CameraScanner):
        scanner.set_preview(not scanner.preview)
