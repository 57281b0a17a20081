"""Screenshots for issue 16 (not committed)."""

from __future__ import annotations

import json
import uuid

from playwright.async_api import Browser, expect

from . import test_browser
from .support.servers import Server
from .test_browser import DESKTOP, PHONE, log
from .test_notifications_page import call, context_of, open_page, person

browser = test_browser.browser
OUT = "/work/session/shots16"


async def test_shots(server: Server, browser: Browser) -> None:
    client = server.client()
    ana, bob, carla = await person(client, "ana"), await person(client, "bob"), await person(client, "carla")
    dan = await person(client, "dan")
    group = (await call(client, ana, "POST", "/api/groups", {"name": "Launch crew"}))["group"]
    other = (await call(client, ana, "POST", "/api/groups", {"name": "Design"}))["group"]
    for account in (bob, carla, dan):
        await call(client, account, "PUT", f"/api/groups/{group['id']}/membership")
        await call(client, account, "PUT", f"/api/groups/{other['id']}/membership")
    lines = [
        (ana, "Morning all! The release branch is cut."),
        (carla, "Nice. I'll run the smoke tests after lunch."),
        (bob, "I can take the release notes."),
    ]
    for i, (who, text) in enumerate(lines):
        await call(client, who, "POST", f"/api/groups/{group['id']}/messages", {"text": text, "client_id": f"x{i}"})
    titles = {}
    for scheme in ("light", "dark"):
        for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            tag = f"{name}-{scheme}"
            ctx = await context_of(browser, server, bob, viewport=viewport, color_scheme=scheme)
            page = await open_page(ctx, server)
            if name == "phone":
                await page.get_by_role("tab", name="Launch crew").click()
            else:
                await page.get_by_role("tab", name="Launch crew").click()
            # 1. the mention suggestions
            box = page.get_by_role("textbox", name="Message")
            await box.focus()
            await box.press_sequentially("thanks @")
            await expect(page.get_by_role("listbox", name="People to mention")).to_be_visible()
            await box.press("ArrowDown")
            await page.screenshot(path=f"{OUT}/1-mention-autocomplete-{tag}.png")
            await box.press("Escape")
            await box.fill("")
            # 2. a message that mentions Bob
            u = uuid.uuid4().hex[:4]
            await call(client, carla, "POST", f"/api/groups/{group['id']}/messages",
                       {"text": f"@{bob.username} can you check the changelog before we ship? cc @{ana.username}",
                        "client_id": f"m{u}"})
            await expect(log(page).locator(".message").last).to_contain_text("changelog")
            await page.wait_for_timeout(300)
            await page.screenshot(path=f"{OUT}/2-mentioned-message-{tag}.png")
            # 3. unread on another group: new messages line, badges, title
            if name == "phone":
                await page.get_by_role("button", name="Back to groups").click()
            await page.get_by_role("tab", name="Design").click()
            await page.wait_for_timeout(1200)
            for i in range(4):
                text = f"Draft {i + 1} of the icons is up" if i != 2 else f"@{bob.username} what do you think of the colours?"
                await call(client, ana, "POST", f"/api/groups/{group['id']}/messages", {"text": text, "client_id": f"u{u}{i}"})
            await expect(page.locator(f"#tab-{group['id']} .unread.count")).to_have_text("4")
            if name == "phone":
                await page.get_by_role("button", name="Back to groups").click()
                await page.wait_for_timeout(300)
                await page.screenshot(path=f"{OUT}/3a-unread-badges-list-{tag}.png")
            else:
                await page.screenshot(path=f"{OUT}/3a-unread-badges-{tag}.png")
            titles[tag] = await page.title()
            await page.get_by_role("tab", name="Launch crew").click()
            await expect(log(page).locator(".unread-line")).to_be_visible()
            await page.screenshot(path=f"{OUT}/3b-new-messages-line-{tag}.png")
            # 4. the notification-level menu
            await page.get_by_role("button", name="Group menu").click()
            await page.wait_for_timeout(200)
            await page.screenshot(path=f"{OUT}/4-notify-menu-{tag}.png")
            await page.keyboard.press("Escape")
            # 5. the notifications dialog
            await page.get_by_role("button", name="Notifications: All new messages").click()
            await page.wait_for_timeout(300)
            await page.screenshot(path=f"{OUT}/5-enable-notifications-{tag}.png")
            await page.keyboard.press("Escape")
            await ctx.close()
    with open(f"{OUT}/titles.json", "w") as f:
        json.dump(titles, f, indent=1)
