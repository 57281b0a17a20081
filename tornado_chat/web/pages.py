"""The HTML pages: sign-in forms that work without JavaScript, and the chat page.

Pages speak the visitor's language (``tornado.locale``, from Accept-Language);
the strings the chat script shows are translated here too and handed to it as
JSON in a data attribute, so the page needs no inline script and its
Content-Security-Policy can forbid them.
"""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path
from typing import Any

import tornado.locale
import tornado.web
from tornado.escape import json_encode

from .. import validation, wire
from ..errors import UsernameTaken
from ..ratelimit import RateLimited
from ..services.accounts import BadCredentials, TooManyAttempts
from ..store.database import DatabaseUnavailable
from .base import PAGE_CSP, SESSION_COOKIE, UNAVAILABLE_RETRY_AFTER, BaseHandler

TRANSLATIONS = Path(__file__).parent.parent / "translations"

# Every string the chat script shows; the page hands their translations to it.
SCRIPT_STRINGS = (
    # The conversation (conversation.js, message.js)
    "Sending…",
    "Not sent: {reason}",
    "Try again",
    "No messages yet. Say hello!",
    "Image from {name}",
    "Image",
    "Uploading {name}",
    "{name} is typing…",
    "{names} are typing…",
    # Around the conversation: tabs, header, menus, dialogs, composer, online list
    "Leave {name}",
    "Leave {name}?",
    "Could not leave the group. Try again.",
    "{count} member",
    "{count} members",
    "{count} online",
    "Offline",
    "(you)",
    "{count} unread message",
    "{count} unread messages",
    "Loading…",
    "Could not load the groups. Try again.",
    "Join",
    "Open",
    "Join {name}",
    "Open {name}",
    "Could not join {name}. Try again.",
    "No groups yet. Create the first one.",
    "No group matches “{query}”.",
    "{count} group found",
    "{count} groups found",
    "A group with that name already exists.",
    "Use 1 to 64 characters.",
    "Could not create the group. Try again.",
    "{count} character left",
    "{count} characters left",
    "Too long: remove {count} character to send it.",
    "Too long: remove {count} characters to send it.",
    "Preview of {name}",
    "Cancel",
    "Cancel {name}",
    "Dismiss",
    "Dismiss {name}",
    "Try sending {name} again",
    "You are not a member of this group any more.",
    "The image is too large: at most 10 MB and 50 megapixels.",
    "That file is not a PNG, JPEG, GIF or WebP image.",
    "This text cannot be sent: it contains a character that is not allowed.",
    "Too many messages at once. Wait a moment and try again.",
    "Could not reach the server. Check your connection and try again.",
    "Something went wrong. Try again.",
    # The conversation (issue 12): days, runs, lines, long texts, the image viewer, announcements.
    "Today",
    "Yesterday",
    "Show more",
    "Show less",
    "{count} new message",
    "{count} new messages",
    "{name} joined",
    "{name} left",
    "Messages from before you joined are not shown",
    "{name}: {text}",
    "{name} sent an image",
    "Close",
    "Previous image",
    "Next image",
    "{index} of {count}",
    # A message's actions (issue 13): reply, react, edit, delete; their dialogs and what they say.
    "Reply",
    "React",
    "Edit",
    "Delete",
    "Message actions",
    "(edited)",
    "Edited {time}",
    "This message was deleted",
    "Delete this message?",
    "It will be deleted for everyone in the group.",
    "Could not delete the message. Try again.",
    "Message deleted",
    "Edit text",
    "Escape to cancel, Enter to save",
    "Save",
    "A message cannot be empty. Delete it instead.",
    "Too long: at most 4,000 characters.",
    "Could not save the edit. Try again.",
    "Message edited",
    "In reply to",
    "Go to the original message",
    "Original message deleted",
    "Replying to {name}",
    "Cancel reply",
    "The message you replied to was deleted.",
    "The original message is not available.",
    "Add reaction",
    "Choose a reaction",
    "Recently used",
    "Common",
    "More reactions",
    "You",
    "{name} reacted with {emoji}",
    "{names} reacted with {emoji}",
    "Could not change the reaction. Try again.",
    "This message has as many different reactions as it can have.",
    # Private groups, direct messages, roles (issue 15): the members dialog, settings, a person's card.
    "Direct messages",
    "Direct message",
    "Close {name}",
    "Close conversation",
    "Leave group",
    "Private",
    "Private group",
    "Public group",
    "Private group: only its members see it",
    "A topic can have up to 250 characters.",
    "Members of {name}",
    "Owner",
    "Moderator",
    "Member",
    "online",
    "Message {name}",
    "More actions for {name}",
    "Actions for {name}",
    "Make moderator",
    "Make member",
    "Remove from group",
    "Ban from group",
    "Remove",
    "Ban",
    "Remove {name} from {group}?",
    "Ban {name} from {group}?",
    "They will stop seeing the group. They can be added again later.",
    "They will be removed and cannot join or be added again.",
    "{name} is now a moderator.",
    "{name} is now a member.",
    "{name} was added.",
    "{name} was removed.",
    "{name} was banned.",
    "{name} is banned from this group.",
    "There is nobody called “{name}”.",
    "Enter a username.",
    "Could not load the members. Try again.",
    "Could not add {name}. Try again.",
    "Could not remove {name}. Try again.",
    "Could not ban {name}. Try again.",
    "Could not change the role of {name}. Try again.",
    "Could not save the changes. Try again.",
    "Only the owner and the moderators can change this group.",
    "Could not open the conversation. Try again.",
    "Send a direct message",
    "Write a note to yourself",
    "This is you",
    "Online now",
    "This account no longer exists.",
    "You were removed from {group}.",
    "You were removed from {group} and banned from it.",
    # Mentions, read state and notifications (issue 16): mention.js, tabs.js, notify.js.
    "{name} mentioned you: {text}",
    "Mentions you",
    "{count} person to mention. Up and down arrows to choose, Enter to pick.",
    "{count} people to mention. Up and down arrows to choose, Enter to pick.",
    "{count} mention of you",
    "{count} mentions of you",
    "Notifications off",
    "Notifies mentions only",
    "Notifications: {level}",
    "All new messages",
    "Only @mentions",
    "Nothing",
    "In {group}, notify me about",
    "Could not change the notifications. Try again.",
    "This browser cannot show notifications.",
    "Notifications are blocked for this site. Allow them in your browser's site settings.",
    "Notifications are on for this device.",
    "Notifications are off for this device.",
    "Notifications will show while this page is open. This browser could not subscribe for when it is closed.",
    # Search and your data (issue 17): search.js, jump.js, account.js.
    "Searching…",
    "Type a word to search for.",
    "No messages match “{query}”.",
    "{count} message found",
    "{count} messages found",
    "{found}, more below",
    "in {group}",
    "Too many searches at once. Trying again in {count} second…",
    "Too many searches at once. Trying again in {count} seconds…",
    "Could not search. Check your connection and try again.",
    "The message is not available.",
    "Could not open the message. Try again.",
    "Could not load the latest messages. Try again.",
    "Enter your password to close your account.",
    "Wrong password.",
    "Too many attempts. Wait a moment and try again.",
    "Could not close the account. Try again.",
)


