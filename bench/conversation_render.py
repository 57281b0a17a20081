#!/usr/bin/env python3
"""How the chat page copes with a long conversation: 1,000 messages in one group.

Why: the page keeps every message of the open group as a real DOM node (no windowing). This
shows whether that matters: the time to build the whole list when the group is opened, and the
frame times while it is scrolled from bottom to top in 120 frames, in Debian's headless
Chromium. The machine is shared, so three rounds are run and each is printed.

    python bench/conversation_render.py [--messages 1000] [--database-url mysql://...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from playwright.async_api import async_playwright  # noqa: E402
from send_to_receive import (  # noqa: E402
    PASSWORD,
    BenchError,
    add_common_arguments,
    register,
    run_against_one_server,
    wait_healthy,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ROUNDS = 3
FRAMES = 120
PAGE_SIZE = 50  # the page's history page

# Scrolls the list from bottom to top in ``frames`` steps, one per animation frame; the frame times.
SCROLL_FRAMES = """frames => new Promise((done) => {
    const node = document.querySelector("#messages");
    node.scrollTop = node.scrollHeight;
    const step = node.scrollHeight / frames;
    const times = [];
    let last = null;
    const frame = (now) => {
        if (last !== null) times.push(now - last);
        last = now;
        if (times.length >= frames) return done(times);
        node.scrollTop = Math.max(0, node.scrollTop - step);
        requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
})"""

# Opens the group by its tab and measures until its list is built, then painted (two frames later).
OPEN_GROUP = """name => new Promise((done) => {
    const tab = [...document.querySelectorAll('[role="tab"]')].find((t) => t.textContent.includes(name));
    const start = performance.now();
    tab.click();
    const built = performance.now() - start;
    requestAnimationFrame(() => requestAnimationFrame(() => done([built, performance.now() - start])));
})"""


async def conversation(port: int, count: int) -> tuple[str, str, str]:
    """Bob's username, and the names of a group of ``count`` messages by three people and of another."""
    ana, bob, carla = [await register(port, f"render_{name}_{port}") for name in ("ana", "bob", "carla")]
    group = (await ana.request("POST", "/api/groups", {"name": f"long {port}"}, expect=201))["group"]
    other = (await bob.request("POST", "/api/groups", {"name": f"aaa other {port}"}, expect=201))["group"]
    for member in (bob, carla):
        await member.request("PUT", f"/api/groups/{group['id']}/membership")
    authors = (ana, bob, carla)
    for i in range(count):
        text = f"message {i}: " + "words to wrap " * (i % 7)
        await authors[i % 3].request("POST", f"/api/groups/{group['id']}/messages", {"text": text}, expect=201)
    return f"render_bob_{port}", group["name"], other["name"]


async def measure(port: int, count: int) -> dict[str, Any]:
    username, name, other = await conversation(port, count)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 1280, "height": 800})
        page = await context.new_page()
        await page.goto(f"http://127.0.0.1:{port}/login")
        await page.get_by_label("Username").fill(username)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Log in").click()
        await page.wait_for_selector("#app[data-ready=true]")
        await page.evaluate(OPEN_GROUP, name)
        loaded = 0
        while loaded < count:  # older pages, loaded by scrolling up as a reader would
            await page.evaluate("() => { const n = document.querySelector('#messages'); n.scrollTop = 0; }")
            await page.wait_for_function(
                "seen => document.querySelectorAll('#messages .message').length > seen", arg=loaded
            )
            loaded = await page.evaluate("document.querySelectorAll('#messages .message').length")
        rounds = []
        for _ in range(ROUNDS):
            await page.evaluate(OPEN_GROUP, other)
            built, painted = await page.evaluate(OPEN_GROUP, name)
            await page.wait_for_timeout(200)
            frames = sorted(await page.evaluate(SCROLL_FRAMES, FRAMES))
            rounds.append({
                "build_ms": round(built, 1), "build_and_paint_ms": round(painted, 1),
                "frame_ms_median": round(frames[len(frames) // 2], 1),
                "frame_ms_p95": round(frames[int(len(frames) * 0.95)], 1), "frame_ms_max": round(frames[-1], 1),
            })
        nodes = await page.evaluate("document.querySelectorAll('#messages *').length")
        await browser.close()
    return {"scenario": "conversation_render", "messages": loaded, "dom_nodes": nodes, "rounds": rounds}


def table(result: dict[str, Any]) -> str:
    lines = [f"{result['messages']:,} messages, {result['dom_nodes']:,} DOM nodes in the list",
             "round  build ms  build+paint ms  frame median ms  frame p95 ms  frame max ms"]
    for i, r in enumerate(result["rounds"], 1):
        lines.append(f"{i:>5}  {r['build_ms']:>8}  {r['build_and_paint_ms']:>14}  {r['frame_ms_median']:>15}"
                     f"  {r['frame_ms_p95']:>12}  {r['frame_ms_max']:>12}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--messages", type=int, default=1000, help="messages in the group (default: %(default)s)")
    args = parser.parse_args(argv)

    async def bench(server: subprocess.Popen[bytes], port: int) -> dict[str, Any]:
        await wait_healthy(server, port)
        if args.messages < PAGE_SIZE:
            raise BenchError(f"--messages must be at least {PAGE_SIZE}")
        return await measure(port, args.messages)

    return run_against_one_server("conversation_render", args, bench, table)


if __name__ == "__main__":
    sys.exit(main())
