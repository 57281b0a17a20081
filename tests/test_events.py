"""The long poll: cursors, delivery guarantees, membership, typing and presence events."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from typing import Any

import pytest

from tornado_chat.models import User
from tornado_chat.realtime.cursor import Cursor
from tornado_chat.realtime.hub import WAKE_INTERVAL_MAX

from .support.database import StatementCounter, connect, query
from .support.http import Account, Client
from .support.servers import Server, StartServer

Event = dict[str, Any]


async def collect(
    client: Client, account: Account, cursor: str, done: Callable[[list[Event]], bool], limit: float = 10.0
) -> tuple[list[Event], str]:
    """Poll from ``cursor`` until ``done(events so far)`` or ``limit`` seconds pass."""
    events: list[Event] = []
    deadline = time.monotonic() + limit
    while not done(events) and time.monotonic() < deadline:
        r = await client.poll(account, cursor, timeout=max(0.1, min(5.0, deadline - time.monotonic())))
        assert r.status == 200, r.body
        events += r.json["events"]
        cursor = r.json["cursor"]
    return events, cursor


async def quiet_cursor(client: Client, account: Account, settle: float = 0.4) -> str:
    """A cursor past the presence news of the account's own arrival."""
    _, cursor = await collect(client, account, await client.cursor(account), lambda ev: False, limit=settle)
    return cursor


def messages(events: list[Event], group_id: int | None = None) -> list[Event]:
    return [e["message"] for e in events if e["type"] == "message" and group_id in (None, e["message"]["group_id"])]


def of_type(events: list[Event], kind: str, group_id: int | None = None) -> list[Event]:
    return [e for e in events if e["type"] == kind and group_id in (None, e.get("group_id"))]


async def members(client: Client, count: int) -> tuple[list[Account], dict[str, Any]]:
    accounts = [await client.register() for _ in range(count)]
    group = await client.create_group(accounts[0])
    for account in accounts[1:]:
        await client.join(account, group["id"])
    return accounts, group


async def test_a_cursorless_poll_answers_at_once_with_a_cursor_and_a_presence_snapshot_per_group(
    client: Client,
) -> None:
    (ana, bob), first = await members(client, 2)
    second = await client.create_group(bob)
    r = await client.request("GET", "/api/events?timeout=60", token=bob.token)
    assert r.status == 200
    assert isinstance(r.json["cursor"], str) and r.json["cursor"]
    snapshots = r.json["events"]
    assert sorted(e["group_id"] for e in snapshots) == sorted([first["id"], second["id"]])
    assert all(e["type"] == "presence" and isinstance(e["online"], list) for e in snapshots)


async def test_a_waiting_poll_receives_another_users_message(client: Client) -> None:
    (ana, bob), group = await members(client, 2)
    cursor = await client.cursor(bob)
    waiting = asyncio.create_task(collect(client, bob, cursor, lambda ev: bool(messages(ev))))
    await asyncio.sleep(0.1)
    sent = await client.send(ana, group["id"], "hello bob")
    events, _ = await waiting
    assert messages(events) == [sent.json["message"]]


async def test_the_senders_own_messages_are_included(client: Client) -> None:
    (ana,), group = await members(client, 1)
    cursor = await client.cursor(ana)
    sent = await client.send(ana, group["id"], "note to self")
    events, _ = await collect(client, ana, cursor, lambda ev: bool(messages(ev)))
    assert messages(events) == [sent.json["message"]]


async def test_a_poll_with_nothing_new_ends_after_its_timeout_with_no_events(client: Client) -> None:
    (ana,), _ = await members(client, 1)
    cursor = await quiet_cursor(client, ana)
    started = time.monotonic()
    r = await client.poll(ana, cursor, timeout=1)
    assert time.monotonic() - started >= 0.9
    assert r.status == 200
    assert r.json["events"] == []
    assert isinstance(r.json["cursor"], str)


