"""The pages over HTTP: a browser that opens a missing page gets the styled error page,
while the API and every client that does not ask for HTML keep getting the contract's JSON."""

from __future__ import annotations

import pytest

from tornado_chat.web.base import accepts_html

from .support.http import Client

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


async def test_a_browser_opening_a_missing_page_gets_an_html_page(client: Client) -> None:
    r = await client.request("GET", "/no/such/page", headers={"Accept": BROWSER_ACCEPT, "Accept-Language": "en-US"})
    assert r.status == 404
    assert r.headers["Content-Type"].startswith("text/html")
    body = r.body.decode()
    assert body.startswith("<!doctype html>") and "404 Not Found" in body and 'href="/"' in body
    assert "Back to the chat" in body and "<script" not in body
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Frame-Options"] == "DENY" and r.headers["X-Content-Type-Options"] == "nosniff"
    assert "Accept" in r.headers["Vary"]


async def test_the_missing_page_speaks_the_browsers_language(client: Client) -> None:
    r = await client.request("GET", "/nada", headers={"Accept": BROWSER_ACCEPT, "Accept-Language": "pt-BR"})
    assert r.status == 404
    assert "Não encontrado" in r.body.decode() and "Voltar ao chat" in r.body.decode()


@pytest.mark.parametrize("path", ["/api/nothing", "/api/groups/1/nothing", "/api"])
async def test_the_api_keeps_answering_json_for_a_missing_route(client: Client, path: str) -> None:
    r = await client.request("GET", path, headers={"Accept": BROWSER_ACCEPT})
    assert (r.status, r.error_code) == (404, "not_found")
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json == {"error": {"code": "not_found", "message": "no such route"}}


NOT_HTML = [None, "*/*", "application/json", "application/json, text/html;q=0.5", "text/html;q=0"]


@pytest.mark.parametrize("accept", NOT_HTML)
async def test_a_client_that_does_not_ask_for_html_keeps_getting_json(client: Client, accept: str | None) -> None:
    r = await client.request("GET", "/nothing", headers={"Accept": accept} if accept else None)
    assert (r.status, r.error_code) == (404, "not_found")
    assert r.headers["Content-Type"].startswith("application/json")


def test_what_counts_as_asking_for_a_page() -> None:
    assert accepts_html(BROWSER_ACCEPT)
    assert accepts_html("text/html")
    assert accepts_html("application/xhtml+xml, application/json;q=0.9")
    assert not accepts_html("")
    assert not accepts_html("*/*")
    assert not accepts_html("text/html;q=0")
    assert not accepts_html("text/html;q=0.2, application/json")
    assert not accepts_html("text/html;q=nonsense")
