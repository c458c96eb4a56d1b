"""Entry points of every `interlane` subcommand: the composition root of the client.

Each takes the arguments parsed by `client.cli` and returns an exit code. This is the one
client module that imports the server package (always inside a function, so `interlane
--help` stays instant and `interlane server` never imports Textual): solo and host run the
game server inside this process (`server.embedded`), on a background thread, so a player
needs nothing but this one command; the replay screen reads the history file through the
reader handed to the app here; and the server-side subcommands (server, sim, bots, history,
report) are passed on to their server modules.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import Any

from shared.protocol import clean_name

SOLO_PROGRAM = "solo-practice"


def default_name() -> str:
    """The login name, cleaned: a sensible default nobody has to type."""
    try:
        name = clean_name(getpass.getuser())
    except Exception:  # getuser raises several things when there is no user database
        name = ""
    return name or "Driver"


def _start_server(host: str, port: int, db: str | None, doors: Any = None) -> Any:
    from server.embedded import start_embedded

    try:
        return start_embedded(host=host, port=port, db=db, doors=doors)
    except OSError as exc:  # the port is taken, or the address is not ours
        print(f"interlane: cannot listen on {host}:{port} ({exc.strerror or exc})", file=sys.stderr)
        if doors is not None:
            print("  (or on the --ssh / --web port asked for)", file=sys.stderr)
    except ValueError as exc:  # a database file that is not ours
        print(f"interlane: {exc}", file=sys.stderr)
    return None


def _run(plan: Any, handle: Any = None) -> int:
    from client.app import InterlaneApp
    from server.replays import load_stored  # the history file, for the replay screen

    app = InterlaneApp(plan, rounds=load_stored)
    try:
        result = app.run()
    finally:
        if handle is not None:
            handle.stop()
    if app.exit_message:
        print(app.exit_message, file=sys.stderr)
    return int(result or 0)


def _registered(
    command: str,
    value: str,
    names: Callable[[], list[str]],
    register: Callable[[str], str],
    error: type[Exception],
) -> tuple[str | None, bool]:
    """A name the embedded server accepts: a built-in passes, a local file is checked here and
    registered by name (rooms never open paths that arrive over the network).

    Returns (name, ok); on a bad file the one-line error has been printed.
    """
    if value in names():
        return value, True
    try:
        return register(value), True
    except error as exc:
        print(f"interlane {command}: {exc}", file=sys.stderr)
        return None, False


def _local_scenario(command: str, scenario: str | None) -> tuple[str | None, bool]:
    if scenario is None:
        return None, True
    from shared.sim.scenario import ScenarioError, list_scenarios, register_scenario

    return _registered(command, scenario, list_scenarios, register_scenario, ScenarioError)


def _local_program(command: str, program: str | None) -> tuple[str | None, bool]:
    if program is None:
        return None, True
    from server.programs import ProgramError, list_programs, register_program

    return _registered(command, program, list_programs, register_program, ProgramError)


def run_solo(args: argparse.Namespace) -> int:
    """`interlane solo`: embedded server on loopback, create a room, drive, bots around."""
    from client.plan import Plan

    # like `host`: a scenario asked for wins over a program; neither: the solo ladder, whose
    # first road shows stop-and-go waves within a minute (docs/programs.md, "The solo ladder")
    wanted = getattr(args, "program", None) or SOLO_PROGRAM
    program, ok = _local_program("solo", None if args.scenario else wanted)
    if not ok:
        return 2
    # a program brings its own roads; else one scenario, again and again
    scenario, ok = _local_scenario("solo", None if program else args.scenario or "open-road")
    if not ok:
        return 2
    handle = _start_server("127.0.0.1", 0, getattr(args, "db", None))
    if handle is None:
        return 3
    plan = Plan(
        kind="solo",
        url=handle.url,
        name=clean_name(args.name or "") or default_name(),
        scenario=scenario,
        program=program,
        bots=args.bots,
        seed=args.seed,
        play=True,
        autostart=True,
    )
    return _run(plan, handle)


def run_host(args: argparse.Namespace) -> int:
    """`interlane host`: a server others can reach, and this terminal as its dashboard;
    with --server, a room on a running `interlane server` (this terminal only hosts)."""
    from client.plan import Plan

    if getattr(args, "server", None):
        return _host_remote(args)
    scenario, ok = _local_scenario("host", args.scenario)
    if not ok:
        return 2
    program, ok = _local_program("host", None if scenario else args.program)
    if not ok:
        return 2
    from server.serve import door_config  # the same doors as `interlane server`

    handle = _start_server(args.host, args.port, args.db, door_config(args))
    if handle is None:
        return 3
    plan = Plan(
        kind="host",
        url=handle.url.replace("0.0.0.0", "127.0.0.1"),
        name=clean_name(args.name or "") or "Host",
        scenario=scenario,
        program=program,
        bots=args.bots,
        play=False,
        db=args.db,  # the debrief's replay reads the rounds this server stores
    )
    return _run(plan, handle)


def _host_remote(args: argparse.Namespace) -> int:
    """The dashboard of a room on a separate server. Scenarios and programs are the
    server's (a local file cannot be sent), so only names are passed on."""
    from client.plan import Plan

    for option in ("scenario", "program"):
        value = getattr(args, option)
        if value and (value.endswith(".toml") or "/" in value):
            print(
                f"interlane host: --{option} {value}: a room on another server can only use "
                "the server's own scenarios and programs (by name)",
                file=sys.stderr,
            )
            return 2
    if args.db:
        print(
            "interlane host: --db is the server's option when hosting on --server", file=sys.stderr
        )
        return 2
    plan = Plan(
        kind="host",
        url=args.server,
        name=clean_name(args.name or "") or "Host",
        scenario=args.scenario,
        program=None if args.scenario else args.program,
        bots=args.bots,
        play=False,
        cafile=args.cafile,
        separate_server=True,
    )
    return _run(plan)


