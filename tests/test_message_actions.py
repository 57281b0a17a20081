"""A message's actions in a real browser (issue 13, the page): edit in place, delete, reply, react.

Every test has two people: two browser contexts, or a page and the other person's API calls,
against a real server. What one does reaches the other live through the long poll.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import pytest
from playwright.async_api import Browser, Page, expect

from tornado_chat.config import PROJECT_ROOT

from . import test_browser
from .support.announcements import announced_texts, forget_announcements, record_announcements
from .support.axe import assert_no_axe_violation
from .support.http import Account, Client
from .support.servers import Server
from .test_accessibility import LOOKS, SIZES, signed_in
from .test_browser import DESKTOP, PHONE, WATCH_CHILDREN, log, open_chat, pair_in_group, send

browser = test_browser.browser  # the same fixture: a headless Debian Chromium per test


def watch_errors(page: Page) -> Page:
    """Keep the uncaught errors of the page's script, for ``no_errors``."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    return page


async def chat(browser: Browser, server: Server, account: Account, **options: Any) -> Page:
    """``open_chat``, keeping any uncaught error of the page's script for ``no_errors``."""
    return watch_errors(await open_chat(browser, server, account, **options))


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
    box = log(ana_page).get_by_role("textbox", name="Edit text")
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
    box = log(ana_page).get_by_role("textbox", name="Edit text")
    await box.fill("something else")
    await box.press("Escape")
    await expect(box).to_have_count(0)
    edit = bubble(ana_page, "first draft").get_by_role("button", name="Edit")
    await expect(edit).to_be_focused()  # back where it started
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
    # stored, not pending: a message still on its way cannot be edited yet, so ↑ would take "one"
    await expect(log(ana_page).locator(".message:not(.pending)").filter(has_text="two")).to_be_visible()
    await post(client, bob, group, "bob's is the newest, but not ana's to edit")
    await expect(log(ana_page).get_by_text("not ana's to edit")).to_be_visible()

    composer = ana_page.get_by_role("textbox", name="Message")
    await composer.fill("x")
    await composer.press("ArrowUp")  # not empty: nothing happens
    await expect(log(ana_page).get_by_role("textbox", name="Edit text")).to_have_count(0)
    await composer.fill("")
    await composer.press("ArrowUp")
    box = log(ana_page).get_by_role("textbox", name="Edit text")
    await expect(box).to_be_focused()
    await expect(box).to_have_value("two")
    await box.fill("two, corrected")
    await box.press("Enter")
    await expect(composer).to_be_focused()  # back in the composer, where it started
    await expect(bubble(bob_page, "two, corrected").get_by_text("(edited)")).to_be_visible()
    await expect(bubble(bob_page, "one").get_by_text("(edited)")).to_have_count(0)
    no_errors(ana_page, bob_page)


# Delete


