"""Doors: ways into a game server that need nothing installed on the player's machine.

- `ssh`: an SSH server (asyncssh) whose every session is a pty running the real client;
- `web`: the client in a browser tab (textual-serve), one client process per tab;
- `lan`: the host's LAN address and the zeroconf announcement `interlane join` listens for.

All of them run in the game server's own event loop (`server.doors.runner`). A door never
talks the game protocol itself: it starts `python -m client.door …` (a separate process,
so the dependency rule of docs/architecture.md holds) pointed at the server over loopback.
"""
