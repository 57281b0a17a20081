"""The browser app in a real browser: Playwright driving Debian's Chromium.

Each test starts its own headless Chromium (a fresh profile) against an app of
its own. Screenshots go to test-artifacts/screenshots/ (ignored by git).
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from PIL import Image
from playwright.async_api import Browser, BrowserContext, Page, Route, async_playwright, expect
from tornado.web import create_signed_value

from tornado_chat.config import PROJECT_ROOT
from tornado_chat.web.pages import SCRIPT_STRINGS, TRANSLATIONS

from .support.database import query
from .support.http import PASSWORD, Account, Client, unique
from .support.servers import Server, StartServer
from .support.traffic import until

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-quic", "--disable-sync",
]
SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 667}

RouteHandler = Callable[[Route], Awaitable[None]]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        await browser.close()


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


async def open_chat(
    browser: Browser,
    server: Server,
    account: Account,
    *,
    viewport: dict[str, int] = DESKTOP,
    locale: str = "en-US",
    routes: tuple[tuple[str, RouteHandler], ...] = (),
    color_scheme: str = "light",
) -> Page:
    """A browser context signed in as ``account`` (its session cookie set directly), on the chat page;
    ``routes`` intercept its requests from the start."""
    context = await browser.new_context(viewport=viewport, locale=locale, color_scheme=color_scheme)  # type: ignore[arg-type]
    for pattern, handler in routes:
        await context.route(pattern, handler)
    await sign_in(context, server, account)
    page = await context.new_page()
    await goto_chat(page, server)
    return page


async def sign_in(context: BrowserContext, server: Server, account: Account) -> None:
    """Give ``context`` a session of ``account``: its cookie set directly, as a sign-in would."""
    token = await server.client().request(
        "POST", "/api/session", {"username": account.username, "password": account.password}
    )
    cookie = create_signed_value(server.settings.cookie_secret, "chat_session", token.json["token"]).decode()
    await context.add_cookies([{"name": "chat_session", "value": cookie, "url": server.base_url}])


async def goto_chat(page: Page, server: Server) -> None:
    await page.goto(server.base_url + "/")
    await expect(page.locator("#app")).to_have_attribute("data-ready", "true")


async def send(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    await box.fill(text)
    await box.press("Enter")


def log(page: Page):  # noqa: ANN201 - a Playwright locator
    return page.get_by_role("log", name="Messages")


async def pair_in_group(client: Client) -> tuple[Account, Account, dict[str, object]]:
    ana, bob = await client.register("ana"), await client.register("bob")
    group = await client.create_group(ana, "room")
    await client.join(bob, group["id"])  # type: ignore[arg-type]
    return ana, bob, group


async def test_two_people_register_meet_in_a_group_and_talk_in_real_time(server: Server, browser: Browser) -> None:
    pages = []
    names = [unique("ana")[:20], unique("bob")[:20]]
    for name in names:
        context = await browser.new_context(viewport=DESKTOP)
        page = await context.new_page()
        await page.goto(server.base_url + "/register")
        await page.get_by_label("Username").fill(name)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Create account").click()
        await expect(page.locator("#app")).to_have_attribute("data-ready", "true")
        await expect(page.get_by_text("Press + to join or create a group.")).to_be_visible()
        pages.append(page)
    ana, bob = pages
    await screenshot(ana, "desktop-empty")

    group_name = unique("Lobby")
    await ana.get_by_role("button", name="Join or create a group").click()
    dialog = ana.get_by_role("dialog", name="Groups")
    await dialog.get_by_label("Group name").fill(group_name)
    await dialog.get_by_role("button", name="Create group").click()
    await expect(ana.get_by_role("tab", name=group_name)).to_have_attribute("aria-selected", "true")

    await bob.get_by_role("button", name="Join or create a group").click()
    bob_dialog = bob.get_by_role("dialog", name="Groups")
    await bob_dialog.get_by_role("button", name=f"Join {group_name}").click()
    await expect(bob.get_by_role("tab", name=group_name)).to_be_visible()
    await bob_dialog.get_by_role("button", name="Close").click()
    await screenshot(bob, "desktop-dialog-closed")

    await send(ana, "Oi Bob! 👋")
    await expect(log(bob).get_by_text("Oi Bob! 👋")).to_be_visible(timeout=1000)
    await send(bob, "Hi Ana,\nline two")
    await expect(log(ana).get_by_text("line two")).to_be_visible(timeout=1000)
    assert await log(ana).locator(".message .text").last.inner_text() == "Hi Ana,\nline two"

    for page in pages:
        online = page.get_by_role("list", name="Online")
        for name in names:
            await expect(online.get_by_text(name, exact=True)).to_be_visible()
    await screenshot(ana, "desktop-conversation")

    await bob.get_by_role("textbox", name="Message").press_sequentially("typing")
    await expect(ana.get_by_text(f"{names[1]} is typing…")).to_be_visible()
    await screenshot(ana, "desktop-typing")


async def test_enter_sends_and_shift_enter_adds_a_line(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    page = await open_chat(browser, server, bob)
    box = page.get_by_role("textbox", name="Message")
    await box.press_sequentially("first line")
    await box.press("Shift+Enter")
    await box.press_sequentially("second line")
    await expect(box).to_have_value("first line\nsecond line")
    await expect(log(page).locator(".message")).to_have_count(0)
    await box.press("Enter")
    await expect(log(page).locator(".message:not(.pending) .text")).to_have_text("first line\nsecond line")
    await expect(box).to_have_value("")
    await page.get_by_role("textbox", name="Message").fill("by the button")
    await page.get_by_role("button", name="Send").click()
    await expect(log(page).get_by_text("by the button")).to_be_visible()


def png_bytes(size: tuple[int, int], color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


async def test_an_attached_image_shows_its_progress_and_appears_as_a_thumbnail_for_the_other_person(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    ana_page = await open_chat(browser, server, ana)
    bob_page = await open_chat(browser, server, bob)

    async def slow_upload(route: Route) -> None:
        await asyncio.sleep(1.0)  # long enough to see the upload in progress
        await route.continue_()

    await bob_page.route(f"**/api/groups/{group['id']}/images", slow_upload)
    noise = Image.frombytes("RGB", (900, 600), os.urandom(900 * 600 * 3))
    photo = io.BytesIO()
    noise.save(photo, "JPEG", quality=95)
    await bob_page.locator("#image-file").set_input_files(
        {"name": "holiday.jpg", "mimeType": "image/jpeg", "buffer": photo.getvalue()}
    )
    await expect(bob_page.get_by_role("img", name="Preview of holiday.jpg")).to_be_visible()
    await bob_page.get_by_role("button", name="Send").click()
    await expect(bob_page.get_by_role("progressbar", name="Uploading holiday.jpg")).to_be_visible()
    await screenshot(bob_page, "desktop-uploading")
    thumb = log(ana_page).get_by_role("img", name=f"Image from {bob.username}")
    await expect(thumb).to_be_visible(timeout=10000)
    assert await thumb.evaluate("img => img.complete && img.naturalWidth") == 512
    link = log(ana_page).locator("a.image-link")
    assert re.fullmatch(r"/images/[A-Za-z0-9_-]{32}", await link.get_attribute("href") or "")
    await expect(log(bob_page).get_by_role("progressbar")).to_have_count(0)
    await screenshot(ana_page, "desktop-image")


async def test_images_can_be_pasted_and_dropped_and_a_refused_file_says_why(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    page = await open_chat(browser, server, bob)
    script = """([kind, name, type, bytes]) => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([new Uint8Array(bytes)], name, { type }));
        const target = kind === "paste" ? document.querySelector("#message") : document.querySelector("#conversation");
        const event = kind === "paste"
            ? new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true })
            : new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true });
        target.dispatchEvent(event);
    }"""
    await page.evaluate(script, ["paste", "pasted.png", "image/png", list(png_bytes((40, 30), (250, 0, 0)))])
    await page.evaluate(script, ["drop", "dropped.png", "image/png", list(png_bytes((30, 40), (0, 0, 250)))])
    previews = page.get_by_role("list", name="Images to send")
    await expect(previews.get_by_role("img", name=re.compile(r"Preview of (pasted|dropped)\.png"))).to_have_count(2)
    await page.get_by_role("textbox", name="Message").press("Enter")
    images = log(page).get_by_role("img", name=f"Image from {bob.username}")
    await expect(images).to_have_count(2)
    await page.evaluate(script, ["drop", "fake.png", "image/png", list(b"just some text, not a picture")])
    await page.get_by_role("button", name="Send").click()
    refused = previews.get_by_role("listitem").filter(has_text="fake.png")
    await expect(refused).to_contain_text("Not sent: That file is not a PNG, JPEG, GIF or WebP image.")
    stored = query(server.settings.database, "SELECT COUNT(*) FROM messages WHERE group_id = %s", (group["id"],))
    assert stored[0][0] == 2


async def test_a_message_with_html_shows_as_text_and_runs_nothing(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    page = await open_chat(browser, server, bob)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    hostile = '<img src=x onerror=alert(1)> <script>alert(2)</script> https://example.org/a?b=1'
    await client.send(ana, group["id"], hostile)  # type: ignore[arg-type]
    text = log(page).locator(".message .text").last
    await expect(text).to_have_text(hostile)
    assert await log(page).locator("img, script").count() == 0
    link = text.get_by_role("link")
    assert await link.get_attribute("href") == "https://example.org/a?b=1"
    assert "noopener" in (await link.get_attribute("rel") or "")
    await page.wait_for_timeout(300)
    assert dialogs == []


async def test_the_x_leaves_the_group_once_confirmed(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    page = await open_chat(browser, server, bob)
    name = str(group["name"])
    await page.get_by_role("button", name=f"Leave {name}").click()
    await page.get_by_role("dialog", name=f"Leave {name}?").get_by_role("button", name="Leave").click()
    await expect(page.get_by_role("tab", name=name)).to_have_count(0)
    await expect(page.get_by_text("Press + to join or create a group.")).to_be_visible()
    r = await client.request("GET", f"/api/groups/{group['id']}/messages", token=bob.token)
    assert r.error_code == "not_member"


async def test_a_reload_brings_back_the_groups_the_active_tab_and_the_history(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, first = await pair_in_group(client)
    second = await client.create_group(bob, "second")
    for i in range(3):
        await client.send(ana, first["id"], f"history {i}")  # type: ignore[arg-type]
    page = await open_chat(browser, server, bob)
    await page.get_by_role("tab", name=str(first["name"])).click()
    await expect(log(page).get_by_text("history 2")).to_be_visible()
    await page.reload()
    await expect(page.locator("#app")).to_have_attribute("data-ready", "true")
    await expect(page.get_by_role("tab", name=str(first["name"]))).to_have_attribute("aria-selected", "true")
    await expect(page.get_by_role("tab", name=str(second["name"]))).to_be_visible()
    await expect(log(page).locator(".message")).to_have_count(3)


async def test_older_messages_load_on_scrolling_up(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    for i in range(70):
        await client.send(ana, group["id"], f"message number {i}")  # type: ignore[arg-type]
    page = await open_chat(browser, server, bob)
    await expect(log(page).locator(".message")).to_have_count(50)
    await log(page).evaluate("node => { node.scrollTop = 0; node.dispatchEvent(new Event('scroll')); }")
    await expect(log(page).locator(".message")).to_have_count(70)
    assert await log(page).locator(".message .text").first.inner_text() == "message number 0"


# Records, from now on, the children of ``selector`` and every change under it:
# the nodes added to or removed from it directly, and the targets of all changes.
WATCH_CHILDREN = """selector => {
    const root = document.querySelector(selector);
    const seen = { root, before: [...root.children], added: [], removed: [], targets: [] };
    new MutationObserver((records) => {
        for (const record of records) {
            seen.targets.push(record.target);
            if (record.target === root) {
                seen.added.push(...record.addedNodes);
                seen.removed.push(...record.removedNodes);
            }
        }
    }).observe(root, { childList: true, subtree: true, characterData: true, attributes: true });
    return seen;
}"""


async def test_a_new_message_appends_one_node_and_keeps_the_other_message_nodes(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    for i in range(3):
        await client.send(ana, group["id"], f"earlier {i}")  # type: ignore[arg-type]
    page = await open_chat(browser, server, bob)
    await expect(log(page).locator(".message")).to_have_count(3)
    seen = await page.evaluate_handle(WATCH_CHILDREN, "#messages")

    await client.send(ana, group["id"], "from ana, live")  # type: ignore[arg-type]
    await expect(log(page).get_by_text("from ana, live")).to_be_visible()
    assert await seen.evaluate("""seen => ({
        kept: seen.before.every((node, i) => node.isConnected && seen.root.children[i] === node),
        count: seen.root.querySelectorAll(":scope > .message").length,  // besides the messages: a day separator
        added: seen.added.length,
        removed: seen.removed.length,
        appended: seen.root.lastElementChild === seen.added[0],
        untouched: seen.targets.every((target) => target === seen.root),
    })""") == {"kept": True, "count": 4, "added": 1, "removed": 0, "appended": True, "untouched": True}

    await send(page, "from bob, confirmed")  # pending, then confirmed: the earlier nodes stay all the same
    await expect(log(page).locator(".message:not(.pending)").get_by_text("from bob, confirmed")).to_be_visible()
    await expect(log(page).locator(".pending")).to_have_count(0)
    assert await seen.evaluate("""seen => seen.root.querySelectorAll(".message").length === 5
        && seen.before.every((node, i) => node.isConnected && seen.root.children[i] === node)""")


async def test_older_history_is_prepended_without_moving_what_the_reader_sees(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    for i in range(70):
        await client.send(ana, group["id"], f"message number {i}")  # type: ignore[arg-type]
    page = await open_chat(browser, server, bob)
    await expect(log(page).locator(".message")).to_have_count(50)
    seen = await page.evaluate_handle(WATCH_CHILDREN, "#messages")
    # The first message shown and its text: the day separator above it goes when older messages of
    # the same day come, and the message joins the run above it (its header hides, its text stays put).
    where = """seen => {
        const node = seen.before.find((node) => node.matches(".message"));
        const text = node.querySelector(".text");
        return [node.isConnected, Math.round(text.getBoundingClientRect().top - seen.root.getBoundingClientRect().top)];
    }"""
    # Scrolled to the top and measured in one go: the scroll event that loads the older page
    # comes after this script, never between the scroll and the measurement.
    before = await seen.evaluate(f"seen => {{ seen.root.scrollTop = 0; return ({where})(seen); }}")
    await expect(log(page).locator(".message")).to_have_count(70)
    assert await seen.evaluate(where) == before, "the message at the top stays where it was"
    assert await seen.evaluate("""seen => {
        const messages = seen.before.filter((node) => node.matches(".message"));
        const now = [...seen.root.querySelectorAll(":scope > .message")];
        return messages.every((node, i) => now[i + 20] === node)
            && seen.removed.every((node) => node.matches(".day"));
    }""")
    assert await log(page).locator(".message .text").first.inner_text() == "message number 0"


async def test_a_message_in_another_group_changes_only_that_groups_tab(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    first = await client.create_group(bob, "aaa-first")
    last = await client.create_group(bob, "zzz-last")
    page = await open_chat(browser, server, bob)
    await page.get_by_role("tab", name=str(first["name"])).click()
    await expect(log(page).get_by_text("No messages yet. Say hello!")).to_be_visible()
    names = await page.locator("#tabs .tab-name").all_inner_texts()
    assert names == [str(first["name"]), str(group["name"]), str(last["name"])]
    seen = await page.evaluate_handle(WATCH_CHILDREN, "#tabs")

    await client.send(ana, group["id"], "unseen")  # type: ignore[arg-type]
    tab = page.get_by_role("tab", name=str(group["name"]))
    await expect(tab.locator(".unread")).to_have_text("1")
    assert await seen.evaluate("""seen => {
        const changed = seen.before[1];
        return {
            kept: seen.before.every((node, i) => node.isConnected && seen.root.children[i] === node),
            onlyThatTab: seen.targets.every((target) => changed.contains(target) && target !== changed),
            changes: seen.targets.length,
        };
    }""") == {"kept": True, "onlyThatTab": True, "changes": 1}
    assert await page.locator("#tabs .tab-name").all_inner_texts() == names
    assert await page.title() == f"(1) {first['name']} · tornado chat"


async def test_an_unread_count_shows_on_the_tab_of_another_group(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    other = await client.create_group(bob, "aaa-first")
    page = await open_chat(browser, server, bob)
    await page.get_by_role("tab", name=str(other["name"])).click()
    for i in range(2):
        await client.send(ana, group["id"], f"unseen {i}")  # type: ignore[arg-type]
    tab = page.get_by_role("tab", name=str(group["name"]))
    await expect(tab.locator(".unread")).to_have_text("2")
    await tab.click()
    await expect(tab.locator(".unread")).to_have_count(0)


async def test_the_portuguese_locale_shows_portuguese(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    context = await browser.new_context(viewport=DESKTOP, locale="pt-BR")
    login = await context.new_page()
    await login.goto(server.base_url + "/login")
    await expect(login.get_by_label("Nome de usuário")).to_be_visible()
    await expect(login.get_by_role("button", name="Entrar")).to_be_visible()
    page = await open_chat(browser, server, bob, locale="pt-BR")
    await expect(page.get_by_role("button", name="Entrar em um grupo ou criar um")).to_be_visible()
    await expect(page.get_by_role("button", name=f"Sair de {group['name']}")).to_be_visible()
    await expect(page.get_by_role("textbox", name="Mensagem")).to_be_visible()
    await client.request("POST", f"/api/groups/{group['id']}/typing", token=ana.token)
    await expect(page.get_by_text(f"{ana.username} está digitando…")).to_be_visible()
    assert await page.evaluate("document.documentElement.lang") == "pt-BR"
    await screenshot(page, "desktop-portuguese")


async def test_the_phone_viewport_works_with_the_online_list_in_a_sheet(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    await client.send(ana, group["id"], "a long first message to see how the bubbles wrap on a narrow screen")  # type: ignore[arg-type]
    page = await open_chat(browser, server, bob, viewport=PHONE)
    await page.get_by_role("tab", name=str(group["name"])).click()
    await expect(log(page).get_by_text("narrow screen")).to_be_visible()
    online = page.get_by_role("list", name="Online")
    await expect(online).not_to_be_in_viewport()
    await screenshot(page, "phone-conversation")
    await page.get_by_role("button", name=re.compile(r"^\d+ online$")).click()
    await expect(online).to_be_in_viewport()
    await expect(online.get_by_text(bob.username, exact=True)).to_be_visible()
    await screenshot(page, "phone-online")
    await page.get_by_role("button", name="Close the online list").click()
    await expect(online).not_to_be_in_viewport()
    await send(page, "sent from a phone")
    await expect(log(page).get_by_text("sent from a phone")).to_be_visible()
    for box in [page.get_by_role("button", name="Send"), page.get_by_role("textbox", name="Message")]:
        bounds = await box.bounding_box()
        assert bounds is not None and bounds["x"] >= 0 and bounds["x"] + bounds["width"] <= PHONE["width"]
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "nothing may overflow sideways on a phone"
    await page.get_by_role("button", name="Back to groups").click()
    await page.get_by_role("button", name="Join or create a group").click()
    await screenshot(page, "phone-dialog")


async def test_eight_tabs_of_one_browser_all_send_and_receive(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    first = await open_chat(browser, server, bob)
    tabs = [first] + [await first.context.new_page() for _ in range(7)]
    for tab in tabs[1:]:
        await goto_chat(tab, server)
    for i, tab in enumerate(tabs):
        await send(tab, f"from tab {i}")
    await client.send(ana, group["id"], "from ana to every tab")  # type: ignore[arg-type]
    for tab in tabs:
        await expect(log(tab).get_by_text("from ana to every tab")).to_be_visible()
        await expect(log(tab).get_by_text("from tab 7")).to_be_visible()
    stored = query(server.settings.database, "SELECT COUNT(*) FROM messages WHERE group_id = %s", (group["id"],))
    assert stored[0][0] == 9
    await tabs[0].close()  # the leader goes; another tab takes over the poll
    await client.send(ana, group["id"], "after the leader left")  # type: ignore[arg-type]
    for tab in tabs[1:]:
        await expect(log(tab).get_by_text("after the leader left")).to_be_visible()


async def test_an_unreachable_server_shows_reconnecting_and_catches_up_without_loss_or_duplicates(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    page = await open_chat(browser, server, bob)
    await send(page, "before the outage")
    await expect(log(page).get_by_text("before the outage")).to_be_visible()

    async def unreachable(route: Route) -> None:
        await route.abort("connectionrefused")

    await page.route("**/api/events**", unreachable)
    await page.evaluate("1")  # the open poll ends on its own; the next one fails
    await client.send(ana, group["id"], "during the outage 1")  # type: ignore[arg-type]
    await expect(page.get_by_role("status")).to_have_text("Reconnecting…", timeout=30000)
    await client.send(ana, group["id"], "during the outage 2")  # type: ignore[arg-type]
    await page.unroute("**/api/events**", unreachable)
    await expect(log(page).get_by_text("during the outage 2")).to_be_visible(timeout=40000)
    await expect(page.get_by_role("status")).to_be_hidden()
    texts = await log(page).locator(".message .text").all_inner_texts()
    assert texts == ["before the outage", "during the outage 1", "during the outage 2"]


async def test_a_poll_left_unanswered_by_a_vanished_machine_is_made_again_with_its_cursor(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    polls: list[str] = []

    async def first_poll_never_answered(route: Route) -> None:
        polls.append(route.request.url)
        if len(polls) > 1:
            await route.continue_()
        # the first is left hanging: its machine was pulled, no FIN, no RST, no answer

    context = await browser.new_context(viewport=DESKTOP)
    await context.clock.install()
    await context.route("**/api/events?cursor=*", first_poll_never_answered)
    await sign_in(context, server, bob)
    page = await context.new_page()
    await goto_chat(page, server)
    await until(lambda: len(polls) == 1)

    await page.clock.fast_forward(45_000)  # past the page's deadline for a poll (25 s + 15 s)
    await client.send(ana, group["id"], "after the machine vanished")  # type: ignore[arg-type]

    await expect(log(page).get_by_text("after the machine vanished")).to_be_visible(timeout=20000)
    assert polls[1].split("cursor=")[1].split("&")[0] == polls[0].split("cursor=")[1].split("&")[0]
    await context.close()


async def test_a_send_whose_answer_is_lost_is_retried_with_the_same_client_id_and_never_doubled(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    attempts: list[str] = []

    async def lose_first_answer(route: Route) -> None:
        attempts.append(json.loads(route.request.post_data or "{}")["client_id"])
        if len(attempts) == 1:
            await route.fetch()  # the server stores it ...
            await route.abort("connectionreset")  # ... but the answer never arrives
        else:
            await route.continue_()

    async def without_messages(route: Route) -> None:
        """Only the retry may confirm the send: the events stream carries no messages here."""
        response = await route.fetch()
        answer = await response.json()
        answer["events"] = [e for e in answer["events"] if e["type"] != "message"]
        await route.fulfill(response=response, json=answer)

    page = await open_chat(
        browser, server, bob,
        routes=(("**/api/events**", without_messages), (f"**/api/groups/{group['id']}/messages", lose_first_answer)),
    )
    await send(page, "exactly once")
    await expect(log(page).locator(".message:not(.pending)").get_by_text("exactly once")).to_be_visible(timeout=10000)
    await expect(log(page).locator(".pending")).to_have_count(0)
    assert len(attempts) >= 2 and len(set(attempts)) == 1
    stored = query(server.settings.database, "SELECT COUNT(*) FROM messages WHERE body = 'exactly once'")
    assert stored[0][0] == 1
    await expect(log(page).get_by_text("exactly once")).to_have_count(1)


async def test_a_revoked_session_sends_the_person_to_the_login_page(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    page = await open_chat(browser, server, bob)
    await page.context.clear_cookies()
    await client.send(ana, group["id"], "this ends the open poll; the next one is refused")  # type: ignore[arg-type]
    await expect(page).to_have_url(re.compile(r"/login$"))


async def test_log_out_ends_the_session(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    page = await open_chat(browser, server, bob)
    await page.get_by_role("button", name="Log out").click()
    await expect(page).to_have_url(re.compile(r"/login$"))
    await page.goto(server.base_url + "/")
    await expect(page).to_have_url(re.compile(r"/login$"))


async def sign_in_form(context: BrowserContext, server: Server, path: str, username: str, password: str) -> Page:
    page = await context.new_page()
    await page.goto(server.base_url + path)
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    button = "Log in" if path == "/login" else "Create account"
    await page.get_by_role("button", name=button).click()
    await page.wait_for_load_state()
    return page


async def test_the_forms_work_without_javascript_and_say_what_went_wrong(
    start_server: StartServer, browser: Browser
) -> None:
    server = await start_server(login_failures_per_user=2)
    context = await browser.new_context(java_script_enabled=False, viewport=DESKTOP)
    taken = await server.client().register("taken")

    page = await sign_in_form(context, server, "/register", taken.username, PASSWORD)
    await expect(page.locator("#username-error")).to_have_text("That username is taken.")
    await expect(page.get_by_label("Username")).to_have_value(taken.username)
    await expect(page.get_by_label("Password")).to_have_value("")

    page = await sign_in_form(context, server, "/register", unique("new"), "short")
    await expect(page.locator("#password-error")).to_have_text("Use at least 8 characters.")
    await screenshot(page, "desktop-register-error")

    page = await sign_in_form(context, server, "/login", taken.username, "wrong password")
    await expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    await expect(page.get_by_label("Username")).to_have_value(taken.username)
    for _ in range(3):  # the third failure past none allowed starts the pause; the next try meets it
        page = await sign_in_form(context, server, "/login", taken.username, "wrong password")
    await expect(page.get_by_role("alert")).to_contain_text("Too many failed attempts")

    username = unique("nojs")
    page = await sign_in_form(context, server, "/register", username, PASSWORD)
    assert page.url == server.base_url + "/"
    await expect(page.get_by_role("button", name="Log out")).to_be_visible()


async def test_pages_forbid_inline_scripts_and_framing(server: Server) -> None:
    client = server.client()
    r = await client.request("GET", "/login")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"
    templates = (PROJECT_ROOT / "templates").glob("*.html")
    for template in templates:
        for tag in re.findall(r"<script[^>]*>", template.read_text()):
            assert "src=" in tag, f"inline script in {template.name}"


def test_every_string_of_the_pages_and_the_script_has_a_portuguese_translation() -> None:
    translated = {row.split('","')[0].strip('"') for row in (TRANSLATIONS / "pt_BR.csv").read_text().splitlines()}
    used = set(SCRIPT_STRINGS)
    sources = [*(PROJECT_ROOT / "templates").glob("*.html"), PROJECT_ROOT / "tornado_chat" / "web" / "pages.py"]
    for source in sources:
        used |= set(re.findall(r'_\("((?:[^"\\]|\\.)*)"\)', source.read_text()))
    script = "\n".join(p.read_text() for p in (PROJECT_ROOT / "static" / "js").rglob("*.js"))
    used |= set(re.findall(r'\bt\("((?:[^"\\]|\\.)*)"', script))
    assert used - translated == set()
    assert set(re.findall(r'\bt\("((?:[^"\\]|\\.)*)"', script)) <= set(SCRIPT_STRINGS)


async def test_a_text_the_server_refuses_for_good_can_be_dismissed_not_tried_again(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    _, bob, group = await pair_in_group(client)
    page = await open_chat(browser, server, bob)
    await page.get_by_role("tab", name=str(group["name"])).click()
    await send(page, "a NUL \x00 the server refuses")  # 400 invalid_text: sending it again cannot help
    refused = log(page).locator(".pending.failed")
    await expect(refused).to_contain_text("Not sent")
    await expect(refused.get_by_role("button", name="Try again")).to_have_count(0)
    await refused.get_by_role("button", name="Dismiss").click()
    await expect(log(page).locator(".pending")).to_have_count(0)
