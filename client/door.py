"""The client as a door runs it: `python -m client.door join CODE --server URL`.

A door (the SSH door, the browser door; see docs/workshop.md) starts one of these per
player. The arguments are the ordinary `interlane` ones, so a door player runs exactly the
code of `interlane join`. The only extra work is the terminal: the SSH door starts us as
the leader of a new session on a fresh pty, and a session leader must claim that pty as its
controlling terminal, or the kernel would not tell us (SIGWINCH) when the player's window
is resized and would not hang us up (SIGHUP) when the player goes away.

The door also sets INTERLANE_IDENTITY (see `client.identity`): every door player runs as
the host's OS user, so that key is what keeps one player's saved seat from another's.
"""

from __future__ import annotations

import contextlib
import os
import sys
import termios


def claim_terminal() -> None:
    """Make stdin's terminal our controlling terminal, when stdin is one (SSH door)."""
    if not os.isatty(0):
        return  # the browser door talks over pipes; there is no terminal to claim
    with contextlib.suppress(OSError):
        import fcntl

        fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def main(argv: list[str] | None = None) -> int:
    claim_terminal()
    from client.cli import main as cli_main

    return cli_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