@pytest.mark.parametrize("timeout", ["-1", "61", "abc", "nan", "inf", ""])
async def test_the_timeout_must_be_0_to_60_seconds(client: Client, timeout: str) -> None:
    ana = await client.register()
    cursor = await client.cursor(ana)
    r = await client.request("GET", f"/api/events?cursor={cursor}&timeout={timeout}", token=ana.token)
    assert (r.status, r.error_code) == (400, "invalid_timeout")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        base64.urlsafe_b64encode(b'[1, "e", -1, []]').decode(),
        base64.urlsafe_b64encode(b'[1, "e", 0, [[1, 1, "x"]]]').decode(),
        base64.urlsafe_b64encode(b'[1, "e", 0, [[99999999999999999999, 1, 1]]]').decode(),
        base64.urlsafe_b64encode(b'[2, "e", 0, []]').decode(),
        "c1.zz.1.",
        "c1.ab.1.1-1-1",
        "c1.ab.1.1-1-1-1_",
        "c1.ab.1.0-1-1-1",
        "c1.ab.1.1-0-1-1",
        "c1.ab.1.1-1-1-4294967296",
        "c1.ab.99999999999999999999.",
        "c1.ab.1.9999999999999999999-1-1-1",
        "c1.ab.1.1-1-1-1.",
        "c2.ab.1.",
        "A" * 40_000,
    ],
)
async def test_a_malformed_cursor_gets_400_invalid_cursor(client: Client, cursor: str) -> None:
    ana = await client.register()
    r = await client.request("GET", f"/api/events?cursor={cursor}&timeout=0", token=ana.token)
    assert (r.status, r.error_code) == (400, "invalid_cursor")


async def test_replaying_a_cursor_returns_the_same_messages(client: Client) -> None:
    (ana, bob), group = await members(client, 2)
    cursor = await client.cursor(bob)
    for i in range(3):
        await client.send(ana, group["id"], f"m{i}")
    first, _ = await collect(client, bob, cursor, lambda ev: len(messages(ev)) >= 3)
    again, _ = await collect(client, bob, cursor, lambda ev: len(messages(ev)) >= 3)
    assert [m["id"] for m in messages(first)] == [m["id"] for m in messages(again)]
    assert len(messages(first)) == 3


async def test_concurrent_senders_reach_every_listener_exactly_once_in_seq_order(client: Client) -> None:
    accounts, group = await members(client, 6)
    senders, listeners = accounts[:3], accounts[3:]
    per_sender = 15
    total = per_sender * len(senders)
    cursors = [await client.cursor(listener) for listener in listeners]
    listening = [
        asyncio.create_task(collect(client, who, cursor, lambda ev: len(messages(ev)) >= total, limit=30))
        for who, cursor in zip(listeners, cursors, strict=True)
    ]

    async def send_all(sender: Account) -> None:
        for i in range(per_sender):
            assert (await client.send(sender, group["id"], f"{sender.username} {i}")).status == 201

    await asyncio.gather(*(send_all(s) for s in senders))
    for task in listening:
        received = messages((await task)[0])
        assert [m["seq"] for m in received] == list(range(1, total + 1))
        assert len({m["id"] for m in received}) == total


async def test_a_listener_that_pauses_resumes_from_its_last_cursor_and_misses_nothing(client: Client) -> None:
    (ana, bob), group = await members(client, 2)
    cursor = await client.cursor(bob)
    await client.send(ana, group["id"], "before the pause")
    events, cursor = await collect(client, bob, cursor, lambda ev: bool(messages(ev)))
    assert len(messages(events)) == 1
    for i in range(300):  # more than the hub keeps in memory and than one answer carries
        await client.send(ana, group["id"], f"while away {i}")
    events, _ = await collect(client, bob, cursor, lambda ev: len(messages(ev)) >= 300, limit=30)
    assert [m["text"] for m in messages(events)] == [f"while away {i}" for i in range(300)]
    assert [m["seq"] for m in messages(events)] == list(range(2, 302))


async def test_a_member_who_joined_later_never_sees_earlier_messages(client: Client) -> None:
    (ana,), group = await members(client, 1)
    for i in range(3):
        await client.send(ana, group["id"], f"early {i}")
    carol = await client.register()
    stale_cursor = await client.cursor(carol)  # taken before carol joined
    await client.join(carol, group["id"])
    late = await client.send(ana, group["id"], "late")
    events, _ = await collect(client, carol, stale_cursor, lambda ev: bool(messages(ev)))
    assert [m["text"] for m in messages(events)] == ["late"]
    assert messages(events)[0]["seq"] == late.json["message"]["seq"] == 4
    history = await client.request("GET", f"/api/groups/{group['id']}/messages", token=carol.token)
    assert [m["text"] for m in history.json["messages"]] == ["late"]


