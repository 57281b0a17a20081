"""Private groups, direct messages, roles and moderation in a real browser (issue 15, the page).

Playwright drives Debian's Chromium against a real server and MariaDB, as test_browser.py does.
To stay fast, each test plays a whole story with several people in one browser (one context
each): a private group made with a topic, its members dialog (roles, adding by the keyboard
with suggestions, making a moderator, removing), the removed person's notice; a direct
conversation started from a name, received at its first message and closed without leaving;
and axe-core on the new dialogs.
"""

from __future__ import annotations

import re
import uuid

from playwright.async_api import Browser, Page, expect

from . import test_browser
from .support.announcements import announced_texts, record_announcements
from .support.axe import assert_no_axe_violation
from .support.http import Account, call, person
from .support.servers import Server
from .test_browser import DESKTOP, PHONE, goto_chat, log, send, sign_in

browser = test_browser.browser  # the same fixture: a headless Debian Chromium per test


async def open_page(
    browser: Browser, server: Server, account: Account, *, viewport: dict[str, int] = DESKTOP,
    locale: str = "en-US", color_scheme: str = "light", announcements: bool = False,
) -> Page:
    context = await browser.new_context(viewport=viewport, locale=locale, color_scheme=color_scheme)  # type: ignore[arg-type]
    if announcements:
        await record_announcements(context)
    await sign_in(context, server, account)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    await goto_chat(page, server)
    return page


async def send_pt(page: Page, text: str) -> None:
    """test_browser.send, on a page in Portuguese."""
    box = page.get_by_role("textbox", name="Mensagem")
    await box.fill(text)
    await box.press("Enter")


def no_errors(*pages: Page) -> None:
    for page in pages:
        assert page.errors == []  # type: ignore[attr-defined]


def members_list(page: Page):  # noqa: ANN201 - a Playwright locator
    return page.get_by_role("dialog", name=re.compile("^Members of")).get_by_role("list", name="Members")


def row(page: Page, username: str):  # noqa: ANN201 - a Playwright locator
    return members_list(page).get_by_role("listitem").filter(has_text=username)


