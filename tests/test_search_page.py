"""The page's search and your data (issue 17) in a real browser: "/" and Ctrl+K focus the search
box; results show the group, the author, the time and the words found highlighted (any case, any
accents); Enter on a result opens its group at that message, highlighted, with the history around
it and "Jump to latest" back; "Load more" pages back; no results and 429 are said. The account menu
downloads the data as a zip, and closes the account behind the password.

Debian's Chromium through Playwright against a real server and MariaDB (test_browser.py's fixtures).
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Route, expect

from .support.axe import assert_no_axe_violation
from .support.http import PASSWORD, Account, Client, unique
from .support.servers import Server, StartServer
from .test_browser import DESKTOP, PHONE, goto_chat, log, sign_in
from .test_browser import browser as browser  # noqa: F401 - the fixture

PAGE_ERRORS: list[str] = []


@pytest.fixture(autouse=True)
def no_script_errors() -> Any:
    """No uncaught exception in any page a test of this file opened."""
    PAGE_ERRORS.clear()
    yield
    assert PAGE_ERRORS == []


async def open_as(
    browser: Browser, server: Server, account: Account, *, viewport: dict[str, int] = DESKTOP,
    color_scheme: str = "light",
) -> Page:
    context = await browser.new_context(viewport=viewport, locale="en-US", color_scheme=color_scheme,  # type: ignore[arg-type]
                                        timezone_id="UTC", accept_downloads=True)
    await sign_in(context, server, account)
    page = await context.new_page()
    page.on("pageerror", lambda error: PAGE_ERRORS.append(str(error)))
    await goto_chat(page, server)
    return page


def search_box(page: Page):  # noqa: ANN201 - a Playwright locator
    return page.get_by_role("search", name="Search messages").get_by_role("combobox", name="Search messages")


def results(page: Page):  # noqa: ANN201 - a Playwright locator
    return page.get_by_role("listbox", name="Search results").get_by_role("option")


async def group_of(client: Client, owner: Account, *members: Account) -> dict[str, Any]:
    group = await client.create_group(owner, "room")
    for member in members:
        await client.join(member, group["id"])
    return group


async def say(client: Client, account: Account, group: dict[str, Any], text: str) -> dict[str, Any]:
    r = await client.send(account, group["id"], text)
    assert r.status == 201, r.body
    return r.json["message"]


async def test_slash_and_ctrl_k_focus_the_search_box(server: Server, browser: Browser) -> None:
    client = server.client()
    ana = await client.register("ana")
    await group_of(client, ana)
    page = await open_as(browser, server, ana)
    box = search_box(page)
    await expect(page.get_by_role("textbox", name="Message")).to_be_focused()
    await page.keyboard.type("a/b")  # typing in a field: "/" is a character there
    await expect(page.get_by_role("textbox", name="Message")).to_have_value("a/b")
    await page.keyboard.press("Control+k")  # Ctrl+K works from anywhere
    await expect(box).to_be_focused()
    await page.keyboard.press("Escape")
    await log(page).focus()
    await page.keyboard.press("/")
    await expect(box).to_be_focused()
    await expect(box).to_have_value("")
    await expect(page.locator("#search-hint")).to_be_visible()  # the empty box explains itself


async def test_results_show_group_author_time_and_the_words_highlighted_any_accents(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob = await client.register("ana"), await client.register("bob")
    group = await group_of(client, ana, bob)
    tag = unique("t").replace("_", "")
    await say(client, ana, group, f"Um Café com leite {tag}, por favor")
    await say(client, ana, group, f"cafeteria {tag} is not a whole word")
    await say(client, bob, group, f"CAFE preto {tag}")
    page = await open_as(browser, server, bob)
    box = search_box(page)
    await box.fill(f"cafe {tag}")
    await expect(results(page)).to_have_count(2)
    await expect(page.get_by_role("status").filter(has_text="found")).to_have_text("2 messages found")
    first, second = results(page).nth(0), results(page).nth(1)  # newest first
    await expect(first).to_contain_text("CAFE preto")
    await expect(second.locator(".result-author")).to_have_text(ana.username)
    await expect(second.locator(".result-group")).to_have_text(f"in {group['name']}")
    await expect(second.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-"))
    await expect(second.locator("mark")).to_have_text(["Café", tag])  # accents and case ignored
    await expect(first.locator("mark")).to_have_text(["CAFE", tag])
    only_marks = "nodes => nodes.every((n) => [...n.querySelectorAll('*')].every((e) => e.tagName === 'MARK'))"
    assert await page.locator(".result-text").evaluate_all(only_marks)
    # The keyboard: ↓ makes the first result the active one.
    await box.press("ArrowDown")
    await expect(first).to_have_attribute("aria-selected", "true")
    await expect(box).to_have_attribute("aria-activedescendant", str(await first.get_attribute("id")))
    await assert_no_axe_violation(page, "the search results, 1280x800")
    # Nothing found, said as such.
    await box.fill(f"nothing{tag}")
    await expect(page.get_by_role("status").filter(has_text="No messages")).to_have_text(
        f"No messages match “nothing{tag}”.")
    await expect(results(page)).to_have_count(0)


async def test_a_rate_limited_search_says_so_and_tries_again(server: Server, browser: Browser) -> None:
    client = server.client()
    ana = await client.register("ana")
    group = await group_of(client, ana)
    tag = unique("t").replace("_", "")
    await say(client, ana, group, f"hello {tag}")
    page = await open_as(browser, server, ana)
    refused: list[str] = []

    async def once(route: Route) -> None:
        if refused:
            await route.continue_()
            return
        refused.append(route.request.url)
        await route.fulfill(status=429, headers={"Retry-After": "1"}, content_type="application/json",
                            body='{"error": {"code": "rate_limited", "message": "slow down"}}')

    await page.route("**/api/search?*", once)
    await search_box(page).fill(tag)
    await expect(page.locator("#search-status")).to_have_text("Too many searches at once. Trying again in 1 second…")
    await expect(results(page)).to_have_count(1)  # and then it did
    await expect(page.locator("#search-status")).to_have_text("1 message found")


async def test_enter_opens_an_old_result_in_context_highlighted_and_jump_to_latest_comes_back(
    start_server: StartServer, browser: Browser
) -> None:
    server = await start_server(send_limit=None)
    client = server.client()
    ana, bob = await client.register("ana"), await client.register("bob")
    group = await group_of(client, ana, bob)
    tag = unique("w").replace("_", "")
    sent = [await say(client, ana if n % 2 else bob, group, f"number {n} {tag}" + (" needle" if n == 10 else ""))
            for n in range(1, 101)]
    page = await open_as(browser, server, bob)
    messages = log(page).locator(".message")
    await expect(messages).to_have_count(50)  # the latest page: 51 to 100
    box = search_box(page)
    # Paging: 100 messages hold the tag; 20 a page, "Load more" the next 20.
    await box.fill(tag)
    await expect(results(page)).to_have_count(20)
    await expect(page.locator("#search-status")).to_have_text("20 messages found, more below")
    await page.get_by_role("button", name="Load more").click()
    await expect(results(page)).to_have_count(40)
    await expect(results(page).nth(39)).to_contain_text("number 61 ")
    await expect(box).to_be_focused()
    # The old one.
    await box.fill(f"needle {tag}")
    await expect(results(page)).to_have_count(1)
    await box.press("ArrowDown")
    await box.press("Enter")
    target = log(page).locator(f'.message[data-id="{sent[9]["id"]}"]')
    await expect(target).to_be_in_viewport()
    await expect(target).to_have_class(re.compile(r"\bhighlight\b"))
    await expect(target.locator("time.stamp")).to_be_focused()
    await expect(page.get_by_role("listbox", name="Search results")).to_be_hidden()
    # In context: the messages around it (1 to 34), none of the latest.
    await expect(messages).to_have_count(34)
    await expect(log(page).get_by_text(f"number 9 {tag}", exact=True)).to_be_visible()
    await expect(log(page).get_by_text(f"number 11 {tag}", exact=True)).to_be_visible()
    await expect(log(page).get_by_text(f"number 100 {tag}", exact=True)).to_have_count(0)
    # Scrolling down loads newer messages; a new one waits, counted, until the reader is back.
    await log(page).evaluate("node => { node.scrollTop = node.scrollHeight; }")
    await expect(log(page).get_by_text(f"number 35 {tag}", exact=True)).to_have_count(1)
    await say(client, ana, group, f"live {tag}")
    latest = page.get_by_role("button", name="Jump to latest")
    await expect(latest).to_be_visible()
    await latest.click()
    await expect(latest).to_be_hidden()
    await expect(log(page).get_by_text(f"live {tag}", exact=True)).to_be_in_viewport()
    await expect(messages).to_have_count(50)


async def test_the_phone_search_takes_the_whole_screen_and_is_clean_in_the_dark(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana = await client.register("ana")
    group = await group_of(client, ana)
    tag = unique("t").replace("_", "")
    await say(client, ana, group, f"from the phone {tag}")
    page = await open_as(browser, server, ana, viewport=PHONE, color_scheme="dark")
    box = search_box(page)
    await box.fill(tag)
    await expect(results(page)).to_have_count(1)
    form = await page.get_by_role("search").bounding_box()
    assert form == {"x": 0, "y": 0, "width": PHONE["width"], "height": PHONE["height"]}
    await assert_no_axe_violation(page, "the search results, 375x667, dark")
    await results(page).first.click()
    await expect(log(page).get_by_text(f"from the phone {tag}")).to_be_in_viewport()
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


async def test_the_account_menu_downloads_your_data_as_a_zip(server: Server, browser: Browser) -> None:
    client = server.client()
    ana = await client.register("ana")
    group = await group_of(client, ana)
    await say(client, ana, group, "mine to take")
    page = await open_as(browser, server, ana)
    await page.get_by_role("button", name=f"Logged in as {ana.username}").click()
    menu = page.get_by_role("menu", name="Your account")
    await expect(menu.get_by_role("menuitem", name="Download my data")).to_be_focused()
    async with page.expect_download() as info:
        await page.keyboard.press("Enter")
    download = await info.value
    path = await download.path()
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as archive:
        assert {"user.json", "groups.json", "messages.json"} <= set(archive.namelist())
        assert ana.username in archive.read("user.json").decode()
        assert "mine to take" in archive.read("messages.json").decode()
    await expect(page.get_by_role("button", name=f"Logged in as {ana.username}")).to_be_focused()
    await expect(page.get_by_role("button", name="Log out")).to_be_visible()


async def test_closing_the_account_asks_the_password_and_ends_on_the_login_page(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob = await client.register("ana"), await client.register("bob")
    group = await group_of(client, ana, bob)
    await say(client, ana, group, "soon a tombstone")
    page = await open_as(browser, server, ana)
    account = page.get_by_role("button", name=f"Logged in as {ana.username}")
    await account.click()
    await page.get_by_role("menuitem", name="Close account").click()
    dialog = page.get_by_role("dialog", name="Close your account?")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("cannot be undone")
    await expect(dialog.get_by_label("Password")).to_be_focused()
    await assert_no_axe_violation(page, "the close-account dialog, 1280x800")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    await expect(account).to_be_focused()
    await account.click()
    await page.get_by_role("menuitem", name="Close account").click()
    await dialog.get_by_label("Password").fill("not the password")
    await dialog.get_by_role("button", name="Close my account").click()
    await expect(dialog.get_by_role("alert")).to_have_text("Wrong password.")
    await expect(page).to_have_url(re.compile(r"/$"))  # still here
    await dialog.get_by_label("Password").fill(PASSWORD)
    await dialog.get_by_role("button", name="Close my account").click()
    await expect(page).to_have_url(re.compile(r"/login\?closed=1$"))
    await expect(page.get_by_role("status")).to_have_text(re.compile("Your account is closed"))
    await page.get_by_label("Username").fill(ana.username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_be_visible()  # it cannot sign in any more
    await expect(page).to_have_url(re.compile(r"/login"))
    history = await client.request("GET", f"/api/groups/{group['id']}/messages", token=bob.token)
    assert [m["deleted"] for m in history.json["messages"]] == [True]
