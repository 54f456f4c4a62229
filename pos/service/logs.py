"""The service's log: one JSON object per line on standard error (or plain text for a person at a terminal).

Every line has ``at`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``; a request line (``--access-log``)
adds ``client``, ``method``, ``path`` and ``status``; a failure adds ``error`` with its traceback. Headers and
bodies are never logged, so no token or PIN can reach the log. Give the result of :func:`config` to uvicorn as
its ``log_config``: the service's own loggers (``pos.*``) and uvicorn's then write the same way.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

FORMATS = ("json", "text")


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, _version, status = record.args
            line.update(message=f"{method} {path} {status}", client=client, method=method, path=path, status=status)
        else:
            line["message"] = record.getMessage()
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def config(level: str = "warning", *, form: str = "json") -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` for uvicorn's ``log_config``: ``form`` is ``json`` or ``text``."""
    if form not in FORMATS:
        raise ValueError(f"the log format is one of {', '.join(FORMATS)}, not {form!r}")
    formatter: dict[str, Any] = ({"()": f"{__name__}.JsonLines"} if form == "json"
                                 else {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"})
    handler = {"class": "logging.StreamHandler", "formatter": "main", "stream": "ext://sys.stderr"}
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {"main": handler},
        "loggers": {name: {"handlers": ["main"], "level": level, "propagate": False}
                    for name in ("pos", "uvicorn", "uvicorn.error", "uvicorn.access")},
    }


def announce(message: str, *, form: str = "json") -> None:
    """A line the operator should always see at start-up (where the service listens, what was loaded), in the
    log's format, whatever the level."""
    import sys

    if form == "json":
        record = logging.LogRecord("pos.serve", logging.INFO, __file__, 0, message, None, None)
        print(JsonLines().format(record), file=sys.stderr, flush=True)
    else:
        print(f"pos serve: {message}", file=sys.stderr, flush=True)