def load_translations() -> None:
    tornado.locale.load_translations(str(TRANSLATIONS))
    tornado.locale.set_default_locale("en_US")


class PageHandler(BaseHandler):
    """Pages: HTML, the strict CSP, and an HTML error page instead of JSON."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_document_headers(PAGE_CSP)

    def check_xsrf_cookie(self) -> None:
        """Forms always carry the XSRF token (the page that shows them sets its cookie)."""
        tornado.web.RequestHandler.check_xsrf_cookie(self)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if isinstance(kwargs.get("exc_info", (None, None, None))[1], DatabaseUnavailable):
            status_code = HTTPStatus.SERVICE_UNAVAILABLE
            self.set_status(status_code)
            self.set_header("Retry-After", str(UNAVAILABLE_RETRY_AFTER))
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.render("error.html", status=status_code, reason=HTTPStatus(status_code).phrase)

    def auth_form(self, mode: str, status: int = 200, typed: str = "", errors: dict[str, str] | None = None) -> None:
        """The sign-in or sign-up form; ``errors`` by field ("username", "password") or "form"."""
        self.set_status(status)
        self.render("auth.html", login=mode == "login", username=typed, errors=errors or {})


class LoginPage(PageHandler):
    def get(self) -> None:
        if self.current_user:
            self.redirect("/")
        else:
            self.auth_form("login")

    async def post(self) -> None:
        _ = self.locale.translate
        username = self.get_body_argument("username", "").strip()
        password = self.get_body_argument("password", "")
        if not username:
            return self.auth_form("login", 400, username, {"username": _("Enter your username.")})
        if not password:
            return self.auth_form("login", 400, username, {"password": _("Enter your password.")})
        try:
            user = await self.services.accounts.authenticate(username, password, self.request.remote_ip)
        except TooManyAttempts as exc:
            message = _("Too many failed attempts. Try again in %(seconds)d seconds.") % {"seconds": exc.retry_after}
            self.set_header("Retry-After", str(exc.retry_after))
            return self.auth_form("login", 429, username, {"form": message})
        except BadCredentials:
            return self.auth_form("login", 401, username, {"form": _("Wrong username or password.")})
        await self.start_session(user)
        self.redirect("/")


class RegisterPage(PageHandler):
    def get(self) -> None:
        if self.current_user:
            self.redirect("/")
        else:
            self.auth_form("register")

    async def post(self) -> None:
        _ = self.locale.translate
        username = self.get_body_argument("username", "").strip()
        password = self.get_body_argument("password", "")
        errors = {}
        try:
            validation.username(username)
        except validation.Invalid:
            errors["username"] = _("Use 3 to 32 letters, digits or _.")
        try:
            validation.password(password)
        except validation.Invalid:
            errors["password"] = _("Use at least 8 characters.")
        if errors:
            return self.auth_form("register", 400, username, errors)
        try:
            user = await self.services.accounts.register(username, password, self.request.remote_ip)
        except UsernameTaken:
            return self.auth_form("register", 409, username, {"username": _("That username is taken.")})
        except RateLimited as exc:
            message = _("Too many new accounts from here. Try again in %(seconds)d seconds.") % {
                "seconds": exc.retry_after
            }
            self.set_header("Retry-After", str(exc.retry_after))
            return self.auth_form("register", 429, username, {"form": message})
        await self.start_session(user)
        self.redirect("/")


class LogoutPage(PageHandler):
    async def post(self) -> None:
        if self.current_user:
            await self.services.accounts.revoke_session(self._token)
        self.clear_cookie(SESSION_COOKIE)
        self.redirect("/login")


class ChatPage(PageHandler):
    def get(self) -> None:
        if not self.current_user:
            return self.redirect("/login")
        strings = {text: self.locale.translate(text) for text in SCRIPT_STRINGS}
        self.render("chat.html", user_json=json_encode(wire.user(self.current_user)), strings=json_encode(strings))

