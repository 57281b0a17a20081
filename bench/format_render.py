#!/usr/bin/env python3
"""How long static/js/format.js takes to turn a message's text into nodes, in Debian's headless
Chromium: typical texts and 4,000-character texts built to be slow.

Why: the renderer reads text anyone in a group chose, on the page's main thread, for every
message shown (a group opens with 50, and a long conversation keeps a thousand). It must stay
linear: no run of asterisks, underscores or backticks may make it go back over what it has read.
These are figures, not assertions (tests/test_format.py checks what it renders, never how
long it takes).

Each case is rendered ``--repeat`` times after 20 unmeasured ones, each render timed alone with
``performance.now()`` (the page is cross-origin isolated, so the timer's resolution is 5 µs, not
100 µs); p50 and p99 of those, and for the hostile texts the time of ten times the text over
the time of the text (linear is 10). Only the building of the nodes is timed: laying them out
is the page's ordinary cost of any text of that length.

    python bench/format_render.py [--repeat 300] [--json-only]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import Route, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ORIGIN = "http://localhost:48211"  # never reached: Playwright answers every request (localhost: a secure context)
TEXT_MAX_CHARS = 4000
WARM_UP = 20

MENTIONS = {"mentions": [{"id": 1, "username": "ana"}, {"id": 2, "username": "bob"}], "me": 2}

TYPICAL_LINE = (
    "Hey @ana, the **deploy** is done: see https://example.org/runs/1234?tab=logs (the `worker` one). "
    "I'd _really_ like @bob to check the *retry* path before Friday.\n"
)
TYPICAL = {
    "short plain": "ok, see you at 3",
    "short formatted": "**done** — see https://example.org/pr/12 and ping @bob",
    "4,000 typical": (TYPICAL_LINE * 30)[:TEXT_MAX_CHARS],
    "4,000 with blocks": (
        "> what did the logs say?\n> and the *retries*?\n" + "here:\n```python\n"
        + "for attempt in range(3):  # **not** bold, https://x.org not a link\n    run(attempt)\n" * 30 + "```\n"
        + TYPICAL_LINE * 30
    )[:TEXT_MAX_CHARS],
}


def hostile(size: int) -> dict[str, str]:
    """Texts of ``size`` characters built to be slow (tests/test_format.py renders the same kinds)."""
    runs, n = [], 1
    while sum(len(r) for r in runs) + n + 1 <= size:
        runs.append("`" * n + "a")
        n += 1
    half = size // 6
    return {
        "backticks": "`" * size,
        "asterisks": "*" * size,
        "underscores": "_" * size,
        "asterisk words *a*a": "*a" * (size // 2),
        "unclosed openers **a": "**a " * (size // 4),
        "rule of three *a**": "*a**" * (size // 4),
        "mixed runs *_**__": "*_**__" * (size // 6),
        "backtick runs 1,2,3…": "".join(runs),
        "fences": "```\n" * (size // 4),
        "deep nesting": "".join(f"{'*_'[i % 2]}w " for i in range(half))
        + "".join(f" w{'*_'[i % 2]}" for i in range(half - 1, -1, -1)),
        "closing parentheses": "https://x.org/" + ")" * (size - 14),
        "at signs": "@" * size,
        "mentions": "@ana " * (size // 5),
        "scheme characters a.": "a." * (size // 2),
    }


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>format bench</title>
<script type="module" src="/bench.js"></script></head><body></body></html>"""

BENCH_JS = """
import { renderText } from "/static/js/format.js";
window.measure = (cases, options, repeat, warmUp) => cases.map((text) => {
  for (let i = 0; i < warmUp; i++) renderText(text, options);
  const times = [];
  let nodes = 0;
  for (let i = 0; i < repeat; i++) {
    const start = performance.now();
    const fragment = renderText(text, options);
    times.push(performance.now() - start);
    nodes = fragment.childNodes.length;
  }
  return { times, nodes };
});
window.ready = true;
"""


def serve(route: Route) -> None:
    path = route.request.url[len(ORIGIN):].split("?", 1)[0]
    headers = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp",
               "Cross-Origin-Resource-Policy": "same-origin"}
    if path == "/":
        route.fulfill(body=PAGE, content_type="text/html; charset=utf-8", headers=headers)
    elif path == "/bench.js":
        route.fulfill(body=BENCH_JS, content_type="text/javascript", headers=headers)
    elif path == "/static/js/format.js":
        route.fulfill(body=(ROOT / "static/js/format.js").read_bytes(), content_type="text/javascript", headers=headers)
    else:
        route.abort()


def percentile(times: list[float], p: float) -> float:
    return statistics.quantiles(times, n=100, method="inclusive")[int(p) - 1]


def measure(repeat: int) -> dict[str, Any]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        page.route("**/*", serve)
        page.goto(ORIGIN + "/")
        page.wait_for_function("window.ready === true")
        isolated = page.evaluate("crossOriginIsolated")
        version = browser.version

        def run(cases: dict[str, str], times: int) -> dict[str, dict[str, Any]]:
            results = page.evaluate("([c, o, r, w]) => window.measure(c, o, r, w)",
                                    [list(cases.values()), MENTIONS, times, WARM_UP])
            return {name: {"chars": len(text), "nodes": result["nodes"],
                           "p50_ms": round(percentile(result["times"], 50), 3),
                           "p99_ms": round(percentile(result["times"], 99), 3)}
                    for (name, text), result in zip(cases.items(), results, strict=True)}

        typical = run(TYPICAL, repeat)
        small = run(hostile(TEXT_MAX_CHARS), repeat)
        large = run(hostile(TEXT_MAX_CHARS * 10), max(3, repeat // 10))
        browser.close()
    for name, row in small.items():
        row["x10_p50_ms"] = large[name]["p50_ms"]
        row["x10_ratio"] = round(large[name]["p50_ms"] / max(row["p50_ms"], 0.005), 1)
    return {"scenario": "format_render", "repeat": repeat, "chromium": version, "cross_origin_isolated": isolated,
            "typical": typical, "hostile": small}


def table(result: dict[str, Any]) -> str:
    lines = [f"Chromium {result['chromium']}, {result['repeat']} renders per case"
             f"{'' if result['cross_origin_isolated'] else ' (timer at 100 µs: not cross-origin isolated)'}",
             f"{'typical text':<28} {'chars':>6} {'nodes':>6} {'p50 ms':>8} {'p99 ms':>8}"]
    for name, row in result["typical"].items():
        lines.append(f"{name:<28} {row['chars']:>6} {row['nodes']:>6} {row['p50_ms']:>8.3f} {row['p99_ms']:>8.3f}")
    lines.append(f"{'hostile text':<28} {'chars':>6} {'nodes':>6} {'p50 ms':>8} {'p99 ms':>8}"
                 f" {'x10 p50 ms':>10} {'ratio':>6}")
    for name, row in result["hostile"].items():
        lines.append(f"{name:<28} {row['chars']:>6} {row['nodes']:>6} {row['p50_ms']:>8.3f} {row['p99_ms']:>8.3f}"
                     f" {row['x10_p50_ms']:>10.3f} {row['x10_ratio']:>6}")
    lines.append("ratio: the p50 of ten times the text over the p50 of the text (linear is 10)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=300, help="timed renders per case (default: %(default)s)")
    parser.add_argument("--json-only", action="store_true", help="print only the JSON line")
    args = parser.parse_args(argv)
    if args.repeat < 3:
        parser.error("--repeat must be at least 3")
    result = measure(args.repeat)
    print(json.dumps(result))
    if not args.json_only:
        print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
