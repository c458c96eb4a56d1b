"""An `interlane` command run as a person runs it: its own process on a pseudo-terminal.

The TUI draws on the pty (a reader thread drains it so the process never blocks on a full
terminal); keys are bytes written to the pty; stderr, where the launcher's one-sentence
errors go, is kept apart. Tests wait on the server's state or the process, never on sleeps.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class TuiProcess:
    live: list[TuiProcess] = []  # every process not yet ended: `kill_all` after each test

    def __init__(self, args: list[str], data_home: Path, cols: int = 100, rows: int = 30) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = {
            **os.environ,
            "TERM": "xterm-256color",
            "XDG_DATA_HOME": str(data_home),
            "PYTHONUNBUFFERED": "1",
            "PYTHONFAULTHANDLER": "1",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "client.cli", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,  # Textual draws on stderr; the launcher's errors follow it
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        TuiProcess.live.append(self)
        self.master = master
        self.screen = bytearray()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.screen.extend(chunk)
            del self.screen[: max(0, len(self.screen) - 1_000_000)]

    def press(self, keys: bytes) -> None:
        os.write(self.master, keys)

    @classmethod
    def kill_all(cls) -> None:
        """End what a test left running (a test that failed half-way must not leave a client
        behind on the machine)."""
        while cls.live:
            tui = cls.live.pop()
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                tui.kill()

    def kill(self) -> None:
        """SIGKILL, as when a terminal dies: nothing in the process gets to say goodbye."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._close()

    def wait(self, timeout: float) -> tuple[int, str]:
        """Exit code, and the last lines the terminal showed, of a process that ends."""
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)
        self._close()
        return code, self.text()

    def text(self) -> str:
        """What was written to the terminal, without escape sequences."""
        raw = bytes(self.screen).decode(errors="replace")
        return re.sub(
            r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|.)", "", raw
        )

    def _close(self) -> None:
        if self in TuiProcess.live:
            TuiProcess.live.remove(self)
        if self.master < 0:
            return  # closed already: the number may belong to another file by now
        with contextlib.suppress(OSError):
            os.close(self.master)
        self.master = -1
