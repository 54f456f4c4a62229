"""The camera scanner at the counter: a thread worker that opens, reads and releases the capture in
that one thread, checks for cancellation every frame, and posts a typed message per code read — into
the same verdict flow as typed codes. A small half-block preview helps the cashier aim; it can be
switched off (F9, and costs nothing then).

Under the preview a line says how the code sits (:func:`aim`): in focus and framed, or what to change —
move closer, centre the code, hold still. Its sharpness is the variance of the Laplacian over the code's
region divided by the region's own variance, so that it does not depend on the light: a crisp code
measures 1 or more, one streaked by a moving hand or out of focus well under 0.5. When the file or the
camera ends, the counter says so where the preview was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
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

    from pos.scanner.sources import SourceError

# OpenCV, numpy and the decoders load when the camera is first switched on, not with the counter: a
# till with a USB scanner only starts faster and needs no camera stack (the "camera" extra).

PREVIEW_COLUMNS = 40
PREVIEW_ROWS = 12
PREVIEW_EVERY = 0.2  # seconds between preview images: enough to aim, cheap to draw
SHARP = 0.5  # the sharpness from which a code counts as in focus (see the module's docstring)
SMALL = 0.25  # a code whose longer side is under this share of the frame's shorter side: move closer
OFF_CENTRE = 0.3  # a code whose centre is off the frame's by more than this share of its width or height
MOVING = 0.02  # the share of the picture that changed since the frame before: the hand is moving


@dataclass(frozen=True, slots=True)
class Aim:
    """How the code sits in the camera's view: ``hint`` is one of "none" (no code found), "moving", "centre",
    "closer", "blurred" and "good"; ``sharpness`` is measured on the code's region when one was found."""

    hint: str
    sharpness: float | None = None

    def text(self) -> str:
        """The line under the preview, for the cashier who holds the voucher up."""
        s = f"{self.sharpness:.2f}" if self.sharpness is not None else ""
        texts = {
            "none": _("No code in view: hold the QR code up to the camera."),
            "moving": _("Moving: hold still."),
            "centre": _("Off-centre: centre the code."),
            "closer": _("Too small: move closer."),
            "blurred": _("Blurred (sharpness {sharpness}): hold still.", sharpness=s),
            "good": _("In focus and framed (sharpness {sharpness}).", sharpness=s),
        }
        return ("✔ " if self.hint == "good" else "◌ ") + texts[self.hint]


