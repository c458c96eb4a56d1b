"""`interlane`: one entry point, a subcommand per way of using the game.

The parser lives here; each subcommand's work lives in the module that owns it and is
imported only when that subcommand runs, so `interlane --help` is instant and a headless
server never imports Textual.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

DEFAULT_PORT = 8765
DEFAULT_SERVER = f"ws://127.0.0.1:{DEFAULT_PORT}"

# subcommand -> (module, function); the function takes the parsed args and returns an exit code
HANDLERS: dict[str, tuple[str, str]] = {
    "solo": ("client.launch", "run_solo"),
    "host": ("client.launch", "run_host"),
    "join": ("client.launch", "run_join"),
    "spectate": ("client.launch", "run_spectate"),
    "replay": ("client.launch", "run_replay"),
    "server": ("client.launch", "run_server"),
    "sim": ("client.launch", "run_sim"),
    "bots": ("client.launch", "run_bots"),
    "history": ("client.launch", "run_history"),
    "report": ("client.launch", "run_report"),
}


class _Parser(argparse.ArgumentParser):
    """argparse that ends with a short line and exit code 2, never a traceback."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"interlane: {message} (try `{self.prog} --help`)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number ≥ 0, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def _port(text: str) -> int:
    value = _positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is 0–65535, got {value}")
    return value


def _server_url(text: str) -> str:
    """A game server's address: ws://HOST:PORT or wss://HOST:PORT, nothing else."""
    scheme, sep, rest = text.strip().partition("://")
    if sep and scheme.lower() in ("ws", "wss") and rest.strip("/"):
        return f"{scheme.lower()}://{rest}"
    where = (rest if sep else text.strip()).strip("/") or "192.168.1.20:8765"
    secure = "s" if scheme.lower() in ("https", "wss") else ""
    raise argparse.ArgumentTypeError(
        f"{text!r} is not a game server address: use ws:// (or wss:// for TLS), "
        f"e.g. ws{secure}://{where}"
    )


def _room_code(text: str) -> str:
    """A room code as the host's screen shows it (case, spaces and dashes do not matter)."""
    from shared.protocol import CODE_ALPHABET, CODE_LENGTH

    code = "".join(ch for ch in text.upper() if ch not in " -_")
    if not code:
        return ""  # no code yet: the join form asks for it (the doors start a join so)
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a room code: a code is {CODE_LENGTH} letters and digits "
            "(never I, L, O, 0 or 1), as the host's screen shows it"
        )
    return code


def _readable_file(text: str) -> str:
    try:
        with open(text, "rb"):
            pass
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot read {text!r}: {exc.strerror}") from None
    return text