async def test_joining_wakes_the_poll_with_a_membership_event_and_the_stream_follows(client: Client) -> None:
    (ana,), group = await members(client, 1)
    bob = await client.register()
    cursor = await client.cursor(bob)
    waiting = asyncio.create_task(collect(client, bob, cursor, lambda ev: bool(of_type(ev, "membership"))))
    await asyncio.sleep(0.1)
    await client.join(bob, group["id"])
    events, cursor = await waiting
    (joined,) = of_type(events, "membership")
    assert joined["joined"] is True and joined["group_id"] == group["id"]
    assert joined["group"]["id"] == group["id"] and joined["group"]["joined"] is True
    assert of_type(events, "presence", group["id"])[0]["online"] is not None  # a snapshot for the new group
    await client.send(ana, group["id"], "welcome")
    events, _ = await collect(client, bob, cursor, lambda ev: bool(messages(ev)))
    assert [m["text"] for m in messages(events)] == ["welcome"]


async def test_leaving_wakes_the_poll_with_a_membership_event_and_the_stream_stops(client: Client) -> None:
    (ana, bob), group = await members(client, 2)
    other = await client.create_group(bob)
    cursor = await client.cursor(bob)
    waiting = asyncio.create_task(collect(client, bob, cursor, lambda ev: bool(of_type(ev, "membership"))))
    await asyncio.sleep(0.1)
    assert (await client.request("DELETE", f"/api/groups/{group['id']}/membership", token=bob.token)).status == 204
    events, cursor = await waiting
    (left,) = of_type(events, "membership")
    assert (left["group_id"], left["joined"]) == (group["id"], False)
    await client.send(ana, group["id"], "bob is gone")
    await client.send(bob, other["id"], "still here")
    events, _ = await collect(client, bob, cursor, lambda ev: bool(messages(ev)))
    assert [m["text"] for m in messages(events)] == ["still here"]


async def test_leaving_and_joining_again_between_polls_restarts_from_the_new_join(client: Client) -> None:
    (ana, bob), group = await members(client, 2)
    cursor = await client.cursor(bob)
    await client.request("DELETE", f"/api/groups/{group['id']}/membership", token=bob.token)
    await client.send(ana, group["id"], "while bob was away")
    await client.join(bob, group["id"])
    await client.send(ana, group["id"], "after bob came back")
    events, _ = await collect(client, bob, cursor, lambda ev: bool(messages(ev)))
    assert [m["text"] for m in messages(events)] == ["after bob came back"]
    assert [e["joined"] for e in of_type(events, "membership")] == [True]


async def test_a_join_reaches_the_members_who_are_watching_as_a_member_event(client: Client) -> None:
    (ana,), group = await members(client, 1)
    bob = await client.register()
    cursor = await quiet_cursor(client, ana)
    waiting = asyncio.create_task(collect(client, ana, cursor, lambda ev: bool(of_type(ev, "member"))))
    await asyncio.sleep(0.1)
    await client.join(bob, group["id"])
    events, _ = await waiting
    assert of_type(events, "member") == [{"type": "member", "group_id": group["id"], "user": bob.user, "joined": True}]


async def test_a_leave_reaches_the_members_who_are_watching_but_not_the_one_who_left(client: Client) -> None:
    (ana, bob), group = await members(client, 2)
    ana_cursor, bob_cursor = await quiet_cursor(client, ana), await quiet_cursor(client, bob)
    waiting = asyncio.create_task(collect(client, ana, ana_cursor, lambda ev: bool(of_type(ev, "member"))))
    await asyncio.sleep(0.1)
    assert (await client.request("DELETE", f"/api/groups/{group['id']}/membership", token=bob.token)).status == 204
    events, _ = await waiting
    assert of_type(events, "member") == [{"type": "member", "group_id": group["id"], "user": bob.user, "joined": False}]
    bob_events, _ = await collect(client, bob, bob_cursor, lambda ev: False, limit=0.5)
    assert of_type(bob_events, "member") == []


async def test_a_joiner_hears_of_no_join_of_their_own(client: Client) -> None:
    (ana,), group = await members(client, 1)
    bob = await client.register()
    cursor = await quiet_cursor(client, bob)
    await client.join(bob, group["id"])
    events, _ = await collect(client, bob, cursor, lambda ev: False, limit=0.5)
    assert of_type(events, "membership") and of_type(events, "member") == []


