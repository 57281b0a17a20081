"""Messages: send text or an image (each send idempotent by ``client_id``, maybe a reply,
maybe mentioning members), read history, serve an image to those who may see it, and say
someone is typing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from .. import images, wire
from ..mentions import mentioned_names
from ..models import LogEntry, Message, User, timestamp
from ..ratelimit import RateLimits
from ..realtime.notifier import Notifier
from ..store.groups import GroupStore
from ..store.messages import Draft, MessageStore, Stored
from .membership_news import MembershipNews

IMAGE_WORKERS = 2  # decoding is CPU- and memory-hungry: a few at a time, off the event loop


class Messages:
    def __init__(
        self,
        store: MessageStore,
        groups: GroupStore,
        notifier: Notifier,
        memberships: MembershipNews,
        limits: RateLimits,
        on_stored: Callable[[], None],
    ) -> None:
        self._store = store
        self._groups = groups
        self._notifier = notifier
        self._memberships = memberships
        self._limits = limits
        self._on_stored = on_stored  # counted in /metrics
        self._image_executor = ThreadPoolExecutor(IMAGE_WORKERS, thread_name_prefix="images")

    async def history(self, user: User, group_id: int, before: int, limit: int) -> list[Message]:
        """Up to ``limit`` messages before seq ``before``, never from before the member joined."""
        membership = await self._groups.membership(group_id, user.id)
        return await self._store.before(group_id, before, membership.start_seq, limit)

    async def send_text(
        self, user: User, group_id: int, text: str, client_id: str | None, reply_to: int | None = None
    ) -> tuple[Message, bool]:
        self._limits.charge("send", user.id)
        draft = Draft(text=text, reply_to=reply_to, mentioned=tuple(mentioned_names(text)))
        return await self._stored(await self._store.insert(group_id, user, client_id, draft))

    def charge_upload(self, user: User) -> None:
        """Count an upload against its limit before its body (up to 10 MiB) is read."""
        self._limits.charge("upload", user.id)

    async def send_image(
        self, user: User, group_id: int, data: bytes, client_id: str | None, reply_to: int | None = None
    ) -> tuple[Message, bool]:
        """Check membership and retries first (cheap), then decode and re-encode in the
        image executor (ImageRejected when it cannot be stored), then store."""
        await self._groups.membership(group_id, user.id)
        if client_id is not None:
            existing = await self._store.by_client_id(group_id, user.id, client_id)
            if existing is not None:
                return existing, False
        loop = asyncio.get_running_loop()
        processed = await loop.run_in_executor(self._image_executor, images.process, data)
        draft = Draft(image=processed, reply_to=reply_to)
        return await self._stored(await self._store.insert(group_id, user, client_id, draft))

    async def image(self, key: str, viewer: User | None, thumb: bool) -> tuple[str, bytes] | None:
        """An image's content type and bytes; None for anyone who may not see its message."""
        if viewer is None:
            return None
        return await self._store.image(key, viewer.id, thumb)

    async def typing(self, user: User, group_id: int) -> None:
        """Tell the group's other members that ``user`` is typing (members only, rate-limited)."""
        await self._groups.membership(group_id, user.id)
        self._limits.charge("typing", user.id)
        self._notifier.typing(group_id, user)

    async def _stored(self, stored: Stored) -> tuple[Message, bool]:
        """Tell of a stored message: first, when it opens a direct group for the other user,
        their membership (so their polls take the group in), then the message."""
        message = stored.message
        if stored.opened_for is not None:
            await self._memberships.changed(stored.opened_for, message.group_id, joined=True)
        if stored.created:
            self._on_stored()
            event, created = wire.message_event(message), timestamp(message.created_at)
            self._notifier.logged(LogEntry(message.group_id, message.pos, message.seq, event, created))
            self._notifier.read_moved(message.user.id, message.group_id, message.seq, None)  # sending reads
        return message, stored.created
