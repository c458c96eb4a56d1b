"""How long the event feed takes to add a line and to merge a repeat into an earlier one.

A full feed (200 entries, long enough to wrap) in a headless app at 120×40; then a player's
coalesced run arrives ("Ana braked hard", "… ×2", … as server/feed.py sends it) and each line
either merges into the run's entry or, for plain notices, is appended. Merges rewrite an
earlier entry, so this is the cost a burst of brakes puts on the drive screen's 40 fps loop.

    .venv/bin/python benchmarks/feed_merge.py [--lines 200]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual.app import App, ComposeResult  # noqa: E402

from client.widgets.feed import EventFeed  # noqa: E402


class FeedApp(App[None]):
    def compose(self) -> ComposeResult:
        yield EventFeed(id="feed")


async def run(lines: int) -> tuple[float, float]:
    app = FeedApp()
    async with app.run_test(size=(120, 40)) as pilot:
        feed = app.query_one(EventFeed)
        for i in range(EventFeed.MAX_ENTRIES):
            feed.add(f"notice {i}: some words that are long enough to wrap " * 2, "notice", i)
        await pilot.pause()
        feed.add_events([{"kind": "hard_brake", "text": "Ana braked hard", "car": 1}], 0.0)
        start = time.perf_counter()
        for count in range(2, lines + 2):
            event = {"kind": "hard_brake", "text": f"Ana braked hard ×{count}", "car": 1}
            feed.add_events([{**event, "count": count}], 1.0)
        merge = (time.perf_counter() - start) / lines
        start = time.perf_counter()
        for i in range(lines):
            feed.add(f"another notice {i} with a few words in it", "notice", 2.0)
        append = (time.perf_counter() - start) / lines
        await pilot.pause()
    return merge, append


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200)
    args = parser.parse_args()
    merge, append = asyncio.run(run(args.lines))
    print(f"merge into a recent entry: {merge * 1000:.2f} ms per line")
    print(f"append a new entry:        {append * 1000:.2f} ms per line")
    print(f"SUMMARY feed_merge merge_ms={merge * 1000:.2f} append_ms={append * 1000:.2f}")


if __name__ == "__main__":
    main()
