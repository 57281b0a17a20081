"""docs/openapi.yaml describes the whole API: it is a valid OpenAPI 3.1 document, every path
it names is a route of the application, every route of the application is one of its
paths, and each path's operations are exactly the methods its handler implements."""

from __future__ import annotations

import re
from typing import Any

import pytest
import tornado.web
import yaml
from openapi_spec_validator import validate
from tornado.routing import PathMatches, Rule

from tornado_chat.config import PROJECT_ROOT

from .support.servers import Server

SPEC_PATH = PROJECT_ROOT / "docs" / "openapi.yaml"
HTTP_METHODS = {"get", "head", "post", "put", "patch", "delete", "options", "trace"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text())


def routes(server: Server) -> list[Rule]:
    """Every rule of the application, in the order Tornado tries them (static files included)."""
    return [rule for rule in server.app.wildcard_router.rules if isinstance(rule.matcher, PathMatches)]


def example_url(spec: dict[str, Any], path: str) -> str:
    """The path with each parameter replaced by its example, as a client would call it."""
    item = spec["paths"][path]
    parameters = {}
    for parameter in item.get("parameters", []):
        if "$ref" in parameter:
            parameter = spec["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
        parameters[parameter["name"]] = str(parameter["example"])
    return re.sub(r"\{(\w+)\}", lambda m: parameters[m.group(1)], path)


def routed(server: Server, url: str) -> Rule | None:
    return next((rule for rule in routes(server) if rule.matcher.regex.match(url)), None)


def implemented_methods(handler: type[tornado.web.RequestHandler]) -> set[str]:
    return {
        method.lower() for method in handler.SUPPORTED_METHODS
        if getattr(handler, method.lower()) is not getattr(tornado.web.RequestHandler, method.lower())
    }


def test_the_description_is_a_valid_openapi_3_1_document(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"].startswith("3.1")


def test_every_path_of_the_description_is_a_route_of_the_application(spec: dict[str, Any], server: Server) -> None:
    unrouted = [path for path in spec["paths"] if routed(server, example_url(spec, path)) is None]
    assert not unrouted


def test_every_route_of_the_application_is_a_path_of_the_description(spec: dict[str, Any], server: Server) -> None:
    described = {id(routed(server, example_url(spec, path))) for path in spec["paths"]}
    undescribed = [rule.matcher.regex.pattern for rule in routes(server) if id(rule) not in described]
    assert not undescribed


def test_each_path_has_exactly_the_operations_its_handler_implements(spec: dict[str, Any], server: Server) -> None:
    for path, item in spec["paths"].items():
        rule = routed(server, example_url(spec, path))
        assert rule is not None, path
        assert set(item) & HTTP_METHODS == implemented_methods(rule.target), path


def test_every_json_error_answer_of_the_description_is_the_error_object(spec: dict[str, Any]) -> None:
    error = {"$ref": "#/components/schemas/Error"}
    for name, response in spec["components"]["responses"].items():
        content = response.get("content", {})
        if "application/json" in content and name not in ("SignedIn", "OneGroup", "OneMessage"):
            assert content["application/json"]["schema"] == error, name
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            for status, response in operation["responses"].items():
                if status.startswith("4") and "$ref" not in response and "content" in response:
                    assert response["content"]["application/json"]["schema"] == error, (path, method, status)
