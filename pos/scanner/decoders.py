"""QR decoders behind one small interface, and the pipeline the counter uses.

Every decoder takes a single-channel (grayscale) uint8 image: pyzbar, given three channels, would read
only the first, and converting once per frame is cheaper than letting each library do it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar, Protocol

import cv2
import numpy as np


@dataclass(frozen=True, slots=True)
class Reading:
    text: str
    box: tuple[int, int, int, int]  # x, y, width, height in the frame given to the decoder


class Decoder(Protocol):
    name: ClassVar[str]

    def decode(self, gray: np.ndarray) -> list[Reading]: ...


def _box(points: np.ndarray) -> tuple[int, int, int, int]:
    xs, ys = points[:, 0], points[:, 1]
    x, y = int(xs.min()), int(ys.min())
    return x, y, int(xs.max()) - x, int(ys.max()) - y


class ZxingDecoder:
    """zxing-cpp, restricted to QR codes (several times faster than looking for every format)."""

    name: ClassVar[str] = "zxing-cpp"

    def __init__(self) -> None:
        import zxingcpp

        self._read = zxingcpp.read_barcodes
        self._formats = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)

    def decode(self, gray: np.ndarray) -> list[Reading]:
        out = []
        self.candidates = 0  # symbols found but not decoded: a finder pattern was seen
        self.candidate_boxes: list[tuple[int, int, int, int]] = []
        for r in self._read(gray, formats=self._formats, return_errors=True):
            p = r.position
            pts = np.array([[p.top_left.x, p.top_left.y], [p.top_right.x, p.top_right.y],
                            [p.bottom_right.x, p.bottom_right.y], [p.bottom_left.x, p.bottom_left.y]])
            if not r.valid:
                self.candidates += 1
                self.candidate_boxes.append(_box(pts))
            elif r.text:
                out.append(Reading(r.text, _box(pts)))
        return out


class PyzbarDecoder:
    """ZBar through pyzbar (needs the libzbar0 system library)."""

    name: ClassVar[str] = "pyzbar"

    def __init__(self) -> None:
        from pyzbar import pyzbar

        self._decode = pyzbar.decode
        self._symbols = [pyzbar.ZBarSymbol.QRCODE]

    def decode(self, gray: np.ndarray) -> list[Reading]:
        out = []
        for s in self._decode(gray, symbols=self._symbols):
            try:
                text = s.data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            r = s.rect
            out.append(Reading(text, (r.left, r.top, r.width, r.height)))
        return out


class OpenCVDecoder:
    """OpenCV's own QR detector (no extra dependency; measured, not used by default)."""

    name: ClassVar[str] = "opencv"

    def __init__(self) -> None:
        self._detector = cv2.QRCodeDetector()

    def decode(self, gray: np.ndarray) -> list[Reading]:
        ok, texts, points, _ = self._detector.detectAndDecodeMulti(gray)
        if not ok or points is None:
            return []
        return [Reading(t, _box(p)) for t, p in zip(texts, points, strict=False) if t]


def to_gray(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return frame
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY if frame.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)


def scaled(box: tuple[int, int, int, int], scale: float) -> tuple[int, int, int, int]:
    x, y, w, h = box
    return int(x / scale), int(y / scale), int(w / scale), int(h / scale)


RESTS_AFTER_READ = 30  # frames (a second at 30 fps) after a read in which no recovery is tried