def _door_options(parser: argparse.ArgumentParser) -> None:
    """Ways in for players with nothing installed (docs/workshop.md)."""
    parser.add_argument(
        "--ssh", type=_port, default=None, metavar="PORT", help="SSH door: ssh -p PORT CODE@HOST"
    )
    parser.add_argument(
        "--web", type=_port, default=None, metavar="PORT", help="browser door: http://HOST:PORT/"
    )
    parser.add_argument(
        "--no-announce", action="store_true", help="do not announce the rooms on the LAN (mDNS)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="interlane",
        description="Interlane: drive together on a shared highway, then debrief what happened.",
        epilog="With no subcommand, starts a solo game against bots.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    solo = sub.add_parser("solo", help="practise alone against bots (no set-up)")
    solo.add_argument(
        "--scenario", default=None, help="one scenario instead: name or TOML file, e.g. damper-ring"
    )
    solo.add_argument(
        "--program",
        default=None,
        help="program of rounds, name or TOML file (default: solo-practice, the solo ladder)",
    )
    solo.add_argument("--bots", type=_positive_int, default=None, help="number of bots")
    solo.add_argument("--seed", type=_positive_int, default=None, help="random seed")
    solo.add_argument("--name", default=None, help="your display name")

    host = sub.add_parser("host", help="start a server and open the host dashboard")
    host.add_argument(
        "--server",
        type=_server_url,
        default=None,
        help="host a room on a running `interlane server` (ws://HOST:PORT or wss://…) "
        "instead of starting one here",
    )
    host.add_argument(
        "--cafile", type=_readable_file, default=None, help="PEM certificate to trust for wss://"
    )
    host.add_argument("--host", default="0.0.0.0", help="address to listen on")
    host.add_argument("--port", type=_port, default=DEFAULT_PORT)
    host.add_argument("--program", default="workshop", help="program name or TOML file")
    host.add_argument("--scenario", default=None, help="scenario for a single-round room")
    host.add_argument("--bots", type=_positive_int, default=None)
    host.add_argument("--db", default=None, help="SQLite file (default: user data directory)")
    host.add_argument("--name", default="Host")
    _door_options(host)

    join = sub.add_parser("join", help="join a room by its code")
    join.add_argument("code", type=_room_code, help="the 5-character room code")
    join.add_argument(
        "--server",
        type=_server_url,
        default=None,
        help="ws://HOST:PORT or wss://… (default: look on the LAN)",
    )
    join.add_argument("--name", default=None)
    join.add_argument(
        "--cafile", type=_readable_file, default=None, help="PEM certificate to trust for wss://"
    )

    spectate = sub.add_parser("spectate", help="the projector view of a room")
    spectate.add_argument("code", type=_room_code)
    spectate.add_argument("--server", type=_server_url, default=DEFAULT_SERVER)
    spectate.add_argument(
        "--cafile", type=_readable_file, default=None, help="PEM certificate to trust for wss://"
    )

    replay = sub.add_parser("replay", help="scrub through a stored round")
    replay.add_argument("game", help="game id from `interlane history`")
    replay.add_argument("--round", type=_positive_int, default=None, dest="round_no")
    replay.add_argument("--db", default=None)

    server = sub.add_parser("server", help="run a headless game server")
    server.add_argument("--host", default="0.0.0.0")
    server.add_argument("--port", type=_port, default=DEFAULT_PORT)
    server.add_argument("--db", default=None, help="SQLite file (default: user data directory)")
    server.add_argument("--certfile", default=None, help="TLS certificate (PEM) for wss://")
    server.add_argument("--keyfile", default=None, help="TLS private key (PEM)")
    server.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        help="worker processes behind a front door on --port (default: one per core, or 1 "
        "with a door; "
        "1: a single process; 0: a front door alone, with --redis)",
    )
    server.add_argument(
        "--redis", default=None, help="redis://HOST:PORT, the room directory shared by machines"
    )
    server.add_argument(
        "--public-host", default=None, help="the name clients reach this machine's workers by"
    )
    server.add_argument(
        "--worker-port", type=_port, default=0, help="worker i listens on this + i (default: any)"
    )
    server.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    _door_options(server)

    sim = sub.add_parser("sim", help="run a scenario headless with bots, write a trace CSV")
    sim.add_argument("--scenario", required=True)
    sim.add_argument("--seconds", type=_positive_float, required=True)
    sim.add_argument("--seed", type=_positive_int, default=1)
    sim.add_argument("--bots", type=_positive_int, default=None)
    sim.add_argument("--lanes", type=_positive_int, default=None)
    sim.add_argument("--length", type=_positive_float, default=None, help="ring length in m")
    sim.add_argument("--mix", default=None, help="e.g. steady:0.7,hurried:0.1,distracted:0.2")
    sim.add_argument("--rulebook", default=None, help="e.g. passing=right,merge=zipper")
    sim.add_argument("--every", type=_positive_int, default=1, help="write every K-th tick")
    sim.add_argument("--trace", default=None, help="CSV file for t,car,lane,x,v")

    bots = sub.add_parser("bots", help="remote bot players that join a room (load test)")
    bots.add_argument("code")
    bots.add_argument("--count", type=_positive_int, required=True)
    bots.add_argument("--server", default=DEFAULT_SERVER)
    bots.add_argument("--seconds", type=_positive_float, default=None, help="stop after S s")

    history = sub.add_parser("history", help="list stored games")
    history.add_argument("--db", default=None)

    report = sub.add_parser("report", help="export a game's debrief")
    report.add_argument("game")
    report.add_argument("--format", choices=("md", "html", "json", "csv"), default="md")
    report.add_argument("-o", "--output", default=None, help="file to write (default: stdout)")
    report.add_argument("--db", default=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `interlane` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command or "solo"
    if args.command is None:
        args = parser.parse_args(["solo", *(argv or [])])
    module_name, func_name = HANDLERS[command]
    handler = getattr(importlib.import_module(module_name), func_name)
    try:
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
