"""Formatted text (issue 17, point 3): static/js/format.js, run in Debian's Chromium.

The module is loaded by a tiny page of a made-up origin (``http://format.test``) that Playwright
serves from the working tree (``static/`` and a small harness module below), under the app's own
Content-Security-Policy; every other request the page makes is refused and recorded, so a
rendered text that tried to load something (an ``<img>``) would fail the test. No server and no
database: the renderer is a pure module.

- A table of cases, one per rule (bold, italic, code, code blocks, quotes, links, mentions,
  newlines, what stays text), compared as the HTML the nodes serialise to: all rendered in one
  ``page.evaluate``.
- A property-based test (hypothesis): hostile text, in batches, checked in the browser: only
  the allowed elements, attributes and classes; links only http(s) with the exact rel and
  target; nothing formatted inside code, links or mentions; emphasis at most MAX_DEPTH deep;
  never an exception; and the text shown is the text typed with only markers taken out.
- 4,000 characters of backticks, asterisks, underscores and the like: the same checks (how long
  they take is ``bench/format_render.py``'s, never a test's).
- format.css: WCAG AA contrast of every formatted element on both message backgrounds, light
  and dark, a code block that scrolls sideways instead of widening the message (and that the
  keyboard reaches), and axe-core finding nothing in formatted messages.
"""

from __future__ import annotations

import json
import mimetypes
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from playwright.sync_api import Page, Route, sync_playwright

from tornado_chat.config import PROJECT_ROOT
from tornado_chat.mentions import mentioned_names
from tornado_chat.web.base import PAGE_CSP

from .support.axe import AXE_SCRIPT, format_violations
from .test_browser import CHROMIUM, CHROMIUM_ARGS

ORIGIN = "http://format.test"
STATIC = PROJECT_ROOT / "static"
TEXT_MAX_CHARS = 4000

# What the renderer may ever make: its own exports must say the same (the integrator relies on them).
ELEMENTS = ["a", "blockquote", "code", "em", "pre", "span", "strong"]
ATTRIBUTES = {
    "a": ["class", "href", "rel", "target"], "blockquote": ["class"], "code": ["class"], "em": [],
    "pre": ["class", "tabindex"], "span": ["class"], "strong": [],
}
CLASSES = ["fmt-code", "fmt-link", "fmt-pre", "fmt-quote", "mention", "mention-me"]
REL = "noopener noreferrer nofollow"
MAX_DEPTH = 8

ANA, BOB, ME = {"id": 1, "username": "ana"}, {"id": 2, "username": "Bob_1"}, {"id": 3, "username": "me_user"}
MENTIONS = {"mentions": [ANA, BOB, ME], "me": ME["id"]}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>format.js</title>
<link rel="stylesheet" href="/static/app.css">
<link rel="stylesheet" href="/static/css/conversation.css">
<link rel="stylesheet" href="/static/css/notifications.css">
<link rel="stylesheet" href="/static/css/format.css">
<script type="module" src="/harness.js"></script>
</head><body><main class="messages" id="messages"></main></body></html>"""

# The harness: render cases, and check a rendering against the rules (the allowed lists come from
# this file, not from the module under test).
HARNESS = r"""
import * as format from "/static/js/format.js";

function render({ text, options }) {
  const box = document.createElement("div");
  box.append(format.renderText(text, options));
  return box;
}

