"""The installable app's two files that must sit at the site's root (issue 16).

``/manifest.webmanifest`` and ``/service-worker.js`` live in ``static/`` like every other
file, but a service worker controls only the pages under the path it is served from, so
``/static/service-worker.js`` could not control ``/``: both are served here, at the root,
with their types. The service worker is revalidated on every load (``no-cache``), so a
new one takes over as soon as it is deployed.
"""

from __future__ import annotations

from typing import Any

from ..config import PROJECT_ROOT
from .static import StaticFile

TYPES = {
    "manifest.webmanifest": "application/manifest+json",
    "service-worker.js": "text/javascript; charset=utf-8",
}


class AppShellFile(StaticFile):
    def initialize(self, services: Any = None) -> None:  # the routes give every handler the services
        super().initialize(path=str(PROJECT_ROOT / "static"))

    def get_content_type(self) -> str:
        return TYPES[self.path]

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Cache-Control", "no-cache")