def run_join(args: argparse.Namespace) -> int:
    """`interlane join CODE`: straight in with --name, else the join form filled in."""
    from client.plan import Plan

    name = clean_name(args.name or "")
    url = args.server
    if url is None:  # no address: look for the room on the LAN, else ask (client.discover)
        from client.discover import resolve_server

        url = resolve_server(args.code.strip().upper())
        if url is None:
            return 2
    plan = Plan(
        kind="join" if name else "connect",
        url=url,
        name=name or "Player",
        code=args.code.strip().upper(),
        role="player",
        cafile=getattr(args, "cafile", None),
    )
    return _run(plan)


def run_spectate(args: argparse.Namespace) -> int:
    """`interlane spectate CODE`: the projector view; no car, no name needed."""
    from client.plan import Plan

    plan = Plan(
        kind="spectate",
        url=args.server,
        name="Spectator",
        code=args.code.strip().upper(),
        role="spectator",
        cafile=getattr(args, "cafile", None),
    )
    return _run(plan)


def run_replay(args: argparse.Namespace) -> int:
    """`interlane replay GAME`: scrub a stored round (the replay screen reads the store)."""
    from client.plan import Plan
    from server.history_cli import missing_db  # a check before the TUI opens

    if missing_db("replay", args.db):
        return 1
    plan = Plan(kind="replay", game=args.game, round_no=args.round_no, db=args.db)
    return _run(plan)


# -- the server-side subcommands ------------------------------------------------------------


def run_server(args: argparse.Namespace) -> int:
    """`interlane server`: a headless game server (no Textual)."""
    from server.serve import run_server as run

    return run(args)


def run_sim(args: argparse.Namespace) -> int:
    """`interlane sim`: run a scenario without a screen."""
    from server.sim_cli import run_sim as run

    return run(args)


def run_bots(args: argparse.Namespace) -> int:
    """`interlane bots`: bot drivers that join a room over the network."""
    from server.remote_bots import run_bots as run

    return run(args)


def run_history(args: argparse.Namespace) -> int:
    """`interlane history`: list stored games."""
    from server.history_cli import run_history as run

    return run(args)


def run_report(args: argparse.Namespace) -> int:
    """`interlane report GAME`: export a game's debrief."""
    from server.history_cli import run_report as run

    return run(args)