async def test_typing_reaches_the_other_members_but_not_the_typist(client: Client) -> None:
    (ana, bob), group = await members(client, 2)
    ana_cursor, bob_cursor = await client.cursor(ana), await client.cursor(bob)
    bob_waiting = asyncio.create_task(collect(client, bob, bob_cursor, lambda ev: bool(of_type(ev, "typing"))))
    await asyncio.sleep(0.1)
    assert (await client.request("POST", f"/api/groups/{group['id']}/typing", token=ana.token)).status == 204
    events, _ = await bob_waiting
    assert of_type(events, "typing") == [{"type": "typing", "group_id": group["id"], "user": ana.user}]
    ana_events, _ = await collect(client, ana, ana_cursor, lambda ev: False, limit=0.5)
    assert of_type(ana_events, "typing") == []


async def test_a_member_coming_online_reaches_the_others_as_a_presence_change(client: Client) -> None:
    (ana, bob), group = await members(client, 2)
    cursor = await client.cursor(bob)

    def ana_came(events: list[Event]) -> bool:
        return any(ana.user in e.get("came", []) for e in of_type(events, "presence", group["id"]))

    waiting = asyncio.create_task(collect(client, bob, cursor, ana_came))
    await asyncio.sleep(0.1)
    await client.cursor(ana)  # ana's first events request: she is online
    events, _ = await waiting
    assert ana_came(events)
    online = await client.request("GET", f"/api/groups/{group['id']}/online", token=bob.token)
    assert ana.user in online.json["users"]


async def test_a_member_silent_past_the_timeout_goes_offline_as_a_presence_change(start_server: StartServer) -> None:
    server = await start_server(presence_timeout=1.0, presence_sweep_interval=0.2, presence_refresh_interval=0.3)
    client = server.client()
    (ana, bob), group = await members(client, 2)
    await client.cursor(ana)
    cursor = await client.cursor(bob)

    def ana_went(events: list[Event]) -> bool:
        return any(ana.user in e.get("went", []) for e in of_type(events, "presence", group["id"]))

    events, _ = await collect(client, bob, cursor, ana_went, limit=15)
    assert ana_went(events)
    online = await client.request("GET", f"/api/groups/{group['id']}/online", token=bob.token)
    assert ana.user not in online.json["users"] and bob.user in online.json["users"]


async def test_a_member_with_an_open_poll_stays_online_past_the_timeout(start_server: StartServer) -> None:
    server = await start_server(presence_timeout=1.0, presence_sweep_interval=0.2, presence_refresh_interval=0.3)
    client = server.client()
    (ana, bob), group = await members(client, 2)
    polling = asyncio.create_task(collect(client, ana, await client.cursor(ana), lambda ev: False, limit=3))
    await asyncio.sleep(2.5)
    online = await client.request("GET", f"/api/groups/{group['id']}/online", token=bob.token)
    assert ana.user in online.json["users"]
    await polling


async def test_a_crowd_arriving_at_once_costs_a_couple_of_presence_events(start_server: StartServer) -> None:
    server = await start_server(presence_change_interval=1.0)
    client = server.client()
    accounts, group = await members(client, 31)
    bob, crowd = accounts[0], accounts[1:]
    cursor = await client.cursor(bob)
    _, cursor = await collect(client, bob, cursor, lambda ev: False, limit=1.5)  # bob's own arrival settles

    def everyone_came(events: list[Event]) -> bool:
        came = {u["id"] for e in of_type(events, "presence", group["id"]) for u in e.get("came", [])}
        return came >= {a.id for a in crowd}

    waiting = asyncio.create_task(collect(client, bob, cursor, everyone_came))
    await asyncio.sleep(0.1)
    await asyncio.gather(*(client.cursor(a) for a in crowd))
    events, _ = await waiting
    assert everyone_came(events)
    assert 1 <= len(of_type(events, "presence", group["id"])) <= 2


async def test_a_cursor_moved_to_another_process_loses_nothing_and_waits_while_its_online_list_is_current(
    start_server: StartServer,
) -> None:
    first, second = await start_server(), await start_server()
    one, two = first.client(), second.client()
    (ana, bob), group = await members(one, 2)
    cursor = await quiet_cursor(one, bob)
    for i in range(3):
        await one.send(ana, group["id"], f"m{i}")
    events, cursor = await collect(two, bob, cursor, lambda ev: len(messages(ev)) >= 3)
    assert [m["text"] for m in messages(events)] == ["m0", "m1", "m2"]
    assert of_type(events, "presence") == []  # the other process sees the same online list
    started = time.monotonic()
    back = await one.poll(bob, cursor, timeout=1)
    assert back.json["events"] == [] and time.monotonic() - started >= 0.9


