"""schemathesis against the live server: cases generated from docs/openapi.yaml for every
operation, valid ones and invalid ones (wrong types, out-of-range values, missing fields),
sent over real HTTP with a registered user's Bearer token. No answer may be a server error,
and every answer must conform to the description (status, content type, headers, body schema);
invalid cases must be refused with a 4xx.

Each operation runs twice per mode: with generated path ids, and with the id of a real group
the user has joined (and the key of a real image), so the cases reach past the 404.
Hypothesis runs derandomized in a worker thread while the test's loop serves.
"""

from __future__ import annotations

import asyncio
import io
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from PIL import Image
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .support.fuzz import FUZZ_REPORT
from .support.http import PASSWORD, unique
from .support.servers import Server, StartServer
from .test_hostile_input import UNTHROTTLED
from .test_openapi import SPEC_PATH

EXAMPLES = 25
# No shrinking: a failure is reported with its curl command as found, and a failing run stays short.
SETTINGS = settings(
    max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, print_blob=False,
    suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
CHECKS = [
    not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
    response_schema_conformance,
]


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


class Fuzzer:
    """Runs every operation of the description against one server, counting the cases."""

    def __init__(self, server: Server, token: str, fixed: dict[str, Any]) -> None:
        self.base_url = server.base_url
        self.token = token
        self.fixed = fixed  # path parameters of real things, by parameter name
        self.http = requests.Session()
        self.http.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # Bearer only: keep no cookie
        self.cases: dict[str, int] = {}
        self.operations = 0

    def bearer(self, case: Case) -> str:
        if case.operation.label == "DELETE /api/session":  # signs out: a new user's session each time
            answer = self.http.post(f"{self.base_url}/api/users",
                                    json={"username": unique("bye")[:32], "password": PASSWORD}, timeout=15)
            return answer.json()["token"]
        return self.token

    def run(self, operation: Any, mode: GenerationMode, real_ids: bool) -> None:
        path_parameters = {
            p.name: self.fixed[operation.path][p.name] for p in operation.path_parameters
            if real_ids and p.name in self.fixed.get(operation.path, {})
        }
        if real_ids and not path_parameters:
            return
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters or None)
        label = f"{operation.label} [{mode.value}{', real ids' if real_ids else ''}]"

        @SETTINGS
        @given(strategy)
        def one(case: Case) -> None:
            if case.operation.path == "/api/events" and case.query and "cursor" in case.query:
                case.query["timeout"] = "0"  # a cursor that happens to be valid must not hold the poll
            headers = {"Authorization": f"Bearer {self.bearer(case)}"}
            response = case.call(base_url=self.base_url, session=self.http, headers=headers, timeout=30)
            checks = CHECKS + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])
            case.validate_response(response, checks=checks, headers=headers)
            self.cases[label] = self.cases.get(label, 0) + 1

        try:
            one()
        except Unsatisfiable:
            # an operation with nothing to get wrong (no parameter, no body) has no negative case
            assert mode is GenerationMode.NEGATIVE and not self.cases.get(label), label

    def run_all(self) -> None:
        schema = schemathesis.openapi.from_path(str(SPEC_PATH))
        for result in schema.get_all_operations():
            operation = result.ok()
            self.operations += 1
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                for real_ids in (False, True):
                    self.run(operation, mode, real_ids)


async def test_no_generated_request_gets_a_server_error_or_an_answer_outside_the_description(
    start_server: StartServer, no_tracebacks: None
) -> None:
    server = await start_server(**UNTHROTTLED)
    client = server.client()
    owner = await client.register("schema")
    group = await client.create_group(owner, "schema")
    playground = await client.create_group(owner, "playground")  # joined and left by the cases
    witness = await client.register("witness")  # not fuzzed: checks the server afterwards
    await client.join(witness, group["id"])
    target = await client.register("target")  # the member the cases set roles of, remove and ban
    await client.join(target, group["id"])
    upload = await client.request(
        "POST", f"/api/groups/{group['id']}/images", token=owner.token,
        headers={"Content-Type": "multipart/form-data; boundary=XyZ"},
        body=b'--XyZ\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n' + png()
        + b"\r\n--XyZ--\r\n",
    )
    assert upload.status == 201, upload.body
    key = upload.json["message"]["image"]["url"].rsplit("/", 1)[1]
    group_id = {"id": group["id"]}
    fixed = {
        "/api/groups/{id}/membership": {"id": playground["id"]},
        "/api/groups/{id}/messages": group_id, "/api/groups/{id}/images": group_id,
        "/api/groups/{id}/online": group_id, "/api/groups/{id}/typing": group_id,
        "/api/groups/{id}/messages/{seq}": {**group_id, "seq": 1},
        "/api/groups/{id}/messages/{seq}/reactions/{emoji}": {**group_id, "seq": 1},
        "/images/{key}": {"key": key}, "/images/{key}/thumb": {"key": key},
        "/api/groups/{id}": group_id, "/api/groups/{id}/members": group_id,
        "/api/groups/{id}/members/{user_id}": {**group_id, "user_id": target.id},
        "/api/groups/{id}/bans/{user_id}": {**group_id, "user_id": target.id},
        "/api/direct/{username}": {"username": witness.username},
        "/static/{path}": {"path": "app.css"},
    }
    fuzzer = Fuzzer(server, owner.token, fixed)
    try:
        await asyncio.to_thread(fuzzer.run_all)
    finally:
        fuzzer.http.close()
    health = await client.request("GET", "/healthz")
    assert health.status == 200
    sent = await client.send(witness, group["id"], "still here")
    assert sent.status == 201, sent.body
    operations = {label.split(" [")[0] for label in fuzzer.cases}
    assert len(operations) == fuzzer.operations  # every operation had cases
    FUZZ_REPORT.append(
        f"schemathesis: {sum(fuzzer.cases.values())} cases over {len(operations)} operations, 0 server errors"
    )

