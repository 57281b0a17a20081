"""Your own data (GDPR articles 15, 17 and 20): the export of everything a user gave the
service, and closing their account.

The export is a zip made while it is sent: each part is read from MySQL a page (or one image)
at a time and compressed in a worker thread, and what is compressed goes to the client before
the next part is read, so neither the event loop nor memory carries the whole of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from .. import wire
from ..models import User
from ..ratelimit import RateLimits
from ..realtime.notifier import Notifier
from ..store.your_data import YourDataStore
from ..zip_stream import ZipStream
from .accounts import Accounts, BadCredentials
from .changes import Changes
from .groups import Groups

EXPORT_PAGE = 500  # messages read and compressed at a time
EXPORT_WORKERS = 2  # exports compressing at once; more wait their turn
IMAGE_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


class YourData:
    def __init__(
        self,
        store: YourDataStore,
        accounts: Accounts,
        groups: Groups,
        changes: Changes,
        notifier: Notifier,
        limits: RateLimits,
    ) -> None:
        self._store = store
        self._accounts = accounts
        self._groups = groups
        self._changes = changes
        self._notifier = notifier
        self._limits = limits
        self._executor = ThreadPoolExecutor(EXPORT_WORKERS, thread_name_prefix="export")

    def charge_export(self, user: User) -> None:
        """Count an export against its limit before it starts (each reads everything the user has)."""
        self._limits.charge("export", user.id)

    async def export(self, user: User) -> AsyncIterator[bytes]:
        """The zip, in pieces: ``user.json``, ``groups.json``, ``messages.json`` and ``images/``."""
        archive = ZipStream()
        loop = asyncio.get_running_loop()

        async def run(call: object, *args: object) -> bytes:
            await loop.run_in_executor(self._executor, call, *args)  # type: ignore[arg-type]
            return archive.take()

        yield await run(archive.add, "user.json", wire.dumps(wire.user(user)).encode())
        groups = await self._groups.joined(user)
        yield await run(archive.add, "groups.json", wire.dumps([wire.group(g) for g in groups]).encode())
        yield await run(archive.begin, "messages.json")
        after, first = 0, True
        while page := await self._store.messages_sent(user.id, after, EXPORT_PAGE):
            items = ",".join(wire.dumps(wire.message(m)) for m in page)
            yield await run(archive.write, ("[" if first else ",").encode() + items.encode())
            after, first = page[-1].id, False
        yield await run(archive.write, b"[]" if first else b"]")
        yield await run(archive.end)
        for key, content_type in await self._store.image_keys(user.id):
            data = await self._store.image(key)
            if data is not None:  # deleted meanwhile
                name = f"images/{key}.{IMAGE_EXTENSIONS.get(content_type, 'bin')}"
                yield await run(archive.add, name, data, False)
        yield await run(archive.close)

    async def close_account(self, user: User, password: str) -> None:
        """Close the account: the user's messages become tombstones (images erased), every
        membership ends (an owner's group passes on), sessions end, and the name stays taken.
        The account itself closes last, so that a close cut short (a 503) can be asked again with
        the same password; then what was sent meanwhile becomes a tombstone too."""
        if not await self._accounts.password_matches(user, password):
            raise BadCredentials()
        await self._erase_messages(user)
        for group_id in await self._store.group_ids(user.id):
            await self._groups.leave(user, group_id, closing=True)
        for hashed in await self._store.close(user.id):
            self._notifier.session_revoked(hashed)
        await self._erase_messages(user)

    async def _erase_messages(self, user: User) -> None:
        for group_id, seq in await self._store.undeleted_messages(user.id):
            await self._changes.delete(user, group_id, seq, closing=True)
