"""Mentions, read state and notifications in a real browser (issue 16, the page).

Playwright drives Debian's Chromium against a real server and MariaDB, as test_browser.py does;
each test plays a whole story in one browser, one context per person or device:

- a mention picked from the suggestions by the keyboard, highlighted, and marked for the person
  it mentions (with axe-core on the suggestions);
- one person's read state followed by a second browser of theirs: the same badges and title,
  the "new messages" line on opening, and a read in one clearing the other;
- the installable app: the manifest and its icons, the service worker at scope "/", Chromium's
  own installability check, the notification level from the group menu, and the bell that asks
  for permission only when pressed, then subscribes (headless Chromium has no push service, so
  PushManager.subscribe is stood in for by a subscription with a real P-256 key, which the
  server stores).
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, expect

from tornado_chat.config import Settings

from . import test_browser
from .support.axe import assert_no_axe_violation
from .support.database import query
from .support.http import Account, call, person
from .support.servers import Server, StartServer
from .test_browser import DESKTOP, goto_chat, log, sign_in

browser = test_browser.browser  # the same fixture: a headless Debian Chromium per test

FAKE_PUSH_SERVICE = "http://127.0.0.1:9/push/"  # allowed by the test server; never called (nobody is offline)

# Headless Chromium has no push service (no FCM): PushManager.subscribe gets a subscription
# made here, with a real P-256 public key (the server checks it), and counts its calls, as the
# page's Notification.requestPermission calls are counted.
STAND_IN = """(endpointBase) => {
  window.__permissionAsked = 0;
  const request = Notification.requestPermission.bind(Notification);
  Notification.requestPermission = (...args) => { window.__permissionAsked += 1; return request(...args); };
  const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  let held = null;
  window.__subscribed = 0;
  PushManager.prototype.getSubscription = async function () { return held; };
  PushManager.prototype.subscribe = async function (options) {
    window.__subscribed += 1;
    const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
    const p256dh = b64(await crypto.subtle.exportKey("raw", pair.publicKey));
    const auth = b64(crypto.getRandomValues(new Uint8Array(16)));
    const endpoint = endpointBase + crypto.randomUUID();
    held = {
      endpoint, options,
      toJSON: () => ({ endpoint, expirationTime: null, keys: { p256dh, auth } }),
      unsubscribe: async () => { held = null; return true; },
    };
    return held;
  };
}"""


async def context_of(browser: Browser, server: Server, account: Account, **options: Any) -> BrowserContext:
    context = await browser.new_context(viewport=options.pop("viewport", DESKTOP), **options)
    await sign_in(context, server, account)
    return context


async def open_page(context: BrowserContext, server: Server) -> Page:
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    await goto_chat(page, server)
    return page


def badge(page: Page, name: str, kind: str = "count"):  # noqa: ANN201 - a Playwright locator
    return page.get_by_role("tab", name=name).locator(f".unread.{kind}")


async def test_a_mention_is_picked_by_the_keyboard_highlighted_and_marked_for_its_person(
    server: Server, browser: Browser
) -> None:
    client = server.client()
    ana, bob, carla = await person(client, "ana"), await person(client, "bob"), await person(client, "carla")
    group = (await call(client, ana, "POST", "/api/groups", {"name": f"crew {uuid.uuid4().hex[:6]}"}))["group"]
    for account in (bob, carla):
        await call(client, account, "PUT", f"/api/groups/{group['id']}/membership")
    ana_page = await open_page(await context_of(browser, server, ana), server)
    bob_page = await open_page(await context_of(browser, server, bob, color_scheme="dark"), server)

    # Bob types "@" and the start of Ana's name: she is offered (not Bob himself), chosen from the start.
    box = bob_page.get_by_role("textbox", name="Message")
    await box.focus()
    await box.press_sequentially("thanks @")
    options = bob_page.get_by_role("listbox", name="People to mention")
    await expect(options.get_by_role("option")).to_have_count(2)  # Ana and Carla
    await box.press_sequentially(ana.username[:4])
    await expect(options.get_by_role("option")).to_have_count(1)
    option = options.get_by_role("option", name=ana.username)
    await expect(option).to_have_attribute("aria-selected", "true")
    await expect(box).to_have_attribute("aria-activedescendant", await option.get_attribute("id") or "")
    await expect(box).to_have_attribute("aria-controls", "mention-options")
    await expect(bob_page.locator("#mention-status")).to_contain_text("1 person to mention")
    await assert_no_axe_violation(bob_page, "the composer with the mention suggestions open (dark)")
    await box.press("Escape")  # closes the list, keeps the text
    await expect(options).to_be_hidden()
    await expect(box).to_have_value(f"thanks @{ana.username[:4]}")
    await box.press("Backspace")
    await expect(options.get_by_role("option")).to_have_count(1)  # typing again offers again
    await box.press("Tab")  # Tab takes it as Enter does
    await expect(box).to_have_value(f"thanks @{ana.username} ")
    await expect(options).to_be_hidden()
    await box.press_sequentially("and @")
    await box.press("ArrowDown")  # Ana, Carla: the arrows move
    await box.press("ArrowDown")
    await expect(options.get_by_role("option", name=ana.username)).to_have_attribute("aria-selected", "true")
    await box.press("ArrowUp")
    await expect(options.get_by_role("option", name=carla.username)).to_have_attribute("aria-selected", "true")
    await box.press("Enter")  # picks, does not send
    await expect(box).to_have_value(f"thanks @{ana.username} and @{carla.username} ")
    await box.press("Enter")  # sends
    await expect(box).to_have_value("")

    # Both mentions are highlighted; Ana's page marks the message as one that mentions her.
    sent = log(bob_page).locator(".message").last
    await expect(sent.locator(".mention")).to_have_text([f"@{ana.username}", f"@{carla.username}"])
    received = log(ana_page).locator(".message").last
    await expect(received).to_have_class(re.compile(r"\bmentions-me\b"))
    await expect(received.locator(".mention.mention-me")).to_have_text(f"@{ana.username}")
    await expect(received.locator(".mention:not(.mention-me)")).to_have_text(f"@{carla.username}")
    await expect(received.get_by_text("Mentions you")).to_have_count(1)  # said, not shown
    # Text only: a name that looks like markup stays text.
    assert await received.locator(".text").evaluate("n => n.querySelectorAll('*:not(.mention)').length") == 0
    await assert_no_axe_violation(ana_page, "a message that mentions the reader")
    assert ana_page.errors == bob_page.errors == []  # type: ignore[attr-defined]


async def test_read_state_follows_the_reader_from_one_browser_to_another(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob = await person(client, "ana"), await person(client, "bob")
    talk = (await call(client, ana, "POST", "/api/groups", {"name": f"talk {uuid.uuid4().hex[:6]}"}))["group"]
    quiet = (await call(client, bob, "POST", "/api/groups", {"name": f"aaa quiet {uuid.uuid4().hex[:6]}"}))["group"]
    await call(client, bob, "PUT", f"/api/groups/{talk['id']}/membership")
    await call(client, ana, "POST", f"/api/groups/{talk['id']}/messages", {"text": "read before", "client_id": "c0"})
    await call(client, bob, "PUT", f"/api/groups/{talk['id']}/read", {"seq": 1})
    # Bob on his laptop and his phone (two browsers: no shared storage, a poll each), both on "quiet".
    laptop = await open_page(await context_of(browser, server, bob), server)
    phone = await open_page(await context_of(browser, server, bob), server)
    for page in (laptop, phone):
        await page.get_by_role("tab", name=quiet["name"]).click()

    texts = ["one", f"two for @{bob.username}", "three"]
    for i, text in enumerate(texts):
        await call(client, ana, "POST", f"/api/groups/{talk['id']}/messages", {"text": text, "client_id": f"c{i + 1}"})
    for page in (laptop, phone):
        await expect(badge(page, talk["name"])).to_have_text("3")
        await expect(badge(page, talk["name"], "mentions")).to_have_text("@1")
        await expect(page).to_have_title(f"(3) {quiet['name']} · tornado chat")
    # A reload asks the server: the same counts.
    await phone.reload()
    await expect(phone.locator("#app")).to_have_attribute("data-ready", "true")
    await expect(badge(phone, talk["name"])).to_have_text("3")
    await expect(badge(phone, talk["name"], "mentions")).to_have_text("@1")
    description = await phone.get_by_role("tab", name=talk["name"]).get_attribute("aria-describedby")
    await expect(phone.locator(f"#{description}")).to_have_text("3 unread messages, 1 mention of you")

    # The laptop opens the group: the line where unread begins; a moment later it is read, everywhere.
    await laptop.get_by_role("tab", name=talk["name"]).click()
    line = log(laptop).locator(".unread-line")
    await expect(line).to_have_text("3 new messages")
    assert await log(laptop).locator(".unread-line + .message .text").inner_text() == "one"
    for page in (laptop, phone):
        await expect(badge(page, talk["name"])).to_have_count(0)
        await expect(badge(page, talk["name"], "mentions")).to_have_count(0)
        await expect(page).to_have_title(re.compile(r"^[^(]"))
    await expect(line).to_have_count(1)  # the line stays while the group is open
    me = await call(client, bob, "GET", "/api/me")
    held = next(group for group in me["groups"] if group["id"] == talk["id"])
    assert (held["unread"], held["unread_mentions"]) == (0, 0)

    # A new message while the laptop looks at the group: read there at once, so never unread on the phone.
    await call(client, ana, "POST", f"/api/groups/{talk['id']}/messages", {"text": "seen live", "client_id": "c9"})
    await expect(log(laptop).get_by_text("seen live")).to_be_visible()
    await expect(log(laptop).locator(".unread-line")).to_have_count(1)  # no second line for it
    for _ in range(20):  # the phone may count it a moment, until the laptop's read arrives
        if not await badge(phone, talk["name"]).count():
            break
        await phone.wait_for_timeout(100)
    await expect(badge(phone, talk["name"])).to_have_count(0)
    for _ in range(30):  # and the server heard of it
        if last_read(server, bob, talk["id"]) == 5:
            break
        await laptop.wait_for_timeout(100)
    assert last_read(server, bob, talk["id"]) == 5
    assert laptop.errors == phone.errors == []  # type: ignore[attr-defined]


def last_read(server: Server, account: Account, group_id: int) -> int:
    sql = "SELECT last_read_seq FROM memberships WHERE user_id = %s AND group_id = %s"
    rows = query(server.settings.database, sql, (account.id, group_id))
    return int(rows[0][0]) if rows else 0


async def test_the_app_installs_its_service_worker_and_asks_for_notifications_only_when_asked(
    start_server: StartServer, browser: Browser
) -> None:
    push_allowed = "push_endpoint_allow" in {field.name for field in dataclasses.fields(Settings)}
    server = await start_server(**({"push_endpoint_allow": (FAKE_PUSH_SERVICE,)} if push_allowed else {}))
    client = server.client()
    ana, bob = await person(client, "ana"), await person(client, "bob")
    group = (await call(client, ana, "POST", "/api/groups", {"name": f"news {uuid.uuid4().hex[:6]}"}))["group"]
    await call(client, bob, "PUT", f"/api/groups/{group['id']}/membership")
    context = await context_of(browser, server, bob)
    await context.add_init_script(script=f"({STAND_IN})({FAKE_PUSH_SERVICE!r})")
    await context.grant_permissions(["notifications"], origin=server.base_url)  # the prompt, answered "Allow"
    page = await open_page(context, server)

    # The manifest: its fields, and icons that load at the sizes it says.
    manifest = await page.evaluate("""async () => {
        const link = document.querySelector('link[rel="manifest"]');
        const answer = await fetch(link.href);
        const manifest = await answer.json();
        const icons = await Promise.all(manifest.icons.map(async (icon) => {
            const image = await createImageBitmap(await (await fetch(icon.src)).blob());
            const loaded = `${image.width}x${image.height}`;
            return { sizes: icon.sizes, type: icon.type, purpose: icon.purpose ?? "any", loaded };
        }));
        return { type: answer.headers.get("content-type"), href: link.getAttribute("href"), ...manifest, icons };
    }""")
    assert manifest["href"] == "/manifest.webmanifest" and manifest["type"].startswith("application/manifest+json")
    assert manifest["name"] and manifest["short_name"]
    assert (manifest["start_url"], manifest["display"]) == ("/", "standalone")
    for colour in ("theme_color", "background_color"):
        assert re.fullmatch(r"#[0-9a-f]{6}", manifest[colour]), colour
    assert {icon["sizes"] for icon in manifest["icons"] if icon["purpose"] == "any"} == {"192x192", "512x512"}
    for icon in manifest["icons"]:
        assert icon["loaded"] == icon["sizes"] and icon["type"] == "image/png", icon

    # The service worker, at the root, controls the whole site; Chromium finds the app installable.
    scope = await page.evaluate("navigator.serviceWorker.ready.then((registration) => registration.scope)")
    assert scope == server.base_url + "/"
    sw = await client.request("GET", "/service-worker.js")
    assert sw.status == 200 and sw.headers["Content-Type"].startswith("text/javascript")
    cdp = await context.new_cdp_session(page)
    installability = await cdp.send("Page.getInstallabilityErrors")
    # (Playwright's contexts are incognito, which no app can be installed from: that is the context's.)
    errors = [error["errorId"] for error in installability["installabilityErrors"]]
    assert set(errors) <= {"in-incognito"}, installability

    # The level, from the group menu: radio items; the bell says it.
    bell = page.get_by_role("button", name=re.compile("^Notifications"))
    await expect(bell).to_have_accessible_name("Notifications: All new messages")
    await page.get_by_role("button", name="Group menu").click()
    menu = page.get_by_role("menu", name="Group menu")
    levels = menu.get_by_role("group", name="Notify me about").get_by_role("menuitemradio")
    await expect(levels).to_have_text(["All new messages", "Only @mentions", "Nothing"])
    await expect(levels.first).to_have_attribute("aria-checked", "true")
    await assert_no_axe_violation(page, "the group menu with the notification levels")
    await menu.get_by_role("menuitemradio", name="Only @mentions").click()
    await expect(bell).to_have_accessible_name("Notifications: Only @mentions")
    await expect(page.get_by_role("button", name="Group menu")).to_be_focused()
    me = await call(client, bob, "GET", "/api/me")
    assert next(g for g in me["groups"] if g["id"] == group["id"])["notify"] == "mentions"

    # Permission: never asked on load; the bell's dialog explains, and only its button asks.
    assert await page.evaluate("window.__permissionAsked") == 0
    await bell.click()
    dialog = page.get_by_role("dialog", name="Notifications")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_role("radio", name=re.compile("^Only @mentions"))).to_be_checked()
    await expect(dialog.get_by_text(re.compile("while this page is closed or in the background"))).to_be_visible()
    await expect(dialog.get_by_role("status")).to_have_text("Notifications are off for this device.")
    await assert_no_axe_violation(page, "the notifications dialog")
    assert await page.evaluate("window.__permissionAsked") == 0
    await dialog.get_by_role("button", name="Enable notifications").click()
    await expect(dialog.get_by_role("button", name="Turn off on this device")).to_be_focused()
    if push_allowed:  # the push routes are there: subscribed, and the server holds the subscription
        await expect(dialog.get_by_role("status")).to_have_text("Notifications are on for this device.")
        assert await page.evaluate("[window.__permissionAsked, window.__subscribed]") == [1, 1]
        endpoint = await page.evaluate(
            "navigator.serviceWorker.ready.then(async (r) => (await r.pushManager.getSubscription()).endpoint)"
        )
        sql = "SELECT COUNT(*) FROM push_subscriptions WHERE user_id = %s AND endpoint = %s"
        rows = query(server.settings.database, sql, (bob.id, endpoint))
        assert rows[0][0] == 1
    else:  # no GET /api/push yet: on for the page's own notifications, said plainly
        await expect(dialog.get_by_role("status")).to_contain_text("could not subscribe for when it is closed")
        assert await page.evaluate("window.__permissionAsked") == 1
    # The level from the dialog too; then off on this device (the server forgets the subscription).
    await dialog.get_by_role("radio", name=re.compile("^All new messages")).check()
    await expect(bell).to_have_accessible_name("Notifications: All new messages")
    # While the page is open but hidden, a message that notifies shows through the page itself,
    # tagged by group; one's own (from another device) never does.
    await page.evaluate("Object.defineProperty(document, 'hidden', { configurable: true, get: () => true })")
    await call(client, bob, "POST", f"/api/groups/{group['id']}/messages", {"text": "mine", "client_id": "b1"})
    await call(client, ana, "POST", f"/api/groups/{group['id']}/messages", {"text": "psst", "client_id": "a1"})
    await expect(log(page).get_by_text("psst")).to_have_count(1)
    shown = """navigator.serviceWorker.ready.then(async (r) => (await r.getNotifications())
        .map((n) => ({ title: n.title, body: n.body, tag: n.tag, group: n.data.group_id })))"""
    for _ in range(20):
        if await page.evaluate(shown):
            break
        await page.wait_for_timeout(100)
    assert await page.evaluate(shown) == [
        {"title": group["name"], "body": f"{ana.username}: psst", "tag": f"group-{group['id']}", "group": group["id"]}
    ]
    await page.evaluate("delete document.hidden")
    await dialog.get_by_role("button", name="Turn off on this device").click()
    await expect(dialog.get_by_role("button", name="Enable notifications")).to_be_focused()
    if push_allowed:
        rows = query(server.settings.database, "SELECT COUNT(*) FROM push_subscriptions WHERE user_id = %s", (bob.id,))
        assert rows[0][0] == 0
    await dialog.get_by_role("button", name="Close").click()
    await expect(bell).to_be_focused()

    # A notification's link, /?group=ID, opens that group (and the address goes back to /).
    other = (await call(client, bob, "POST", "/api/groups", {"name": f"zzz {uuid.uuid4().hex[:6]}"}))["group"]
    await page.goto(f"{server.base_url}/?group={other['id']}")
    await expect(page.get_by_role("tab", name=other["name"])).to_have_attribute("aria-selected", "true")
    assert page.url == server.base_url + "/"
    assert page.errors == []  # type: ignore[attr-defined]
