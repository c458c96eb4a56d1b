"""The client subcommands build the right plan (and solo starts and stops its own server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from client.app import InterlaneApp
from client.cli import main
from client.plan import Plan


@pytest.fixture
def plans(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Plan]:
    """Run the subcommands without a terminal: App.run records the plan instead."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # solo's history file goes here
    seen: list[Plan] = []

    def fake_run(self: InterlaneApp, *args: Any, **kwargs: Any) -> int:
        seen.append(self.plan)
        return 0

    monkeypatch.setattr(InterlaneApp, "run", fake_run)
    return seen


def test_solo_starts_an_embedded_server_and_plays_in_it(plans: list[Plan]) -> None:
    pytest.importorskip("server.embedded")
    assert (
        main(["solo", "--bots", "3", "--seed", "9", "--name", "[x]\x1b", "--scenario", "ring"]) == 0
    )
    (plan,) = plans
    assert plan.kind == "solo" and plan.play and plan.autostart
    assert plan.url is not None and plan.url.startswith("ws://127.0.0.1:")
    assert (plan.bots, plan.seed, plan.scenario, plan.name) == (3, 9, "ring", "[x]")


def test_no_subcommand_is_solo(plans: list[Plan]) -> None:
    pytest.importorskip("server.embedded")
    assert main([]) == 0
    assert plans[0].kind == "solo"


def test_solo_plays_the_solo_ladder_by_default_or_a_program_when_asked(
    plans: list[Plan], capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("server.embedded")
    assert main(["solo"]) == 0
    assert (plans[-1].scenario, plans[-1].program) == (None, "solo-practice")
    assert main(["solo", "--scenario", "damper-ring"]) == 0
    assert (plans[-1].scenario, plans[-1].program) == ("damper-ring", None)
    assert main(["solo", "--program", "solo-practice"]) == 0
    assert (plans[-1].scenario, plans[-1].program) == (None, "solo-practice")
    assert main(["solo", "--program", "solo-practice", "--scenario", "ring"]) == 0
    assert (plans[-1].scenario, plans[-1].program) == ("ring", None)  # as `host` does
    assert main(["solo", "--program", "no-such-program"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("interlane solo:") and "Traceback" not in err[0]


def test_join_without_a_name_opens_the_form_with_the_code(plans: list[Plan]) -> None:
    assert main(["join", "kx7pq", "--server", "ws://10.0.0.5:9000"]) == 0
    assert plans[0].kind == "connect" and plans[0].code == "KX7PQ"
    assert plans[0].url == "ws://10.0.0.5:9000"


def test_join_with_a_name_goes_straight_in(plans: list[Plan]) -> None:
    assert main(["join", "KX7PQ", "--name", "Ana", "--server", "ws://127.0.0.1:8765"]) == 0
    assert (plans[0].kind, plans[0].name, plans[0].role) == ("join", "Ana", "player")


def test_join_without_server_uses_what_the_lan_announces(
    plans: list[Plan], monkeypatch: pytest.MonkeyPatch
) -> None:
    import client.discover

    # the real multicast look is tested in a private network namespace (test_doors_lan)
    monkeypatch.setattr(client.discover, "find_room", lambda code, seconds=0: "ws://10.0.0.5:8765")
    assert main(["join", "KX7PQ", "--name", "Ana"]) == 0
    assert plans[0].url == "ws://10.0.0.5:8765"
    monkeypatch.setattr(client.discover, "find_room", lambda code, seconds=0: None)
    assert main(["join", "KX7PQ", "--name", "Ana"]) == 2  # stdin is no terminal: told, not asked
    assert len(plans) == 1


def test_spectate_joins_as_spectator(plans: list[Plan]) -> None:
    assert main(["spectate", "KX7PQ"]) == 0
    assert (plans[0].kind, plans[0].role) == ("spectate", "spectator")
