"""The HTTP service and the billers' web page: an interface layer over ``therabill.Engine``.

``create_app(settings)`` builds the FastAPI application (the JSON API under ``/v1`` and the
server-rendered pages at ``/``); ``therabill serve`` runs it with uvicorn. FastAPI, uvicorn and
Jinja2 come with the ``therabill[web]`` extra and are imported only here.
"""

from __future__ import annotations

from therabill.web.settings import Settings

__all__ = ["Settings", "create_app"]


def __getattr__(name: str) -> object:
    if name == "create_app":
        from therabill.web.app import create_app

        return create_app
    raise AttributeError(f"module 'therabill.web' has no attribute {name!r}")
