"""One code, one event: what the counter receives from a stream of decoded frames."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from pos.scanner.decoders import Decoder


@dataclass(frozen=True, slots=True)
class CodeRead:
    text: str
    frame: int


@dataclass(frozen=True, slots=True)
class Ambiguous:
    """Two or more different codes in one frame: the counter asks for one at a time, it never guesses."""

    texts: tuple[str, ...]
    frame: int


class Debouncer:
    """Report a code once; the same code again only after it has been out of sight for ``window`` seconds."""

    def __init__(self, window: float = 3.0) -> None:
        self.window = window
        self._last_seen: dict[str, float] = {}

    def seen(self, text: str, at: float) -> bool:
        """True when this sighting is a new event."""
        last = self._last_seen.get(text)
        self._last_seen[text] = at
        return last is None or at - last > self.window


def events(frames: Iterable[np.ndarray], decoder: Decoder, *, window: float = 3.0,
           fps: float = 30.0) -> Iterator[CodeRead | Ambiguous]:
    """Decode a stream of frames into events (time is the frame number over ``fps``)."""
    debounce = Debouncer(window)
    for n, frame in enumerate(frames):
        texts = sorted({r.text for r in decoder.decode(frame)})
        if len(texts) > 1:
            fresh = [debounce.seen(t, n / fps) for t in texts]  # every code's sighting counts
            if any(fresh):
                yield Ambiguous(tuple(texts), n)
        elif texts and debounce.seen(texts[0], n / fps):
            yield CodeRead(texts[0], n)
