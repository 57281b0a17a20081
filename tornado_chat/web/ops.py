"""For operators: ``/healthz`` for load balancers, ``/metrics`` for Prometheus."""

from __future__ import annotations

from http import HTTPStatus

from ..metrics import CONTENT_TYPE
from .base import BaseHandler


class HealthHandler(BaseHandler):
    async def get(self) -> None:
        if await self.services.database_answers():
            self.answer({"status": "ok"})
        else:
            self.answer({"status": "unavailable"}, HTTPStatus.SERVICE_UNAVAILABLE)


class MetricsHandler(BaseHandler):
    def get(self) -> None:
        self.set_header("Content-Type", CONTENT_TYPE)
        self.finish(self.services.metrics.render())