// Every problem with one rendering, as sentences; [] when there is none.
function problems(box, options, allowed) {
  const found = [];
  const names = new Map((options?.mentions || []).map((user) => [user.username.toLowerCase(), user.id]));
  for (const node of box.querySelectorAll("*")) {
    const tag = node.localName;
    if (node.namespaceURI !== "http://www.w3.org/1999/xhtml" || !allowed.elements.includes(tag)) {
      found.push(`element <${node.nodeName}>`);
      continue;
    }
    for (const name of node.getAttributeNames()) {
      if (!allowed.attributes[tag].includes(name)) found.push(`attribute ${name} on <${tag}>`);
    }
    for (const name of node.classList) if (!allowed.classes.includes(name)) found.push(`class ${name}`);
    let depth = 0;
    for (let up = node; up !== box; up = up.parentNode) if (up.localName === "em" || up.localName === "strong") depth++;
    if (depth > allowed.maxDepth) found.push(`emphasis ${depth} deep`);
    const inside = node.parentNode.closest("code, a, span");
    if (inside && box.contains(inside)) found.push(`<${tag}> inside <${inside.localName}>`);
    if (tag === "a") {
      const href = node.getAttribute("href");
      let scheme = null;
      try { scheme = new URL(href).protocol; } catch { /* stays null */ }
      if (!/^https?:\/\//i.test(href ?? "") || !["http:", "https:"].includes(scheme)) found.push(`href ${href}`);
      if (node.textContent !== href) found.push(`link text ${node.textContent} for ${href}`);
      if (node.getAttribute("rel") !== allowed.rel) found.push(`rel ${node.getAttribute("rel")}`);
      if (node.getAttribute("target") !== "_blank") found.push(`target ${node.getAttribute("target")}`);
      if (node.className !== "fmt-link") found.push(`a class ${node.className}`);
    }
    if (tag === "span") {
      const name = /^@([A-Za-z0-9_]{3,32})$/.exec(node.textContent)?.[1]?.toLowerCase();
      const mine = name !== undefined && names.get(name) === options.me;
      if (name === undefined || !names.has(name)) found.push(`mention of ${node.textContent}`);
      else if (node.className !== (mine ? "mention mention-me" : "mention")) found.push(`class ${node.className}`);
    }
    if (tag === "pre" && node.getAttribute("tabindex") !== "0") found.push("pre not reachable by keyboard");
    if (tag === "pre" && (node.className !== "fmt-pre" || node.children.length !== 1 ||
      node.firstChild.localName !== "code" || node.firstChild !== node.lastChild)) found.push("pre without one code");
    if (tag === "code" && node.parentNode.localName !== "pre" && node.className !== "fmt-code") found.push("code");
    if (tag === "blockquote" && node.className !== "fmt-quote") found.push("blockquote class");
    if (["em", "strong"].includes(tag) && node.childNodes.length === 0) found.push(`empty <${tag}>`);
  }
  return found;
}

window.harness = {
  exports: () => ({
    elements: format.ELEMENTS, attributes: format.ATTRIBUTES, classes: format.CLASSES, rel: format.LINK_REL,
    target: format.LINK_TARGET, maxDepth: format.MAX_DEPTH,
  }),
  html: (cases) => cases.map((one) => {
    try { return render(one).innerHTML; } catch (error) { return `THREW ${error}`; }
  }),
  check: (cases, allowed) => cases.map((one) => {
    try {
      const box = render(one);
      const mentioned = [...box.querySelectorAll("span.mention")].map((node) => node.textContent.slice(1));
      mentioned.forEach((name, i) => { mentioned[i] = name.toLowerCase(); });
      return { text: box.textContent, problems: problems(box, one.options, allowed), mentioned };
    } catch (error) {
      return { text: null, problems: [`threw ${error}`] };
    }
  }),
  // Messages as message.js builds them (an article, a bubble, a text), someone else's and mine.
  show: (text, options, width) => {
    const list = document.querySelector("#messages");
    list.replaceChildren();
    list.style.width = `${width}px`;
    for (const mine of [false, true]) {
      const article = document.createElement("article");
      article.className = mine ? "message mine" : "message";
      if (!mine) article.append(Object.assign(document.createElement("div"), { className: "avatar" }));
      const bubble = Object.assign(document.createElement("div"), { className: "bubble" });
      const body = Object.assign(document.createElement("p"), { className: "text" });
      body.append(format.renderText(text, options));
      bubble.append(body);
      article.append(bubble);
      list.append(article);
    }
  },
};
document.documentElement.dataset.ready = "true";
"""

PAGE_ERRORS: list[str] = []
UNEXPECTED_REQUESTS: list[str] = []


def serve(route: Route) -> None:
    """The test page, the harness, and files of static/; anything else is refused and recorded."""
    url = route.request.url
    path = url[len(ORIGIN):].split("?", 1)[0] if url.startswith(ORIGIN + "/") else None
    headers = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"}
    if path == "/":
        route.fulfill(body=PAGE, content_type="text/html; charset=utf-8", headers=headers)
        return
    if path == "/harness.js":
        route.fulfill(body=HARNESS, content_type="text/javascript; charset=utf-8", headers=headers)
        return
    if path is not None and path.startswith("/static/"):
        file = (STATIC / path[len("/static/"):]).resolve()
        if file.is_relative_to(STATIC) and file.is_file():
            kind = "text/javascript" if file.suffix == ".js" else mimetypes.guess_type(file.name)[0] or "text/plain"
            route.fulfill(body=file.read_bytes(), content_type=f"{kind}; charset=utf-8", headers=headers)
            return
    UNEXPECTED_REQUESTS.append(url)
    route.abort()


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    """One Chromium page for the whole file (sync Playwright: hypothesis drives plain functions)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1000, "height": 800})
        context.route("**/*", serve)
        page = context.new_page()
        page.on("pageerror", lambda error: PAGE_ERRORS.append(str(error)))
        page.goto(ORIGIN + "/")
        page.wait_for_function("document.documentElement.dataset.ready === 'true'")
        yield page
        browser.close()


