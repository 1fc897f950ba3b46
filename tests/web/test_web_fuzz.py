"""Schema-driven fuzzing: requests generated from the OpenAPI document never get a server error.

Schemathesis builds valid and invalid requests for every operation (bodies from the Visit
schema, query and path parameters from their declarations) and sends them to the app in
process. Bounded: a fixed number of examples per operation, no deadline per example.
"""

from __future__ import annotations

import json

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode

from therabill.engine import Engine
from therabill.web.app import create_app
from therabill.web.settings import Settings

EXAMPLES = 40  # per operation; about a minute for the whole document on this machine


def _app() -> FastAPI:
    return create_app(Settings(), engine=Engine())


@schemathesis.serializer("application/x-ndjson")
def _json_lines(ctx: object, value: object) -> bytes:
    """A generated JSON Lines body: the value as text when it is one, else one JSON line."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return json.dumps(value).encode() + b"\n"


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())
# Valid and invalid requests alike (wrong types, missing fields, out-of-range values).
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_server_error(case: schemathesis.Case) -> None:
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
    if response.status_code >= 400 and response.status_code != 405:
        assert response.headers["content-type"][0].startswith("application/problem+json")
