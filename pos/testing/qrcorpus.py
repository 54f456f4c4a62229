"""A corpus of voucher QR codes in camera-like frames, generated (never downloaded).

Categories: clean, rotation, perspective, blur, noise, low contrast, glare, small, inverted. Each
frame holds one voucher payload of realistic length (a signed ``VC1:`` payload: a version 7 QR).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import segno

CATEGORIES = ("clean", "rotation", "perspective", "blur", "noise", "low_contrast", "glare", "small", "inverted")


def payload(rng: random.Random) -> str:
    from pos.domain.codes import ALPHABET, check_character

    body = "".join(rng.choice(ALPHABET) for _ in range(11))
    sig = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(103))
    return f"VC1:K1A2B3:{body}{check_character(body)}:SPRING:cust-{rng.randrange(10**6)}:203001011200:{sig}"


def qr_image(text: str, module_px: int, border: int = 4) -> np.ndarray:
    """A crisp black-on-white QR, ``module_px`` pixels per module, as a uint8 array."""
    matrix = np.array([list(row) for row in segno.make(text, error="m").matrix], dtype=np.uint8)
    matrix = np.pad(matrix, border)
    return np.kron(1 - matrix, np.ones((module_px, module_px), dtype=np.uint8)) * 255


def background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A counter-top: a gradient, some texture, some objects."""
    y = np.linspace(0, 1, height)[:, None]
    x = np.linspace(0, 1, width)[None, :]
    base = 90 + 80 * (0.6 * y + 0.4 * x) + rng.normal(0, 8, (height, width))
    img = np.clip(base, 0, 255).astype(np.uint8)
    for _ in range(6):
        cv2.rectangle(img, (int(rng.integers(0, width)), int(rng.integers(0, height))),
                      (int(rng.integers(0, width)), int(rng.integers(0, height))), int(rng.integers(20, 235)), -1)
    return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)