def sharpness(gray: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """The variance of the Laplacian over ``box``, over the box's own variance (0 for a flat region)."""
    import cv2

    x, y, w, h = box
    region = gray[max(0, y):y + h, max(0, x):x + w]
    if region.size < 16:
        return 0.0
    spread = float(region.var())
    return float(cv2.Laplacian(region, cv2.CV_64F).var()) / spread if spread > 1.0 else 0.0


def moving(gray: np.ndarray, before: np.ndarray | None) -> bool:
    """Whether a noticeable share of the picture changed since ``before`` (both made by :func:`thumbnail`)."""
    import cv2

    if before is None or before.shape != gray.shape:
        return False
    changed = cv2.absdiff(gray, before) > 40
    return float(changed.mean()) > MOVING


def thumbnail(gray: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.resize(gray, (160, 120), interpolation=cv2.INTER_AREA)


def aim(gray: np.ndarray, box: tuple[int, int, int, int] | None, still: bool = True) -> Aim:
    """How the code in ``box`` (None: none found) sits in the frame ``gray``; ``still``: the picture is not moving."""
    if box is None:
        return Aim("none" if still else "moving")
    height, width = gray.shape[:2]
    x, y, w, h = box
    sharp = sharpness(gray, box)
    near_edge = x <= 2 or y <= 2 or x + w >= width - 2 or y + h >= height - 2
    if near_edge or abs(x + w / 2 - width / 2) > OFF_CENTRE * width or abs(y + h / 2 - height / 2) > OFF_CENTRE * height:
        return Aim("centre", sharp)
    if max(w, h) < SMALL * min(width, height):
        return Aim("closer", sharp)
    if sharp < SHARP:
        return Aim("blurred" if still else "moving", sharp)
    return Aim("good", sharp)


def source_of(text: str) -> int | str:
    """ "0" is the first camera; anything else a file or a stream URL."""
    return int(text) if text.strip().isdigit() else text.strip()


def fit(frame_size: tuple[int, int], room: tuple[int, int]) -> tuple[int, int]:
    """The preview's (columns, rows) for a frame of (width, height) pixels in ``room`` (columns, rows) of cells,
    at most 40 by 12, its shape kept (a cell holds two pixels one above the other)."""
    width, height = frame_size
    columns = max(4, min(PREVIEW_COLUMNS, room[0]))
    rows = max(1, round(columns * height / width / 2))
    limit = max(1, min(PREVIEW_ROWS, room[1]))
    if rows > limit:
        rows = limit
        columns = max(4, min(columns, round(rows * 2 * width / height)))
    return columns, rows


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
        """The capture could not start (``error`` says why) or ended (``ended`` says so), for the cashier."""

        def __init__(self, error: str | None, ended: str = "") -> None:
            super().__init__()
            self.error = error
            self.ended = ended

    class Frame(Message):
        def __init__(self, image: Text, aim: Aim) -> None:
            super().__init__()
            self.image = image
            self.aim = aim

    def __init__(self, source: str, *, window: float = 3.0, preview: bool = True, **kw: Any) -> None:
        super().__init__(**kw)
        self.source = source_of(source)
        self.window = window
        self.preview = preview
        self.frames_read = 0
        self.room = (PREVIEW_COLUMNS, PREVIEW_ROWS)  # cells for the image, the hint's line left out
        self.last_aim: Aim | None = None

    def on_mount(self) -> None:
        self.update(_("Camera on ({source}).", source=describe(self.source)))
        self.run_worker(self.capture, thread=True, exclusive=True, group="camera", exit_on_error=False)

    def on_resize(self) -> None:
        width = self.content_size.width
        hint_lines = 1 if width >= 56 else 2  # the longest hint wraps once in a narrow column
        self.room = (width, max(1, self.content_size.height - hint_lines))

    def ended(self) -> str:
        """What the counter says when the frames stop coming."""
        if isinstance(self.source, int):
            return _("Camera {n} stopped sending pictures (unplugged?). Press F8 to start it again.", n=self.source)
        if "://" in self.source:
            return _("The stream {url} has ended. Press F8 to start it again.", url=self.source)
        return _("The video file {path} has ended after {frames} frames. Press F8 to play it again.",
                 path=self.source, frames=self.frames_read)

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
            self.post_message(self.Stopped(source_problem(err)))
            return
        try:
            # A file plays at its own frame rate, as a camera would deliver it; a camera paces itself.
            paced = isinstance(self.source, str) and "://" not in self.source
            fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
            pipeline, debounce, aiming = Pipeline(), Debouncer(self.window), Aiming()
            started, last_preview = time.monotonic(), 0.0
            while not worker.is_cancelled:
                ok, frame = cap.read()
                if not ok:
                    self.post_message(self.Stopped(None, self.ended()))
                    return
                self.frames_read += 1
                if paced:
                    delay = started + self.frames_read / fps - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                now = time.monotonic()
                readings = pipeline.decode(frame)
                texts = sorted({r.text for r in readings})
                if len(texts) > 1:
                    if any([debounce.seen(t, now) for t in texts]):
                        self.post_message(self.Ambiguous(tuple(texts)))
                elif texts and debounce.seen(texts[0], now):
                    self.post_message(self.CodeRead(texts[0]))
                if not self.preview:
                    continue
                due = now - last_preview >= PREVIEW_EVERY
                found = aiming.look(frame, readings[0].box if len(readings) == 1 else None, due)
                if found is not None:
                    last_preview = now
                    columns, rows = fit((frame.shape[1], frame.shape[0]), self.room)
                    self.post_message(self.Frame(half_blocks(frame, columns, rows), found))
        finally:
            cap.release()

    def on_camera_scanner_frame(self, message: Frame) -> None:
        if self.preview:
            self.last_aim = message.aim
            picture = message.image.copy()
            picture.append("\n")
            picture.append(message.aim.text(), style="bold" if message.aim.hint == "good" else "")
            self.update(picture)

    def set_preview(self, on: bool) -> None:
        self.preview = on
        self.set_class(not on, "-no-preview")
        if not on:
            self.last_aim = None
            self.update(_("Camera on ({source}).", source=describe(self.source)))


class Aiming:
    """The hint for the preview, from the camera's thread: every frame leaves a thumbnail to tell a moving
    picture by; on a preview's frame, the code's region is the reading's, or where the decoder saw a code it
    could not read."""

    def __init__(self) -> None:
        self.before: np.ndarray | None = None
        self.finder: Any = None

    def look(self, frame: np.ndarray, box: tuple[int, int, int, int] | None, due: bool) -> Aim | None:
        from pos.scanner.decoders import to_gray

        gray = to_gray(frame)
        small = thumbnail(gray)
        still = not moving(small, self.before)
        self.before = small
        if not due:
            return None
        return aim(gray, box if box is not None else self.seen(gray), still)

    def seen(self, gray: np.ndarray) -> tuple[int, int, int, int] | None:
        """Where a code the decoder could not read is (zxing-cpp reports such symbols), in ``gray``'s pixels."""
        import cv2

        from pos.scanner.decoders import ZxingDecoder

        if self.finder is None:
            try:
                self.finder = ZxingDecoder()
            except ImportError:
                self.finder = False
        if not self.finder:
            return None
        half = cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        readings = self.finder.decode(half)
        boxes = [r.box for r in readings] + list(self.finder.candidate_boxes)
        if not boxes:
            return None
        x, y, w, h = max(boxes, key=lambda b: b[2] * b[3])
        return x * 2, y * 2, w * 2, h * 2


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
    """F9: the preview on or off; with no camera on, the cashier is told so where the preview would be."""
    scanners = screen.query(CameraScanner)
    if not scanners:
        slot = screen.query_one("#camera-slot")
        slot.remove_children()
        slot.mount(Static(_("No camera is on, so there is no preview. Press F8 to switch the camera on."),
                          classes="camera-note -warning"))
        screen.app.bell()
        return
    for scanner in scanners:
        scanner.set_preview(not scanner.preview)


def source_problem(err: SourceError) -> str:
    """What is wrong with the camera or file, in the UI's language."""
    source = err.source
    if err.kind == "unopened" and isinstance(source, int):
        return _("camera {n} could not be opened (missing, unplugged, or in use by another program)", n=source)
    if err.kind == "missing":
        return _("The file {path} does not exist.", path=source)
    if err.kind == "unreadable":
        return _("The file {path} is not an image or video that can be read.", path=source)
    return _("{source} could not be opened.", source=source)
