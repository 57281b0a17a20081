"""Talking to the application as its clients do: over real HTTP, by the contract.

``Client`` sends requests (with a cookie jar like a browser's when asked) and has the
steps most tests begin with (register, create a group, join, send, poll); ``unique``
names keep tests that share a database out of each other's way.
"""

from __future__ import annotations

import json
import socket
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

PASSWORD = "correct horse battery"


def unique(prefix: str) -> str:
    """A name no other test uses: tests share one database and never clean up."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def free_port() -> int:
    """A port free at this moment, for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(count: int) -> list[int]:
    """``count`` ports free at this moment, none twice (a closed probe's port may come again)."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


@dataclass
class Response:
    status: int
    headers: Any
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def error_code(self) -> str | None:
        data = self.json
        return data["error"]["code"] if isinstance(data, dict) and "error" in data else None


@dataclass
class Account:
    id: int
    username: str
    password: str
    token: str

    @property
    def user(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username}


@dataclass
class Client:
    """An HTTP client speaking the contract. With ``cookies`` it keeps a cookie jar like a browser."""

    base_url: str
    http: AsyncHTTPClient
    cookies: dict[str, str] | None = None
    default_headers: dict[str, str] = field(default_factory=dict)

    async def request(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | str | None = None,
        timeout: float = 30.0,
    ) -> Response:
        all_headers = dict(self.default_headers)
        if json_body is not None:
            body = json.dumps(json_body)
            all_headers["Content-Type"] = "application/json"
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        all_headers.update(headers or {})
        if body is None and method in ("POST", "PUT"):
            body = b""
        response = await self.http.fetch(
            HTTPRequest(
                self.base_url + path, method=method, headers=all_headers, body=body,
                request_timeout=timeout, allow_nonstandard_methods=True, follow_redirects=False,
            ),
            raise_error=False,
        )
        if self.cookies is not None:
            for header in response.headers.get_list("Set-Cookie"):
                jar: SimpleCookie = SimpleCookie()
                jar.load(header)
                for name, morsel in jar.items():
                    if morsel.value and morsel["expires"] != "Thu, 01 Jan 1970 00:00:00 GMT":
                        self.cookies[name] = morsel.value
                    else:
                        self.cookies.pop(name, None)
        if response.code == 599:
            raise response.error or RuntimeError("request failed")
        return Response(response.code, response.headers, response.body or b"")

    async def register(self, prefix: str = "user", password: str = PASSWORD) -> Account:
        username = unique(prefix)[:32]
        r = await self.request("POST", "/api/users", {"username": username, "password": password})
        assert r.status == 201, r.body
        return Account(r.json["user"]["id"], username, password, r.json["token"])

    async def create_group(self, owner: Account, prefix: str = "group") -> dict[str, Any]:
        r = await self.request("POST", "/api/groups", {"name": unique(prefix)}, token=owner.token)
        assert r.status == 201, r.body
        return r.json["group"]

    async def join(self, account: Account, group_id: int) -> None:
        r = await self.request("PUT", f"/api/groups/{group_id}/membership", token=account.token)
        assert r.status == 200, r.body

    async def send(self, account: Account, group_id: int, text: str, client_id: str | None = None) -> Response:
        payload: dict[str, Any] = {"text": text}
        if client_id is not None:
            payload["client_id"] = client_id
        return await self.request("POST", f"/api/groups/{group_id}/messages", payload, token=account.token)

    async def poll(self, account: Account, cursor: str | None = None, timeout: float = 10) -> Response:
        path = "/api/events" if cursor is None else f"/api/events?cursor={cursor}&timeout={timeout}"
        return await self.request("GET", path, token=account.token, timeout=timeout + 10)

    async def cursor(self, account: Account) -> str:
        r = await self.poll(account)
        assert r.status == 200, r.body
        return r.json["cursor"]


async def person(client: Client, name: str) -> Account:
    """``name`` and a few digits: distinct prefixes, so that typing a name's start finds one person."""
    username = f"{name}{uuid.uuid4().int % 10**6:06d}"
    r = await client.request("POST", "/api/users", {"username": username, "password": PASSWORD})
    assert r.status == 201, r.body
    return Account(r.json["user"]["id"], username, PASSWORD, r.json["token"])


async def call(client: Client, account: Account, method: str, path: str, body: Any = None) -> Any:
    r = await client.request(method, path, body, token=account.token)
    assert r.status in (200, 201, 204), (method, path, r.status, r.body)
    return r.json if r.status != 204 else None
