"""What a validation finds: each rule broken as a stable code, the field it concerns and a sentence."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong: a stable ``code``, the ``field`` it concerns, a sentence."""

    code: str
    field: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "field": self.field, "message": self.message}


class Problems(list[Problem]):
    """What a validation collects: every rule broken, in form order."""

    def add(self, code: str, field: str, message: str) -> None:
        self.append(Problem(code, field, message))
