"""``therabill serve``: run the service with uvicorn (added to the CLI by ``register``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from therabill.web.settings import Settings, SettingsError, read_keys_file

Fail = Callable[[str], Any]

# uvicorn's own access log prints paths and query strings (patient ids, codes): it stays off,
# and therabill.web.access logs route templates instead.
LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain",
                            "stream": "ext://sys.stderr"}},
    "loggers": {
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        "therabill": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}


def register(app: typer.Typer, fail: Fail) -> None:
    """Add the ``serve`` command to ``app``."""

    @app.command()
    def serve(
        host: Annotated[str | None, typer.Option(
            help="Address to listen on (THERABILL_HOST; default 127.0.0.1). Any other than "
                 "loopback needs API keys")] = None,
        port: Annotated[int | None, typer.Option(
            min=0, max=65535, help="Port (THERABILL_PORT; default 8000)")] = None,
        data_dir: Annotated[Path | None, typer.Option(
            help="Reference data directory (THERABILL_DATA_DIR)")] = None,
        database_url: Annotated[str | None, typer.Option(
            help="Patient ledger database URL (THERABILL_DATABASE_URL)")] = None,
        api_keys_file: Annotated[Path | None, typer.Option(
            help="File of API keys, one a line (or THERABILL_API_KEYS / "
                 "THERABILL_API_KEYS_FILE)")] = None,
        workers: Annotated[int, typer.Option(min=1, max=64,
                                             help="Worker processes")] = 1,
    ) -> None:
        """Serve the REST API (/v1, docs at /docs) and the billers' web page (/)."""
        try:
            settings = Settings.from_env(host=host, port=port, data_dir=data_dir,
                                         database_url=database_url)
            if api_keys_file is not None:
                keys = settings.api_keys | frozenset(read_keys_file(api_keys_file))
                settings = replace(settings, api_keys=keys)
        except SettingsError as exc:
            fail(str(exc))
            return
        if not settings.loopback and not settings.api_keys:
            fail(f"refusing to listen on {settings.host} without API keys: set "
                 "THERABILL_API_KEYS or --api-keys-file, or listen on 127.0.0.1")
        try:
            import uvicorn

            from therabill.web.app import create_app
        except ImportError as exc:
            fail(f"the service needs the web extra (pip install 'therabill[web]'): {exc}")
            return
        shown = f"[{settings.host}]" if ":" in settings.host else settings.host
        typer.echo(f"therabill: serving on http://{shown}:{settings.port}/ (API documents at "
                   f"/docs); {'API keys required' if settings.api_keys else 'no API keys'}",
                   err=True)
        if workers == 1:
            uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                        access_log=False, log_config=LOG_CONFIG, server_header=False)
            return
        # Several processes each build the app from the environment.
        os.environ.update(settings.to_env())
        uvicorn.run("therabill.web.app:create_app_from_env", factory=True, workers=workers,
                    host=settings.host, port=settings.port, access_log=False,
                    log_config=LOG_CONFIG, server_header=False)
