"""Everything around the conversation, in a real browser: the group header and its menu,
leaving with a confirmation, the phone's two screens, the groups dialog, the composer
(previews, refusals, the length limit, focus, a fixed Send), the theme, and the page
while disconnected. One test per rule; helpers and the browser come from test_browser."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.async_api import Browser, Page, Route, expect

from tornado_chat.config import PROJECT_ROOT, DatabaseURL
from tornado_chat.web.pages import SCRIPT_STRINGS, TRANSLATIONS

from .support.database import drop_database, query
from .support.http import Account, Client, unique
from .support.servers import Server, StartServer
from .test_browser import DESKTOP, PHONE, browser, log, open_chat, pair_in_group, png_bytes, screenshot, send

__all__ = ["browser"]  # the fixture, shared with test_browser

NARROWEST = {"width": 320, "height": 640}


def message_box(page: Page):  # noqa: ANN201 - a Playwright locator
    return page.get_by_role("textbox", name="Message")


async def focused(page: Page) -> str:
    """The id (or the accessible name) of what has the focus."""
    return await page.evaluate("document.activeElement.id || document.activeElement.getAttribute('aria-label') || ''")


async def groups_of(client: Client, owner: Account, count: int, prefix: str = "grp") -> list[dict[str, object]]:
    return [await client.create_group(owner, f"{prefix}{i}") for i in range(count)]


# 1. The header of the open group

async def test_the_header_names_the_group_its_members_and_who_is_online(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    alone = await client.create_group(bob, "alone")
    page = await open_chat(browser, server, bob)
    await page.get_by_role("tab", name=str(group["name"])).click()
    heading = page.get_by_role("heading", level=2, name=str(group["name"]))
    await expect(heading).to_be_visible()
    await expect(page.locator("#member-count")).to_have_text("2 members")
    online = page.get_by_role("button", name="1 online")
    await expect(online).to_be_visible()
    await page.get_by_role("tab", name=str(alone["name"])).click()
    await expect(page.locator("#member-count")).to_have_text("1 member")
    carol = await client.register("carol")
    await client.join(carol, alone["id"])  # type: ignore[arg-type]
    await expect(page.locator("#member-count")).to_have_text("2 members")  # a member event, live


async def test_member_counts_use_the_plural_of_each_language(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    alone = await client.create_group(bob, "alone")
    page = await open_chat(browser, server, bob, locale="pt-BR")
    await page.get_by_role("tab", name=str(group["name"])).click()
    await expect(page.locator("#member-count")).to_have_text("2 membros")
    await page.get_by_role("tab", name=str(alone["name"])).click()
    await expect(page.locator("#member-count")).to_have_text("1 membro")


async def test_the_group_menu_is_a_keyboard_operable_menu_holding_leave(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    page = await open_chat(browser, server, bob)
    button = page.locator("#group-menu-button")
    assert await button.get_attribute("aria-haspopup") == "menu"
    await button.focus()
    await page.keyboard.press("Enter")
    menu = page.get_by_role("menu")
    await expect(menu).to_be_visible()
    await expect(button).to_have_attribute("aria-expanded", "true")
    await expect(menu.get_by_role("menuitem", name="Who is online")).to_be_focused()
    await page.keyboard.press("ArrowDown")  # the notification levels (issue 16) come next
    await expect(menu.get_by_role("menuitemradio", name="All new messages")).to_be_focused()
    await page.keyboard.press("End")
    await expect(menu.get_by_role("menuitem", name="Leave group")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(menu).to_be_hidden()
    await expect(button).to_be_focused()
    await page.keyboard.press("ArrowUp")  # opens on the last item
    await expect(menu.get_by_role("menuitem", name="Leave group")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("dialog", name=f"Leave {group['name']}?")).to_be_visible()


# 2. Leaving is never one stray click

async def test_leaving_asks_first_and_says_what_it_costs(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    page = await open_chat(browser, server, bob)
    name = str(group["name"])
    x = page.get_by_role("button", name=f"Leave {name}")
    await x.click()
    dialog = page.get_by_role("dialog", name=f"Leave {name}?")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("If you join again, you will see only messages sent after that.")
    await expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()  # the choice that loses nothing
    await screenshot(page, "desktop-leave-dialog")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    await expect(x).to_be_focused()
    await x.click()
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(page.get_by_role("tab", name=name)).to_be_visible()
    r = await client.request("GET", f"/api/groups/{group['id']}/messages", token=bob.token)
    assert r.status == 200, "cancelling left nothing"

    await page.get_by_role("button", name="Group menu").click()
    await page.get_by_role("menuitem", name="Leave group").click()
    await dialog.get_by_role("button", name="Leave").click()
    await expect(page.get_by_role("tab", name=name)).to_have_count(0)
    r = await client.request("GET", f"/api/groups/{group['id']}/messages", token=bob.token)
    assert r.error_code == "not_member"


async def test_the_x_shows_on_the_open_tab_and_under_the_pointer_not_on_every_tab(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    other = await client.create_group(bob, "other")
    page = await open_chat(browser, server, bob)
    await page.get_by_role("tab", name=str(group["name"])).click()
    opacity = "x => getComputedStyle(x).opacity"
    open_x = page.get_by_role("button", name=f"Leave {group['name']}")
    other_x = page.get_by_role("button", name=f"Leave {other['name']}")
    assert await open_x.evaluate(opacity) == "1"
    assert await other_x.evaluate(opacity) == "0"
    await page.get_by_role("tab", name=str(other["name"])).hover()
    await expect(other_x).to_have_css("opacity", "1")
    box = await other_x.bounding_box()
    assert box and box["width"] >= 24 and box["height"] >= 24
    await page.keyboard.press("Escape")
    # Delete on a tab asks too
    await page.get_by_role("tab", name=str(group["name"])).focus()
    await page.keyboard.press("Delete")
    await expect(page.get_by_role("dialog", name=f"Leave {group['name']}?")).to_be_visible()


async def test_a_tab_is_named_after_its_group_and_says_how_many_are_unread(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    other = await client.create_group(bob, "other")
    page = await open_chat(browser, server, bob)
    await page.get_by_role("tab", name=str(other["name"])).click()
    for i in range(3):
        await client.send(ana, group["id"], f"unseen {i}")  # type: ignore[arg-type]
    tab = page.get_by_role("tab", name=str(group["name"]), exact=True)
    await expect(tab.locator(".unread")).to_have_text("3")
    await expect(tab).to_have_accessible_description("3 unread messages")
    await expect(page.get_by_role("tablist", name="Your groups")).to_be_attached()
    owned = await page.locator("#tablist").get_attribute("aria-owns") or ""
    assert await tab.get_attribute("id") in owned.split()


# 3. Phones

async def test_the_phone_shows_the_group_list_first_and_a_back_control(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    page = await open_chat(browser, server, bob, viewport=PHONE)
    tab = page.get_by_role("tab", name=str(group["name"]))
    await expect(tab).to_be_in_viewport()
    await expect(message_box(page)).to_be_hidden()
    await client.send(ana, group["id"], "while bob looks at the list")  # type: ignore[arg-type]
    await expect(tab.locator(".unread")).to_have_text("1")  # the list is not the conversation: still unread
    await screenshot(page, "phone-list")
    await tab.click()
    await expect(log(page).get_by_text("while bob looks at the list")).to_be_visible()
    await expect(page.get_by_role("heading", name=str(group["name"]))).to_be_visible()
    await expect(tab.locator(".unread")).to_have_count(0)
    await page.get_by_role("button", name="Back to groups").click()
    await expect(tab).to_be_in_viewport()
    await expect(message_box(page)).to_be_hidden()
    await tab.click()
    await page.go_back()  # the browser's back button does the same
    await expect(tab).to_be_in_viewport()
    await expect(message_box(page)).to_be_hidden()


async def test_the_phone_keeps_the_keyboard_down_when_opening_a_group(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    page = await open_chat(browser, server, bob, viewport=PHONE)
    await page.get_by_role("tab", name=str(group["name"])).click()
    assert await focused(page) == "group-title"  # the heading, for screen readers; no keyboard pops up
    await send(page, "from the phone")
    assert await focused(page) == "message"  # sending keeps the keyboard up
    await page.get_by_role("button", name="Back to groups").click()
    await page.get_by_role("button", name="Join or create a group").click()
    assert await focused(page) == "groups-title", "the groups dialog opens without the keyboard too"


async def test_the_phone_reaches_your_name_and_log_out(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    page = await open_chat(browser, server, bob, viewport=PHONE)
    account = page.get_by_role("navigation", name="Account")
    await expect(account.get_by_text(bob.username, exact=True)).to_be_in_viewport()
    await expect(page.get_by_role("button", name="Log out")).to_be_in_viewport()
    await expect(page.get_by_role("button", name=f"Leave {group['name']}")).to_be_hidden()


async def test_the_online_list_opens_in_a_sheet_that_closes_with_escape(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    page = await open_chat(browser, server, bob, viewport=PHONE)
    await page.get_by_role("tab", name=str(group["name"])).click()
    opener = page.get_by_role("button", name="1 online")
    await opener.click()
    sheet = page.get_by_role("dialog", name="Online")
    await expect(sheet).to_be_in_viewport()
    await expect(sheet.get_by_role("button", name="Close the online list")).to_be_focused()
    await expect(sheet.get_by_role("list", name="Online").get_by_text(bob.username, exact=True)).to_be_visible()
    assert await message_box(page).evaluate("box => box.closest('[inert]') !== null"), "the page behind is inert"
    await page.keyboard.press("Escape")
    await expect(sheet).to_be_hidden()
    await expect(opener).to_be_focused()


async def test_no_horizontal_scroll_at_320_px(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    long_name = unique("An unreasonably long title that goes on and on and on")[:64]
    await client.request("POST", "/api/groups", {"name": long_name}, token=bob.token)
    await client.send(ana, group["id"], "https://example.org/" + "a" * 200)  # type: ignore[arg-type]
    page = await open_chat(browser, server, bob, viewport=NARROWEST)
    wide = "document.documentElement.scrollWidth"
    assert await page.evaluate(wide) <= 320, "the list of groups"
    await page.get_by_role("tab", name=long_name).click()
    assert await page.evaluate(wide) <= 320, "a conversation with a long name"
    await page.get_by_role("button", name="Back to groups").click()
    await page.get_by_role("tab", name=str(group["name"])).click()
    await expect(log(page).locator(".message")).to_have_count(1)
    assert await page.evaluate(wide) <= 320, "a conversation with a long link"
    await page.get_by_role("button", name="Back to groups").click()
    await page.get_by_role("button", name="Join or create a group").click()
    dialog = page.get_by_role("dialog", name="Groups")
    await expect(dialog.get_by_role("button", name=f"Open {long_name}")).to_be_visible()
    assert await page.evaluate(wide) <= 320, "the groups dialog"
    await screenshot(page, "phone-320-dialog")


# 4. The groups dialog

async def test_the_groups_dialog_searches_as_you_type(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    tag = unique("t")[-8:]
    await client.request("POST", "/api/groups", {"name": f"Café {tag}"}, token=ana.token)
    await client.request("POST", "/api/groups", {"name": f"Tea {tag}"}, token=ana.token)
    page = await open_chat(browser, server, bob)
    await page.get_by_role("button", name="Join or create a group").click()
    dialog = page.get_by_role("dialog", name="Groups")
    await expect(dialog.get_by_role("button", name=f"Join Café {tag}")).to_be_visible()
    await dialog.get_by_role("searchbox", name="Search groups").fill(f"cafe {tag}")  # any case, any accents
    await expect(dialog.get_by_role("button", name=re.compile(r"^(Join|Open) "))).to_have_count(1)
    await expect(dialog.get_by_role("button", name=f"Join Café {tag}")).to_be_visible()
    await dialog.get_by_role("searchbox", name="Search groups").fill(f"nothing like it {tag}")
    await expect(dialog.get_by_text(f"No group matches “nothing like it {tag}”.")).to_be_visible()


async def test_the_groups_dialog_stays_open_for_several_joins(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    more = await groups_of(client, ana, 3, "many")
    page = await open_chat(browser, server, bob)
    await page.get_by_role("button", name="Join or create a group").click()
    dialog = page.get_by_role("dialog", name="Groups")
    meta = dialog.get_by_role("listitem").filter(has_text=str(more[0]["name"])).locator(".meta")
    await expect(meta).to_have_text(re.compile(r"^1 member · \d+ online$"))  # the right plural
    for each in more:
        await dialog.get_by_role("button", name=f"Join {each['name']}").click()
        await expect(dialog.get_by_role("button", name=f"Open {each['name']}")).to_be_visible()
        await expect(dialog).to_be_visible()
        await expect(page.get_by_role("tab", name=str(each["name"]))).to_have_count(1)
    await expect(meta).to_have_text(re.compile(r"^2 members · \d+ online$"))
    await screenshot(page, "desktop-dialog-joins")
    await dialog.get_by_role("button", name="Close").click()
    await expect(dialog).to_be_hidden()
    await expect(page.get_by_role("tab", name=str(more[-1]["name"]))).to_have_attribute("aria-selected", "true")
    await expect(message_box(page)).to_be_focused()


async def test_the_groups_dialog_says_when_there_are_no_groups(
    start_server: StartServer, db_server: Callable[[str], DatabaseURL], browser: Browser
) -> None:
    url = db_server(unique("tc_empty"))
    try:
        server = await start_server(database=url)  # a database of its own: no group at all
        first = await server.client().register("first")
        page = await open_chat(browser, server, first)
        await page.get_by_role("button", name="Join or create a group").click()
        dialog = page.get_by_role("dialog", name="Groups")
        await expect(dialog.get_by_text("No groups yet. Create the first one.")).to_be_visible()
        await dialog.get_by_label("Group name").fill("The very first")
        await dialog.get_by_role("button", name="Create group").click()
        await expect(page.get_by_role("tab", name="The very first")).to_have_attribute("aria-selected", "true")
        await expect(message_box(page)).to_be_focused()  # after creating, the cursor is in the box
    finally:
        drop_database(url)


async def test_create_group_never_wraps_at_1280_px(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    for locale in ("en-US", "pt-BR"):
        page = await open_chat(browser, server, bob, locale=locale)
        await page.locator("#open-groups").click()
        lines = await page.locator("#create-group button").evaluate("""button => {
            const range = document.createRange();
            range.selectNodeContents(button);
            return new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size;
        }""")
        assert lines == 1, locale


# 5. Images in the composer

async def drop_file(page: Page, name: str, type_: str, data: bytes | None = None, size: int = 0) -> None:
    await page.evaluate(
        """([name, type, bytes, size]) => {
            const transfer = new DataTransfer();
            const content = bytes ? new Uint8Array(bytes) : new Uint8Array(size);
            transfer.items.add(new File([content], name, { type }));
            const event = new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true });
            document.querySelector("#conversation").dispatchEvent(event);
        }""",
        [name, type_, list(data) if data else None, size],
    )


async def test_an_image_shows_a_preview_before_it_is_sent(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    page = await open_chat(browser, server, bob)
    await page.locator("#image-file").set_input_files(
        {"name": "sunset.png", "mimeType": "image/png", "buffer": png_bytes((60, 40), (250, 120, 0))}
    )
    tray = page.get_by_role("list", name="Images to send")
    preview = tray.get_by_role("img", name="Preview of sunset.png")
    await expect(preview).to_be_visible()
    assert await preview.evaluate("img => img.complete && img.naturalWidth") == 60
    await expect(tray).to_contain_text("sunset.png")
    await expect(tray).to_contain_text(re.compile(r"\d+ (B|byte|kB)"))
    await expect(message_box(page)).to_be_focused()
    await screenshot(page, "desktop-preview")
    await tray.get_by_role("button", name="Cancel sunset.png").click()
    await expect(tray).to_be_hidden()
    await page.wait_for_timeout(300)
    stored = query(server.settings.database, "SELECT COUNT(*) FROM messages WHERE group_id = %s", (group["id"],))
    assert stored[0][0] == 0, "a cancelled image is never sent"
    await drop_file(page, "again.png", "image/png", png_bytes((20, 20), (0, 0, 0)))
    await page.get_by_role("button", name="Send").click()
    await expect(log(page).get_by_role("img", name=f"Image from {bob.username}")).to_be_visible()


async def test_a_file_that_can_never_be_sent_says_why_and_is_dismissed_without_try_again(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    page = await open_chat(browser, server, bob)
    tray = page.get_by_role("list", name="Images to send")
    await drop_file(page, "huge.png", "image/png", size=11 * 1024 * 1024)
    huge = tray.get_by_role("listitem").filter(has_text="huge.png")
    await expect(huge).to_contain_text("The image is too large: at most 10 MB and 50 megapixels.")
    await drop_file(page, "notes.pdf", "application/pdf", b"%PDF-1.4")
    pdf = tray.get_by_role("listitem").filter(has_text="notes.pdf")
    await expect(pdf).to_contain_text("not a PNG, JPEG, GIF or WebP")
    await drop_file(page, "fake.png", "image/png", b"not a picture at all")
    await page.get_by_role("button", name="Send").click()  # the server tells by content
    fake = tray.get_by_role("listitem").filter(has_text="fake.png")
    await expect(fake).to_contain_text("Not sent: That file is not a PNG, JPEG, GIF or WebP image.")
    await screenshot(page, "desktop-refused")
    await expect(tray.get_by_role("button", name=re.compile("Try"))).to_have_count(0)
    for name in ("huge.png", "notes.pdf", "fake.png"):
        await tray.get_by_role("button", name=f"Dismiss {name}").click()
    await expect(tray).to_be_hidden()
    await expect(log(page).locator(".message")).to_have_count(0)


async def test_an_upload_that_failed_for_a_passing_reason_offers_try_again(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    page = await open_chat(browser, server, bob)

    async def unreachable(route: Route) -> None:
        await route.abort("connectionrefused")

    await page.route("**/images", unreachable)
    await drop_file(page, "later.png", "image/png", png_bytes((20, 20), (0, 200, 0)))
    await page.get_by_role("button", name="Send").click()
    tray = page.get_by_role("list", name="Images to send")
    retry = tray.get_by_role("button", name="Try sending later.png again")
    await expect(retry).to_be_visible(timeout=20000)  # after a few attempts
    await expect(tray).to_contain_text("Could not reach the server")
    await page.unroute("**/images", unreachable)
    await retry.click()
    await expect(log(page).get_by_role("img", name=f"Image from {bob.username}")).to_be_visible()
    await expect(tray).to_be_hidden()


# 6. The composer

async def test_a_draft_over_the_limit_is_refused_not_cut(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    page = await open_chat(browser, server, bob)
    box = message_box(page)
    assert await box.get_attribute("maxlength") is None
    await box.fill("x" * 5000)  # like a paste
    assert len(await box.input_value()) == 5000, "never cut"
    counter = page.locator("#counter")
    await expect(counter).to_have_text("Too long: remove 1,000 characters to send it.")
    await expect(page.get_by_role("button", name="Send")).to_be_disabled()
    await box.press("Enter")
    await page.wait_for_timeout(300)
    assert len(await box.input_value()) == 5000
    await expect(log(page).locator(".message")).to_have_count(0)
    await box.fill("y" * 4001)
    await expect(counter).to_have_text("Too long: remove 1 character to send it.")
    await box.fill("y" * 4000)
    await expect(counter).to_have_text("0 characters left")
    await box.press("Enter")
    await expect(log(page).locator(".message:not(.pending)")).to_have_count(1)
    sql = "SELECT CHAR_LENGTH(body) FROM messages WHERE group_id = %s"
    assert [tuple(row) for row in query(server.settings.database, sql, (group["id"],))] == [(4000,)]


async def test_a_counter_appears_near_the_limit(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    page = await open_chat(browser, server, bob)
    counter = page.locator("#counter")
    await message_box(page).fill("a" * 3499)
    await expect(counter).to_be_hidden()
    await message_box(page).fill("a" * 3500)
    await expect(counter).to_have_text("500 characters left")
    await message_box(page).fill("😀" * 3999)  # characters, not UTF-16 units, as the server counts
    await expect(counter).to_have_text("1 character left")


async def test_focus_returns_to_the_message_box_after_switching_tabs(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    other = await client.create_group(bob, "other")
    page = await open_chat(browser, server, bob)
    await expect(message_box(page)).to_be_focused()  # at start
    await page.get_by_role("tab", name=str(other["name"])).click()
    await expect(message_box(page)).to_be_focused()
    await page.get_by_role("tab", name=str(group["name"])).click()
    await expect(message_box(page)).to_be_focused()
    await message_box(page).fill("by the button")
    await page.get_by_role("button", name="Send").click()
    await expect(message_box(page)).to_be_focused()
    # The arrow keys move between the tabs, keeping the focus there (the tablist pattern).
    await page.get_by_role("tab", name=str(group["name"])).focus()
    await page.keyboard.press("ArrowRight")
    await expect(page.get_by_role("tab", name=str(other["name"]))).to_be_focused()
    await expect(page.get_by_role("tab", name=str(other["name"]))).to_have_attribute("aria-selected", "true")


async def test_each_group_keeps_its_draft(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    other = await client.create_group(bob, "other")
    page = await open_chat(browser, server, bob)
    await page.get_by_role("tab", name=str(group["name"])).click()
    await message_box(page).fill("half a thought")
    await page.get_by_role("tab", name=str(other["name"])).click()
    await expect(message_box(page)).to_have_value("")
    await page.get_by_role("tab", name=str(group["name"])).click()
    await expect(message_box(page)).to_have_value("half a thought")


async def test_the_send_button_keeps_its_size_and_the_box_grows_to_six_lines(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    for viewport in (DESKTOP, PHONE):
        page = await open_chat(browser, server, bob, viewport=viewport)
        if viewport is PHONE:
            await page.get_by_role("tab", name=str(group["name"])).click()
        send_button = page.get_by_role("button", name="Send")
        before = await send_button.bounding_box()
        one_line = (await message_box(page).bounding_box() or {})["height"]
        await message_box(page).fill("\n".join(f"line {i}" for i in range(3)))
        three_lines = (await message_box(page).bounding_box() or {})["height"]
        await message_box(page).fill("\n".join(f"line {i}" for i in range(15)))
        many_lines = (await message_box(page).bounding_box() or {})["height"]
        after = await send_button.bounding_box()
        assert before and after and (before["width"], before["height"]) == (after["width"], after["height"])
        assert one_line < three_lines < many_lines <= one_line * 4, "it grows, up to about six lines"
        assert await message_box(page).evaluate("box => box.scrollHeight > box.clientHeight"), "then it scrolls"
        await screenshot(page, f"{'phone' if viewport is PHONE else 'desktop'}-long-draft")


# 7. Theme, name, title, wording

def custom_properties(css: str) -> tuple[set[str], set[str]]:
    light = css[css.index(":root {"):]
    light = light[: light.index("}")]
    dark = css[css.index("@media (prefers-color-scheme: dark)"):]
    dark = dark[: dark.index("}\n}")]
    names = re.compile(r"(--[\w-]+)\s*:")
    return set(names.findall(light)), set(names.findall(dark))


def test_every_colour_has_a_dark_value() -> None:
    light, dark = custom_properties((PROJECT_ROOT / "static" / "app.css").read_text())
    assert {"--bg", "--panel", "--ink", "--muted", "--line", "--accent", "--mine"} <= light
    assert light - dark == {"--radius", "--target"}, "every colour has a dark value"


async def test_dark_mode_follows_the_system(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    await client.send(ana, group["id"], "see https://example.org")  # type: ignore[arg-type]
    colours = """() => {
        const style = getComputedStyle(document.body);
        const link = document.querySelector("#messages a");
        return [style.backgroundColor, style.color, link && getComputedStyle(link).color];
    }"""
    light = await open_chat(browser, server, bob)
    await expect(log(light).get_by_role("link")).to_be_visible()
    dark = await open_chat(browser, server, bob, color_scheme="dark")
    await expect(log(dark).get_by_role("link")).to_be_visible()
    light_bg, light_ink, light_link = await light.evaluate(colours)
    dark_bg, dark_ink, dark_link = await dark.evaluate(colours)
    assert (light_bg, dark_bg) == ("rgb(244, 245, 247)", "rgb(14, 17, 22)")
    assert light_ink != dark_ink and light_link != dark_link
    assert "rgb(0, 0, 238)" not in (light_link, dark_link), "links are not the browser's blue"
    await screenshot(dark, "desktop-dark")


async def test_the_title_shows_the_open_group_and_the_unread_count(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    other = await client.create_group(bob, "other")
    page = await open_chat(browser, server, bob)
    await page.get_by_role("tab", name=str(other["name"])).click()
    await expect(page).to_have_title(f"{other['name']} · tornado chat")
    for i in range(2):
        await client.send(ana, group["id"], f"unseen {i}")  # type: ignore[arg-type]
    await expect(page).to_have_title(f"(2) {other['name']} · tornado chat")
    await expect(page.get_by_role("heading", name="tornado chat")).to_be_visible()  # the wordmark
    assert await page.locator(".brand img").evaluate("img => img.complete && img.naturalWidth > 0")


def test_the_pages_say_log_in_never_sign_in() -> None:
    """What people read: the templates, the script's strings and the pages' messages."""
    shown = [path.read_text() for path in (PROJECT_ROOT / "templates").glob("*.html")]
    shown += SCRIPT_STRINGS
    shown += re.findall(r'_\("((?:[^"\\]|\\.)*)"\)', (PROJECT_ROOT / "tornado_chat" / "web" / "pages.py").read_text())
    shown += (TRANSLATIONS / "pt_BR.csv").read_text().splitlines()
    said = [text for text in shown if re.search(r"sign[ -]?(in|up)\b", text, re.IGNORECASE)]
    assert said == []
    assert "Log in" in shown[0] + "".join(shown) and "Log out" in "".join(shown)


# 8. Disconnected, keyboard, targets

async def test_while_reconnecting_nobody_is_shown_online(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    page = await open_chat(browser, server, bob)
    online = page.get_by_role("list", name="Online")
    await expect(online.get_by_text(bob.username, exact=True)).to_be_visible()

    async def unreachable(route: Route) -> None:
        await route.abort("connectionrefused")

    await page.route("**/api/events**", unreachable)
    await client.send(ana, group["id"], "ends the open poll")  # type: ignore[arg-type]
    await expect(page.get_by_role("status")).to_have_text("Reconnecting…", timeout=30000)
    await expect(online).to_be_hidden()
    await expect(page.get_by_text("Offline — reconnecting…")).to_be_visible()
    await expect(page.locator("#toggle-online")).to_have_text("Offline")
    await screenshot(page, "desktop-offline")
    await page.unroute("**/api/events**", unreachable)
    await expect(page.get_by_role("status")).to_be_hidden(timeout=40000)
    await expect(online.get_by_text(bob.username, exact=True)).to_be_visible()


async def test_escape_closes_the_groups_dialog_and_the_focus_returns_to_its_button(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    page = await open_chat(browser, server, bob)
    add = page.get_by_role("button", name="Join or create a group")
    await add.focus()
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Groups")
    await expect(dialog.get_by_role("searchbox", name="Search groups")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(add).to_be_focused()


async def test_targets_are_at_least_24_px_and_focus_is_visible(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    await client.create_group(bob, "other")
    too_small = """() => [...document.querySelectorAll("button, [role=tab], input, textarea, a")]
        .filter((node) => node.getClientRects().length && !node.closest(".text, .switch, [hidden]"))
        .filter((node) => { const r = node.getBoundingClientRect(); return r.width < 24 || r.height < 24; })
        .map((node) => node.id || node.className || node.textContent)"""
    for viewport in (DESKTOP, PHONE):
        page = await open_chat(browser, server, bob, viewport=viewport)
        assert await page.evaluate(too_small) == [], viewport
        if viewport is PHONE:
            await page.get_by_role("tab", name=str(group["name"])).click()
            assert await page.evaluate(too_small) == [], viewport
        await page.locator("#group-menu-button").focus()
        await page.keyboard.press("Shift+Tab")
        await page.keyboard.press("Tab")
        outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline not in ("", "none"), "the focus shows"
