"""What the till did, for a support person: ``pos-ui.log`` beside the terminal's file.

One line per event — the app's start, each login (or refusal) and logout, each verdict with its code,
reason, discount, mode and staff member, each undo, each sync with what it uploaded, and each failure with
its traceback — in the till's local time. Rotated at 1 MB, three old files kept. Never a PIN or a token.
"""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOGGER = "pos.ui"


def open_log(path: Path) -> logging.Logger:
    """The UI's logger, writing to ``path`` (once per process; a later app beside another terminal file
    moves it there)."""
    logger = logging.getLogger(LOGGER)
    target = str(path.resolve())
    for old in [h for h in logger.handlers if isinstance(h, RotatingFileHandler) and h.baseFilename != target]:
        logger.removeHandler(old)
        old.close()
    if not any(isinstance(h, RotatingFileHandler) for h in logger.handlers):
        try:
            handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8", delay=True)
        except OSError:
            return logger  # a folder we cannot write to: the UI works on, unlogged
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def event(what: str, /, **facts: object) -> None:
    """One line: what happened, then its facts as ``name=value`` (values with spaces quoted)."""
    parts = [what]
    for name, value in facts.items():
        if value is None:
            continue
        text = str(value)
        parts.append(f"{name}={text!r}" if " " in text or not text else f"{name}={text}")
    logging.getLogger(LOGGER).info(" ".join(parts))


def failure(what: str, exc: BaseException) -> None:
    logging.getLogger(LOGGER).error("%s failed: %s", what, exc, exc_info=(type(exc), exc, exc.__traceback__))
