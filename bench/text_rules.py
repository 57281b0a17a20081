#!/usr/bin/env python3
"""How long the text rules take on hostile input: the reaction emoji check and the mention
parse, which run on every reaction and every text message, on the event loop.

Why: both read text a client chose. The emoji check must refuse a 1 MB path segment by its
length before any grammar runs, and the mention parse must stay linear in the text, so that
no message or URL can make the server spend long on it. These are figures, not assertions
(the tests check what the rules answer; this shows what they cost).

    python bench/text_rules.py [--repeat 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tornado_chat.mentions import mentioned_names  # noqa: E402
from tornado_chat.validation import TEXT_MAX_CHARS, Invalid, emoji  # noqa: E402

ZWJ = "\u200d"


def median_us(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def refuse(raw: str) -> Callable[[], object]:
    def run() -> None:
        try:
            emoji(raw)
        except Invalid:
            pass

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=200, help="timings per case; the median is shown")
    repeat = parser.parse_args().repeat
    rows = [
        ("emoji: accept 👍", median_us(lambda: emoji("👍"), repeat)),
        ("emoji: accept 👨‍👩‍👧", median_us(lambda: emoji("👨‍👩‍👧"), repeat)),
        ("emoji: refuse 1M code points", median_us(refuse("👍" * 1_000_000), repeat)),
        ("emoji: refuse a 1M-code-point ZWJ chain", median_us(refuse(ZWJ.join(["👍"] * 500_000)), repeat)),
    ]
    for name, text in (
        ("all at signs", "@" * TEXT_MAX_CHARS),
        ("800 mentions", "@abc " * (TEXT_MAX_CHARS // 5)),
        ("one long word", "a" * TEXT_MAX_CHARS),
        ("scheme characters", "a." * (TEXT_MAX_CHARS // 2)),
    ):
        parse = median_us(lambda t=text: mentioned_names(t), repeat)
        rows.append((f"mentions: {TEXT_MAX_CHARS:,} chars, {name}", parse))
    small = median_us(lambda: mentioned_names("a." * 2_000), repeat)
    large = median_us(lambda: mentioned_names("a." * 20_000), repeat)
    width = max(len(name) for name, _ in rows)
    for name, us in rows:
        print(f"{name:<{width}}  {us:>10.1f} µs")
    print(f"{'mentions: 40,000 chars / 4,000 chars':<{width}}  {large / small:>10.1f} x (linear is 10)")


if __name__ == "__main__":
    main()
