"""The screen-reader recorder of tests/support/announcements.py, checked on small pages whose
live regions are known, so that a page test built on it can be trusted."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, Route

from . import test_browser
from .support.announcements import announced_texts, announcements, forget_announcements, record_announcements

browser = test_browser.browser  # the same fixture: a headless Debian Chromium per test


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context()
    await record_announcements(context)
    yield await context.new_page()
    await context.close()


async def test_additions_to_a_polite_region_are_announced_in_order_with_the_text_people_see(page: Page) -> None:
    await page.set_content(
        '<div id="news" aria-live="polite"><p>there at the start</p></div>'
        '<div id="messages" role="log" aria-label="Messages"></div>'
    )
    assert await announcements(page) == []
    await page.evaluate("""() => {
        document.querySelector("#news").insertAdjacentHTML("beforeend", "<p><b>ana</b>: hello <i>there</i></p>");
        document.querySelector("#messages").insertAdjacentHTML("beforeend",
            '<article><span>bob</span><p>a picture</p><img alt="Image from bob" src="data:,"></article>');
        document.querySelector("#news").append("plain text");
    }""")
    assert await announcements(page) == [
        {"text": "ana: hello there", "politeness": "polite", "region": "news", "kind": "additions"},
        {"text": "bob a picture Image from bob", "politeness": "polite", "region": "Messages", "kind": "additions"},
        {"text": "plain text", "politeness": "polite", "region": "news", "kind": "additions"},
    ]


async def test_nothing_is_announced_outside_a_region_or_where_aria_live_is_off(page: Page) -> None:
    await page.set_content(
        '<div id="plain"></div><div id="off" aria-live="off"></div>'
        '<div id="quiet-log" role="log" aria-live="off"></div>'
        '<div aria-live="polite"><div id="inner-off" aria-live="off"></div>'
        '<div aria-live="off"><div id="inner-on" role="status"></div></div></div>'
    )
    await page.evaluate("""() => {
        for (const id of ["plain", "off", "quiet-log", "inner-off", "inner-on"]) {
            document.getElementById(id).insertAdjacentHTML("beforeend", `<p>into ${id}</p>`);
        }
    }""")
    assert await announced_texts(page) == ["into inner-on"]


async def test_a_node_not_rendered_is_not_announced_until_it_is_shown(page: Page) -> None:
    await page.set_content(
        '<style>.folded { display: none } .ghost { visibility: hidden }</style>'
        '<div id="region" aria-live="polite"></div>'
    )
    await page.evaluate("""() => document.querySelector("#region").insertAdjacentHTML("beforeend",
        '<p id="a" hidden>attribute</p><p id="b" class="folded">display</p><p id="c" class="ghost">visibility</p>'
        + '<p id="d" aria-hidden="true">aria</p><p>shown <span hidden>but not this</span></p>')""")
    assert await announced_texts(page) == ["shown"]
    await page.evaluate("""() => {
        document.querySelector("#a").hidden = false;
        document.querySelector("#b").classList.remove("folded");
    }""")
    await page.evaluate("""() => document.querySelector("#d").removeAttribute("aria-hidden")""")
    assert await announced_texts(page) == ["shown", "attribute", "display", "aria"]


async def test_aria_relevant_is_additions_and_text_unless_the_region_says_otherwise(page: Page) -> None:
    await page.set_content(
        '<div id="default" aria-live="polite"><p id="d1">one</p><p id="d2">two</p></div>'
        '<div id="additions" aria-live="polite" aria-relevant="additions"><p id="a1">three</p></div>'
        '<div id="all" aria-live="polite" aria-relevant="all"><p id="x1">four</p></div>'
    )
    await page.evaluate("""() => {
        document.querySelector("#d1").remove();                    // a removal: not by default
        document.querySelector("#d2").firstChild.data = "two, changed";  // a text change: yes
        document.querySelector("#a1").firstChild.data = "three, changed"; // not when only additions count
        document.querySelector("#x1").remove();                    // "all" has removals
    }""")
    assert await announcements(page) == [
        {"text": "two, changed", "politeness": "polite", "region": "default", "kind": "text"},
        {"text": "four", "politeness": "polite", "region": "all", "kind": "removals"},
    ]


async def test_an_atomic_region_is_said_whole_once_and_a_status_or_an_alert_is_atomic_of_itself(page: Page) -> None:
    await page.set_content(
        '<div id="score" aria-live="polite" aria-atomic="true">'
        'Score: <span id="points">1</span> <span id="unit">point</span></div>'
        '<p id="status" role="status">Saved <span id="count">1</span> file(s)</p>'
        '<p id="error" role="alert"></p>'
        '<div id="not-atomic" role="status" aria-atomic="false">Unread: <span id="unread">1</span></div>'
    )
    await page.evaluate("""() => {
        document.querySelector("#points").textContent = "2";  // two changes, one announcement
        document.querySelector("#unit").textContent = "points";
        document.querySelector("#count").textContent = "3";
        document.querySelector("#error").textContent = "That name is taken.";
        document.querySelector("#unread").textContent = "5";
    }""")
    assert await announcements(page) == [
        {"text": "Score: 2 points", "politeness": "polite", "region": "score", "kind": "additions"},
        {"text": "Saved 3 file(s)", "politeness": "polite", "region": "status", "kind": "additions"},
        {"text": "That name is taken.", "politeness": "assertive", "region": "error", "kind": "additions"},
        {"text": "5", "politeness": "polite", "region": "not-atomic", "kind": "additions"},
    ]


async def test_a_region_that_appears_with_its_content_is_announced_only_if_it_is_an_alert(page: Page) -> None:
    await page.set_content('<p id="connection" role="status" hidden>Reconnecting…</p>')
    await page.evaluate("""() => {
        document.body.insertAdjacentHTML("beforeend",
            '<div aria-live="polite">a new polite region</div><div role="alert">a new alert</div>');
        document.querySelector("#connection").hidden = false;
    }""")
    assert await announcements(page) == [
        {"text": "a new alert", "politeness": "assertive", "region": "alert", "kind": "additions"},
    ]


async def test_changes_under_aria_busy_are_held_until_it_is_cleared(page: Page) -> None:
    await page.set_content('<div id="feed" role="log" aria-busy="true"></div>')
    await page.evaluate("""() => document.querySelector("#feed").insertAdjacentHTML("beforeend", "<p>loaded</p>")""")
    assert await announced_texts(page) == []
    await page.evaluate("""() => document.querySelector("#feed").setAttribute("aria-busy", "false")""")
    assert await announced_texts(page) == ["loaded"]


async def test_aria_live_switched_off_and_on_in_one_turn_hides_nothing(page: Page) -> None:
    """The attributes count as they are when the browser next looks, after the script's turn:
    to keep history out, a region must stay off until that has happened."""
    await page.set_content('<div id="log" role="log"><p>newest</p></div>')
    await page.evaluate("""() => {
        const log = document.querySelector("#log");
        log.setAttribute("aria-live", "off");
        log.insertAdjacentHTML("afterbegin", "<p>older, same turn</p>");
        log.removeAttribute("aria-live");
    }""")
    await page.evaluate("""() => {
        const log = document.querySelector("#log");
        log.setAttribute("aria-live", "off");
        log.insertAdjacentHTML("afterbegin", "<p>older, own turn</p>");
    }""")
    await page.evaluate("""() => document.querySelector("#log").removeAttribute("aria-live")""")
    assert await announced_texts(page) == ["older, same turn"]


async def test_the_page_as_served_is_not_news_but_what_its_own_script_does_at_once_is(browser: Browser) -> None:
    """The recorder is in place before the page's first script, under a CSP that allows only
    same-origin scripts (as the chat page's does)."""
    context = await browser.new_context()
    await record_announcements(context)
    files = {
        "http://page.test/": (
            "text/html",
            '<!doctype html><div id="log" role="log"><p>history in the HTML</p>'
            '<script src="/blocking.js"></script><p>more history, parsed after a pause</p></div>'
            '<script type="module" src="/main.js"></script>',
        ),
        "http://page.test/blocking.js": ("text/javascript", "// the parser waits for this one"),
        "http://page.test/main.js": (
            "text/javascript",
            'document.querySelector("#log").insertAdjacentHTML("beforeend", "<p>added by the module</p>");',
        ),
    }

    async def serve(route: Route) -> None:
        content_type, body = files[route.request.url]
        await route.fulfill(body=body, content_type=content_type,
                            headers={"Content-Security-Policy": "default-src 'self'; script-src 'self'"})

    await context.route("http://page.test/**", serve)
    page = await context.new_page()
    await page.goto("http://page.test/")
    await page.wait_for_load_state("load")
    assert await announced_texts(page) == ["added by the module"]
    await context.close()


async def test_forgetting_starts_afresh(page: Page) -> None:
    await page.set_content('<div id="region" aria-live="assertive"></div>')
    await page.evaluate("""() => document.querySelector("#region").append("first")""")
    await forget_announcements(page)
    await page.evaluate("""() => document.querySelector("#region").append("second")""")
    assert await announcements(page) == [
        {"text": "second", "politeness": "assertive", "region": "region", "kind": "additions"},
    ]
