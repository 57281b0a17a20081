"""The conversation in a real browser (issue 12): runs with one header, day separators, times as
the locale writes them, initials avatars and name colours, your own messages set apart, short
conversations at the bottom, long messages folded, the "new messages" line, quiet join and leave
lines, the note for a late joiner, thumbnails and the in-page viewer, what a screen reader is
told, and a thousand messages.

Each test drives Debian's Chromium through Playwright against a real server and MariaDB (the
fixtures of test_browser.py). Times are set in the database where a test needs yesterday; the
browser runs in UTC so that the days the test computes are the page's days.
"""

from __future__ import annotations

import asyncio
import datetime
import re
import uuid
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Route, expect

from .support.axe import inject_axe
from .support.database import query
from .support.http import PASSWORD, Account, Client
from .support.servers import Server
from .test_browser import DESKTOP, PHONE, goto_chat, log, pair_in_group, png_bytes, send, sign_in
from .test_browser import browser as browser  # noqa: F401 - the fixture
from .test_images import upload

UTC = datetime.UTC

PAGE_ERRORS: list[str] = []


@pytest.fixture(autouse=True)
def no_script_errors() -> Any:
    """No uncaught exception in any page a test of this file opened."""
    PAGE_ERRORS.clear()
    yield
    assert PAGE_ERRORS == []


async def open_as(
    browser: Browser, server: Server, account: Account, *, viewport: dict[str, int] = DESKTOP,
    locale: str = "en-US", color_scheme: str = "light", touch: bool = False,
) -> Page:
    """Like test_browser.open_chat, in UTC, in a colour scheme of choice, and a touch phone if asked."""
    context = await browser.new_context(
        viewport=viewport, locale=locale, color_scheme=color_scheme, timezone_id="UTC",  # type: ignore[arg-type]
        has_touch=touch, is_mobile=touch,
    )
    await sign_in(context, server, account)
    page = await context.new_page()
    page.on("pageerror", lambda error: PAGE_ERRORS.append(str(error)))
    await goto_chat(page, server)
    if viewport["width"] <= PHONE["width"]:  # a phone starts on the list of groups: open the (first) one
        await page.get_by_role("tab").first.click()
    return page


async def say(client: Client, account: Account, group: dict[str, Any], text: str) -> dict[str, Any]:
    r = await client.send(account, group["id"], text)
    assert r.status == 201, r.body
    return r.json["message"]


async def person(client: Client, name: str) -> Account:
    """An account called ``name`` and a few digits (unique() adds "_" and hex letters, which
    would make initials of their own)."""
    username = f"{name}{uuid.uuid4().int % 10**8:08d}"
    r = await client.request("POST", "/api/users", {"username": username, "password": PASSWORD})
    assert r.status == 201, r.body
    return Account(r.json["user"]["id"], username, PASSWORD, r.json["token"])


def set_time(server: Server, message: dict[str, Any], when: datetime.datetime) -> None:
    """Move a stored message in time (history is read from the database)."""
    query(server.settings.database, "UPDATE messages SET created_at = %s WHERE id = %s",
          (when.astimezone(UTC).replace(tzinfo=None), message["id"]))


def now() -> datetime.datetime:
    return datetime.datetime.now(UTC).replace(second=0, microsecond=0)


def colour_of(user_id: int) -> int:
    """avatar.js's hash, written again: the same id, the same one of eight colours."""
    return ((user_id * 2654435761) % 2**32) % 8


def announced(page: Page):  # noqa: ANN201 - a Playwright locator
    return page.locator(".announcer")


async def scroll_to_top(page: Page) -> None:
    await log(page).evaluate("node => { node.scrollTop = 0; node.dispatchEvent(new Event('scroll')); }")


