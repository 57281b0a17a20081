"""Accessibility: axe-core finds nothing at all, whatever the impact, on every page people see.

Each page is checked at the desktop and the phone size, in the light and the dark colour
scheme (the browser's ``prefers-color-scheme``). axe-core is pinned in tests/axe/ and installed
by scripts/ensure-axe; tests/support/axe.py injects and runs it and lists, on a failure, each
violation with its targets, so the message says what to fix.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from . import test_browser
from .support.announcements import announced_texts, record_announcements
from .support.axe import assert_no_axe_violation, axe_violations, format_violations
from .support.http import Account
from .support.servers import Server
from .test_browser import DESKTOP, PHONE, goto_chat, log, pair_in_group, png_bytes, sign_in
from .test_images import upload

browser = test_browser.browser  # the same fixture: a headless Debian Chromium per test

SIZES = {"desktop": DESKTOP, "phone": PHONE}
LOOKS = [
    pytest.param(size, theme, id=f"{size}-{theme}") for size in SIZES for theme in ("light", "dark")
]


async def new_context(browser: Browser, size: str, theme: str) -> BrowserContext:
    return await browser.new_context(viewport=SIZES[size], color_scheme=theme, locale="en-US")


async def signed_in(context: BrowserContext, server: Server, account: Account) -> Page:
    """A page of ``context`` on the chat page, signed in as ``account`` (its session cookie set directly)."""
    await sign_in(context, server, account)
    page = await context.new_page()
    await goto_chat(page, server)
    return page


async def conversation(browser: Browser, server: Server, size: str, theme: str) -> tuple[Page, str]:
    """Bob's chat page with a conversation open: Ana and Bob in a group, both online, a few
    messages from each (a link, several lines, an image), and another group he could join (its name
    is returned with the page)."""
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    another = await client.create_group(ana, "another")
    await client.send(ana, group["id"], "Hi Bob! The notes are at https://example.org/notes")  # type: ignore[arg-type]
    await client.send(bob, group["id"], "Thanks Ana,\nI will read them tonight.")  # type: ignore[arg-type]
    sent = await upload(client, ana, group["id"], png_bytes((160, 120), (40, 120, 200)), filename="chart.png")  # type: ignore[arg-type]
    assert sent.status == 201, sent.body
    await client.send(ana, group["id"], "That is the chart.")  # type: ignore[arg-type]

    await signed_in(await new_context(browser, size, theme), server, ana)  # so that Ana is online too
    page = await signed_in(await new_context(browser, size, theme), server, bob)
    if size == "phone":  # a phone starts on the list of groups, checked as it is first shown
        await assert_no_axe_violation(page, f"the list of groups, {size}, {theme}")
        await page.get_by_role("tab", name=str(group["name"])).click()
    await expect(log(page).locator(".message")).to_have_count(4)
    image = log(page).get_by_role("img", name=f"Image from {ana.username}")
    await expect(image).to_be_visible()
    assert await image.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0  # loaded, as people see it
    if size == "phone":  # the online list is behind a button there
        await page.get_by_role("button", name=re.compile(r"^\d+ online$")).click()
    online = page.get_by_role("list", name="Online")
    for account in (ana, bob):
        await expect(online.get_by_text(account.username, exact=True)).to_be_visible()
    return page, str(another["name"])


@pytest.mark.parametrize("size, theme", LOOKS)
async def test_axe_finds_no_violation_on_the_login_page(
    server: Server, browser: Browser, size: str, theme: str
) -> None:
    page = await (await new_context(browser, size, theme)).new_page()
    await page.goto(server.base_url + "/login")
    await expect(page.get_by_role("button", name="Log in")).to_be_visible()
    await assert_no_axe_violation(page, f"/login, {size}, {theme}")


@pytest.mark.parametrize("size, theme", LOOKS)
async def test_axe_finds_no_violation_on_the_register_page(
    server: Server, browser: Browser, size: str, theme: str
) -> None:
    page = await (await new_context(browser, size, theme)).new_page()
    await page.goto(server.base_url + "/register")
    await expect(page.get_by_role("button", name="Create account")).to_be_visible()
    await assert_no_axe_violation(page, f"/register, {size}, {theme}")


@pytest.mark.parametrize("size, theme", LOOKS)
async def test_axe_finds_no_violation_on_the_chat_page(server: Server, browser: Browser, size: str, theme: str) -> None:
    page, _ = await conversation(browser, server, size, theme)
    await assert_no_axe_violation(page, f"the chat page with a conversation open, {size}, {theme}")


@pytest.mark.parametrize("size, theme", LOOKS)
async def test_axe_finds_no_violation_with_the_groups_dialog_open(
    server: Server, browser: Browser, size: str, theme: str
) -> None:
    page, another = await conversation(browser, server, size, theme)
    if size == "phone":  # the + is on the list of groups there: close the online sheet, go back
        await page.keyboard.press("Escape")
        await page.get_by_role("button", name="Back to groups").click()
    await page.get_by_role("button", name="Join or create a group").click()
    dialog = page.get_by_role("dialog", name="Groups")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_text(another)).to_be_visible()  # the list of groups has come
    await assert_no_axe_violation(page, f"the chat page with the Groups dialog open, {size}, {theme}")


async def test_a_violation_is_reported_with_its_id_impact_help_and_targets(browser: Browser) -> None:
    """The checker itself: a page with known faults fails with a message that names them."""
    page = await (await browser.new_context()).new_page()
    await page.set_content(
        '<!doctype html><html lang="en"><head><title>t</title></head><body><main>'
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" id="photo">'
        '<button id="icon"></button><p style="color:#ccc;background:#fff">faint</p></main></body></html>'
    )
    violations = await axe_violations(page)
    assert {v["id"] for v in violations} >= {"image-alt", "button-name", "color-contrast"}
    message = format_violations(violations, "a test page")
    assert "image-alt [critical] Images must have alternative text" in message
    assert "\n    #photo: Element does not have an alt attribute" in message and "\n    #icon: " in message
    with pytest.raises(AssertionError, match="button-name"):
        await assert_no_axe_violation(page, "a test page")


async def test_a_screen_reader_hears_new_messages_and_not_history(server: Server, browser: Browser) -> None:
    """Everything every live region of the page would say, recorded as a screen reader follows them:
    history loaded when the group opens or on scrolling up says nothing; a new message is said once."""
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    for i in range(70):
        await client.send(ana, group["id"], f"message number {i}")  # type: ignore[arg-type]
    context = await new_context(browser, "desktop", "light")
    await record_announcements(context)
    page = await signed_in(context, server, bob)
    await page.get_by_role("tab", name=str(group["name"])).click()
    await expect(log(page).locator(".message")).to_have_count(50)
    await log(page).evaluate("node => { node.scrollTop = 0; }")
    await expect(log(page).locator(".message")).to_have_count(70)
    assert [t for t in await announced_texts(page) if "message number" in t] == []
    await client.send(ana, group["id"], "something new")  # type: ignore[arg-type]
    await expect(log(page).get_by_text("something new")).to_be_visible()
    for _ in range(50):  # the recorder sees the change once the page's turn is over
        if any("something new" in t for t in await announced_texts(page)):
            break
        await page.wait_for_timeout(100)
    said = [t for t in await announced_texts(page) if "something new" in t or "message number" in t]
    assert said == [f"{ana.username}: something new"]
