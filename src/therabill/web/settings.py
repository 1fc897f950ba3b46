"""Service settings: defaults, then environment variables, then command-line options.

Environment variables (all optional):

- ``THERABILL_HOST`` / ``THERABILL_PORT``: where to listen (127.0.0.1:8000).
- ``THERABILL_DATA_DIR``: reference data directory with imported CMS files and payer policies.
- ``THERABILL_DATABASE_URL``: the patient ledger's database (SQLite file by default).
- ``THERABILL_API_KEYS``: API keys, separated by commas or blanks.
- ``THERABILL_API_KEYS_FILE``: a file of API keys, one a line (``#`` starts a comment).
- ``THERABILL_MAX_BODY_BYTES``: largest request body accepted (5 MiB).
- ``THERABILL_MAX_VISITS``: most visits in one JSON array sent to ``POST /v1/check`` (1,000).
- ``THERABILL_CORS_ORIGINS``: origins allowed to call the API from a browser (none: CORS off).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_VISITS = 1_000
ENV_PREFIX = "THERABILL_"


class SettingsError(ValueError):
    """A setting that cannot be used; the message is one line naming it."""


@dataclass(frozen=True)
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    data_dir: Path | None = None
    database_url: str | None = None
    api_keys: frozenset[str] = field(default_factory=frozenset)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_visits: int = DEFAULT_MAX_VISITS
    cors_origins: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``environ`` (``os.environ`` by default); ``overrides`` that are not
        None win over the environment."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(ENV_PREFIX + name, "").strip()
            return value or None

        keys = set(split_keys(get("API_KEYS") or ""))
        if (keys_file := get("API_KEYS_FILE")) is not None:
            keys.update(read_keys_file(Path(keys_file)))
        data_dir = get("DATA_DIR")
        settings = cls(
            host=get("HOST") or DEFAULT_HOST,
            port=_int("THERABILL_PORT", get("PORT"), DEFAULT_PORT, 0, 65535),
            data_dir=Path(data_dir) if data_dir else None,
            database_url=get("DATABASE_URL"),
            api_keys=frozenset(keys),
            max_body_bytes=_int("THERABILL_MAX_BODY_BYTES", get("MAX_BODY_BYTES"),
                                DEFAULT_MAX_BODY_BYTES, 1, None),
            max_visits=_int("THERABILL_MAX_VISITS", get("MAX_VISITS"), DEFAULT_MAX_VISITS, 1,
                            None),
            cors_origins=tuple(split_keys(get("CORS_ORIGINS") or "")),
        )
        given = {name: value for name, value in overrides.items() if value is not None}
        return replace(settings, **given) if given else settings

    def to_env(self) -> dict[str, str]:
        """The environment variables that rebuild these settings in a worker process."""
        env = {"HOST": self.host, "PORT": str(self.port),
               "MAX_BODY_BYTES": str(self.max_body_bytes), "MAX_VISITS": str(self.max_visits),
               "API_KEYS": ",".join(sorted(self.api_keys)),
               "CORS_ORIGINS": ",".join(self.cors_origins),
               "DATA_DIR": str(self.data_dir) if self.data_dir else "",
               "DATABASE_URL": self.database_url or "", "API_KEYS_FILE": ""}
        return {ENV_PREFIX + name: value for name, value in env.items()}

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def split_keys(text: str) -> list[str]:
    return [part for part in text.replace(",", " ").split() if part]


def read_keys_file(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"cannot read the API keys file {path}: "
                            f"{exc.strerror or exc}") from None
    keys = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            keys.append(line)
    if not keys:
        raise SettingsError(f"the API keys file {path} holds no key")
    return keys


def _int(name: str, text: str | None, default: int, low: int, high: int | None) -> int:
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {text!r}") from None
    if value < low or (high is not None and value > high):
        bound = f"{low} to {high}" if high is not None else f"at least {low}"
        raise SettingsError(f"{name} must be {bound}, not {value}")
    return value
