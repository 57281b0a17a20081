"""A message's actions in a real browser (issue 13, the page): edit in place, delete, reply, react.

Every test has two people: two browser contexts, or a page and the other person's API calls,
against a real server. What one does reaches the other live through the long poll.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from playwright.async_api import Browser, Page, expect

from . import test_browser
from .support.http import Account, Client
from .support.servers import Server
from .test_browser import PHONE, WATCH_CHILDREN, log, open_chat, pair_in_group, send

browser = test_browser.browser  # the same fixture: a headless Debian Chromium per test


async def chat(browser: Browser, server: Server, account: Account, **options: Any) -> Page:
    """``open_chat``, failing the test on any uncaught error of the page's script."""
    page = await open_chat(browser, server, account, **options)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    return page


def no_errors(*pages: Page) -> None:
    for page in pages:
        assert page.errors == []  # type: ignore[attr-defined]


async def api(client: Client, account: Account, method: str, path: str, body: Any = None) -> dict[str, Any]:
    r = await client.request(method, path, body, token=account.token)
    assert r.status in (200, 201, 204), r.body
    return r.json if r.status != 204 else {}


async def post(client: Client, account: Account, group: dict[str, Any], text: str, **fields: Any) -> dict[str, Any]:
    answer = await api(client, account, "POST", f"/api/groups/{group['id']}/messages", {"text": text, **fields})
    return answer["message"]


def message_path(group: dict[str, Any], message: dict[str, Any]) -> str:
    return f"/api/groups/{group['id']}/messages/{message['seq']}"


def bubble(page: Page, text: str):  # noqa: ANN201 - a Playwright locator
    """The message (its article) whose text is ``text``."""
    return log(page).locator(".message:not(.pending)").filter(has=page.locator(".text", has_text=text))


async def action(page: Page, text: str, name: str) -> None:
    """Hover the message ``text`` and press its action ``name``."""
    node = bubble(page, text)
    await node.locator(".bubble").hover()
    await node.get_by_role("toolbar", name="Message actions").get_by_role("button", name=name).click()


# Edit


async def test_enter_saves_an_edit_in_place_and_the_other_person_sees_edited_live(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    await post(client, ana, group, "see you at 5")
    ana_page = await chat(browser, server, ana)
    bob_page = await chat(browser, server, bob)
    await expect(bubble(bob_page, "see you at 5")).to_be_visible()

    await action(ana_page, "see you at 5", "Edit")
    box = log(ana_page).get_by_role("textbox", name="Edit message")
    await expect(box).to_be_focused()
    await expect(box).to_have_value("see you at 5")
    await box.fill("see you at 6")
    await box.press("Shift+Enter")  # a new line, not a save
    await box.press_sequentially("at the usual place")
    await box.press("Enter")
    await expect(box).to_have_count(0)

    for page in (ana_page, bob_page):
        node = bubble(page, "see you at 6")
        await expect(node.locator(".text")).to_have_text("see you at 6\nat the usual place")
        edited = node.get_by_text("(edited)")
        await expect(edited).to_be_visible()
        assert (await edited.get_attribute("title") or "").startswith("Edited ")
        assert "Edited " in (await node.locator("time.stamp").get_attribute("title") or "")
    await expect(log(bob_page).get_by_text("see you at 5")).to_have_count(0)
    no_errors(ana_page, bob_page)


async def test_escape_cancels_an_edit_and_changes_nothing(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    await post(client, ana, group, "first draft")
    ana_page = await chat(browser, server, ana)
    bob_page = await chat(browser, server, bob)
    patches: list[str] = []
    ana_page.on("request", lambda request: request.method == "PATCH" and patches.append(request.url))

    await action(ana_page, "first draft", "Edit")
    box = log(ana_page).get_by_role("textbox", name="Edit message")
    await box.fill("something else")
    await box.press("Escape")
    await expect(box).to_have_count(0)
    await expect(bubble(ana_page, "first draft").get_by_role("button", name="Edit")).to_be_focused()  # back where it started
    for page in (ana_page, bob_page):
        await expect(bubble(page, "first draft")).to_be_visible()
        await expect(log(page).get_by_text("(edited)")).to_have_count(0)
    assert patches == []
    no_errors(ana_page, bob_page)


async def test_arrow_up_in_an_empty_composer_edits_your_last_message(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    ana_page = await chat(browser, server, ana)
    bob_page = await chat(browser, server, bob)
    await send(ana_page, "one")
    await send(ana_page, "two")
    await expect(bubble(ana_page, "two")).to_be_visible()
    await post(client, bob, group, "bob's is the newest, but not ana's to edit")
    await expect(log(ana_page).get_by_text("not ana's to edit")).to_be_visible()

    composer = ana_page.get_by_role("textbox", name="Message")
    await composer.fill("x")
    await composer.press("ArrowUp")  # not empty: nothing happens
    await expect(log(ana_page).get_by_role("textbox", name="Edit message")).to_have_count(0)
    await composer.fill("")
    await composer.press("ArrowUp")
    box = log(ana_page).get_by_role("textbox", name="Edit message")
    await expect(box).to_be_focused()
    await expect(box).to_have_value("two")
    await box.fill("two, corrected")
    await box.press("Enter")
    await expect(composer).to_be_focused()  # back in the composer, where it started
    await expect(bubble(bob_page, "two, corrected").get_by_text("(edited)")).to_be_visible()
    await expect(bubble(bob_page, "one").get_by_text("(edited)")).to_have_count(0)
    no_errors(ana_page, bob_page)
