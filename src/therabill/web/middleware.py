"""The service's one ASGI middleware: API keys, request size limit and a content-free access log.

Written as plain ASGI (not Starlette's BaseHTTPMiddleware) so it adds microseconds, not a task
per request. The access log names the route's template (``/v1/codes/{code}``), never the path
or query as sent, so no patient identifier or visit content reaches the logs.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool

from therabill.web.problems import PROBLEM_TYPE, Problem, problem_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

KEY_HEADER = "x-api-key"
KEY_COOKIE = "therabill_key"
# Open without a key: health, the API documents, the login form and the page's static files.
OPEN_PATHS = frozenset({"/health", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json",
                        "/login"})
DOCS_STATIC = "/static-docs"
OPEN_PREFIXES = ("/static/", DOCS_STATIC + "/")
SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"))
access_log = logging.getLogger("therabill.web.access")
error_log = logging.getLogger("therabill.web")


def _json(body: dict[str, Any]) -> bytes:
    import json

    return json.dumps(body).encode()


# The service's hot path: ``POST /v1/check`` with a JSON body, answered without the routing
# and parameter machinery (which costs as much as checking the visit). Any other request to
# that route (JSON Lines, CSV, an invalid ``detail``) goes through the app as usual.
FastCheck = Callable[[bytes, str], bytes]
FAST_PATH = "/v1/check"
FAST_QUERIES = {b"": "full", b"detail=full": "full", b"detail=lines": "lines",
                b"detail=totals": "totals"}
FAST_MEDIA = frozenset({b"application/json", b""})
THREAD_ABOVE_BYTES = 32 * 1024  # about 40 visits


class FastRoute:
    """Stands in for the matched route in the scope, so the access log names it."""

    path = FAST_PATH


class ServiceMiddleware:
    def __init__(self, app: ASGIApp, api_keys: frozenset[str], max_body_bytes: int,
                 fast_check: FastCheck | None = None) -> None:
        self.app = app
        self.keys = tuple(key.encode() for key in sorted(api_keys))
        self.max_body_bytes = max_body_bytes
        self.fast_check = fast_check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [0]

        async def send_logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [*message.get("headers", ()), *SECURITY_HEADERS]
            await send(message)

        try:
            await self._handle(scope, receive, send_logged)
        except Exception as exc:
            # Caught here, not left to the server: its traceback would quote the exception's
            # text, which may hold request content. The log gets the type and route only.
            route = getattr(scope.get("route"), "path", "(no route)")
            error_log.error("internal error %s on %s %s", type(exc).__name__,
                            scope.get("method", "?"), route)
            if status[0] == 0:
                await _send_problem(send_logged, 500, "the service failed on this request; it "
                                    "was logged without its content", "internal-server-error")
        finally:
            route = getattr(scope.get("route"), "path", None)
            if route is None:
                path = scope.get("path", "")
                route = "/static…" if path.startswith("/static") else "(no route)"
            access_log.info("%s %s %d %.1fms", scope.get("method", "?"), route, status[0],
                            (time.perf_counter() - started) * 1000)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or ())
        path: str = scope.get("path", "")
        if self.keys and not self._open(path) and not self._key_ok(headers):
            await self._refuse(scope, path, send)
            return
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_body_bytes
            except ValueError:
                too_big = False
            if too_big:
                await _send_problem(send, 413, self._too_big(), "request-too-large")
                return
        if (self.fast_check is not None and path == FAST_PATH and scope["method"] == "POST"
                and (detail := FAST_QUERIES.get(scope.get("query_string", b""))) is not None
                and headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
                in FAST_MEDIA):
            await self._fast(scope, receive, send, detail)
            return
        await self.app(scope, self._bounded(receive), send)

    async def _fast(self, scope: Scope, receive: Receive, send: Send, detail: str) -> None:
        assert self.fast_check is not None
        scope["route"] = FastRoute
        chunks = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await _send_problem(send, 413, self._too_big(), "request-too-large")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        payload = b"".join(chunks)
        try:
            if len(payload) < THREAD_ABOVE_BYTES:
                body = self.fast_check(payload, detail)
            else:  # many visits: check them off the event loop, other requests go on
                body = await run_in_threadpool(self.fast_check, payload, detail)
        except Problem as problem:
            await _send_problem(send, problem.status, problem.detail, problem.kind,
                                errors=problem.errors, instance=FAST_PATH)
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    def _too_big(self) -> str:
        return f"the request body is larger than the limit of {self.max_body_bytes} bytes"

    def _bounded(self, receive: Receive) -> Receive:
        seen = 0
        limit = self.max_body_bytes

        async def bounded() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise Problem(413, self._too_big(), kind="request-too-large")
            return message

        return bounded

    @staticmethod
    def _open(path: str) -> bool:
        return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)

    def _key_ok(self, headers: dict[bytes, bytes]) -> bool:
        offered = headers.get(KEY_HEADER.encode())
        if offered is None:
            auth = headers.get(b"authorization", b"")
            if auth[:7].lower() == b"bearer ":
                offered = auth[7:].strip()
        if offered is None:
            offered = _cookie(headers.get(b"cookie", b""), KEY_COOKIE.encode())
        if not offered:
            return False
        # Compare with every key, in constant time for each.
        return any([hmac.compare_digest(offered, key) for key in self.keys])

    async def _refuse(self, scope: Scope, path: str, send: Send) -> None:
        if not path.startswith("/v1/") and scope.get("method") == "GET":
            # A person at the page: to the key form, then back here.
            target = "/login?next=" + quote(path, safe="/")
            await send({"type": "http.response.start", "status": 303,
                        "headers": [(b"location", target.encode()),
                                    (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        await _send_problem(send, 401, "an API key is required: send it in the X-API-Key "
                                       "header (or as Authorization: Bearer KEY)",
                            "api-key-required", [(b"www-authenticate", b"ApiKey")])


def _cookie(header: bytes, name: bytes) -> bytes | None:
    for part in header.split(b";"):
        key, _, value = part.strip().partition(b"=")
        if key == name:
            return value
    return None


async def _send_problem(send: Send, status: int, detail: str, kind: str,
                        extra: list[tuple[bytes, bytes]] | None = None,
                        errors: list[dict[str, str]] | None = None,
                        instance: str | None = None) -> None:
    body = _json(problem_body(status, detail, kind, instance, errors or ()))
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", PROBLEM_TYPE.encode()),
                            (b"content-length", str(len(body)).encode()), *(extra or [])]})
    await send({"type": "http.response.body", "body": body})