async def test_delete_is_confirmed_and_the_other_person_sees_this_message_was_deleted_live(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    await post(client, ana, group, "oops, wrong group")
    await post(client, ana, group, "this one stays")
    ana_page = await chat(browser, server, ana)
    bob_page = await chat(browser, server, bob)
    await expect(bubble(bob_page, "oops, wrong group")).to_be_visible()

    await action(ana_page, "oops, wrong group", "Delete")
    dialog = ana_page.get_by_role("dialog", name="Delete this message?")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()  # the choice that loses nothing
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    await expect(bubble(bob_page, "oops, wrong group")).to_be_visible()

    await action(ana_page, "oops, wrong group", "Delete")
    await dialog.get_by_role("button", name="Delete").click()
    await expect(dialog).to_be_hidden()
    for page in (ana_page, bob_page):
        gone = log(page).locator(".message").filter(has_text="This message was deleted")
        await expect(gone).to_have_count(1)
        await expect(log(page).get_by_text("oops, wrong group")).to_have_count(0)
        await expect(bubble(page, "this one stays")).to_be_visible()
        await gone.locator(".bubble").hover()  # a deleted message has no actions
        await expect(gone.get_by_role("toolbar")).to_have_count(0)
        await expect(gone.get_by_role("button")).to_have_count(0)
    tombstone = log(ana_page).locator(".message").filter(has_text="This message was deleted")
    await expect(tombstone.locator("time.stamp")).to_be_focused()
    # Bob may delete only his own: ana's message offers him Reply and React, not Edit or Delete.
    await bubble(bob_page, "this one stays").locator(".bubble").hover()
    toolbar = bubble(bob_page, "this one stays").get_by_role("toolbar", name="Message actions")
    await expect(toolbar.get_by_role("button")).to_have_count(2)
    assert [await b.get_attribute("aria-label") for b in await toolbar.get_by_role("button").all()] == [
        "Reply", "React"]
    no_errors(ana_page, bob_page)


# Reply


async def test_a_reply_quotes_its_original_for_both_and_its_excerpt_follows_the_original(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    original = await post(client, ana, group, "Lunch at noon? We could try the new place on 5th street")
    ana_page = await chat(browser, server, ana)
    bob_page = await chat(browser, server, bob)

    await action(bob_page, "Lunch at noon?", "Reply")
    bar = bob_page.locator("#replying")
    await expect(bar).to_contain_text(f"Replying to {ana.username}")
    await expect(bar).to_contain_text("Lunch at noon?")
    composer = bob_page.get_by_role("textbox", name="Message")
    await expect(composer).to_be_focused()
    await bar.get_by_role("button", name="Cancel reply").click()  # the × cancels it
    await expect(bar).to_be_hidden()
    await action(bob_page, "Lunch at noon?", "Reply")
    await composer.press("Escape")  # and so does Escape
    await expect(bar).to_be_hidden()
    await action(bob_page, "Lunch at noon?", "Reply")
    await send(bob_page, "Yes! See you there")
    await expect(bar).to_be_hidden()

    for page in (ana_page, bob_page):
        reply = bubble(page, "Yes! See you there")
        quote = reply.get_by_role("button", name=f"In reply to {ana.username} Lunch at noon?")
        await expect(quote).to_be_visible()
        await expect(reply.locator(".message:not(.pending)")).to_have_count(0)
    await expect(bubble(bob_page, "Yes! See you there")).not_to_have_class("pending")

    # The original changes: the replies' quotes show it as it is now.
    await api(client, ana, "PATCH", message_path(group, original), {"text": "Lunch at 1 instead?"})
    for page in (ana_page, bob_page):
        await expect(bubble(page, "Yes! See you there").locator(".quote")).to_contain_text("Lunch at 1 instead?")
    await api(client, ana, "DELETE", message_path(group, original))
    for page in (ana_page, bob_page):
        reply = bubble(page, "Yes! See you there")
        await expect(reply.get_by_text("Original message deleted")).to_be_visible()
        await expect(reply.get_by_role("button", name="In reply to", exact=False)).to_have_count(0)
    no_errors(ana_page, bob_page)


async def test_clicking_a_quote_loads_older_history_until_the_original_is_there_and_highlights_it(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    original = await post(client, ana, group, "the very first plan")
    for i in range(120):  # more than two pages of history between them
        await client.send(bob, group["id"], f"chatter {i}")  # type: ignore[arg-type]
    await post(client, bob, group, "back to your first plan", reply_to=original["seq"])
    page = await chat(browser, server, bob)
    await expect(log(page).locator(".message")).to_have_count(50)
    await expect(bubble(page, "the very first plan")).to_have_count(0)  # only its quote is there

    await bubble(page, "back to your first plan").get_by_role("button", name="In reply to", exact=False).click()
    target = bubble(page, "the very first plan")
    await expect(target).to_be_in_viewport()
    await expect(target).to_have_class("message highlight")
    await expect(target.locator("time.stamp")).to_be_focused()
    assert await log(page).locator(".message").count() == 122
    no_errors(page)


# React


def chip(page: Page, text: str, emoji: str):  # noqa: ANN201 - a Playwright locator
    return bubble(page, text).locator(".reactions .chip", has_text=emoji)


async def test_a_reaction_chip_toggles_and_counts_for_both_people_with_yours_highlighted(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    await post(client, ana, group, "we shipped it")
    ana_page = await chat(browser, server, ana)
    bob_page = await chat(browser, server, bob)

    await action(bob_page, "we shipped it", "React")
    picker = bob_page.get_by_role("dialog", name="Choose a reaction")
    await expect(picker).to_be_visible()
    await picker.get_by_role("button", name="🎉").click()
    await expect(picker).to_be_hidden()
    await expect(chip(bob_page, "we shipped it", "🎉")).to_have_attribute("aria-pressed", "true")
    await expect(chip(bob_page, "we shipped it", "🎉")).to_have_text("🎉1")
    await expect(chip(ana_page, "we shipped it", "🎉")).to_have_attribute("aria-pressed", "false")
    await expect(chip(ana_page, "we shipped it", "🎉")).to_have_attribute("title", f"{bob.username} reacted with 🎉")

    await chip(ana_page, "we shipped it", "🎉").click()  # ana joins in
    for page in (ana_page, bob_page):
        await expect(chip(page, "we shipped it", "🎉")).to_have_text("🎉2")
        await expect(chip(page, "we shipped it", "🎉")).to_have_attribute("aria-pressed", "true")
    await expect(chip(ana_page, "we shipped it", "🎉")).to_have_attribute(
        "title", f"You and {bob.username} reacted with 🎉")
    await expect(chip(ana_page, "we shipped it", "🎉")).to_have_accessible_description(
        f"You and {bob.username} reacted with 🎉")
    await expect(chip(ana_page, "we shipped it", "🎉")).to_be_focused()  # the new node's chip, for the keyboard

    await chip(bob_page, "we shipped it", "🎉").click()  # bob takes his back
    for page, pressed in ((ana_page, "true"), (bob_page, "false")):
        await expect(chip(page, "we shipped it", "🎉")).to_have_text("🎉1")
        await expect(chip(page, "we shipped it", "🎉")).to_have_attribute("aria-pressed", pressed)
    await chip(ana_page, "we shipped it", "🎉").click()
    for page in (ana_page, bob_page):
        await expect(bubble(page, "we shipped it").locator(".reactions")).to_have_count(0)

    # The "+" chip opens the picker too; an emoji the other person used counts for both.
    await api(client, ana, "PUT", f"/api/groups/{group['id']}/messages/1/reactions/{quote('👍')}")
    await bubble(bob_page, "we shipped it").get_by_role("button", name="Add reaction").click()
    await picker.get_by_role("button", name="👍").click()
    for page in (ana_page, bob_page):
        await expect(chip(page, "we shipped it", "👍")).to_have_text("👍2")
    no_errors(ana_page, bob_page)


async def read_by(client: Client, account: Account, group: dict[str, Any], page: Page) -> None:
    """Until the page has marked the group read (it does once its newest message has been in
    view a moment) and shows no unread count: a test about other changes starts after that one."""
    for _ in range(200):
        me = await client.request("GET", "/api/me", token=account.token)
        if [g["unread"] for g in me.json["groups"] if g["id"] == group["id"]] == [0]:
            break
        await asyncio.sleep(0.05)
    await expect(page.locator(".unread.count")).to_have_count(0)


async def test_the_picker_works_with_the_keyboard_and_remembers_recent_emoji(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    await post(client, ana, group, "keyboard only")
    ana_page = await chat(browser, server, ana)
    page = await chat(browser, server, bob)

    await page.bring_to_front()
    await read_by(client, bob, group, page)  # the page marking the group read redraws the unread line
    # Into the log: its tab stop is the newest message's time; then Tab reaches the message's toolbar.
    await log(page).focus()
    await page.keyboard.press("Tab")
    await expect(bubble(page, "keyboard only").locator("time.stamp")).to_be_focused()
    await page.keyboard.press("Tab")
    toolbar = bubble(page, "keyboard only").get_by_role("toolbar", name="Message actions")
    await expect(toolbar.get_by_role("button", name="Reply")).to_be_focused()
    await page.keyboard.press("ArrowRight")
    react = toolbar.get_by_role("button", name="React")
    await expect(react).to_be_focused()
    await page.keyboard.press("Enter")
    picker = page.get_by_role("dialog", name="Choose a reaction")
    await expect(picker.get_by_role("button", name="👍")).to_be_focused()
    await page.keyboard.press("Escape")  # closes, back to React
    await expect(picker).to_be_hidden()
    await expect(react).to_be_focused()

    await page.keyboard.press("Enter")
    await page.keyboard.press("ArrowRight")  # ❤️
    await page.keyboard.press("ArrowDown")  # the row below: 🔥 (six a row)
    await expect(picker.get_by_role("button", name="🔥")).to_be_focused()
    await page.keyboard.press("End")
    await page.keyboard.press("ArrowLeft")
    await expect(picker.get_by_role("button", name="👏")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(picker).to_be_hidden()
    await expect(chip(page, "keyboard only", "👏")).to_have_attribute("aria-pressed", "true")
    await expect(chip(ana_page, "keyboard only", "👏")).to_have_text("👏1")
    await expect(react).to_be_focused()

    # Used lately: first, under "Recently used", the next time (and after a reload).
    await page.reload()
    await expect(page.locator("#app")).to_have_attribute("data-ready", "true")
    await action(page, "keyboard only", "React")
    recent = picker.get_by_role("group", name="Recently used")
    await expect(recent.get_by_role("button")).to_have_text(["👏"])
    await expect(recent.get_by_role("button", name="👏")).to_be_focused()
    await page.keyboard.press("Escape")
    no_errors(ana_page, page)


# Each change replaces one node

# What happened to the log's children since WATCH_CHILDREN: the ids of the nodes that went and
# of those that came (the same ids, at the same places, when a node was replaced), whether every
# other child is the same node as before, and whether anything but the log itself was touched.
CHANGES = """seen => {
    const now = [...seen.root.children];
    const gone = seen.before.filter((node) => !node.isConnected);
    return {
        gone: gone.map((node) => node.dataset.id),
        came: seen.added.map((node) => node.dataset.id),
        same_places: gone.every((node, i) => now.indexOf(seen.added[i]) === seen.before.indexOf(node)),
        others_kept: seen.before.filter((node) => node.isConnected).every((node, i) => now.includes(node)),
        removed: seen.removed.length,
        only_the_log_touched: seen.targets.every((target) => target === seen.root),
    };
}"""


async def test_each_change_replaces_its_one_node_and_keeps_every_other_node(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    first = await post(client, ana, group, "first")
    second = await post(client, ana, group, "second")
    third = await post(client, ana, group, "third")
    reply = await post(client, ana, group, "a reply to the first", reply_to=first["seq"])
    page = await chat(browser, server, bob)
    await expect(log(page).locator(".message")).to_have_count(4)
    await read_by(client, bob, group, page)  # a change to an unread message rightly touches its tab too

    async def change(do: Any, done: Any) -> dict[str, Any]:
        seen = await page.evaluate_handle(WATCH_CHILDREN, "#messages")
        await do()
        await done()
        return await seen.evaluate(CHANGES)

    def one(message: dict[str, Any], *more: dict[str, Any]) -> dict[str, Any]:
        ids = [str(m["id"]) for m in (message, *more)]
        return {"gone": ids, "came": ids, "same_places": True, "others_kept": True, "removed": len(ids),
                "only_the_log_touched": True}

    path = message_path
    assert await change(  # an edit
        lambda: api(client, ana, "PATCH", path(group, second), {"text": "second, edited"}),
        lambda: expect(bubble(page, "second, edited").get_by_text("(edited)")).to_be_visible(),
    ) == one(second)
    assert await change(  # a reaction from the other person
        lambda: api(client, ana, "PUT", f"{path(group, third)}/reactions/{quote('🔥')}"),
        lambda: expect(chip(page, "third", "🔥")).to_have_text("🔥1"),
    ) == one(third)
    await chip(page, "third", "🔥").hover()
    assert await change(  # your own, by a click on its chip
        lambda: chip(page, "third", "🔥").click(),
        lambda: expect(chip(page, "third", "🔥")).to_have_text("🔥2"),
    ) == one(third)
    assert await change(  # an edit of an original: it and its reply (whose quote follows it)
        lambda: api(client, ana, "PATCH", path(group, first), {"text": "first, edited"}),
        lambda: expect(bubble(page, "a reply to the first").locator(".quote")).to_contain_text("first, edited"),
    ) == one(first, reply)
    assert await change(  # a delete
        lambda: api(client, ana, "DELETE", path(group, second)),
        lambda: expect(log(page).get_by_text("This message was deleted")).to_be_visible(),
    ) == one(second)
    no_errors(page)


# Touch: a long press opens the action sheet


async def long_press(page: Page, locator: Any) -> None:
    """A finger held on ``locator`` for 700 ms: real touch events, through the DevTools protocol."""
    box = await locator.bounding_box()
    assert box is not None
    point = {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [point]})
    await page.wait_for_timeout(700)
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


async def test_a_long_press_on_a_phone_opens_an_action_sheet_with_quick_reactions(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    await post(client, ana, group, "hold me")
    await post(client, bob, group, "mine to change")
    ana_page = await chat(browser, server, ana)
    context = await browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, locale="en-US")
    page = watch_errors(await signed_in(context, server, bob))
    await page.get_by_role("tab", name=str(group["name"])).click()  # a phone starts on the list of groups
    await expect(bubble(page, "hold me")).to_be_visible()
    assert await page.evaluate("matchMedia('(hover: none)').matches")

    await long_press(page, bubble(page, "hold me").locator(".text"))
    sheet = page.get_by_role("dialog", name="Message actions")
    await expect(sheet).to_be_visible()
    await expect(sheet.locator(".sheet-actions button")).to_have_text(["Reply", "More reactions"])  # not his own
    await sheet.get_by_role("group", name="React").get_by_role("button", name="❤️").click()
    await expect(sheet).to_be_hidden()
    await expect(chip(page, "hold me", "❤️")).to_have_attribute("aria-pressed", "true")
    await expect(chip(ana_page, "hold me", "❤️")).to_have_text("❤️1")

    await long_press(page, bubble(page, "mine to change").locator(".text"))
    await expect(sheet.locator(".sheet-actions button")).to_have_text(["Reply", "More reactions", "Edit", "Delete"])
    await sheet.get_by_role("button", name="Edit").click()
    box = log(page).get_by_role("textbox", name="Edit text")
    await expect(box).to_be_focused()
    await box.fill("changed on the phone")
    await log(page).get_by_role("button", name="Save").click()  # no Enter key on a phone: the Save button
    await expect(bubble(ana_page, "changed on the phone").get_by_text("(edited)")).to_be_visible()

    await long_press(page, bubble(page, "changed on the phone").locator(".text"))
    await sheet.get_by_role("button", name="Cancel").click()
    await expect(sheet).to_be_hidden()
    await long_press(page, bubble(page, "changed on the phone").locator(".text"))
    await sheet.get_by_role("button", name="Delete").click()
    await page.get_by_role("dialog", name="Delete this message?").get_by_role("button", name="Delete").click()
    await expect(log(ana_page).get_by_text("This message was deleted")).to_be_visible()
    no_errors(ana_page, page)


# What a screen reader is told


async def test_a_screen_reader_hears_your_own_edit_and_delete_once_and_nothing_of_reactions_or_others_changes(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    from_bob = await post(client, bob, group, "bob says hi")
    await post(client, ana, group, "ana says hi")
    context = await browser.new_context(viewport=DESKTOP, locale="en-US")
    await record_announcements(context)
    page = watch_errors(await signed_in(context, server, ana))
    await expect(bubble(page, "ana says hi")).to_be_visible()
    await forget_announcements(page)

    await api(client, bob, "PUT", f"{message_path(group, from_bob)}/reactions/{quote('👍')}")
    await api(client, bob, "PATCH", message_path(group, from_bob), {"text": "bob says hello"})
    await expect(bubble(page, "bob says hello").locator(".chip")).to_have_count(2)  # 👍 and "+"
    await chip(page, "bob says hello", "👍").click()
    await expect(chip(page, "bob says hello", "👍")).to_have_text("👍2")
    await api(client, bob, "DELETE", message_path(group, from_bob))
    await expect(log(page).get_by_text("This message was deleted")).to_be_visible()
    assert await announced_texts(page) == []

    await action(page, "ana says hi", "Edit")
    await log(page).get_by_role("textbox", name="Edit text").fill("ana says hello")
    await log(page).get_by_role("textbox", name="Edit text").press("Enter")
    await expect(bubble(page, "ana says hello").get_by_text("(edited)")).to_be_visible()
    await action(page, "ana says hello", "Delete")
    await page.get_by_role("dialog", name="Delete this message?").get_by_role("button", name="Delete").click()
    await expect(log(page).get_by_text("This message was deleted")).to_have_count(2)
    await page.wait_for_timeout(300)  # anything said late would be said by now
    assert await announced_texts(page) == ["Message edited", "Message deleted"]
    no_errors(page)


# Accessibility: axe-core finds nothing with the actions, the editor, the picker and the dialogs open

SHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots" / "i13-page"


async def changed_conversation(browser: Browser, server: Server, size: str, theme: str) -> tuple[Page, Page]:
    """Bob's page (and Ana's) on a conversation with an edited message, a deleted one, a reply and
    reactions (one of them his)."""
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    plan = await post(client, ana, group, "Morning! Standup moves to 10:00 today")
    thanks = await post(client, bob, group, "Thanks for the heads-up. I'll bring the release notes.")
    oops = await post(client, ana, group, "Can someone review PR 41?")
    await post(client, bob, group, "Works for me, see you then", reply_to=plan["seq"])
    await post(client, ana, group, "Great, thanks both!")
    await api(client, ana, "PATCH", message_path(group, plan), {"text": "Morning! Standup moves to 10:30 today"})
    await api(client, ana, "DELETE", message_path(group, oops))
    for who, emoji in ((ana, "👍"), (bob, "👍"), (ana, "🎉")):
        await api(client, who, "PUT", f"{message_path(group, thanks)}/reactions/{quote(emoji)}")
    options = {"viewport": SIZES[size], "color_scheme": theme, "locale": "en-US"}
    ana_page = watch_errors(await signed_in(await browser.new_context(**options), server, ana))  # type: ignore[arg-type]
    touch = {"has_touch": True, "is_mobile": True} if size == "phone" else {}
    page = watch_errors(await signed_in(await browser.new_context(**options, **touch), server, bob))  # type: ignore[arg-type]
    if size == "phone":
        await page.get_by_role("tab", name=str(group["name"])).click()
    await expect(log(page).get_by_text("This message was deleted")).to_be_visible()
    await expect(log(page).locator(".message")).to_have_count(5)
    return page, ana_page


async def look(page: Page, name: str, where: str) -> None:
    """Axe finds nothing; a screenshot of it is kept."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.wait_for_timeout(250)  # transitions over
    await page.screenshot(path=str(SHOTS / f"{name}.png"))
    await assert_no_axe_violation(page, where)


@pytest.mark.parametrize("size, theme", LOOKS)
async def test_axe_finds_no_violation_with_the_actions_the_editor_the_picker_and_the_dialogs_open(
    server: Server, browser: Browser, size: str, theme: str
) -> None:
    page, ana_page = await changed_conversation(browser, server, size, theme)
    at = f"{size}, {theme}"
    await look(page, f"{size}-{theme}-conversation", f"a conversation with changed messages, {at}")

    # The actions of a message, by the keyboard: its time, then its toolbar.
    await page.bring_to_front()
    reply = bubble(page, "Works for me")
    await reply.locator("time.stamp").focus()
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")  # past the quote, to the toolbar
    await expect(reply.get_by_role("toolbar").get_by_role("button", name="Reply")).to_be_focused()
    await look(page, f"{size}-{theme}-actions", f"a message's actions, {at}")

    await page.keyboard.press("Enter")  # Reply: the quote bar over the composer
    await expect(page.locator("#replying")).to_contain_text("Replying to")
    await look(page, f"{size}-{theme}-replying", f"the reply bar, {at}")
    await page.keyboard.press("Escape")

    async def act(text: str, name: str) -> None:  # a phone has no hover: the long press's sheet
        if size != "phone":
            await action(page, text, name)
            return
        await long_press(page, bubble(page, text).locator(".text"))
        sheet = page.get_by_role("dialog", name="Message actions")
        await sheet.get_by_role("button", name="More reactions" if name == "React" else name, exact=True).click()

    await act("Thanks for the heads-up", "React")
    await expect(page.get_by_role("dialog", name="Choose a reaction")).to_be_visible()
    await look(page, f"{size}-{theme}-picker", f"the reaction picker, {at}")
    await page.keyboard.press("Escape")

    await act("Works for me", "Edit")
    box = log(page).get_by_role("textbox", name="Edit text")
    await box.fill("Works for me, see you at 10:30")
    await look(page, f"{size}-{theme}-editor", f"the editor, {at}")
    await box.press("Escape")

    await act("Works for me", "Delete")
    await expect(page.get_by_role("dialog", name="Delete this message?")).to_be_visible()
    await look(page, f"{size}-{theme}-delete", f"the delete dialog, {at}")
    await page.keyboard.press("Escape")

    if size == "phone":
        await long_press(page, bubble(page, "Works for me").locator(".text"))
        await expect(page.get_by_role("dialog", name="Message actions")).to_be_visible()
        await look(page, f"{size}-{theme}-sheet", f"the action sheet, {at}")
    no_errors(page, ana_page)