class Pipeline:
    """The counter's decoder: grayscale once; first the region around the last hit, then the frame
    (downscaled when large, and at full size only when the primary saw a symbol it could not decode);
    then, by ``fallback_when``, an optional slower fallback decoder: ``"candidate"`` only on frames
    where the primary saw such a symbol, ``"always"`` on every frame without a read, ``"never"``.

    The default, zxing-cpp with no fallback, was chosen by ``scripts/bench_scan.py``: pyzbar as a
    fallback read no voucher that zxing-cpp missed (docs/performance.md).
    """

    name: ClassVar[str] = "pipeline"

    def __init__(self, primary: Decoder | None = None, fallback: Decoder | None = None, *, max_side: int = 1280,
                 roi_margin: float = 0.6, fallback_when: str = "candidate", recover: bool = True,
                 budget: float = 0.022) -> None:
        from pos.scanner.recover import Recovery

        self.primary = primary or ZxingDecoder()
        self.fallback = fallback
        self.fallback_when = fallback_when
        # a frame with a code-like region that nothing read gets second chances (pos.scanner.recover)
        self.recovery = Recovery(self.primary.decode, budget=budget) if recover else None
        self.since_read = 10**9  # frames since the last read (a code just read needs no second chances)
        self.recovery_failed = False  # the last frame's recovery read nothing: this frame does without
        self.max_side = max_side
        self.roi_margin = roi_margin
        self.last: tuple[int, int, int, int] | None = None

    def forget(self) -> None:
        """Start afresh, as for an unrelated picture (the next frame is not the previous one's successor)."""
        self.last = None
        self.since_read = 10**9
        self.recovery_failed = False

    def decode(self, frame: np.ndarray) -> list[Reading]:
        started = time.perf_counter()
        if self.recovery is not None:
            self.recovery.last_used = None  # what read this frame, if the recovery did
        gray = to_gray(frame)
        if self.last is not None:
            x, y, w, h = self.last
            mx, my = int(w * self.roi_margin) + 8, int(h * self.roi_margin) + 8
            x0, y0 = max(0, x - mx), max(0, y - my)
            roi = gray[y0 : y + h + my, x0 : x + w + mx]
            found = self.primary.decode(roi) if roi.size else []
            if len(found) == 1:
                r = found[0]
                self.last = (r.box[0] + x0, r.box[1] + y0, r.box[2], r.box[3])
                return [Reading(r.text, self.last)]
        scale = 1.0
        side = max(gray.shape[:2])
        small = gray
        if side > self.max_side:
            scale = self.max_side / side
            small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        small_scale = scale
        found = self.primary.decode(small)
        if not found and scale != 1.0 and getattr(self.primary, "candidates", True):
            found = self.primary.decode(gray)  # something was there: a small code may need every pixel
            scale = 1.0
        if not found and self.fallback is not None and self.fallback_when != "never":
            if self.fallback_when == "always" or getattr(self.primary, "candidates", True):
                found = self.fallback.decode(gray)
                scale = 1.0
        found = [Reading(r.text, scaled(r.box, scale)) for r in found]
        # second chances, on a frame with no read, while no code was read in the last second (the counter has
        # it already: the same voucher leaving the view need not be deblurred) and on every other frame at most
        # while they fail (a code still too blurred, or no code at all, costs half the frames, not all)
        if not found and self.recovery is not None and self.since_read > RESTS_AFTER_READ:
            if self.recovery_failed:
                self.recovery_failed = False
            else:
                found = self._recover(gray, small, small_scale, started)
                self.recovery_failed = not found
        self.since_read = 0 if found else self.since_read + 1
        self.last = found[0].box if len(found) == 1 else None
        return found

    def _recover(self, gray: np.ndarray, small: np.ndarray, small_scale: float, started: float) -> list[Reading]:
        from pos.scanner.recover import Region

        assert self.recovery is not None
        boxes = getattr(self.primary, "candidate_boxes", [])
        region = None
        if boxes:  # where the decoder saw a symbol, in full-size pixels
            # (the last decoding was of the full frame, unless it was of the smaller copy alone)
            x, y, w, h = max(boxes, key=lambda b: b[2] * b[3])
            region = Region(x, y, w, h)
        found, (x0, y0, k) = self.recovery(gray, region, started=started, search=(small, small_scale))
        return [Reading(r.text, (x0 + int(r.box[0] / k), y0 + int(r.box[1] / k), int(r.box[2] / k), int(r.box[3] / k)))
                for r in found]


def available() -> dict[str, type]:
    """The decoders whose libraries are installed here."""
    out: dict[str, type] = {}
    for cls in (ZxingDecoder, PyzbarDecoder, OpenCVDecoder):
        try:
            cls()
        except (ImportError, OSError):
            continue
        out[cls.name] = cls
    return out
