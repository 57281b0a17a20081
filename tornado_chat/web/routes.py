"""Every URL of the service and the handler that answers it."""

from __future__ import annotations

from tornado.routing import Rule
from tornado.web import URLSpec

from ..services import Services
from .accounts import MeHandler, SessionHandler, UsersHandler
from .app_shell import AppShellFile
from .changes import MessageHandler, ReactionHandler
from .events import EventsHandler
from .fetch_metadata import CrossSite, CrossSiteRefusal
from .groups import GroupHandler, GroupsHandler, MembershipHandler, OnlineHandler, ReadHandler
from .images import ImageHandler, ImagesHandler
from .members import BanHandler, DirectHandler, MemberHandler, MembersHandler
from .messages import MessagesHandler, TypingHandler
from .ops import HealthHandler, MetricsHandler
from .pages import ChatPage, LoginPage, LogoutPage, RegisterPage
from .push import PushKeyHandler, PushSubscriptionsHandler
from .search import SearchHandler
from .your_data import ExportHandler

GROUP = r"/api/groups/([^/]+)"
# Tornado tries the rules in order, a regular expression each: the long poll, asked for
# thousands of times per message at a fan-out, comes first (after Tornado's static rules).
HANDLERS = [
    (r"/api/events", EventsHandler),
    (r"/", ChatPage),
    (r"/login", LoginPage),
    (r"/register", RegisterPage),
    (r"/logout", LogoutPage),
    (r"/(manifest\.webmanifest|service-worker\.js)", AppShellFile),
    (r"/api/users", UsersHandler),
    (r"/api/session", SessionHandler),
    (r"/api/me", MeHandler),
    (r"/api/me/export", ExportHandler),
    (r"/api/groups", GroupsHandler),
    (GROUP, GroupHandler),
    (GROUP + r"/members", MembersHandler),
    (GROUP + r"/members/([^/]+)", MemberHandler),
    (GROUP + r"/bans/([^/]+)", BanHandler),
    (r"/api/direct/([^/]+)", DirectHandler),
    (r"/api/search", SearchHandler),
    (GROUP + r"/membership", MembershipHandler),
    (GROUP + r"/messages", MessagesHandler),
    (GROUP + r"/messages/([^/]+)", MessageHandler),
    (GROUP + r"/messages/([^/]+)/reactions/([^/]+)", ReactionHandler),
    (GROUP + r"/online", OnlineHandler),
    (GROUP + r"/read", ReadHandler),
    (GROUP + r"/images", ImagesHandler),
    (r"/images/([A-Za-z0-9_-]{32})(/thumb)?", ImageHandler),
    (GROUP + r"/typing", TypingHandler),
    (r"/api/push", PushKeyHandler),
    (r"/api/push/subscriptions", PushSubscriptionsHandler),
    (r"/healthz", HealthHandler),
    (r"/metrics", MetricsHandler),
]


def routes(services: Services) -> list[Rule]:
    """The URL rules, each handler given the services through ``initialize()``. First, before
    any path is looked at, the Fetch Metadata policy (fetch_metadata.py): a browser request
    from another site for the API or an image is refused whichever route it would reach."""
    refusal = Rule(CrossSite(), CrossSiteRefusal, {"services": services})
    return [refusal, *(URLSpec(pattern, handler, {"services": services}) for pattern, handler in HANDLERS)]
