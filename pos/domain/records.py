"""Records to and from the JSON the service stores and the terminals cache, read off their dataclass fields.

A record class subclasses :class:`Record`; its fields' types say how each value is written and read:
datetimes as ISO 8601 UTC text, enums as their value, sets as sorted lists, tuples as lists, nested records
as objects. A missing or null value takes the field's default (older records lack later fields); a missing
required field raises ``KeyError`` as a dict would. A class whose stored shape is not its fields overrides
``to_dict``/``from_dict`` itself.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable
from dataclasses import MISSING, fields
from datetime import UTC, datetime
from enum import Enum, IntEnum
from typing import Any, ClassVar, Self, Union, get_args, get_origin, get_type_hints, overload

Reader = Callable[[Any], Any]


def parse_time(value: str | datetime) -> datetime:
    """ISO 8601 to an aware UTC datetime; a naive value is taken as UTC. :class:`ValueError` for text that is
    not such a time, or one that is no time in UTC (``0001-01-01T00:00:00+00:01``, before year 1)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"{value} is out of range in UTC") from exc


@overload
def format_time(value: datetime) -> str: ...
@overload
def format_time(value: None) -> None: ...
def format_time(value: datetime | None) -> str | None:
    """An aware datetime as ISO 8601 UTC text with microseconds and a ``Z``."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def plain(value: Any) -> Any:
    """A field's value as JSON-ready data."""
    if isinstance(value, IntEnum):
        return int(value)
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    raise TypeError(f"cannot store a {type(value).__name__} in a record")


def integer(raw: Any) -> int:
    """A stored whole number (an int, a float with no fraction, digits as text); ValueError otherwise."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        return int(raw)
    raise ValueError(f"not a whole number: {raw!r}")


def _reader(hint: Any) -> Reader:
    """How to read one field's stored value into its type."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if len(inner) != 1:
            raise TypeError(f"a record field may be one type or None, not {hint}")
        return _reader(inner[0])
    if origin is tuple:
        item = _reader(args[0])
        return lambda raw: tuple(item(v) for v in raw)
    if origin is frozenset:
        return frozenset
    if hint is datetime:
        return parse_time
    if hint is bool:
        return bool
    if hint is int:
        return integer
    if hint is str:
        return str
    if isinstance(hint, type) and issubclass(hint, IntEnum):
        return lambda raw: hint(integer(raw))
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint
    if isinstance(hint, type) and issubclass(hint, Record):
        return hint.from_dict
    raise TypeError(f"no way to read a record field of type {hint}")


Plan = tuple[tuple[str, Reader, bool], ...]
_plans: dict[type, Plan] = {}


def _plan(cls: type) -> Plan:
    """Per field, in order: its name, its reader, whether it must be present (worked out once per class).
    Fields the class names in ``by_hand`` are left to its own ``to_dict``/``from_dict``."""
    plan = _plans.get(cls)
    if plan is None:
        hints = get_type_hints(cls)
        skip = getattr(cls, "by_hand", ())
        plan = _plans[cls] = tuple((f.name, _reader(hints[f.name]),
                                    f.default is MISSING and f.default_factory is MISSING)
                                   for f in fields(cls) if f.name not in skip)
    return plan


def fields_to_dict(record: Record) -> dict[str, Any]:
    """A record's fields (but those it writes by hand) as JSON-ready data."""
    return {name: plain(getattr(record, name)) for name, _read, _required in _plan(type(record))}


def fields_from_dict(cls: type, d: dict[str, Any]) -> dict[str, Any]:
    """The values of ``cls``'s fields (but those it reads by hand) read from ``d``; a missing or null value is
    left out (the field's default), a missing required one raises ``KeyError``."""
    values: dict[str, Any] = {}
    for name, read, required in _plan(cls):
        raw = d.get(name)
        if raw is None:
            if required:
                raise KeyError(name)
            continue
        values[name] = read(raw)
    return values


class Record:
    """A frozen dataclass stored as JSON (subclasses are ``@dataclass(frozen=True, slots=True)``)."""

    __slots__ = ()
    __dataclass_fields__: ClassVar[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return fields_to_dict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        return cls(**fields_from_dict(cls, d))

    @classmethod
    def from_json(cls, text: str | bytes) -> Self:
        return cls.from_dict(json.loads(text))

