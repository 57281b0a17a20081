"""axe-core in a Playwright page: inject it, run it, and say what it found so that it can be fixed.

axe-core is an npm package pinned in ``tests/axe/package-lock.json``; ``scripts/ensure-axe``
(run by ``make test``) installs it into ``tests/axe/node_modules/``. Any browser test can check
the page it is on::

    await assert_no_axe_violation(page, "the chat page, 375x667, dark")
"""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page

from tornado_chat.config import PROJECT_ROOT

AXE_SCRIPT = PROJECT_ROOT / "tests" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
TARGETS_SHOWN = 4

# Every rule axe runs by default (WCAG 2.0-2.2 A and AA and its best practices), every impact
# level; only the violations come back, each with what a developer needs to find and fix it.
RUN_AXE = """async () => {
    const results = await axe.run(document, { resultTypes: ["violations"] });
    return results.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        helpUrl: v.helpUrl,
        nodes: v.nodes.map((node) => ({
            target: node.target.map((part) => Array.isArray(part) ? part.join(" >>> ") : part),
            summary: [...node.any, ...node.all, ...node.none].map((check) => check.message).filter(Boolean),
        })),
    }));
}"""


async def inject_axe(page: Page) -> None:
    """Put axe-core in the page (once per document).

    ``add_script_tag(path=...)`` adds an inline ``<script>``, which the page's CSP
    (``script-src 'self'``) refuses. ``page.evaluate`` runs the same source through the
    DevTools protocol, which the CSP does not govern, so the page is checked with its real CSP
    in force (``bypass_csp=True`` would also lift ``style-src 'self'`` and could change what
    the page looks like, so what axe sees)."""
    if not AXE_SCRIPT.is_file():
        raise RuntimeError(f"{AXE_SCRIPT} is missing: run scripts/ensure-axe (make test does)")
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.evaluate(AXE_SCRIPT.read_text())


# What axe sees must be what people see once the page has settled, not a frame halfway through
# a fade or before a web font: finite animations and transitions are run to their end first.
SETTLE = """async () => {
    await document.fonts.ready;
    for (const animation of document.getAnimations()) {
        if (animation.effect && animation.effect.getComputedTiming().endTime !== Infinity) animation.finish();
    }
}"""


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """The violations axe-core finds in the page once it has settled."""
    await inject_axe(page)
    await page.evaluate(SETTLE)
    return await page.evaluate(RUN_AXE)


def format_violations(violations: list[dict[str, Any]], where: str) -> str:
    """One paragraph per violation: id, impact, help, how many nodes, the first targets and why."""
    nodes = sum(len(v["nodes"]) for v in violations)
    lines = [f"axe-core found {len(violations)} violation(s), {nodes} node(s), on {where}:"]
    for v in violations:
        lines.append(f"- {v['id']} [{v['impact']}] {v['help']} ({len(v['nodes'])} node(s); {v['helpUrl']})")
        for node in v["nodes"][:TARGETS_SHOWN]:
            why = f": {node['summary'][0]}" if node["summary"] else ""
            lines.append(f"    {' '.join(node['target'])}{why}")
        if len(v["nodes"]) > TARGETS_SHOWN:
            lines.append(f"    ... and {len(v['nodes']) - TARGETS_SHOWN} more")
    return "\n".join(lines)


async def assert_no_axe_violation(page: Page, where: str) -> None:
    """Fail, listing every violation, unless axe-core finds none at all (whatever the impact)."""
    violations = await axe_violations(page)
    if violations:
        raise AssertionError(format_violations(violations, where))
