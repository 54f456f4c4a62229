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
    cx, cy = rng.uniform(cw * 0.8, w - cw * 0.8), rng.uniform(ch * 0.8, h - ch * 0.8)
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
    elif category == "noise":
        frame = np.clip(frame + nrng.normal(0, rng.uniform(25, 35), frame.shape), 0, 255).astype(np.uint8)
    elif category == "low_contrast":
        lo = rng.uniform(90, 120)
        frame = (lo + frame.astype(np.float32) * rng.uniform(0.12, 0.18)).astype(np.uint8)
    elif category == "glare":
        overlay = np.zeros(frame.shape[:2], np.float32)
        cv2.ellipse(overlay, (int(nrng.integers(0, width)), int(nrng.integers(0, height))),
                    (int(width * 0.25), int(height * 0.18)), rng.uniform(0, 180), 0, 360, 1.0, -1)
        overlay = cv2.GaussianBlur(overlay, (0, 0), 25) * rng.uniform(0.5, 0.8)
        frame = np.clip(frame + overlay[..., None] * 255, 0, 255).astype(np.uint8)
    elif category == "inverted":
        frame = 255 - frame
    return frame, text


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
