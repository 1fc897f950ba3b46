"""The FastAPI application: ``create_app(settings)``.

One ``Engine`` per process in ``app.state.engine`` (reference data and payer policies loaded
once), the settings in ``app.state.settings`` (the ledger reads ``database_url`` there), the JSON
API under ``/v1``, the patients' routes, the web page at ``/`` and its static files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import TypeAdapter

from therabill import __version__
from therabill.engine import Engine
from therabill.model import RESULT_ADAPTER, Visit
from therabill.web import api, pages, patients, problems
from therabill.web.middleware import DOCS_STATIC, KEY_HEADER, ServiceMiddleware
from therabill.web.settings import Settings

STATIC_DIR = Path(__file__).resolve().parent / "static"
DESCRIPTION = """\
Check documented outpatient therapy visits (PT, OT, SLP) and get the claim as it should be sent:
units, modifiers, NCCI edits, coverage and the expected payment to the cent, each decision with
its rule id and source. The coding guide explains, compares and traces the history of codes.

Errors are RFC 9457 problem details (`application/problem+json`) whose `errors` name the field.
When the service has API keys, send one in the `X-API-Key` header on every endpoint except
`/health` and these documents.
"""


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Build the service; ``settings`` default to the environment (``Settings.from_env``)."""
    settings = settings or Settings.from_env()
    # The API documents' page with its scripts served from here (no CDN: works offline).
    app = FastAPIOffline(title="therabill", version=__version__, description=DESCRIPTION,
                         static_url=DOCS_STATIC)
    app.state.settings = settings
    app.state.engine = engine or Engine(data_dir=settings.data_dir)
    # With a ledger database configured, a visit of a patient it knows is checked with the
    # year-to-date figures the ledger holds (the result says so).
    app.state.checker = app.state.engine
    if settings.database_url:
        from therabill.ledger.checking import LedgerChecker

        app.state.checker = LedgerChecker(app.state.engine, settings.database_url)
    app.state.charts = {}
    problems.install(app)

    @app.get("/health", tags=["service"], summary="Liveness: always open, no key needed")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.include_router(api.router)
    app.include_router(patients.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST", "PUT", "DELETE"],
                           allow_headers=["content-type", KEY_HEADER, "authorization"])
    # Outermost, so the key check and size limit come before anything else.
    checker: api.Checker = app.state.checker
    app.add_middleware(ServiceMiddleware, api_keys=settings.api_keys,
                       max_body_bytes=settings.max_body_bytes,
                       fast_check=lambda body, detail: api.check_json(
                           checker, body, detail, settings.max_visits))  # type: ignore[arg-type]
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def create_app_from_env() -> FastAPI:
    """Factory for uvicorn's worker processes (``therabill serve --workers N``)."""
    return create_app(Settings.from_env())


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the visit and result schemas ``POST /v1/check`` refers to
    (that endpoint reads its body itself, to take JSON, JSON Lines and CSV) and the key."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    document = get_openapi(title=app.title, version=app.version, description=app.description,
                           routes=app.routes)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    template = "#/components/schemas/{model}"
    for name, adapter, mode in (("Visit", TypeAdapter(Visit), "validation"),
                                ("CheckResult", RESULT_ADAPTER, "serialization")):
        schema = adapter.json_schema(ref_template=template, mode=mode)  # type: ignore[arg-type]
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    settings: Settings = app.state.settings
    if settings.api_keys:
        schemes = document["components"].setdefault("securitySchemes", {})
        schemes["ApiKey"] = {"type": "apiKey", "in": "header", "name": "X-API-Key"}
        for path, methods in document.get("paths", {}).items():
            if path != "/health":
                for operation in methods.values():
                    operation["security"] = [{"ApiKey": []}]
    app.openapi_schema = document
    return document
