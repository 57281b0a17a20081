"""Static files: Tornado's rules for ``/static/``, ``/favicon.ico`` and ``/robots.txt``
(``static_handler_class``) and, through app_shell.py, the manifest and the service worker."""

from __future__ import annotations

import tornado.web


class StaticFile(tornado.web.StaticFileHandler):
    def set_default_headers(self) -> None:
        """``nosniff`` on every answer, errors included: a browser takes a file as the type
        it is served with and never guesses, so no file is ever run as a script or shown as
        a page because its bytes look like one."""
        self.set_header("X-Content-Type-Options", "nosniff")