async def test_a_cursor_moved_to_another_process_gets_a_snapshot_where_its_online_list_differs(
    start_server: StartServer,
) -> None:
    first = await start_server()
    one = first.client()
    (ana, bob), group = await members(one, 2)
    cursor = await quiet_cursor(one, bob)  # bob's list: only bob
    await one.cursor(ana)  # ana comes online after the cursor was taken
    await asyncio.sleep(0.3)
    restarted = (await start_server()).client()  # a process that knows only what MySQL says
    events, _ = await collect(restarted, bob, cursor, lambda ev: bool(of_type(ev, "presence")))
    (snapshot,) = of_type(events, "presence", group["id"])
    assert {u["id"] for u in snapshot["online"]} == {ana.id, bob.id}


async def test_a_disconnected_poll_leaves_no_waiter_behind(server: Server) -> None:
    client = server.client()
    (ana,), _ = await members(client, 1)
    cursor = await quiet_cursor(client, ana)
    hub, presence = server.app.parts.hub, server.app.services.presence
    with pytest.raises(Exception):  # noqa: B017 - the client gives up: any timeout error will do
        await client.request("GET", f"/api/events?cursor={cursor}&timeout=30", token=ana.token, timeout=0.5)
    for _ in range(100):
        if hub.waiter_count == 0 and presence.open_polls == 0:
            break
        await asyncio.sleep(0.05)
    assert hub.waiter_count == 0
    assert presence.open_polls == 0


async def test_a_client_gone_while_its_poll_awaits_the_database_leaves_no_waiter(server: Server) -> None:
    client = server.client()
    (ana,), _ = await members(client, 1)
    cursor = Cursor.decode(await client.cursor(ana))
    hub = server.app.parts.hub
    poll = server.app.services.events.poll(User(ana.id, ana.username), cursor)
    running = asyncio.create_task(poll.run(30))
    await asyncio.sleep(0)  # the poll is now awaiting its membership query
    poll.cancel()
    assert await running is None
    assert hub.waiter_count == 0


async def test_a_client_gone_before_its_poll_began_leaves_no_waiter(server: Server) -> None:
    """The connection closes while the request awaits its session's look-up (held here by a
    table lock): there is no poll yet for on_connection_close to cancel, so the poll must see
    the closed connection itself instead of parking until its timeout."""
    client = server.client()
    (ana,), _ = await members(client, 1)
    signed_in = await client.request("POST", "/api/session", {"username": ana.username, "password": ana.password})
    fresh_token = signed_in.json["token"]  # not in the session cache: the poll must read it from MySQL
    cursor = await quiet_cursor(client, ana)  # nothing new after it: a poll with it parks
    hub, presence, answered = server.app.parts.hub, server.app.services.presence, server.app.services.metrics.requests
    polls_ended = answered.get(("EventsHandler", "GET", 200), 0)
    locker = connect(server.settings.database)
    try:
        with locker.cursor() as cur:
            cur.execute("LOCK TABLES sessions WRITE")
        port = int(server.base_url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET /api/events?cursor={cursor}&timeout=30 HTTP/1.1\r\nHost: x\r\n"
                     f"Authorization: Bearer {fresh_token}\r\n\r\n".encode())
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(0.3)  # the server notices the close while the look-up waits for the lock
    finally:
        with locker.cursor() as cur:
            cur.execute("UNLOCK TABLES")
        locker.close()
    for _ in range(100):  # until the request is over: at once, not at its timeout
        if answered.get(("EventsHandler", "GET", 200), 0) > polls_ended:
            break
        await asyncio.sleep(0.05)
    assert answered.get(("EventsHandler", "GET", 200), 0) == polls_ended + 1
    assert (hub.waiter_count, presence.open_polls) == (0, 0)


