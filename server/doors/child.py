"""What a door runs for one player: the client's argv, its fixed environment, its end.

The environment is built here from nothing: a player can send SSH `env` requests or any
browser query string they like, and none of it reaches the child. Only the terminal type
and size come from the player, and both are checked first.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import signal
import sys
from pathlib import Path

from shared.protocol import CODE_ALPHABET, CODE_LENGTH

# the folder that holds the client, server and shared packages (for a source checkout)
PROJECT_ROOT = Path(__file__).resolve().parents[2]
_TERM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,39}")
# what the host's environment lends the child: where its data folder is, nothing else
_HOST_KEYS = ("HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "TZ")
WATCH_PREFIX = "watch-"


def room_code(text: str) -> str | None:
    """`text` as a room code, or None when it is not one (case does not matter)."""
    code = text.strip().upper()
    if len(code) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in code):
        return code
    return None


def client_args(user: str, server_url: str) -> list[str]:
    """The `interlane` arguments for an SSH user name (or a browser's `?room=`).

    CODE joins that room (the form asks the name), watch-CODE spectates, anything else
    opens the join form with the code to type.
    """
    if user.lower().startswith(WATCH_PREFIX):
        code = room_code(user[len(WATCH_PREFIX) :])
        if code is not None:
            return ["spectate", code, "--server", server_url]
    return ["join", room_code(user) or "", "--server", server_url]


def identity_from(secret: str, kind: str) -> str:
    """A short key for INTERLANE_IDENTITY that says where it came from, never the secret."""
    return f"{kind}-{hashlib.sha256(secret.encode()).hexdigest()[:32]}"


def clean_term(term: str | None) -> str:
    return term if term and _TERM.fullmatch(term) else "xterm-256color"


def child_env(term: str, identity: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The child's whole environment: fixed values, the player's TERM, the identity."""
    env = {
        "PATH": os.defpath,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": clean_term(term),
        "COLORTERM": "truecolor",
        "PYTHONPATH": str(PROJECT_ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "INTERLANE_IDENTITY": identity,
        # snapshots come 20 times a second: drawing more often only costs the host CPU
        "TEXTUAL_FPS": "20",
    }
    for key in _HOST_KEYS:
        if key in os.environ:
            env[key] = os.environ[key]
    env.update(extra or {})
    return env


def child_argv(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "client.door", *args]


async def end_process_group(process: asyncio.subprocess.Process, grace: float = 2.0) -> None:
    """Hang up the child's whole process group, then kill what is left. Idempotent.

    The child was started with start_new_session, so its process group id is its pid and
    everything it started shares it.
    """
    pgid = process.pid
    for sig in (signal.SIGHUP, signal.SIGTERM):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
        try:
            await asyncio.wait_for(process.wait(), grace / 2)
            break
        except TimeoutError:
            continue
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)  # anything the child left in its group
    with contextlib.suppress(ProcessLookupError):
        await process.wait()
