"""Fetch Metadata resource isolation: the API and the images answer no other site's page.

A browser says in ``Sec-Fetch-Site`` who asked for a request. The contract refuses a
browser request from another site "whatever it carries"; Tornado's cross-origin protection
refuses only the changes (POST, PUT, DELETE...). This refuses the reads too: a cross-site
``<img>``, ``<script>``, ``fetch`` or ``<object>`` aimed at ``/api/`` or ``/images/`` cannot
read the answer, but could learn from its status, size or timing (cross-site leaks), or pull
its bytes into the other site's process (where Spectre-class attacks read memory). Current
browsers withhold the ``SameSite=Lax`` session cookie from such requests; this does not
depend on every browser doing so.

What still passes: requests without the header (scripts, bots with tokens, browsers that
predate it), ``same-origin``, ``same-site`` and ``none`` (an address typed or bookmarked),
and a top-level navigation from another site (a link to an image or to ``/api/me`` opens),
which the user chose and whose answer the other site cannot read. The rule is the
"resource isolation policy" of https://web.dev/articles/fetch-metadata.

The refusal is a routing rule (``routes.py`` puts it first), so it answers before any
handler's work: no XSRF check, no session lookup, no rate limit charged, no upload body read.
"""

from __future__ import annotations

from typing import Any

import tornado.httputil
import tornado.web
from tornado.routing import Matcher

from .base import BaseHandler

ISOLATED_PREFIXES = ("/api/", "/images/")
SITES_ALLOWED = frozenset({"same-origin", "same-site", "none"})
NAVIGATION_METHODS = frozenset({"GET", "HEAD"})
EMBEDDING_DESTINATIONS = frozenset({"object", "embed"})  # plugins: not a navigation the user chose


def refused(request: tornado.httputil.HTTPServerRequest) -> bool:
    """Whether the policy refuses ``request``: it asks for the API or an image, a browser
    says it comes from another site, and it is not a top-level navigation."""
    path = request.path
    if not (path == "/api" or path.startswith(ISOLATED_PREFIXES)):
        return False
    headers = request.headers
    site = headers.get("Sec-Fetch-Site")
    if site is None or site in SITES_ALLOWED:
        return False
    navigation = (
        headers.get("Sec-Fetch-Mode") == "navigate"
        and request.method in NAVIGATION_METHODS
        and headers.get("Sec-Fetch-Dest") not in EMBEDDING_DESTINATIONS
    )
    return not navigation


class CrossSite(Matcher):
    """Matches the requests the policy refuses, whatever their path would route to."""

    def match(self, request: tornado.httputil.HTTPServerRequest) -> dict[str, Any] | None:
        return {} if refused(request) else None


@tornado.web.stream_request_body  # a refused upload's body is never read into memory
class CrossSiteRefusal(BaseHandler):
    """Answers a refused request as Tornado's cross-origin protection answers a cross-site
    change (``403 forbidden``), so that one rule has one answer, for every method."""

    def check_xsrf_cookie(self) -> None:
        """Refused whatever it carries: a missing token is not the reason to give."""

    def prepare(self) -> None:
        raise tornado.web.HTTPError(403, "cross-site %s %s refused (Fetch Metadata)", self.request.method,
                                    self.request.path)
