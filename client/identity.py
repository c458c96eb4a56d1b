"""Who this client is, when several players share one OS user (the doors).

Every SSH or browser door session runs as the host's OS user with the host's data folder.
Anything the client keeps on disk per player (the seat tokens that let a dropped player
rejoin) must therefore be namespaced by `identity_key()`: the door sets INTERLANE_IDENTITY
to something that belongs to that player alone (the SSH client's public-key fingerprint,
a browser's own cookie, else the one session). An ordinary `interlane join` has no such
variable and keeps the plain, unnamespaced store.
"""

from __future__ import annotations

import os
import re

IDENTITY_ENV = "INTERLANE_IDENTITY"
_SAFE = re.compile(r"[a-z0-9-]{1,80}")


def identity_key() -> str | None:
    """The door player's key (safe as a file or directory name), or None outside a door."""
    value = os.environ.get(IDENTITY_ENV, "")
    return value if _SAFE.fullmatch(value) else None