async def test_a_private_group_with_a_topic_its_members_roles_and_a_removal(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, carla = await person(client, "ana"), await person(client, "bob"), await person(client, "carla")
    lobby = await call(client, ana, "POST", "/api/groups", {"name": f"lobby {uuid.uuid4().hex[:6]}"})
    for account in (bob, carla):
        await call(client, account, "PUT", f"/api/groups/{lobby['group']['id']}/membership")
    ana_page = await open_page(browser, server, ana)
    bob_page = await open_page(browser, server, bob)
    carla_page = await open_page(browser, server, carla, announcements=True)
    # Ana knows Bob and Carla from the lobby: they are online there.
    online = ana_page.get_by_role("list", name="Online")
    for account in (bob, carla):
        await expect(online.get_by_role("button", name=account.username, exact=True)).to_be_visible()

    # 1. Ana makes a private group with a topic from the groups dialog.
    name = f"plans {uuid.uuid4().hex[:6]}"
    topic = "Where we plan the launch, quietly"
    await ana_page.get_by_role("button", name="Join or create a group").click()
    dialog = ana_page.get_by_role("dialog", name="Groups")
    await dialog.get_by_label("Group name", exact=True).fill(name)
    await dialog.get_by_text("Privacy and topic").click()
    await dialog.get_by_role("radio", name=re.compile("^Private")).check()
    await dialog.get_by_label("Topic (optional)").fill(topic)
    await assert_no_axe_violation(ana_page, "the groups dialog with the privacy choice open")
    await dialog.get_by_role("button", name="Create group").click()
    await expect(ana_page.get_by_role("tab", name=name)).to_have_attribute("aria-selected", "true")
    head = ana_page.locator(".conv-head")
    await expect(head.get_by_role("heading", name=name)).to_be_visible()
    await expect(head.get_by_text(topic)).to_be_visible()  # the topic, in the header
    await expect(head.get_by_role("img", name="Private group")).to_be_visible()
    await expect(head.get_by_role("button", name="Group settings")).to_be_visible()  # the owner's

    # 2. The members dialog: Ana, the owner; she adds Bob with the keyboard, from the suggestions.
    await head.get_by_role("button", name="1 member").click()
    members = ana_page.get_by_role("dialog", name=f"Members of {name}")
    await expect(members).to_be_visible()
    await expect(row(ana_page, ana.username)).to_contain_text("Owner")
    box = members.get_by_role("combobox", name="Add a member")
    await box.focus()
    await box.press_sequentially(bob.username[:5])
    options = members.get_by_role("listbox", name="Suggestions")
    await expect(options.get_by_role("option")).to_have_count(1)  # not Carla, not Ana herself
    await expect(options.get_by_role("option", name=bob.username, exact=True)).to_be_visible()
    await expect(box).to_have_attribute("aria-expanded", "true")
    await box.press("ArrowDown")
    await expect(options.get_by_role("option", name=bob.username)).to_have_attribute("aria-selected", "true")
    await expect(box).to_have_attribute("aria-activedescendant", re.compile(".+"))
    await box.press("Enter")  # takes the suggestion
    await expect(box).to_have_value(bob.username)
    await expect(box).to_have_attribute("aria-expanded", "false")
    await box.press("Enter")  # adds
    await expect(row(ana_page, bob.username)).to_contain_text("Member")
    await expect(members.get_by_role("status")).to_have_text(f"{bob.username} was added.")
    await expect(bob_page.get_by_role("tab", name=name)).to_be_visible()  # he was added: the group opens for him
    await box.fill(carla.username)
    await box.press("Escape")  # closes the suggestions, not the dialog
    await expect(members).to_be_visible()
    await box.press("Enter")
    await expect(row(ana_page, carla.username)).to_contain_text("Member")
    await expect(carla_page.get_by_role("tab", name=name)).to_be_visible()
    await assert_no_axe_violation(ana_page, "the members dialog, with the suggestions")

    # 3. Ana makes Bob a moderator (a menu on his row); his page follows.
    await row(ana_page, bob.username).get_by_role("button", name=f"More actions for {bob.username}").click()
    menu = ana_page.get_by_role("menu", name=f"Actions for {bob.username}")
    await expect(menu.get_by_role("menuitem")).to_have_text(["Make moderator", "Remove from group", "Ban from group"])
    await assert_no_axe_violation(ana_page, "the members dialog with a row's menu open")
    await menu.get_by_role("menuitem", name="Make moderator").click()
    await expect(row(ana_page, bob.username)).to_contain_text("Moderator")
    await expect(members.get_by_role("status")).to_have_text(f"{bob.username} is now a moderator.")

    # 4. What each sees: Carla, a member, no controls; Bob, a moderator, may act on Carla only.
    await carla_page.get_by_role("tab", name=name).click()
    await expect(carla_page.locator(".conv-head").get_by_text(topic)).to_be_visible()
    await expect(carla_page.get_by_role("button", name="Group settings")).to_be_hidden()
    await carla_page.get_by_role("button", name="3 members").click()
    await expect(row(carla_page, ana.username)).to_contain_text("Owner")
    await expect(row(carla_page, bob.username)).to_contain_text("Moderator")
    carla_members = carla_page.get_by_role("dialog", name=f"Members of {name}")
    await expect(carla_members.get_by_role("combobox", name="Add a member")).to_be_hidden()  # private: owner/mods add
    await expect(carla_members.get_by_role("button", name=re.compile("^More actions"))).to_have_count(0)
    await expect(carla_members.get_by_role("button", name=f"Message {ana.username}")).to_be_visible()
    await carla_members.get_by_role("button", name="Close").click()

    await bob_page.get_by_role("tab", name=name).click()
    await expect(bob_page.get_by_role("button", name="Group settings")).to_be_visible()  # a moderator's now
    await bob_page.get_by_role("button", name="3 members").click()
    bob_members = bob_page.get_by_role("dialog", name=f"Members of {name}")
    await expect(bob_members.get_by_role("combobox", name="Add a member")).to_be_visible()
    await expect(bob_members.get_by_role("button", name=re.compile("^More actions"))).to_have_count(1)
    await row(bob_page, carla.username).get_by_role("button", name=f"More actions for {carla.username}").click()
    bob_menu = bob_page.get_by_role("menu", name=f"Actions for {carla.username}")
    await expect(bob_menu.get_by_role("menuitem")).to_have_text(["Remove from group", "Ban from group"])
    await bob_page.keyboard.press("Escape")  # the menu closes, the dialog stays
    await expect(bob_members).to_be_visible()
    await bob_members.get_by_role("button", name="Close").click()

    # 5. Bob, a moderator, changes the topic; everyone's header follows.
    await bob_page.get_by_role("button", name="Group settings").click()
    settings = bob_page.get_by_role("dialog", name="Group settings")
    await settings.get_by_label("Topic").fill("Launch on Friday")
    await assert_no_axe_violation(bob_page, "the group settings dialog")
    await settings.get_by_role("button", name="Save").click()
    for page in (ana_page, bob_page, carla_page):
        await expect(page.locator(".conv-head").get_by_text("Launch on Friday")).to_be_visible()

    # 6. Ana removes Carla, who is told and loses the tab.
    await row(ana_page, carla.username).get_by_role("button", name=f"More actions for {carla.username}").click()
    await ana_page.get_by_role("menuitem", name="Remove from group").click()
    confirm = ana_page.get_by_role("dialog", name=f"Remove {carla.username} from {name}?")
    await expect(confirm).to_be_visible()
    await assert_no_axe_violation(ana_page, "the removal's confirmation")
    await confirm.get_by_role("button", name="Remove").click()
    await expect(row(ana_page, carla.username)).to_have_count(0)
    await expect(ana_page.get_by_role("button", name="2 members")).to_be_visible()
    notice = carla_page.locator("#toasts").get_by_text(f"You were removed from {name}.")
    await expect(notice).to_be_visible()
    await expect(carla_page.get_by_role("tab", name=name)).to_have_count(0)
    await expect(carla_page.get_by_role("tab", name=lobby["group"]["name"])).to_have_attribute("aria-selected", "true")
    for _ in range(30):
        if f"You were removed from {name}." in await announced_texts(carla_page):
            break
        await carla_page.wait_for_timeout(100)
    assert f"You were removed from {name}." in await announced_texts(carla_page)
    await assert_no_axe_violation(carla_page, "the removal notice")
    await carla_page.get_by_role("button", name="Dismiss").click()
    await expect(notice).to_have_count(0)
    no_errors(ana_page, bob_page, carla_page)


async def test_a_presence_change_while_a_members_row_menu_is_open_keeps_focus_in_the_dialog(
    server: Server, browser: Browser
) -> None:
    """WCAG 2.4.3 (focus order): someone coming online while a row's menu is open must not take
    the menu's button out of the page, or Escape would drop the focus to <body> inside a modal."""
    client = server.client()
    ana, bob, carla = await person(client, "ana"), await person(client, "bob"), await person(client, "carla")
    group = (await call(client, ana, "POST", "/api/groups", {"name": f"plans {uuid.uuid4().hex[:6]}",
                                                             "kind": "private"}))["group"]
    for account in (bob, carla):
        await call(client, ana, "POST", f"/api/groups/{group['id']}/members", {"username": account.username})
    page = await open_page(browser, server, ana)
    await page.get_by_role("tab", name=group["name"]).click()
    await page.get_by_role("button", name="3 members").click()
    dialog = page.get_by_role("dialog", name=f"Members of {group['name']}")
    await expect(row(page, carla.username)).not_to_have_class(re.compile(r"\bis-online\b"))
    more = row(page, bob.username).get_by_role("button", name=f"More actions for {bob.username}")
    await more.click()
    menu = page.get_by_role("menu", name=f"Actions for {bob.username}")
    await expect(menu.get_by_role("menuitem").first).to_be_focused()

    r = await client.poll(carla)  # Carla's page polls: she comes online, in the group too
    assert r.status == 200, r.body
    await expect(row(page, carla.username)).to_have_class(re.compile(r"\bis-online\b"))
    await expect(row(page, carla.username)).to_contain_text(", online")  # what a screen reader hears
    await expect(menu.get_by_role("menuitem").first).to_be_focused()  # the menu stayed open where it was

    await page.keyboard.press("Escape")  # the menu closes, back to its button
    await expect(menu).to_be_hidden()
    await expect(dialog).to_be_visible()
    await expect(more).to_be_focused()
    focused = await page.evaluate("""() => ({
        inDialog: Boolean(document.activeElement.closest('dialog[open]')),
        name: document.activeElement.getAttribute('aria-label'),
        expanded: document.activeElement.getAttribute('aria-expanded'),
    })""")
    assert focused == {"inDialog": True, "name": f"More actions for {bob.username}", "expanded": "false"}
    no_errors(page)


async def test_a_member_joining_while_a_row_menu_is_open_closes_it_and_keeps_focus_in_the_dialog(
    server: Server, browser: Browser
) -> None:
    """WCAG 2.4.3: a change that rebuilds the list (here a member added by someone else) may change a
    row's actions, so an open row menu closes, and focus goes back to that row's new button."""
    client = server.client()
    ana, bob, carla = await person(client, "ana"), await person(client, "bob"), await person(client, "carla")
    group = (await call(client, ana, "POST", "/api/groups", {"name": f"plans {uuid.uuid4().hex[:6]}"}))["group"]
    await call(client, ana, "POST", f"/api/groups/{group['id']}/members", {"username": bob.username})
    page = await open_page(browser, server, ana)
    await page.get_by_role("tab", name=group["name"]).click()
    await page.get_by_role("button", name="2 members").click()
    dialog = page.get_by_role("dialog", name=f"Members of {group['name']}")
    await row(page, bob.username).get_by_role("button", name=f"More actions for {bob.username}").click()
    menu = page.get_by_role("menu", name=f"Actions for {bob.username}")
    await expect(menu.get_by_role("menuitem").first).to_be_focused()

    await call(client, bob, "POST", f"/api/groups/{group['id']}/members", {"username": carla.username})
    await expect(row(page, carla.username)).to_be_visible()
    await expect(menu).to_be_hidden()
    await expect(dialog).to_be_visible()
    await expect(row(page, bob.username).get_by_role("button", name=f"More actions for {bob.username}")
                 ).to_be_focused()
    no_errors(page)


async def test_a_direct_conversation_from_a_name_opens_for_the_other_at_its_first_message(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob = await person(client, "ana"), await person(client, "bob")
    lobby = (await call(client, ana, "POST", "/api/groups", {"name": f"lobby {uuid.uuid4().hex[:6]}"}))["group"]
    await call(client, bob, "PUT", f"/api/groups/{lobby['id']}/membership")
    await call(client, bob, "POST", f"/api/groups/{lobby['id']}/messages", {"text": "anyone around?"})
    ana_page = await open_page(browser, server, ana)
    bob_page = await open_page(browser, server, bob, locale="pt-BR")  # Bob reads Portuguese

    # Ana clicks Bob's name on his message: his card, and a direct conversation named for him.
    await log(ana_page).get_by_role("button", name=bob.username).click()
    card = ana_page.get_by_role("dialog", name=bob.username)
    await expect(card).to_be_visible()
    await assert_no_axe_violation(ana_page, "a person's card")
    requests: list[str] = []
    ana_page.on("request", lambda request: requests.append(f"{request.method} {request.url}"))
    await card.get_by_role("button", name="Send a direct message").click()
    tab = ana_page.get_by_role("tab", name=bob.username)
    await expect(tab).to_have_attribute("aria-selected", "true")
    await expect(ana_page.locator(".tab-item.direct")).to_have_count(1)
    await expect(ana_page.get_by_text("Direct messages")).to_be_visible()
    await expect(ana_page.locator(".conv-head").get_by_role("heading", name=bob.username)).to_be_visible()
    await expect(ana_page.locator("#member-count")).to_be_hidden()
    await expect(ana_page.get_by_role("textbox", name="Message")).to_be_focused()
    # Not yet on Bob's side: the conversation is his at its first message.
    await expect(bob_page.locator(".tab-item.direct")).to_have_count(0)
    await send(ana_page, "hi Bob, a word in private")
    bob_tab = bob_page.get_by_role("tab", name=ana.username)
    await expect(bob_tab).to_be_visible()
    await expect(bob_page.get_by_text("Mensagens diretas")).to_be_visible()
    await expect(bob_page.locator(".tab-item.direct .tab")).to_have_accessible_name(ana.username)
    await expect(bob_tab.locator(".unread")).to_have_text("1")
    await bob_tab.click()
    await expect(bob_page.get_by_role("log", name="Mensagens").get_by_text("hi Bob, a word in private")).to_be_visible()
    await expect(bob_page.locator(".conv-head").get_by_role("heading", name=ana.username)).to_be_visible()

    # Bob answers from the online list's card: the same conversation, not a new one.
    await bob_page.get_by_role("tab", name=lobby["name"]).click()
    online = bob_page.get_by_role("list", name="Online")
    await online.get_by_role("button", name=ana.username, exact=True).click()
    await bob_page.get_by_role("dialog", name=ana.username).get_by_role("button", name="Enviar mensagem direta").click()
    await expect(bob_tab).to_have_attribute("aria-selected", "true")
    await expect(bob_page.locator(".tab-item.direct")).to_have_count(1)
    await send_pt(bob_page, "sure, what is it?")
    await expect(log(ana_page).get_by_text("sure, what is it?")).to_be_visible()

    # Ana's X on the direct conversation closes its tab; she does not leave it.
    close = ana_page.get_by_role("button", name=f"Close {bob.username}")
    await close.click()
    await expect(tab).to_have_count(0)
    await expect(ana_page.get_by_role("dialog")).to_have_count(0)  # no "Leave?" question
    assert not [r for r in requests if r.startswith("DELETE") and "/membership" in r]
    me = await call(client, ana, "GET", "/api/me")
    assert [g for g in me["groups"] if g.get("kind") == "direct"]  # still hers
    await ana_page.reload()
    await expect(ana_page.locator("#app")).to_have_attribute("data-ready", "true")
    await expect(ana_page.get_by_role("tab", name=bob.username)).to_have_count(0)  # stays closed
    await send_pt(bob_page, "one more thing")  # its next message opens it again
    await expect(ana_page.get_by_role("tab", name=bob.username)).to_be_visible()
    no_errors(ana_page, bob_page)


async def test_axe_finds_nothing_on_the_new_dialogs_on_a_dark_phone(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob = await person(client, "ana"), await person(client, "bob")
    group = (await call(client, ana, "POST", "/api/groups", {"name": f"plans {uuid.uuid4().hex[:6]}",
                                                             "kind": "private", "topic": "A topic"}))["group"]
    await call(client, ana, "POST", f"/api/groups/{group['id']}/members", {"username": bob.username})
    page = await open_page(browser, server, ana, viewport=PHONE, color_scheme="dark")
    await page.get_by_role("tab", name=group["name"]).click()
    await expect(page.locator(".conv-head").get_by_text("A topic")).to_be_visible()
    await assert_no_axe_violation(page, "a private group's header, phone, dark")
    await page.get_by_role("button", name="2 members").click()
    await expect(row(page, bob.username)).to_contain_text("Member")
    await assert_no_axe_violation(page, "the members dialog, phone, dark")
    # Ban, asked first; the server then refuses to add him again.
    await row(page, bob.username).get_by_role("button", name=f"More actions for {bob.username}").click()
    await page.get_by_role("menuitem", name="Ban from group").click()
    confirm = page.get_by_role("dialog", name=f"Ban {bob.username} from {group['name']}?")
    await assert_no_axe_violation(page, "the ban's confirmation, phone, dark")
    await confirm.get_by_role("button", name="Ban").click()
    await expect(row(page, bob.username)).to_have_count(0)
    r = await client.request("POST", f"/api/groups/{group['id']}/members", {"username": bob.username}, token=ana.token)
    assert (r.status, r.json["error"]["code"]) == (403, "banned")
    # A direct conversation from the members dialog.
    await row(page, ana.username).get_by_role("button", name=f"Message {ana.username}").click()  # a note to herself
    await expect(page.locator(".conv-head").get_by_role("heading", name=ana.username)).to_be_visible()
    await assert_no_axe_violation(page, "a direct conversation, phone, dark")
    no_errors(page)