def contrast(a: str, b: str) -> float:
    def luminance(colour: str) -> float:
        channels = [int(x) / 255 for x in re.findall(r"[\d.]+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted([luminance(a), luminance(b)], reverse=True)
    return (high + 0.05) / (low + 0.05)


# 1. Runs


async def test_messages_by_one_person_within_five_minutes_share_one_header(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    start = now() - datetime.timedelta(minutes=13)  # the last one a minute or so ago: a live one may join its run
    plan = [(ana, "one", 0), (ana, "two", 1), (ana, "three", 4.5), (ana, "after a pause", 10.5),
            (bob, "bob cuts in", 11), (ana, "ana again", 11.5)]
    for account, text, minutes in plan:
        set_time(server, await say(client, account, group, text), start + datetime.timedelta(minutes=minutes))
    page = await open_as(browser, server, bob)
    messages = log(page).locator(".message")
    await expect(messages).to_have_count(6)
    continued = [("continued" in (await node.get_attribute("class") or "")) for node in await messages.all()]
    assert continued == [False, True, True, False, False, False]
    shown_names = await log(page).locator(".message:not(.mine) .author").evaluate_all(
        "nodes => nodes.filter((n) => n.getBoundingClientRect().width > 1).map((n) => n.textContent)")
    assert shown_names == [ana.username, ana.username, ana.username]
    avatars = await log(page).locator(".avatar").evaluate_all(
        "nodes => nodes.map((n) => getComputedStyle(n).visibility)")
    assert avatars == ["visible", "hidden", "hidden", "visible", "visible"]  # bob's own carry none
    # A later message of a run shows its time on hover only.
    second = messages.nth(1)
    stamp = second.locator("time.stamp")
    assert await stamp.evaluate("n => getComputedStyle(n).opacity") == "0"
    await second.hover()
    await expect(stamp).to_have_css("opacity", "1")
    # A touch screen has no hover: there every message of a run shows its time.
    phone = await open_as(browser, server, bob, viewport=PHONE, touch=True)
    await expect(log(phone).locator(".message").nth(1).locator("time.stamp")).to_have_css("opacity", "1")
    # A live message within the run joins it: one node, without a header.
    await say(client, ana, group, "live, in the run")
    await expect(messages).to_have_count(7)
    await expect(messages.last).to_have_class(re.compile(r"\bcontinued\b"))


# 2. Days and times


async def test_a_day_separator_says_today_and_yesterday(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    moment = now() - datetime.timedelta(minutes=1)
    days = [moment - datetime.timedelta(days=2), moment - datetime.timedelta(days=1), moment]
    for i, when in enumerate(days):
        set_time(server, await say(client, ana, group, f"day {i}"), when)
    page = await open_as(browser, server, bob)
    first = days[0]
    # Older days: the weekday and date, with the year only when it is not this year's.
    date = f"{first:%A}, {first:%B} {first.day}"
    if first.year != moment.year:
        date = f"{first:%B} {first.day}, {first.year}"
    await expect(log(page).locator(".day")).to_have_text([date, "Yesterday", "Today"])
    # Each separator sits right before the first message of its day.
    assert await log(page).locator(".day + .message .text").all_inner_texts() == ["day 0", "day 1", "day 2"]
    assert await log(page).get_by_role("heading", name="Today").count() == 1


async def test_times_are_written_as_the_locale_writes_them(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    yesterday = (now() - datetime.timedelta(days=1)).replace(hour=18, minute=3)
    set_time(server, await say(client, ana, group, "at three past six"), yesterday)
    set_time(server, await say(client, ana, group, "this morning"), now().replace(hour=0, minute=7))
    english = await open_as(browser, server, bob)
    await expect(log(english).locator("time.stamp")).to_have_text(["6:03 PM", "12:07 AM"])
    portuguese = await open_as(browser, server, bob, locale="pt-BR")
    mensagens = portuguese.get_by_role("log", name="Mensagens")
    await expect(mensagens.locator("time.stamp")).to_have_text(["18:03", "00:07"])
    await expect(mensagens.locator(".day")).to_have_text(["Ontem", "Hoje"])
    title = await mensagens.locator("time.stamp").first.get_attribute("title")
    assert title and "18:03" in title and f"{yesterday.day} de " in title and str(yesterday.year) in title


async def test_the_exact_date_and_time_show_on_hover_and_on_keyboard_focus(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    when = datetime.datetime(2024, 3, 5, 18, 3, tzinfo=UTC)
    for i, text in enumerate(["first", "second", "third"]):
        set_time(server, await say(client, ana, group, text), when + datetime.timedelta(minutes=i))
    page = await open_as(browser, server, bob)
    stamps = log(page).locator("time.stamp")
    await expect(stamps).to_have_count(3)
    assert await stamps.first.get_attribute("datetime") == "2024-03-05T18:03:00.000Z"
    assert await stamps.first.get_attribute("title") == "Tuesday, March 5, 2024 at 6:03 PM"
    # One tab stop for all the times: from the log, Tab reaches the newest, the arrow keys move.
    assert await stamps.evaluate_all("nodes => nodes.map((n) => n.tabIndex)") == [-1, -1, 0]
    await log(page).focus()
    await page.keyboard.press("Tab")
    await expect(stamps.last).to_be_focused()
    await page.keyboard.press("ArrowUp")
    await page.keyboard.press("ArrowUp")
    await expect(stamps.first).to_be_focused()
    tooltip = await stamps.first.evaluate("n => getComputedStyle(n, '::after').content")
    assert tooltip == '"Tuesday, March 5, 2024 at 6:03 PM"'
    assert await stamps.evaluate_all("nodes => nodes.map((n) => n.tabIndex)") == [0, -1, -1]
    # A later message of the run: its time, hidden until now, shows while focused.
    await page.keyboard.press("ArrowDown")
    await expect(stamps.nth(1)).to_have_css("opacity", "1")


# 3. Avatars and colours


async def test_each_person_has_an_initials_avatar_and_a_name_colour_from_their_id(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob = await person(client, "ana"), await person(client, "bob")
    carla = await person(client, "carla_rocha")
    group = await client.create_group(bob, "room")
    for account in (ana, carla):
        await client.join(account, group["id"])
    for account in (ana, carla, ana):
        await say(client, account, group, f"hello from {account.username}")
    page = await open_as(browser, server, bob)
    avatars = log(page).locator(".avatar")
    await expect(avatars).to_have_text(["A", "CR", "A"])
    for index, account in zip(range(3), (ana, carla, ana), strict=True):
        expected = f"c{colour_of(account.id)}"
        assert expected in (await avatars.nth(index).get_attribute("class") or "").split()
        author = log(page).locator(".message:not(.continued) .author").nth(index)
        assert expected in (await author.get_attribute("class") or "").split()
    assert await avatars.first.get_attribute("aria-hidden") == "true"
    await page.reload()
    await expect(log(page).locator(".avatar").first).to_have_class(re.compile(rf"\bc{colour_of(ana.id)}\b"))


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_every_avatar_and_name_colour_meets_aa_contrast(server: Server, browser: Browser, scheme: str) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    await say(client, ana, group, "hello")
    page = await open_as(browser, server, bob, color_scheme=scheme)
    await expect(log(page).locator(".message")).to_have_count(1)
    # Each of the eight colours, as the page paints them: a name on its bubble, initials on an avatar.
    colours = await page.evaluate("""() => {
        const bubble = document.querySelector(".message:not(.mine) .bubble");
        const author = bubble.querySelector(".author");
        const avatar = document.querySelector(".avatar");
        const out = [];
        for (let i = 0; i < 8; i++) {
            author.className = `author c${i}`;
            avatar.className = `avatar c${i}`;
            out.push([getComputedStyle(author).color, getComputedStyle(bubble).backgroundColor,
                      getComputedStyle(avatar).color, getComputedStyle(avatar).backgroundColor]);
        }
        return out;
    }""")
    for name, bubble, initials, avatar in colours:
        assert contrast(name, bubble) >= 4.5, (scheme, name, bubble)
        assert contrast(initials, avatar) >= 4.5, (scheme, initials, avatar)
    assert len({name for name, *_ in colours}) == 8


# 4. Your own messages


async def test_your_own_messages_carry_no_name_and_sit_on_the_other_side(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    await say(client, ana, group, "from ana")
    page = await open_as(browser, server, bob)
    await send(page, "mine, one")
    await send(page, "mine, two")
    mine = log(page).locator(".message.mine:not(.pending)")
    await expect(mine).to_have_count(2)
    assert await mine.locator(".avatar").count() == 0
    widths = await mine.locator(".author").evaluate_all("nodes => nodes.map((n) => n.getBoundingClientRect().width)")
    assert widths == [1, 1], "the name is there for screen readers only"
    box = await log(page).bounding_box()
    theirs = await log(page).locator(".message:not(.mine) .bubble").bounding_box()
    ours = await mine.first.locator(".bubble").bounding_box()
    assert box and theirs and ours
    assert theirs["x"] - box["x"] < 80 and box["x"] + box["width"] - (ours["x"] + ours["width"]) < 40
    colours = await page.evaluate("""() => [".message.mine .bubble", ".message:not(.mine) .bubble"]
        .map((s) => getComputedStyle(document.querySelector(s)).backgroundColor)""")
    assert colours[0] != colours[1], "your own messages are tinted"


# 5. Short conversations


async def test_a_short_conversation_sits_at_the_bottom_just_above_the_composer(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    await say(client, ana, group, "only one message")
    for viewport in (DESKTOP, PHONE):
        page = await open_as(browser, server, bob, viewport=viewport)
        await expect(log(page).locator(".message")).to_have_count(1)
        box = await log(page).bounding_box()
        message = await log(page).locator(".message").bounding_box()
        assert box and message
        gap = box["y"] + box["height"] - (message["y"] + message["height"])
        assert 0 <= gap <= 16, f"{gap}px between the last message and the bottom of the list"
        assert message["y"] - box["y"] > box["height"] / 2


# 6. Long messages


async def test_a_long_message_is_collapsed_with_show_more(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    await say(client, ana, group, " ".join(f"word{i}" for i in range(300)))  # about 2,100 characters
    await say(client, ana, group, "\n".join(f"line {i}" for i in range(20)))
    await say(client, ana, group, "a short one")
    page = await open_as(browser, server, bob)
    texts = log(page).locator(".message .text")
    await expect(texts).to_have_count(3)
    more = log(page).get_by_role("button", name="Show more")
    await expect(more).to_have_count(2)
    folded = await texts.evaluate_all("nodes => nodes.map((n) => n.scrollHeight > n.clientHeight + 1)")
    assert folded == [True, True, False]
    button = more.first
    assert await button.get_attribute("aria-expanded") == "false"
    assert await button.get_attribute("aria-controls") == await texts.first.get_attribute("id")
    await button.focus()
    await page.keyboard.press("Enter")
    less = log(page).get_by_role("button", name="Show less")
    await expect(less).to_have_attribute("aria-expanded", "true")
    assert await texts.first.evaluate("n => n.scrollHeight <= n.clientHeight + 1")
    await page.keyboard.press("Space")
    await expect(log(page).get_by_role("button", name="Show more")).to_have_count(2)


# 7. Where unread messages begin


async def test_a_new_messages_line_shows_where_unread_messages_begin_and_is_scrolled_to(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    other = await client.create_group(bob, "aaa-elsewhere")
    for i in range(40):
        await say(client, ana, group, f"read before {i}")
    page = await open_as(browser, server, bob)
    await page.get_by_role("tab", name=str(group["name"])).click()
    await expect(log(page).get_by_text("read before 39")).to_be_visible()
    # Read once its newest message has been in view a moment (issue 16: the server keeps it).
    await log(page).evaluate("node => node.scrollTop = node.scrollHeight")
    await expect(page.get_by_role("tab", name=str(group["name"])).locator(".unread")).to_have_count(0)
    await page.get_by_role("tab", name=str(other["name"])).click()
    await say(client, bob, group, "sent from my phone meanwhile")  # one's own message is never unread
    for i in range(30):
        await say(client, ana, group, f"unread {i}")
    await expect(page.get_by_role("tab", name=str(group["name"])).locator(".unread")).to_have_text("30")
    await page.get_by_role("tab", name=str(group["name"])).click()
    line = log(page).locator(".unread-line")
    await expect(line).to_have_text("30 new messages")
    assert await log(page).locator(".unread-line + .message .text").inner_text() == "unread 0"
    assert await log(page).locator(".unread-line + .message .author").inner_text() == ana.username, \
        "the first unread message starts a run"
    # Scrolled to: the line near the top of the list, the newest messages below, out of view.
    top = await line.evaluate("n => n.getBoundingClientRect().top - n.parentNode.getBoundingClientRect().top")
    assert 0 <= top < 100
    await expect(log(page).get_by_text("unread 29")).not_to_be_in_viewport()
    # The line is for this opening: read (scrolled to the end a moment), then back again later, it is gone.
    await log(page).evaluate("node => node.scrollTop = node.scrollHeight")
    await expect(page.get_by_role("tab", name=str(group["name"])).locator(".unread")).to_have_count(0)
    await page.get_by_role("tab", name=str(other["name"])).click()
    await page.get_by_role("tab", name=str(group["name"])).click()
    await expect(line).to_have_count(0)


async def test_messages_that_come_while_the_page_is_hidden_get_a_new_messages_line(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    await say(client, ana, group, "seen")
    page = await open_as(browser, server, bob)
    await expect(log(page).locator(".message")).to_have_count(1)
    await expect(page.get_by_role("tab", name=str(group["name"])).locator(".unread")).to_have_count(0)  # read
    await page.evaluate("Object.defineProperty(document, 'hidden', { configurable: true, get: () => true })")
    await say(client, ana, group, "while away 1")
    await expect(log(page).locator(".unread-line")).to_have_text("1 new message")
    await say(client, ana, group, "while away 2")
    await expect(log(page).locator(".unread-line")).to_have_text("2 new messages")
    assert await log(page).locator(".unread-line + .message .text").inner_text() == "while away 1"
    await page.evaluate("""() => {
        delete document.hidden;
        document.dispatchEvent(new Event("visibilitychange"));
    }""")
    await expect(page.get_by_role("tab", name=str(group["name"])).locator(".unread")).to_have_count(0)
    await say(client, ana, group, "back again")
    await expect(log(page).locator(".message")).to_have_count(4)
    await expect(log(page).locator(".unread-line")).to_have_count(1)  # it stays where it was


async def test_a_group_opens_again_where_the_reader_left_it(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    other = await client.create_group(bob, "aaa-other")
    for i in range(50):
        await say(client, ana, group, f"message number {i}")
    page = await open_as(browser, server, bob)
    await page.get_by_role("tab", name=str(group["name"])).click()
    await expect(log(page).locator(".message")).to_have_count(50)
    where = "node => node.getBoundingClientRect().top"
    target = log(page).get_by_text("message number 20", exact=True)
    await target.evaluate("node => node.scrollIntoView({ block: 'center' })")
    before = await target.evaluate(where)
    await page.get_by_role("tab", name=str(other["name"])).click()
    await page.get_by_role("tab", name=str(group["name"])).click()
    assert round(await target.evaluate(where)) == round(before)
    # At the bottom when leaving (and so all read): at the bottom again, the newest message in view.
    await log(page).evaluate("node => node.scrollTop = node.scrollHeight")
    await expect(page.get_by_role("tab", name=str(group["name"])).locator(".unread")).to_have_count(0)
    await page.get_by_role("tab", name=str(other["name"])).click()
    await say(client, ana, group, "newest")
    await page.get_by_role("tab", name=str(group["name"])).click()
    await expect(log(page).get_by_text("newest")).to_be_in_viewport()


# 8. Joins and leaves


async def test_joins_and_leaves_while_you_watch_are_quiet_lines(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    await say(client, ana, group, "before carla")
    page = await open_as(browser, server, bob)
    await expect(log(page).locator(".message")).to_have_count(1)
    carla = await client.register("carla")
    await client.join(carla, group["id"])
    lines = log(page).locator(".system")
    await expect(lines).to_have_count(1)
    await expect(lines.first).to_contain_text(f"{carla.username} joined")
    r = await client.request("DELETE", f"/api/groups/{group['id']}/membership", token=carla.token)
    assert r.status in (200, 204), r.body
    await expect(lines.nth(1)).to_contain_text(f"{carla.username} left")
    await expect(log(page).locator(".message")).to_have_count(1)
    assert await lines.first.evaluate("n => getComputedStyle(n).textAlign") == "center"
    await expect(announced(page)).to_have_text("")
    # The next message starts a run of its own after the line.
    await say(client, ana, group, "after carla")
    await expect(log(page).locator(".system + .message")).not_to_have_class(re.compile(r"\bcontinued\b"))


# 9. A late joiner


async def test_a_late_joiner_is_told_that_earlier_messages_are_not_shown(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    for i in range(3):
        await say(client, ana, group, f"before dora {i}")
    dora = await client.register("dora")
    await client.join(dora, group["id"])
    late = await open_as(browser, server, dora)
    note = log(late).get_by_text("Messages from before you joined are not shown")
    await expect(note).to_be_visible()
    await expect(log(late).get_by_text("No messages yet. Say hello!")).to_have_count(1)
    await say(client, ana, group, "after dora")
    await expect(log(late).locator(".message")).to_have_count(1)
    await expect(log(late).get_by_text("No messages yet. Say hello!")).to_have_count(0)
    assert await log(late).locator(":scope > *").first.inner_text() == "Messages from before you joined are not shown"
    # Someone who sees the group from its first message, and the maker of a new group, get no note.
    early = await open_as(browser, server, bob)
    await expect(log(early).locator(".message")).to_have_count(4)
    assert await log(early).get_by_text("Messages from before you joined are not shown").count() == 0
    await client.create_group(dora, "zzz-dora-new")
    await late.get_by_role("tab", name=re.compile("zzz-dora-new")).click()
    await expect(log(late).get_by_text("No messages yet. Say hello!")).to_be_visible()
    assert await log(late).get_by_text("Messages from before you joined are not shown").count() == 0


async def test_the_late_joiner_note_comes_only_once_older_history_runs_out(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    await say(client, ana, group, "not for erin")
    erin = await client.register("erin")
    await client.join(erin, group["id"])
    for i in range(60):
        await say(client, ana, group, f"for erin {i}")
    page = await open_as(browser, server, erin)
    await expect(log(page).locator(".message")).to_have_count(50)
    note = log(page).locator(".history-note")
    await expect(note).to_have_count(0)
    await scroll_to_top(page)
    await expect(log(page).locator(".message")).to_have_count(60)
    await expect(note).to_have_count(1)


# 10. Images


async def test_a_thumbnail_is_at_most_320_px_high_and_its_box_is_kept_before_it_loads(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    assert (await upload(client, ana, group["id"], png_bytes((900, 1600), (40, 90, 160)))).status == 201
    assert (await upload(client, ana, group["id"], png_bytes((3000, 600), (160, 90, 40)))).status == 201
    page = await open_as(browser, server, bob, viewport=PHONE)
    release = asyncio.Event()

    async def hold(route: Route) -> None:
        await release.wait()
        await route.continue_()

    await page.route("**/thumb", hold)
    await page.reload()
    await expect(page.locator("#app")).to_have_attribute("data-ready", "true")
    await page.get_by_role("tab").first.click()  # the phone starts on the list of groups
    thumbs = log(page).get_by_role("img", name=f"Image from {ana.username}")
    await expect(thumbs).to_have_count(2)
    before = [await thumb.bounding_box() for thumb in await thumbs.all()]
    assert await thumbs.first.evaluate("img => img.complete") is False
    assert before[0] and round(before[0]["height"]) == 320 and round(before[0]["width"]) == 180
    column = await log(page).locator(".message").last.bounding_box()
    assert before[1] and column and before[1]["x"] + before[1]["width"] <= column["x"] + column["width"]
    release.set()
    await page.wait_for_function("""() => [...document.querySelectorAll("#messages img.thumb")]
        .every((img) => img.complete && img.naturalWidth)""")
    after = [await thumb.bounding_box() for thumb in await thumbs.all()]
    assert after == before, "nothing moves when the thumbnails arrive"


async def images_from(client: Client, account: Account, group: dict[str, Any], count: int) -> None:
    colours = [(200, 40, 40), (40, 160, 60), (40, 60, 200), (200, 160, 40)]
    for i in range(count):
        r = await upload(client, account, group["id"], png_bytes((400 + 40 * i, 300), colours[i % 4]))
        assert r.status == 201, r.body


async def test_a_click_on_a_thumbnail_opens_the_in_page_viewer_never_a_new_tab(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    await images_from(client, ana, group, 2)
    page = await open_as(browser, server, bob)
    opened: list[Page] = []
    page.context.on("page", lambda new: opened.append(new))
    thumbs = log(page).locator("a.image-link")
    await thumbs.first.click()
    viewer = page.get_by_role("dialog")
    await expect(viewer).to_be_visible()
    full = viewer.get_by_role("img", name=f"Image from {ana.username}")
    assert await full.get_attribute("src") == await thumbs.first.get_attribute("href")
    await page.wait_for_function("() => document.querySelector('.viewer img').naturalWidth === 400")
    await expect(viewer).to_contain_text(ana.username)
    await expect(viewer.get_by_text("1 of 2")).to_be_visible()
    await viewer.get_by_role("button", name="Close").click()
    await expect(viewer).to_be_hidden()
    await expect(thumbs.first).to_be_focused()
    assert opened == [] and page.url == server.base_url + "/"


async def test_the_viewer_closes_on_escape_and_moves_with_arrow_keys(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    await images_from(client, ana, group, 3)
    await say(client, ana, group, "three pictures")
    page = await open_as(browser, server, bob)
    thumbs = log(page).locator("a.image-link")
    await expect(thumbs).to_have_count(3)
    await thumbs.nth(1).focus()
    await page.keyboard.press("Enter")
    viewer = page.get_by_role("dialog")
    await expect(viewer.get_by_text("2 of 3")).to_be_visible()
    await expect(viewer.get_by_role("button", name="Close")).to_be_focused()
    await page.keyboard.press("ArrowRight")
    await expect(viewer.get_by_text("3 of 3")).to_be_visible()
    await page.keyboard.press("ArrowRight")  # the last stays the last
    await expect(viewer.get_by_text("3 of 3")).to_be_visible()
    full = viewer.locator("img")
    assert await full.get_attribute("src") == await thumbs.nth(2).get_attribute("href")
    await page.keyboard.press("ArrowLeft")
    await page.keyboard.press("ArrowLeft")
    await expect(viewer.get_by_text("1 of 3")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(viewer).to_be_hidden()
    await expect(thumbs.first).to_be_focused()  # the thumbnail of the image last shown


# 11. Screen readers


async def test_new_messages_are_announced_and_the_log_itself_stays_silent(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    for i in range(5):
        await say(client, ana, group, f"history {i}")
    page = await open_as(browser, server, bob)
    await expect(log(page).locator(".message")).to_have_count(5)
    assert await log(page).get_attribute("aria-live") == "off"
    region = announced(page)
    assert await region.get_attribute("aria-live") == "polite"
    await expect(region).to_have_text("")
    await say(client, ana, group, "hello")
    await expect(region).to_have_text(f"{ana.username}: hello")
    await send(page, "my own")  # one's own messages are not read back
    await expect(log(page).locator(".message:not(.pending)").get_by_text("my own")).to_be_visible()
    await images_from(client, ana, group, 1)
    await expect(region.locator("p")).to_have_text([f"{ana.username}: hello", f"{ana.username} sent an image"])
    # Visually hidden, yet in the accessibility tree.
    box = await region.bounding_box()
    assert box and box["width"] <= 1 and box["height"] <= 1
    snapshot = await page.locator("body").aria_snapshot()
    assert f"{ana.username}: hello" in snapshot


async def test_history_loaded_on_scroll_is_not_announced(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    for i in range(70):
        await say(client, ana, group, f"message number {i}")
    other = await client.create_group(bob, "aaa-other")
    page = await open_as(browser, server, bob)
    await page.get_by_role("tab", name=str(group["name"])).click()
    await expect(log(page).locator(".message")).to_have_count(50)
    await scroll_to_top(page)
    await expect(log(page).locator(".message")).to_have_count(70)
    await page.get_by_role("tab", name=str(other["name"])).click()
    await page.get_by_role("tab", name=str(group["name"])).click()
    await expect(log(page).locator(".message")).to_have_count(70)
    await expect(announced(page)).to_have_text("")
    assert await log(page).get_attribute("aria-live") == "off"


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_the_conversation_has_no_axe_violations(server: Server, browser: Browser, scheme: str) -> None:
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    first = await say(client, ana, group, "yesterday's news")
    set_time(server, first, now() - datetime.timedelta(days=1))
    await say(client, ana, group, "x " * 800)
    await images_from(client, ana, group, 1)
    await say(client, bob, group, "y " * 800)
    page = await open_as(browser, server, bob, color_scheme=scheme)
    await send(page, "my reply")
    await expect(log(page).locator(".message:not(.pending)")).to_have_count(5)
    carla = await client.register("carla")
    await client.join(carla, group["id"])
    await expect(log(page).locator(".system")).to_have_count(1)
    await inject_axe(page)
    result = await page.evaluate("""axe.run('#messages').then((r) => ({
        violations: r.violations.map((v) => [v.id, v.nodes.map((n) => n.target.join(" "))]),
        contrast: r.passes.find((p) => p.id === "color-contrast")?.nodes
            .map((n) => document.querySelector(n.target[0])).map((e) => e.className || e.parentNode.className) ?? [],
    }))""")
    assert result["violations"] == []
    measured = " ".join(result["contrast"])  # each kind of text was measured, not skipped
    for kind in ("author", "stamp", "day", "system", "more", "text", "avatar"):
        assert kind in measured, (kind, result["contrast"])
    await log(page).locator("a.image-link").click()
    result = await page.evaluate("axe.run('.viewer').then((r) => r.violations.map((v) => [v.id, v.nodes.length]))")
    assert result == []


# 12. A thousand messages


def store_many(server: Server, group: dict[str, Any], authors: list[Account], count: int) -> None:
    """``count`` messages written straight into the database (sending them one by one would take
    minutes): three authors in turn, a minute apart, over the last days."""
    start = datetime.datetime.now(UTC).replace(tzinfo=None) - datetime.timedelta(minutes=count)
    rows = []
    for seq in range(1, count + 1):
        author = authors[(seq // 3) % len(authors)]
        text = f"message {seq}: " + "some words to read " * (1 + seq % 7)
        rows.append((group["id"], seq, seq, author.id, "text", text, start + datetime.timedelta(minutes=seq)))
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(rows))
    query(server.settings.database,
          f"INSERT INTO messages (group_id, seq, pos, user_id, kind, body, created_at) VALUES {values}",
          [value for row in rows for value in row])
    query(server.settings.database, "UPDATE chat_groups SET last_seq = %s, last_pos = %s WHERE id = %s",
          (count, count, group["id"]))


async def test_a_thousand_messages_load_by_scrolling_up_and_stay_in_order(server: Server, browser: Browser) -> None:
    """All 1,000 nodes are real (no windowing); bench/conversation_render.py measures what
    building and scrolling them costs (it does not matter: see bench/README.md)."""
    client = server.client()
    ana, bob, group = await pair_in_group(client)
    carla = await client.register("carla")
    await client.join(carla, group["id"])
    other = await client.create_group(bob, "aaa-other")
    store_many(server, group, [ana, bob, carla], 1000)
    page = await open_as(browser, server, bob)
    await page.get_by_role("tab", name=str(group["name"])).click()
    messages = log(page).locator(".message")
    await expect(messages).to_have_count(50)
    for count in range(100, 1001, 50):  # older pages, loaded by scrolling up as a reader would
        await scroll_to_top(page)
        await expect(messages).to_have_count(count)
    await page.get_by_role("tab", name=str(other["name"])).click()
    await page.get_by_role("tab", name=str(group["name"])).click()  # the whole list built again
    await expect(messages).to_have_count(1000)
    ids = await messages.evaluate_all("nodes => nodes.map((n) => Number(n.dataset.id))")
    assert ids == sorted(ids) and len(set(ids)) == 1000  # stored in seq order, so ids rise with it