@pytest.fixture(autouse=True)
def clean_page() -> Iterator[None]:
    """No uncaught exception in the page, and no request for anything but the page's own files."""
    PAGE_ERRORS.clear()
    UNEXPECTED_REQUESTS.clear()
    yield
    assert PAGE_ERRORS == []
    assert UNEXPECTED_REQUESTS == []


def render_html(page: Page, cases: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return page.evaluate(
        "cases => window.harness.html(cases)", [{"text": text, "options": options} for text, options in cases]
    )


ALLOWED = {"elements": ELEMENTS, "attributes": ATTRIBUTES, "classes": CLASSES, "rel": REL, "maxDepth": MAX_DEPTH}


def check(page: Page, texts: list[str], options: dict[str, Any] = MENTIONS) -> list[dict[str, Any]]:
    return page.evaluate(
        "([cases, allowed]) => window.harness.check(cases, allowed)",
        [[{"text": text, "options": options} for text in texts], ALLOWED],
    )


# What the renderer may take out of a text: the markers.
FENCE_LINE = re.compile(r"```[A-Za-z0-9_+#.-]{0,32}\s*")
MARKERS = set("*_`\n")


def removable(text: str) -> list[bool]:
    """For each character of ``text``, whether the renderer may leave it out: a marker (``*``,
    ``_``, a backtick, a newline), a code fence's whole line (with its language word), or the
    ``> `` that starts a quoted line."""
    marks = [char in MARKERS for char in text]
    start = 0
    for line in text.split("\n"):
        if FENCE_LINE.fullmatch(line):
            marks[start:start + len(line)] = [True] * len(line)
        elif line.startswith("> "):
            marks[start:start + 2] = [True, True]
        start += len(line) + 1
    return marks


def only_markers_removed(typed: str, shown: str) -> bool:
    """Whether ``shown`` is ``typed`` with some removable characters taken out, in order: greedy,
    and exactly (every way of matching) when greedy cannot tell."""
    marks = removable(typed)
    k = 0
    for i, char in enumerate(typed):
        if k < len(shown) and char == shown[k]:
            k += 1
        elif not marks[i]:
            break
    else:
        if k == len(shown):
            return True
    reachable = {0}  # positions in shown that a prefix of typed can have produced
    for i, char in enumerate(typed):
        reachable = {k + 1 for k in reachable if k < len(shown) and shown[k] == char} | (
            reachable if marks[i] else set()
        )
        if not reachable:
            return False
    return len(shown) in reachable


def assert_safe(texts: list[str], results: list[dict[str, Any]]) -> None:
    for text, result in zip(texts, results, strict=True):
        assert result["problems"] == [], (text[:200], result["problems"][:5])
        assert only_markers_removed(text, result["text"]), (text[:200], result["text"][:200])
        if not (MARKERS & set(text)) and not text.startswith("> "):
            assert result["text"] == text, text[:200]


# 1. The table: one case per rule, as the HTML the nodes serialise to.


def a(url: str) -> str:
    return f'<a class="fmt-link" href="{url}" rel="{REL}" target="_blank">{url}</a>'


def code(text: str) -> str:
    return f'<code class="fmt-code">{text}</code>'


def pre(text: str) -> str:
    return f'<pre class="fmt-pre" tabindex="0"><code>{text}</code></pre>'


def quote(html: str) -> str:
    return f'<blockquote class="fmt-quote">{html}</blockquote>'


def mention(name: str, me: bool = False) -> str:
    return f'<span class="mention{" mention-me" if me else ""}">@{name}</span>'


NO_MENTIONS: dict[str, Any] = {}
TABLE: list[tuple[str, str, str, dict[str, Any]]] = [
    # (id, text, expected HTML, options)
    ("bold", "**bold** text", "<strong>bold</strong> text", MENTIONS),
    ("italic-asterisk", "an *italic* word", "an <em>italic</em> word", MENTIONS),
    ("italic-underscore", "an _italic_ word", "an <em>italic</em> word", MENTIONS),
    ("bold-in-italic", "*a **b** c*", "<em>a <strong>b</strong> c</em>", MENTIONS),
    ("italic-in-bold", "**a _b_ c**", "<strong>a <em>b</em> c</strong>", MENTIONS),
    ("bold-and-italic", "***both***", "<em><strong>both</strong></em>", MENTIONS),
    ("double-underscore-is-bold-as-commonmark", "__init__", "<strong>init</strong>", MENTIONS),
    ("underscore-inside-a-word", "snake_case_name and a_b", "snake_case_name and a_b", MENTIONS),
    ("spaced-asterisks", "2 * 3 * 4", "2 * 3 * 4", MENTIONS),
    ("asterisks-inside-a-word-as-commonmark", "2*3*4", "2<em>3</em>4", MENTIONS),
    ("space-after-opener", "** not bold**", "** not bold**", MENTIONS),
    ("unclosed-bold", "**unclosed", "**unclosed", MENTIONS),
    ("unclosed-italic", "*unclosed and _this", "*unclosed and _this", MENTIONS),
    ("unmatched-closer", "a** b", "a** b", MENTIONS),
    ("lone-markers", "* ** *** _ __ ` ``", "* ** *** _ __ ` ``", MENTIONS),
    ("bold-leftover-asterisk", "**a*", "*<em>a</em>", MENTIONS),
    ("emphasis-stays-in-its-line", "*a\nb*", "*a\nb*", MENTIONS),
    ("code", "run `make test` now", f"run {code('make test')} now", MENTIONS),
    ("nothing-formatted-in-code", "`**b** _i_ https://x.org @ana <b>`",
     code("**b** _i_ https://x.org @ana &lt;b&gt;"), MENTIONS),
    ("double-backtick-code", "``a`b``", code("a`b"), MENTIONS),
    ("unclosed-code", "`unclosed *x*", "`unclosed <em>x</em>", MENTIONS),
    ("code-in-italic", "*see `x*y`*", f"<em>see {code('x*y')}</em>", MENTIONS),
    ("code-block", "```\nline 1\n  **two** https://x.org @ana <i>\n```",
     pre("line 1\n  **two** https://x.org @ana &lt;i&gt;"), MENTIONS),
    ("code-block-language-ignored", "```python\nx = 1\n```", pre("x = 1"), MENTIONS),
    ("code-block-between-text", "before\n```\ncode\n```\nafter", f"before{pre('code')}after", MENTIONS),
    ("empty-code-block", "```\n```", pre(""), MENTIONS),
    ("unclosed-fence", "```\nunclosed\n*x*", "```\nunclosed\n<em>x</em>", MENTIONS),
    ("fence-with-words-is-not-a-fence", "``` a b\nx\n```", "``` a b\nx\n```", MENTIONS),
    ("inline-triple-backticks", "say ```x``` here", f"say {code('x')} here", MENTIONS),
    ("quote", "> quoted", quote("quoted"), MENTIONS),
    ("quote-lines", "> one\n> **two**\nthree", quote("one\n<strong>two</strong>") + "three", MENTIONS),
    ("quote-after-text", "x\n> q", f"x{quote('q')}", MENTIONS),
    ("two-quotes", "> a\n\n> b", quote("a") + quote("b"), MENTIONS),
    ("a-blank-line-beside-a-block-is-its-margin", "a\n\n> q\n\nb\n\n\n```\nx\n```\n\n\nc",
     "a\n" + quote("q") + "b\n\n" + pre("x") + "\nc", MENTIONS),
    ("not-a-quote", ">no space, a > b", "&gt;no space, a &gt; b", MENTIONS),
    ("link", "see https://example.org", f"see {a('https://example.org')}", MENTIONS),
    ("http-link", "http://example.org/a?b=c#d", a("http://example.org/a?b=c#d"), MENTIONS),
    ("link-trailing-full-stop", "go to https://x.org/a.", f"go to {a('https://x.org/a')}.", MENTIONS),
    ("link-trailing-punctuation", "https://x.org/a, https://x.org/b! https://x.org/c?",
     f"{a('https://x.org/a')}, {a('https://x.org/b')}! {a('https://x.org/c')}?", MENTIONS),
    ("link-in-parentheses", "(https://x.org/a)", f"({a('https://x.org/a')})", MENTIONS),
    ("link-with-balanced-parentheses", "(https://en.wikipedia.org/wiki/Foo_(bar))",
     f"({a('https://en.wikipedia.org/wiki/Foo_(bar)')})", MENTIONS),
    ("link-underscores-not-emphasis", "https://x.org/a_b_c and _x_",
     f"{a('https://x.org/a_b_c')} and <em>x</em>", MENTIONS),
    ("link-in-bold", "**https://x.org**", f"<strong>{a('https://x.org')}</strong>", MENTIONS),
    ("link-in-angle-brackets", "<https://x.org>", f"&lt;{a('https://x.org')}&gt;", MENTIONS),
    ("link-stops-at-quote", 'https://x.org/"onmouseover=alert(1)',
     f'{a("https://x.org/")}"onmouseover=alert(1)', MENTIONS),
    ("link-scheme-any-case", "HTTPS://EXAMPLE.ORG", a("HTTPS://EXAMPLE.ORG"), MENTIONS),
    ("javascript-url", "javascript:alert(1)", "javascript:alert(1)", MENTIONS),
    ("javascript-url-mixed-case", "JaVaScRiPt:alert(1)", "JaVaScRiPt:alert(1)", MENTIONS),
    ("javascript-url-with-slashes", "javascript://%0aalert(1)", "javascript://%0aalert(1)", MENTIONS),
    ("data-url", "data:text/html,<script>alert(1)</script>", "data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;",
     MENTIONS),
    ("vbscript-url", "vbscript:msgbox(1)", "vbscript:msgbox(1)", MENTIONS),
    ("file-url", "file:///etc/passwd", "file:///etc/passwd", MENTIONS),
    ("ftp-url", "ftp://x.org/f", "ftp://x.org/f", MENTIONS),
    ("scheme-glued-to-a-word", "xhttps://x.org", "xhttps://x.org", MENTIONS),
    ("no-host", "http:// and https://. and http://[", "http:// and https://. and http://[", MENTIONS),
    ("mention", "@ana hi", f"{mention('ana')} hi", MENTIONS),
    ("mention-any-case", "hi @ANA and @bob_1", f"hi {mention('ANA')} and {mention('bob_1')}", MENTIONS),
    ("mention-of-me", "@me_user look", f"{mention('me_user', me=True)} look", MENTIONS),
    ("mention-of-me-as-an-object", "@me_user", mention("me_user", me=True), {"mentions": [ME], "me": ME}),
    ("not-mentioned", "@bob is not in the list", "@bob is not in the list", MENTIONS),
    ("no-mentions-given", "@ana", "@ana", NO_MENTIONS),
    ("mention-whole-word", "email@ana.com @ana.com @ana_b @@ana @anaé",
     "email@ana.com @ana.com @ana_b @@ana @anaé", MENTIONS),
    ("mention-ends-a-sentence", "thanks @ana. and @ana's", f"thanks {mention('ana')}. and {mention('ana')}'s",
     MENTIONS),
    ("mention-not-in-a-url", "https://x.org/@ana ftp://x/@ana", f"{a('https://x.org/@ana')} ftp://x/@ana", MENTIONS),
    ("mention-in-bold", "**@ana**", f"<strong>{mention('ana')}</strong>", MENTIONS),
    ("mention-after-underscore-is-none", "_@ana_", "<em>@ana</em>", MENTIONS),
    ("mention-in-quote", "> @ana said", quote(f"{mention('ana')} said"), MENTIONS),
    ("newlines-kept", "line 1\nline 2\n\nline 4", "line 1\nline 2\n\nline 4", MENTIONS),
    ("html-stays-text", "<img src=x onerror=alert(1)><script>alert(1)</script>",
     "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(1)&lt;/script&gt;", MENTIONS),
    ("entities-stay-text", "&lt;b&gt; &amp; &#60;", "&amp;lt;b&amp;gt; &amp;amp; &amp;#60;", MENTIONS),
    ("empty", "", "", MENTIONS),
]


@pytest.fixture(scope="module")
def table(page: Page) -> dict[str, str]:
    """Every case of TABLE rendered, in one evaluate."""
    rendered = render_html(page, [(text, options) for _, text, _, options in TABLE])
    return {name: html for (name, *_), html in zip(TABLE, rendered, strict=True)}


@pytest.mark.parametrize(("name", "text", "expected", "options"), TABLE, ids=[case[0] for case in TABLE])
def test_rule(table: dict[str, str], name: str, text: str, expected: str, options: dict[str, Any]) -> None:
    assert table[name] == expected


def test_table_cases_pass_the_safety_checks(page: Page) -> None:
    texts = [text for _, text, _, _ in TABLE]
    assert_safe(texts, check(page, texts))


def test_exports_name_what_it_may_create(page: Page) -> None:
    assert page.evaluate("window.harness.exports()") == {
        "elements": ELEMENTS, "attributes": ATTRIBUTES, "classes": CLASSES, "rel": REL, "target": "_blank",
        "maxDepth": MAX_DEPTH,
    }


def test_odd_arguments_render_nothing_or_plain_text(page: Page) -> None:
    cases = [(None, {}), (42, {}), ("@ana", {"mentions": None, "me": None}),
             ("@ana", {"mentions": [None, {"id": 1}, ANA]}), ("x", None)]
    assert render_html(page, cases) == ["", "", "@ana", mention("ana"), "x"]  # type: ignore[arg-type]


def test_emphasis_nests_at_most_max_depth(page: Page) -> None:
    opening = "".join(f"{'*' if i % 2 else '_'}w{i} " for i in range(12))
    closing = "".join(f" v{i}{'*' if i % 2 else '_'}" for i in reversed(range(12)))
    text = opening.rstrip() + closing
    (html,) = render_html(page, [(text, MENTIONS)])
    assert html.count("<em>") == MAX_DEPTH
    assert_safe([text], check(page, [text]))


# 2. Hostile text, generated.

HOSTILE_PIECES = [
    "*", "**", "***", "_", "__", "`", "``", "```", "```js\n", "\n```\n", "```\n", "> ", "\n> ", "\n", " ", "\t",
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "javascript://%0aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:image/svg+xml;base64,PHN2Zz4=", "vbscript:msgbox(1)", "file:///etc/passwd", "http://x.org", "https://",
    "https://ex.com/a_b*c*(d)", "http://[", "https://x.org/@ana", "(https://x.org/(a))", "https://x.org/\"><b>",
    "<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "<a href=javascript:alert(1)>x</a>",
    "<svg onload=alert(1)>", "&lt;", "&amp;", "&#x3C;", "&#60;", "@ana", "@ANA", "@Bob_1", "@me_user", "@bob",
    "email@ana.com", "@@ana", "a", "word", "(", ")", "[", "]", ".", ",", "'", '"', "é", "👍", "\u200d", "\r",
    "\u00a0", "ß", "\u0301", "٣",
]
hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE_PIECES), st.text(max_size=6)), max_size=40).map("".join)
PROPERTY_SETTINGS = settings(
    max_examples=100, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


@PROPERTY_SETTINGS
@given(texts=st.lists(hostile_text, min_size=1, max_size=25))
def test_hostile_text_makes_only_allowed_nodes_and_keeps_every_character(page: Page, texts: list[str]) -> None:
    assert_safe(texts, check(page, texts))


@PROPERTY_SETTINGS
@given(
    texts=st.lists(hostile_text, min_size=1, max_size=10),
    names=st.lists(st.from_regex(r"[A-Za-z0-9_]{3,8}", fullmatch=True), max_size=4),
    me=st.integers(0, 4),
)
def test_hostile_text_with_any_mentions(page: Page, texts: list[str], names: list[str], me: int) -> None:
    options = {"mentions": [{"id": i, "username": name} for i, name in enumerate(names)], "me": me}
    texts = [" ".join(f"@{name}" for name in names) + " " + text for text in texts]
    assert_safe(texts, check(page, texts, options))


MENTION_PIECES = [
    "@ana", "@ANA", "@Ana.", "@ana.com", "@ana's", "@ana-ish", "@ana_b", "@anaé", "é@ana", "email@ana", "@@ana",
    "@bob_1", "@me_user", "@me", "https://x.org/@ana", "ftp://x/@ana", "a.b://@ana", "(@ana)", "*", "**", "_", " ",
    "\n", "> ", "\t", "\u00a0", "\ufeff", "\x85", "\u200d", "\u0301", ".", "/", ":", "//", "a", "https://x.org/",
    "ftp://", "x://",
]


@PROPERTY_SETTINGS
@given(texts=st.lists(st.lists(st.one_of(st.sampled_from(MENTION_PIECES), st.text(
    st.characters(max_codepoint=0x2FFF, exclude_characters="`"), max_size=4)), max_size=30).map("".join),
    min_size=1, max_size=25))
def test_the_mentions_shown_are_the_ones_the_server_reads(page: Page, texts: list[str]) -> None:
    """Outside code (no backticks here), the names highlighted are exactly those of
    tornado_chat/mentions.py that the message lists: the same whole-word rule, the same URLs skipped."""
    listed = {user["username"].lower() for user in MENTIONS["mentions"]}
    for text, result in zip(texts, check(page, texts), strict=True):
        assert result["problems"] == [], (text, result["problems"])
        assert set(result["mentioned"]) == set(mentioned_names(text)) & listed, text


# 3. 4,000 characters built to be slow: the same checks (their time: bench/format_render.py).

HUGE = {
    "backticks": "`" * TEXT_MAX_CHARS,
    "asterisks": "*" * TEXT_MAX_CHARS,
    "underscores": "_" * TEXT_MAX_CHARS,
    "asterisk-words": "*a" * (TEXT_MAX_CHARS // 2),
    "word-asterisks": "a*" * (TEXT_MAX_CHARS // 2),
    "openers": "**a " * (TEXT_MAX_CHARS // 4),
    "closers": "a** " * (TEXT_MAX_CHARS // 4),
    "rule-of-three": "*a**" * (TEXT_MAX_CHARS // 4),
    "mixed-runs": "*_**__" * (TEXT_MAX_CHARS // 6),
    "backtick-runs-of-every-length": "".join("`" * n + "a" for n in range(1, 88)),
    "backtick-words": "`a" * (TEXT_MAX_CHARS // 2),
    "fences": "```\n" * (TEXT_MAX_CHARS // 4),
    "fence-openers": "```js\n" * (TEXT_MAX_CHARS // 6),
    "quotes": "> *\n" * (TEXT_MAX_CHARS // 4),
    "newlines": "\n" * TEXT_MAX_CHARS,
    "at-signs": "@" * TEXT_MAX_CHARS,
    "mentions": "@ana " * (TEXT_MAX_CHARS // 5),
    "scheme-characters": "a." * (TEXT_MAX_CHARS // 2),
    "closing-parentheses": "https://x.org/" + ")" * (TEXT_MAX_CHARS - 14),
    "opening-parentheses": "https://x.org/" + "(" * (TEXT_MAX_CHARS - 14),
    "links": "https://x.org " * (TEXT_MAX_CHARS // 14),
    "nested": "*_" * (TEXT_MAX_CHARS // 4 - 1) + "a" + "_*" * (TEXT_MAX_CHARS // 4 - 1),
    "deep-nesting": "".join(f"{'*_'[i % 2]}w " for i in range(666))
    + "".join(f" w{'*_'[i % 2]}" for i in range(665, -1, -1)),
}


def test_four_thousand_hostile_characters_render_safely(page: Page) -> None:
    texts = list(HUGE.values())
    assert all(len(text) <= TEXT_MAX_CHARS for text in texts)
    assert_safe(texts, check(page, texts))


def test_four_thousand_backticks_or_asterisks_stay_text(page: Page) -> None:
    texts = [HUGE["backticks"], HUGE["asterisks"], HUGE["underscores"], HUGE["at-signs"]]
    assert render_html(page, [(text, MENTIONS) for text in texts]) == texts


# 4. format.css


def contrasts(page: Page, scheme: str) -> list[dict[str, Any]]:
    """Each formatted element's text colour against what is behind it (layers of colour, alpha
    blended up to the page), in someone else's message and in mine."""
    page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    text = "`code` https://x.org @ana @me_user\n> a quote\n```\ncode block\n```"
    page.evaluate("([text, options]) => window.harness.show(text, options, 700)", [text, MENTIONS])
    return page.evaluate("""() => {
        const rgba = (value) => {
            const [r, g, b, a = 1] = value.match(/[\\d.]+/g).map(Number);
            return [r, g, b, value.startsWith("rgba") ? a : 1];
        };
        const behind = (node) => {
            const layers = [];
            for (let up = node; up; up = up.parentElement) layers.push(rgba(getComputedStyle(up).backgroundColor));
            let colour = [255, 255, 255];
            for (const [r, g, b, a] of layers.reverse()) colour = [r * a + colour[0] * (1 - a),
                g * a + colour[1] * (1 - a), b * a + colour[2] * (1 - a)];
            return colour;
        };
        const luminance = ([r, g, b]) => {
            const [R, G, B] = [r, g, b].map((c) => (c /= 255) <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
            return 0.2126 * R + 0.7152 * G + 0.0722 * B;
        };
        const results = [];
        for (const article of document.querySelectorAll("#messages .message")) {
            for (const selector of [".fmt-code", ".fmt-link", ".mention:not(.mention-me)", ".mention-me",
                ".fmt-quote", ".fmt-pre code"]) {
                const node = article.querySelector(selector);
                const [fg, bg] = [rgba(getComputedStyle(node).color), behind(node)];
                const [high, low] = [luminance(fg), luminance(bg)].sort((x, y) => y - x);
                results.push({ where: article.className, selector, ratio: (high + 0.05) / (low + 0.05), alpha: fg[3] });
            }
        }
        return results;
    }""")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_formatted_text_meets_wcag_aa_contrast(page: Page, scheme: str) -> None:
    results = contrasts(page, scheme)
    assert len(results) == 12
    for result in results:
        assert result["alpha"] == 1, result
        assert result["ratio"] >= 4.5, result


def test_a_code_block_scrolls_sideways_instead_of_widening_the_message(page: Page) -> None:
    line = "x = " + "'a long line of code' + " * 20
    page.evaluate("([text, options]) => window.harness.show(text, options, 360)", [f"```\n{line}\n```", MENTIONS])
    sizes = page.evaluate("""() => [...document.querySelectorAll("#messages .message")].map((article) => {
        const pre = article.querySelector("pre");
        const style = getComputedStyle(pre);
        return { list: document.querySelector("#messages").getBoundingClientRect().right,
                 bubble: article.querySelector(".bubble").getBoundingClientRect().right,
                 scroll: pre.scrollWidth, client: pre.clientWidth, overflow: style.overflowX,
                 whiteSpace: style.whiteSpace, font: style.fontFamily,
                 lines: pre.clientHeight / parseFloat(style.lineHeight) };
    })""")
    for size in sizes:
        assert size["bubble"] <= size["list"], size
        assert size["scroll"] > size["client"], size
        assert size["overflow"] == "auto" and size["whiteSpace"] == "pre", size
        assert "monospace" in size["font"], size
        assert size["lines"] < 2, size  # one line of code, not wrapped


AXE_IN_MESSAGES = """async () => (await axe.run("#messages", { resultTypes: ["violations"] })).violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map((node) => ({
        target: node.target.map((part) => Array.isArray(part) ? part.join(" >>> ") : part),
        summary: [...node.any, ...node.all, ...node.none].map((check) => check.message).filter(Boolean),
    })),
}))"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_in_formatted_messages(page: Page, scheme: str) -> None:
    """axe-core (every default rule, as tests/test_accessibility.py runs it) on two messages holding
    every kind of formatted text, a code block too wide for a phone among them."""
    page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    text = ("**b** *i* _i_ `code` https://x.org @ana @me_user\n> quote **x** https://y.org @bob_1\n```\n"
            + "a long line of code " * 30 + "\n```\nend")
    page.evaluate("([text, options]) => window.harness.show(text, options, 360)", [text, MENTIONS])
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT.read_text())
    violations = page.evaluate(AXE_IN_MESSAGES)
    assert violations == [], format_violations(violations, f"formatted messages, {scheme}")


# 5. The benchmark still runs (its figures are for bench/README.md, not for a test).


def test_the_benchmark_runs() -> None:
    script = PROJECT_ROOT / "bench" / "format_render.py"
    done = subprocess.run([sys.executable, str(script), "--repeat", "3", "--json-only"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["scenario"] == "format_render"
    assert {"4,000 typical", "short plain"} <= set(result["typical"])
    assert {"backticks", "asterisks", "underscores", "deep nesting"} <= set(result["hostile"])
    for row in [*result["typical"].values(), *result["hostile"].values()]:
        assert row["p50_ms"] <= row["p99_ms"]