def place(frame: np.ndarray, code: np.ndarray, rng: np.random.Generator, *, angle: float = 0.0,
          perspective: float = 0.0) -> np.ndarray:
    h, w = frame.shape[:2]
    ch, cw = code.shape
    src = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], dtype=np.float32)
    cx = rng.uniform(min(cw * 0.8, w / 2), max(w - cw * 0.8, w / 2))  # a code larger than the room: centred
    cy = rng.uniform(min(ch * 0.8, h / 2), max(h - ch * 0.8, h / 2))
    rot = cv2.getRotationMatrix2D((0, 0), angle, 1.0)[:, :2]
    corners = (src - [cw / 2, ch / 2]) @ rot.T
    if perspective:
        corners += rng.uniform(-perspective, perspective, corners.shape) * cw
    dst = (corners + np.array([cx, cy])).astype(np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(code, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    mask = cv2.warpPerspective(np.full_like(code, 255), m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
    out = frame.copy()
    out[mask > 0] = cv2.cvtColor(warped, cv2.COLOR_GRAY2BGR)[mask > 0]
    return out


def sample(category: str, rng: random.Random, size: tuple[int, int] = (640, 480)) -> tuple[np.ndarray, str]:
    """One frame of the category, and the payload it holds."""
    nrng = np.random.default_rng(rng.randrange(2**32))
    text = payload(rng)
    width, height = size
    frame = background(nrng, height, width)
    module = 2 if category == "small" else rng.choice([3, 4])
    code = qr_image(text, module)
    angle = rng.uniform(15, 345) if category == "rotation" else rng.uniform(-4, 4)
    frame = place(frame, code, nrng, angle=angle, perspective=0.12 if category == "perspective" else 0.0)
    if category == "blur":
        frame = cv2.GaussianBlur(frame, (0, 0), rng.uniform(1.2, 1.8))
    else:
        frame = _lighting(frame, category, rng, nrng)
    return frame, text


def _lighting(frame: np.ndarray, category: str, rng: random.Random, nrng: np.random.Generator) -> np.ndarray:
    """The distortions both corpora share: sensor noise, low contrast, a glare, an inverted code."""
    height, width = frame.shape[:2]
    if category == "noise":
        frame = np.clip(frame + nrng.normal(0, rng.uniform(25, 35), frame.shape), 0, 255).astype(np.uint8)
    elif category == "low_contrast":
        lo = rng.uniform(90, 120)
        frame = (lo + frame.astype(np.float32) * rng.uniform(0.12, 0.18)).astype(np.uint8)
    elif category == "glare":
        overlay = np.zeros(frame.shape[:2], np.float32)
        cv2.ellipse(overlay, (int(nrng.integers(0, width)), int(nrng.integers(0, height))),
                    (int(width * 0.25), int(height * 0.18)), rng.uniform(0, 180), 0, 360, 1.0, -1)
        overlay = cv2.GaussianBlur(overlay, (0, 0), 25 * width / 640) * rng.uniform(0.5, 0.8)
        frame = np.clip(frame + overlay[..., None] * 255, 0, 255).astype(np.uint8)
    elif category == "inverted":
        frame = 255 - frame
    return frame


def corpus(per_category: int, seed: int = 7, size: tuple[int, int] = (640, 480)) -> Iterator[tuple[str, np.ndarray, str]]:
    rng = random.Random(seed)
    for category in CATEGORIES:
        for _ in range(per_category):
            frame, text = sample(category, rng, size)
            yield category, frame, text


def write_video(path: Path, text: str, *, before: int = 30, held: int = 75, after: int = 30, fps: int = 30,
                seed: int = 3) -> None:
    """A voucher that appears, is held up (moving a little) and leaves, as an MJPG video."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    bg = background(nrng, 480, 640)
    code = qr_image(text, 4)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (640, 480))
    if not writer.isOpened():
        raise RuntimeError("OpenCV cannot write MJPG video here")
    try:
        for i in range(before + held + after):
            frame = bg.copy()
            if before <= i < before + held:
                frame = place(bg, code, np.random.default_rng(seed), angle=rng.uniform(-6, 6))
            writer.write(frame)
    finally:
        writer.release()


# -- the broad corpus: what a counter camera sees --------------------------------------------------------
#
# 1280x720 and 1920x1080 frames, in the categories below and some of their combinations. Vouchers are
# held-up phones and prints moving towards the camera: motion blur, screens and small codes are the
# normal case, not the exception. Generated here with segno; nothing about it is tuned to one decoder.

BROAD = ("clean", "rotation", "perspective", "low_contrast", "inverted", "dark", "noise", "glare", "paper",
         "phone_screen", "gaussian_blur", "small", "motion_blur", "phone_motion", "small_dark")
SIZES = ((1280, 720), (1920, 1080))


def motion_kernel(length: float, angle: float) -> np.ndarray:
    """A straight streak ``length`` pixels long at ``angle`` degrees (anti-clockwise from the x axis): the
    same kernel the scanner deblurs with, so that a length measured is a length made."""
    from pos.scanner.recover import streak

    return streak(length, angle)


def _phone(code: np.ndarray, rng: random.Random) -> np.ndarray:
    """The code as a phone's screen shows it: a bright emissive panel with its pixel grid, a dark bezel."""
    h, w = code.shape
    pad = int(max(h, w) * 0.12)
    panel = np.full((h + 2 * pad, w + 2 * pad), 255, np.uint8)
    panel[pad:pad + h, pad:pad + w] = code
    panel = (panel.astype(np.float32) * rng.uniform(0.78, 0.95) + rng.uniform(8, 25))  # a backlit black is grey
    period = rng.choice([2, 3])
    grid = np.ones(panel.shape, np.float32)
    grid[::period, :] *= rng.uniform(0.55, 0.75)  # the gaps between the screen's pixel rows and columns
    grid[:, ::period] *= rng.uniform(0.55, 0.75)
    panel *= grid
    bezel = int(pad * 0.5)
    out = np.full((panel.shape[0] + 2 * bezel, panel.shape[1] + 2 * bezel), rng.uniform(10, 30), np.float32)
    out[bezel:-bezel, bezel:-bezel] = panel
    return np.clip(out, 0, 255).astype(np.uint8)


def _paper(code: np.ndarray, nrng: np.random.Generator) -> np.ndarray:
    """The code printed on paper: grain, ink spread, a crumple (a smooth displacement)."""
    h, w = code.shape
    ink = cv2.erode(code, np.ones((2, 2), np.uint8)) if nrng.random() < 0.5 else code
    grain = nrng.normal(0, 10, (h, w)) + cv2.resize(nrng.normal(0, 14, (max(2, h // 24), max(2, w // 24))), (w, h))
    paper = np.clip(ink.astype(np.float32) * 0.86 + 20 + grain, 0, 255)
    dx = cv2.GaussianBlur(nrng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), max(h, w) / 10) * max(h, w) * 0.25
    dy = cv2.GaussianBlur(nrng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), max(h, w) / 10) * max(h, w) * 0.25
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(paper.astype(np.uint8), xs + dx, ys + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _dark(frame: np.ndarray, rng: random.Random, nrng: np.random.Generator) -> np.ndarray:
    """A dim counter: the sensor's gain lifts the noise with the signal."""
    gain = rng.uniform(0.12, 0.22)
    lit = frame.astype(np.float32) * gain + nrng.normal(0, rng.uniform(2.5, 4.5), frame.shape)
    return np.clip(lit, 0, 255).astype(np.uint8)


def broad_sample(category: str, rng: random.Random, size: tuple[int, int] = (1280, 720)) -> tuple[np.ndarray, str]:
    """One frame of a category of the broad corpus, and the voucher payload it holds."""
    nrng = np.random.default_rng(rng.randrange(2**32))
    text = payload(rng)
    width, height = size
    frame = background(nrng, height, width)
    big = width >= 1800
    small = category in ("small", "small_dark")
    blurred = category in ("gaussian_blur", "motion_blur", "phone_motion")
    if small:
        module = 2
    elif blurred:  # a blurred code is one held close enough to fill a good part of the view
        module = rng.choice([6, 7, 8] if big else [4, 5, 6])
    else:
        module = rng.choice([4, 5, 6, 7] if big else [3, 4, 5])
    code = qr_image(text, module)
    if category in ("phone_screen", "phone_motion"):
        code = _phone(code, rng)
        if rng.random() < 0.5:  # the phone seen a little larger or smaller than its pixels: moiré
            f = rng.uniform(0.8, 1.25)
            code = cv2.resize(code, None, fx=f, fy=f, interpolation=cv2.INTER_LINEAR)
    elif category == "paper":
        code = _paper(code, nrng)
    angle = rng.uniform(15, 345) if category == "rotation" else rng.uniform(-8, 8)
    frame = place(frame, code, nrng, angle=angle, perspective=0.12 if category == "perspective" else 0.02)
    if small:
        frame = cv2.GaussianBlur(frame, (0, 0), rng.uniform(0.5, 0.7))  # slightly soft, as a small code is
    if category == "gaussian_blur":
        frame = cv2.GaussianBlur(frame, (0, 0), rng.uniform(2.4, 3.6) * (1.4 if big else 1.0))
    elif category in ("motion_blur", "phone_motion"):
        length = rng.uniform(9, 17) * (1.4 if big else 1.0) * (0.8 if category == "phone_motion" else 1.0)
        frame = cv2.filter2D(frame, -1, motion_kernel(length, rng.uniform(0, 180)))
        frame = np.clip(frame + nrng.normal(0, 2, frame.shape), 0, 255).astype(np.uint8)
    else:
        frame = _lighting(frame, category, rng, nrng)
    if category in ("dark", "small_dark"):
        frame = _dark(frame, rng, nrng)
    return frame, text


def broad_corpus(per_category: int, seed: int = 11,
                 categories: tuple[str, ...] = BROAD) -> Iterator[tuple[str, tuple[int, int], np.ndarray, str]]:
    """``per_category`` frames of each category, alternating between the two frame sizes."""
    rng = random.Random(seed)
    for category in categories:
        for i in range(per_category):
            size = SIZES[i % len(SIZES)]
            frame, text = broad_sample(category, rng, size)
            yield category, size, frame, text


def _hand_path(rng: random.Random, nrng: np.random.Generator, size: tuple[int, int],
               code_size: tuple[int, int]) -> list[np.ndarray]:
    """Where a hand holds the code, frame by frame: in from off one edge (slowing as it arrives), a short
    rest (never quite still), then off another edge (speeding up)."""
    (width, height), (cw, ch) = size, code_size
    side = rng.choice(["left", "right", "bottom"])
    rest = np.array([rng.uniform(cw * 0.7, width - cw * 0.7), rng.uniform(ch * 0.7, height - ch * 0.7)])
    start = np.array({"left": (-cw, rest[1]), "right": (width + cw, rest[1]), "bottom": (rest[0], height + ch)}[side])
    end = np.array({"left": (width + cw, rest[1] + rng.uniform(-80, 80)), "right": (-cw, rest[1]),
                    "bottom": (rest[0] + rng.uniform(-100, 100), height + ch)}[side])
    frames_in, frames_hold, frames_out = rng.randint(10, 16), rng.randint(6, 12), rng.randint(8, 14)
    points = [start + (rest - start) * (1 - (1 - (i + 1) / frames_in) ** 2) for i in range(frames_in)]
    points += [rest + nrng.normal(0, 1.5, 2) for _ in range(frames_hold)]
    points += [rest + (end - rest) * ((i + 1) / frames_out) ** 2 for i in range(frames_out)]
    return points


def write_pass_video(path: Path, text: str, *, passes: int = 3, fps: int = 30, seed: int = 5,
                     size: tuple[int, int] = (1280, 720), exposure: float = 0.5,
                     streaks: dict[int, float] | None = None) -> list[tuple[int, int]]:
    """A voucher brought into view, held briefly, and taken away, ``passes`` times, as a hand does it:
    fast (streaked by motion blur) on the way in and out, nearly still for a moment between. Returns,
    for each pass, the first and last frame in which the whole code is in view."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    width, height = size
    bg = background(nrng, height, width)
    code = qr_image(text, rng.choice([4, 5]))
    if rng.random() < 0.5:
        code = _phone(code, rng)
    ch, cw = code.shape
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, size)
    if not writer.isOpened():
        raise RuntimeError("OpenCV cannot write MJPG video here")
    in_view: list[tuple[int, int]] = []
    n = 0
    try:
        for _ in range(passes):
            for _ in range(int(fps * rng.uniform(0.5, 1.0))):  # nothing in view
                writer.write(bg)
                n += 1
            path_pts = _hand_path(rng, nrng, size, (cw, ch))
            first = last = None
            prev = path_pts[0]
            for k, pt in enumerate(path_pts):
                frame = _at(bg, code, pt)
                move = pt - prev
                speed = float(np.hypot(*move)) * exposure
                if speed > 1.5:
                    frame = cv2.filter2D(frame, -1, motion_kernel(speed, np.degrees(np.arctan2(-move[1], move[0]))))
                whole = cw / 2 <= pt[0] <= width - cw / 2 and ch / 2 <= pt[1] <= height - ch / 2
                if streaks is not None:  # each frame's streak length, for a benchmark to report
                    streaks[n + k] = speed
                if whole:
                    first = n + k if first is None else first
                    last = n + k
                writer.write(frame)
                prev = pt
            if first is not None and last is not None:
                in_view.append((first, last))
            n += len(path_pts)
        for _ in range(fps // 2):
            writer.write(bg)
            n += 1
    finally:
        writer.release()
    return in_view


def _at(bg: np.ndarray, code: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """``code`` pasted on a copy of ``bg`` with its centre at ``centre`` (cut at the edges)."""
    out = bg.copy()
    h, w = bg.shape[:2]
    ch, cw = code.shape
    x0, y0 = round(centre[0] - cw / 2), round(centre[1] - ch / 2)
    sx0, sy0 = max(0, -x0), max(0, -y0)
    dx0, dy0 = max(0, x0), max(0, y0)
    dx1, dy1 = min(w, x0 + cw), min(h, y0 + ch)
    if dx1 > dx0 and dy1 > dy0:
        out[dy0:dy1, dx0:dx1] = code[sy0:sy0 + dy1 - dy0, sx0:sx0 + dx1 - dx0, None]
    return out
