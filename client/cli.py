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
    "server": ("server.serve", "run_server"),
    "sim": ("server.sim_cli", "run_sim"),
    "bots": ("server.remote_bots", "run_bots"),
    "history": ("server.history_cli", "run_history"),
    "report": ("server.history_cli", "run_report"),
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
        "--scenario", default=None, help="scenario name or TOML file (default: open-road)"
    )
    solo.add_argument(
        "--program",
        default=None,
        help="a program of rounds instead, e.g. solo-practice (name or TOML file)",
    )
    solo.add_argument("--bots", type=_positive_int, default=None, help="number of bots")
    solo.add_argument("--seed", type=_positive_int, default=None, help="random seed")
    solo.add_argument("--name", default=None, help="your display name")

    host = sub.add_parser("host", help="start a server and open the host dashboard")
    host.add_argument("--host", default="0.0.0.0", help="address to listen on")
    host.add_argument("--port", type=_port, default=DEFAULT_PORT)
    host.add_argument("--program", default="workshop", help="program name or TOML file")
    host.add_argument("--scenario", default=None, help="scenario for a single-round room")
    host.add_argument("--bots", type=_positive_int, default=None)
    host.add_argument("--db", default=None, help="SQLite file (default: user data directory)")
    host.add_argument("--name", default="Host")
    _door_options(host)

    join = sub.add_parser("join", help="join a room by its code")
    join.add_argument("code", help="the 5-character room code")
    join.add_argument(
        "--server", default=None, help="ws://HOST:PORT or wss://… (default: look on the LAN)"
    )
    join.add_argument("--name", default=None)

    spectate = sub.add_parser("spectate", help="the projector view of a room")
    spectate.add_argument("code")
    spectate.add_argument("--server", default=DEFAULT_SERVER)

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
    try:
        module = importlib.import_module(module_name)
        handler = getattr(module, func_name)
    except (ImportError, AttributeError) as exc:
        print(f"interlane {command}: not available in this build ({exc})", file=sys.stderr)
        return 3
    try:
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
