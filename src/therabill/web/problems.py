"""Errors as RFC 9457 problem details: ``application/problem+json`` naming the field at fault.

Every error the service returns has ``type``, ``title``, ``status`` and ``detail``; errors about
the request's content add ``errors``, a list of ``{field, message}`` where ``field`` is a dotted
path into the body (``lines.0.minutes``) or the name of a query or path parameter.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_TYPE = "application/problem+json"
TYPE_BASE = "https://therabill.invalid/problems/"  # names, not pages: RFC 9457 §3.1.1
log = logging.getLogger("therabill.web")


class Problem(Exception):
    """An error to send as problem details."""

    def __init__(self, status: int, detail: str, *, field: str | None = None,
                 kind: str | None = None, errors: Sequence[dict[str, str]] = (),
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind or _kind(status)
        self.errors = list(errors) or ([{"field": field, "message": detail}] if field else [])
        self.headers = headers


def _kind(status: int) -> str:
    return HTTPStatus(status).phrase.lower().replace(" ", "-").replace("'", "")


def problem_body(status: int, detail: str, kind: str, instance: str | None = None,
                 errors: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
    body: dict[str, Any] = {"type": TYPE_BASE + kind, "title": HTTPStatus(status).phrase,
                            "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = list(errors)
    return body


def problem_response(status: int, detail: str, *, kind: str | None = None,
                     instance: str | None = None, errors: Sequence[dict[str, str]] = (),
                     headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(problem_body(status, detail, kind or _kind(status), instance, errors),
                        status_code=status, media_type=PROBLEM_TYPE, headers=headers)


def _field(location: Sequence[Any]) -> str:
    """``("body", "lines", 0, "minutes")`` → ``lines.0.minutes``; ``("query", "q")`` → ``q``."""
    parts = [str(part) for part in location]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    return [{"field": _field(error.get("loc", ())), "message": str(error.get("msg", ""))}
            for error in errors]


def install(app: FastAPI) -> None:
    """Route every error the app can raise through problem details."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.detail, kind=exc.kind,
                                instance=request.url.path, errors=exc.errors,
                                headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(exc.errors())
        first = errors[0] if errors else {"field": "request", "message": "invalid"}
        return problem_response(422, f"{first['field']}: {first['message']}",
                                kind="invalid-request", instance=request.url.path,
                                errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return problem_response(exc.status_code, detail, instance=request.url.path,
                                headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        # The exception's text may quote the request: log only its type and the route.
        route = getattr(request.scope.get("route"), "path", "?")
        log.error("internal error %s on %s %s", type(exc).__name__, request.method, route)
        return problem_response(500, "the service failed on this request; it was logged "
                                     "without its content", instance=request.url.path)