async def test_waking_many_waiters_costs_no_database_query_per_waiter(start_server: StartServer) -> None:
    server = await start_server(
        presence_sweep_interval=3600, presence_refresh_interval=3600, presence_change_interval=0.05
    )
    client = server.client()
    accounts, group = await members(client, 31)
    sender, listeners = accounts[0], accounts[1:]
    cursors = list(await asyncio.gather(*(client.cursor(a) for a in listeners)))
    await asyncio.sleep(0.3)  # everyone's arrival is written and announced
    cursors = [(await client.poll(a, c, timeout=0)).json["cursor"] for a, c in zip(listeners, cursors, strict=True)]

    def statements() -> int:
        return int(query(server.settings.database, "SHOW GLOBAL STATUS LIKE 'Questions'")[0][1])

    async def statements_to_send(text: str, waiting: list[asyncio.Task[Any]]) -> tuple[int, list[Any]]:
        before = statements()
        assert (await client.send(sender, group["id"], text)).status == 201
        answers = await asyncio.gather(*waiting)
        return statements() - before, answers

    alone, _ = await statements_to_send("nobody waits for this one", [])
    cursors = [(await client.poll(a, c, timeout=0)).json["cursor"] for a, c in zip(listeners, cursors, strict=True)]
    waiting = [asyncio.create_task(client.poll(a, c, timeout=20)) for a, c in zip(listeners, cursors, strict=True)]
    await server.parked(len(listeners))
    with_waiters, answers = await statements_to_send("to everyone", waiting)
    assert [m["text"] for a in answers for m in messages(a.json["events"])] == ["to everyone"] * len(listeners)
    assert with_waiters <= alone + 1, f"{with_waiters} statements with {len(listeners)} waiters, {alone} alone"


async def test_news_after_a_quiet_spell_wakes_the_waiters_at_once(server: Server) -> None:
    client = server.client()
    (ana, bob), group = await members(client, 2)
    hub = server.app.parts.hub
    waiter = hub.park(ana.id, [group["id"]])
    await asyncio.sleep(2 * WAKE_INTERVAL_MAX)  # whatever the set-up woke is past
    hub.typing(group["id"], User(bob.id, bob.username))
    assert await waiter.wait(0), "the first news after a quiet spell should not wait"
    hub.discard(waiter)


async def test_news_right_after_a_wake_up_round_waits_for_the_next_round(server: Server) -> None:
    client = server.client()
    (ana, bob), group = await members(client, 2)
    hub, typist = server.app.parts.hub, User(bob.id, bob.username)
    first = hub.park(ana.id, [group["id"]])
    await asyncio.sleep(2 * WAKE_INTERVAL_MAX)
    hub.typing(group["id"], typist)
    assert await first.wait(0)
    second = hub.park(ana.id, [group["id"]])
    hub.typing(group["id"], typist)
    assert not await second.wait(0), "news right after a round should join the next round"
    assert await second.wait(10 * WAKE_INTERVAL_MAX), "the next round should come within the interval"
    hub.discard(first)
    hub.discard(second)


async def test_presence_is_written_in_batches_not_once_per_poll(start_server: StartServer) -> None:
    server = await start_server(presence_sweep_interval=3600, presence_refresh_interval=3600)
    client = server.client()
    accounts, _ = await members(client, 20)

    def inserts() -> int:
        return int(query(server.settings.database, "SHOW GLOBAL STATUS LIKE 'Com_insert'")[0][1])

    before = inserts()
    cursors = await asyncio.gather(*(client.cursor(a) for a in accounts))
    await asyncio.gather(*(client.poll(a, c, timeout=0) for a, c in zip(accounts, cursors, strict=True)))
    await asyncio.sleep(0.3)
    assert inserts() - before <= 2, "20 users' presence should take one or two batched writes"
    online = query(server.settings.database, "SELECT COUNT(*) FROM presence WHERE user_id IN ("
                   + ",".join(str(a.id) for a in accounts) + ")")[0][0]
    assert online == 20


async def test_a_re_poll_costs_no_database_statement(start_server: StartServer) -> None:
    server = await start_server(presence_sweep_interval=3600, presence_refresh_interval=3600)
    client = server.client()
    (ana, bob), group = await members(client, 2)
    cursor = await quiet_cursor(client, bob)
    cursor = (await client.poll(bob, cursor, timeout=0)).json["cursor"]  # the session and memberships are known now
    statements = StatementCounter(server.settings.database)
    before = statements()
    for _ in range(5):
        cursor = (await client.poll(bob, cursor, timeout=0)).json["cursor"]
    assert statements.since(before) == 0, "five re-polls should not touch MySQL"
    statements.close()


async def test_a_signed_out_session_can_no_longer_poll(client: Client) -> None:
    (ana,), _ = await members(client, 1)
    cursor = await client.cursor(ana)
    assert (await client.poll(ana, cursor, timeout=0)).status == 200  # the poll's session is cached
    assert (await client.request("DELETE", "/api/session", token=ana.token)).status == 204
    r = await client.poll(ana, cursor, timeout=0)
    assert (r.status, r.error_code) == (401, "not_authenticated")
