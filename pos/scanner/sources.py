"""Where frames come from: a camera by index, a video file, a stream URL or an image — all through
``cv2.VideoCapture`` (an image it cannot open as a capture is read with ``cv2.imread``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # OpenCV loads on the first capture: naming a source needs none of it
    import cv2
    import numpy as np


class SourceError(Exception):
    """A camera, file or stream that cannot be read; the message says what to check, ``kind`` which of
    ``missing`` (no such file), ``unopened`` (a camera or file that will not open) or ``unreadable`` (not
    an image) it is, for a UI to say in its own language."""

    def __init__(self, message: str, *, kind: str, source: int | str) -> None:
        super().__init__(message)
        self.kind, self.source = kind, source


def describe(source: int | str) -> str:
    if isinstance(source, int):
        return f"camera {source}"
    return source if "://" in source else f"file {source}"


def open_capture(source: int | str) -> cv2.VideoCapture:
    import cv2

    # OpenCV's own warnings (a camera index it cannot open, a backend it lacks) go straight to the terminal's
    # standard error, which is the screen the UI draws on; the caller is told in a SourceError instead.
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    if isinstance(source, str) and "://" not in source and not Path(source).exists():
        raise SourceError(f"{describe(source)} does not exist", kind="missing", source=source)
    cap = cv2.VideoCapture(source)
    if not cap.isOpened():
        cap.release()
        hint = " (missing, unplugged, or in use by another program)" if isinstance(source, int) else ""
        raise SourceError(f"{describe(source)} could not be opened{hint}", kind="unopened", source=source)
    return cap


def frames(source: int | str) -> Iterator[np.ndarray]:
    """Frames until the source ends; the capture is opened and released in the calling thread."""
    import cv2

    if isinstance(source, str) and Path(source).suffix.lower() in {".png", ".jpg", ".jpeg", ".bmp", ".webp"}:
        image = cv2.imread(source, cv2.IMREAD_COLOR)
        if image is None:
            raise SourceError(f"{describe(source)} is not an image OpenCV can read", kind="unreadable", source=source)
        yield image
        return
    cap = open_capture(source)
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            yield frame
    finally:
        cap.release()
