"""The terminal's configuration: a TOML file, overridden by environment variables.

    [terminal]
    service_url = "http://127.0.0.1:8765"   # POS_SERVICE_URL (several hosts: "http://a:8765, http://b:8765")
    token = "…"                             # POS_TOKEN   (the terminal's bearer token)
    store_id = "S001"                       # POS_STORE
    terminal_id = "S001-T1"                 # POS_TERMINAL
    staff_id = "alice"                      # POS_STAFF   (default staff for pos redeem / cancel)
    database = "pos-terminal.db"            # POS_TERMINAL_DB (relative to this file)
    timeout = 2.0                           # POS_TIMEOUT (seconds the counter waits for the service)
    camera = "0"                            # POS_CAMERA  (camera index, video file or stream URL; "" = off)
    language = "zh"                         # POS_LANG    (en or zh; default: from the locale)
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

ENV = {
    "service_url": "POS_SERVICE_URL",
    "token": "POS_TOKEN",
    "store_id": "POS_STORE",
    "terminal_id": "POS_TERMINAL",
    "staff_id": "POS_STAFF",
    "database": "POS_TERMINAL_DB",
    "timeout": "POS_TIMEOUT",
    "camera": "POS_CAMERA",
    "language": "POS_LANG",
}


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class TerminalConfig:
    service_url: str = "http://127.0.0.1:8765"
    """Base URL of the redemption service; several hosts of one service separated by commas, tried in turn
    when one cannot be reached."""
    token: str = ""
    """Bearer token that binds this terminal to its store (from ``pos terminals add``)."""
    store_id: str = ""
    """The store this terminal stands in; always shown at the counter."""
    terminal_id: str = ""
    """A name for this terminal, as registered with the service."""
    staff_id: str | None = None
    """Default staff member for ``pos redeem`` and ``pos cancel`` when ``--staff`` is not given."""
    database: Path = Path("pos-terminal.db")
    """The local SQLite file: catalog cache, journal, outbox."""
    timeout: float = 2.0
    """How long the counter waits for the service before deciding offline."""
    camera: str | None = None
    """The counter's camera: an index ("0"), a video file or a stream URL; unset or "" = off (F8 turns it on)."""
    language: str | None = None
    """The UI's language, ``en`` or ``zh``; unset = from the locale (LANG=zh_CN.UTF-8 → Chinese)."""


def load(path: str | Path | None = None) -> TerminalConfig:
    """Read ``path`` (or $POS_CONFIG, or ./pos.toml when present), then apply environment overrides."""
    values: dict[str, object] = {}
    base = Path.cwd()
    chosen = Path(path) if path else Path(os.environ["POS_CONFIG"]) if os.environ.get("POS_CONFIG") else None
    if chosen is None and Path("pos.toml").exists():
        chosen = Path("pos.toml")
    if chosen is not None:
        try:
            data = tomllib.loads(chosen.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read {chosen}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{chosen} is not valid TOML: {exc}") from exc
        section = data.get("terminal", {})
        unknown = set(section) - set(ENV)
        if unknown:
            raise ConfigError(f"{chosen}: unknown setting(s) {', '.join(sorted(unknown))} in [terminal]")
        values.update(section)
        base = chosen.resolve().parent
    for key, var in ENV.items():
        if os.environ.get(var):
            values[key] = os.environ[var]
    try:
        timeout = float(values.pop("timeout", 2.0))  # type: ignore[arg-type]
    except ValueError as exc:
        raise ConfigError("timeout must be a number of seconds") from exc
    database = Path(str(values.pop("database", "pos-terminal.db")))
    cfg = TerminalConfig(**values, timeout=timeout, database=database if database.is_absolute() else base / database)  # type: ignore[arg-type]
    if not [u for u in cfg.service_url.split(",") if u.strip().startswith(("http://", "https://"))]:
        raise ConfigError(f"service_url must be one or more http(s):// URLs, not {cfg.service_url!r}")
    if cfg.language not in (None, "", "en", "zh"):
        raise ConfigError(f"language must be en or zh, not {cfg.language!r}")
    missing = [k for k in ("token", "store_id", "terminal_id") if not getattr(cfg, k)]
    if missing:
        where = f" in {chosen}" if chosen else " (no pos.toml here and no $POS_CONFIG)"
        raise ConfigError(f"the terminal is not configured: {', '.join(missing)} missing{where}; "
                          f"see docs/configuration.md")
    return cfg


def write(path: Path, cfg: TerminalConfig) -> None:
    lines = ["[terminal]"]
    for key in ENV:
        value = getattr(cfg, key)
        if value is None:
            continue
        if key == "database":
            value = Path(value).resolve()  # relative paths would be read relative to the file
        # a JSON string is a valid TOML basic string: quotes and backslashes (Windows paths) stay intact
        lines.append(f"{key} = {value!r}" if isinstance(value, float) else f"{key} = {json.dumps(str(value))}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
