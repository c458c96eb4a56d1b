"""The seats this machine holds: a rejoin token per server and room code, kept on disk.

A player is a person, not a process: when a terminal dies (or someone quits by mistake)
and the same `interlane join` runs again, the server must see the same member, so the
token it handed out cannot live only in the process's memory. It is kept in the user data
folder (platformdirs), readable by this user only (0600, since a token is a seat), and
written atomically (a temporary file renamed over the old one), so a process killed
halfway through a write never leaves a broken file behind. A file that cannot be read is
treated as empty: losing a seat is an inconvenience, never a crash.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from client.identity import identity_key

SEATS_FILENAME = "seats.json"
KEEP_SECONDS = 12 * 3600.0
"""Seats older than this are dropped when the file is next written: a server forgets an
away member after minutes, and a host's room rarely outlives a working day."""
MAX_SEATS = 200


@dataclass(frozen=True)
class Seat:
    """One member this machine was given: where, which room, the token and who it was."""

    server: str
    code: str
    token: str
    name: str
    role: str
    saved: float


def seats_path() -> Path:
    """The seats file in the user data folder (XDG_DATA_HOME on Linux).

    A door player (SSH or browser, docs/workshop.md) runs as the host's OS user with the
    host's data folder, so each door identity (client/identity.py) keeps its seats in a
    folder of its own: two door players never share a seat, and one who drops gets theirs
    back by coming in the same way (the same SSH key, the same browser)."""
    folder = Path(platformdirs.user_data_dir("interlane", appauthor=False))
    identity = identity_key()
    if identity is not None:
        folder = folder / "doors" / identity
    return folder / SEATS_FILENAME


def _key(server: str, code: str) -> str:
    return f"{server.rstrip('/')} {code.upper()}"


def _read(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, dict)}


def _seat(raw: dict[str, Any]) -> Seat | None:
    try:
        seat = Seat(
            server=str(raw["server"]),
            code=str(raw["code"]),
            token=str(raw["token"]),
            name=str(raw["name"]),
            role=str(raw["role"]),
            saved=float(raw["saved"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
    return seat if seat.token else None


def _write(path: Path, seats: dict[str, dict[str, Any]]) -> None:
    """Replace the file in one step, created 0600 (mkstemp's mode) and fsynced first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".seats-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(seats, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class SeatStore:
    """Read and write the seats file. `path` and `clock` are injectable for tests."""

    def __init__(self, path: Path | None = None, clock: Any = time.time) -> None:
        self.path = path or seats_path()
        self._clock = clock

    def get(self, server: str, code: str) -> Seat | None:
        """The seat held in room `code` on `server`, if any."""
        raw = _read(self.path).get(_key(server, code))
        return _seat(raw) if raw is not None else None

    def host_seat(self, server: str) -> Seat | None:
        """The most recent room this machine hosts on `server` (to take it back)."""
        best: Seat | None = None
        for raw in _read(self.path).values():
            seat = _seat(raw)
            if seat is None or seat.role != "host" or seat.server != server.rstrip("/"):
                continue
            if best is None or seat.saved > best.saved:
                best = seat
        return best

    def save(self, server: str, code: str, token: str, name: str, role: str) -> bool:
        """Remember a seat; False (and nothing raised) when the folder is not writable."""
        now = self._clock()
        seats = {
            k: v
            for k, v in _read(self.path).items()
            if (s := _seat(v)) is not None and now - s.saved < KEEP_SECONDS
        }
        seats[_key(server, code)] = {
            "server": server.rstrip("/"),
            "code": code.upper(),
            "token": token,
            "name": name,
            "role": role,
            "saved": now,
        }
        if len(seats) > MAX_SEATS:
            newest = sorted(seats.items(), key=lambda kv: kv[1]["saved"])[-MAX_SEATS:]
            seats = dict(newest)
        try:
            _write(self.path, seats)
        except OSError:
            return False
        return True

    def forget(self, server: str, code: str) -> None:
        """Drop a seat that is over (room closed, kicked, or the server no longer knows it)."""
        seats = _read(self.path)
        if seats.pop(_key(server, code), None) is None:
            return
        with contextlib.suppress(OSError):
            _write(self.path, seats)
