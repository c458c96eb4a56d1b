"""Which rooms a server holds, by join code, and how codes are made and typed.

A code is CODE_LENGTH characters of CODE_ALPHABET (shared/protocol.py: no look-alikes), so
that it can be read aloud in a workshop and typed with dashes or in lower case.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

from shared.protocol import CODE_ALPHABET, CODE_LENGTH


def new_code(taken: set[str] | dict[str, Any], rng: secrets.SystemRandom | None = None) -> str:
    """A fresh join code of CODE_LENGTH characters from CODE_ALPHABET (no look-alikes)."""
    pick = rng or secrets.SystemRandom()
    for _ in range(10_000):
        code = "".join(pick.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if code not in taken:
            return code
    raise RuntimeError("no free room code")  # 31**5 codes: only with millions of rooms


def normalise_code(text: str) -> str:
    """What a person typed as a code, made comparable: upper case, no spaces or dashes."""
    return "".join(ch for ch in text.upper() if ch not in " -_")


class Registry:
    """All rooms of one server by code. Rooms are whatever object the caller stores."""

    def __init__(self) -> None:
        self.rooms: dict[str, Any] = {}

    def reserve_code(self) -> str:
        return new_code(self.rooms)

    def add(self, code: str, room: Any) -> None:
        self.rooms[code] = room

    def get(self, code: str) -> Any | None:
        return self.rooms.get(normalise_code(code))

    def remove(self, code: str) -> None:
        self.rooms.pop(code, None)

    def __len__(self) -> int:
        return len(self.rooms)

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self.rooms.values()))
