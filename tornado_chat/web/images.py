"""Images: uploads to a group (``.../images``) and the bytes (``/images/{key}[/thumb]``)."""

from __future__ import annotations

from http import HTTPStatus

import tornado.httputil
import tornado.web

from .. import images, validation, wire
from .base import APIError, BaseHandler

MAX_UPLOAD_BODY = images.MAX_BYTES + 64 * 1024  # the image and its multipart wrapping
# Tornado's own body limit sits this far above ours, so that ours answers first, with a 413.
TORNADO_LIMIT_MARGIN = 1024 * 1024
IMAGE_CACHE_CONTROL = "private, max-age=31536000, immutable"  # a key never names other bytes
IMAGE_CSP = "default-src 'none'; img-src 'self'; sandbox"


@tornado.web.stream_request_body
class ImagesHandler(BaseHandler):
    """Image uploads, streamed: a body past the limit is refused with 413 as soon as
    its declared or received size says so, never buffered whole."""

    _body: bytearray | None = None

    def check_xsrf_cookie(self) -> None:
        """Deferred to ``post``: the token may come as a form field, inside the body."""

    async def prepare(self) -> None:
        await super().prepare()
        user = self.require_user()
        self.services.messages.charge_upload(user)  # before the body, which may be 10 MiB
        declared = self.request.headers.get("Content-Length", "")
        declared_size = int(declared) if declared.isdigit() else 0
        self.request.connection.set_max_body_size(max(declared_size, MAX_UPLOAD_BODY) + TORNADO_LIMIT_MARGIN)
        if declared_size > MAX_UPLOAD_BODY:
            raise APIError(413, "image_too_large", "an image may have at most 10 MiB")
        self._body = bytearray()

    def data_received(self, chunk: bytes) -> None:
        if self._body is None:
            return
        self._body += chunk
        if len(self._body) > MAX_UPLOAD_BODY:
            self._body = None  # Tornado diverts the rest and closes the connection after this answer
            self.error_answer(413, "image_too_large", "an image may have at most 10 MiB")

    async def post(self, raw_id: str) -> None:
        user = self.require_user()
        group_id = self.group_id(raw_id)
        fields, files = self._multipart()
        super().check_xsrf_cookie()
        if not files.get("image"):
            raise APIError(400, "invalid_image_field", "send the image as the multipart file field 'image'")
        raw_client_id = fields.get("client_id", [None])[0]
        try:
            client_id = validation.client_id(raw_client_id.decode("utf-8") if raw_client_id is not None else None)
        except UnicodeDecodeError as exc:
            raise APIError(400, "invalid_client_id", "client_id must be UTF-8 text") from exc
        reply_to = validation.reply_to_field(fields.get("reply_to", [None])[0])
        try:
            message, created = await self.services.messages.send_image(
                user, group_id, files["image"][0].body, client_id, reply_to
            )
        except images.ImageRejected as exc:
            raise APIError(exc.status, exc.code, str(exc)) from exc
        self.answer({"message": wire.message(message)}, HTTPStatus.CREATED if created else HTTPStatus.OK)

    def _multipart(self) -> tuple[dict[str, list[bytes]], dict[str, list[tornado.httputil.HTTPFile]]]:
        """The body's fields and files; the fields also become body arguments, where the
        XSRF check looks for a ``_xsrf`` form field."""
        fields: dict[str, list[bytes]] = {}
        files: dict[str, list[tornado.httputil.HTTPFile]] = {}
        try:
            tornado.httputil.parse_body_arguments(
                self.request.headers.get("Content-Type", ""), bytes(self._body or b""), fields, files
            )
        except tornado.httputil.HTTPInputError as exc:
            raise APIError(400, "invalid_multipart", "send a multipart/form-data body") from exc
        for name, values in fields.items():
            self.request.body_arguments.setdefault(name, []).extend(values)
            self.request.arguments.setdefault(name, []).extend(values)
        return fields, files


class ImageHandler(BaseHandler):
    """An image's bytes, only to those who may see its message; anyone else, signed
    in or not, gets the same 404, so a key tells a stranger nothing."""

    async def get(self, key: str, thumb: str | None) -> None:
        found = await self.services.messages.image(key, self.current_user, thumb=bool(thumb))
        if found is None:
            raise APIError(404, "image_not_found", "no such image")
        content_type, data = found
        self.set_header("Content-Type", content_type)
        self.set_header("Cache-Control", IMAGE_CACHE_CONTROL)
        self.set_header("Content-Security-Policy", IMAGE_CSP)
        # Kept a year by the browser: a copy stored for the chat's page must not answer another
        # site's <img> later (browsers without a cache partitioned by site would), which the
        # Fetch Metadata policy refuses (fetch_metadata.py). The API's answers are never stored.
        self.set_header("Vary", "Sec-Fetch-Site")
        self.set_etag_header()
        if self.check_etag_header():
            self.set_status(304)
            return
        self.finish(data)

    def compute_etag(self) -> str | None:
        key, thumb = self.path_args
        return f'"{key}{"-thumb" if thumb else ""}"'
