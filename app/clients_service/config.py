"""Resolve where the data lives from the environment.

Precedence (first match wins):

1. ``DATABASE_URL`` -- a libpq URL or conninfo string (``postgresql://user:pw@host:5432/db``).
2. ``DB_SECRET`` -- the JSON an AWS Secrets Manager secret holds (``username``, ``password``,
   ``host``, ``port``, ``dbname``).  RDS-managed master secrets hold only ``username`` and
   ``password``; the missing keys are taken from ``DB_HOST``/``DB_PORT``/``DB_NAME``.
   Keys present in the secret win over the ``DB_*`` variables (the secret is what rotates).
3. ``DB_HOST`` (+ ``DB_PORT``, ``DB_NAME``, ``DB_USER``, ``DB_PASSWORD``).
4. Nothing set: a local SQLite file at ``SQLITE_PATH`` (default
   ``<system temp dir>/clients_service.sqlite3``, i.e. ``/tmp/...``, writable even when the
   application directory is read-only).

``DB_SSLMODE`` (default ``prefer``) applies to PostgreSQL; the cloud targets set ``require``
or ``verify-full``.
"""
import json
import os
import tempfile
from dataclasses import dataclass
from typing import Mapping, Optional

DEFAULT_SQLITE_FILENAME = "clients_service.sqlite3"


class ConfigError(ValueError):
    """The database settings in the environment are unusable."""


@dataclass(frozen=True)
class DatabaseSettings:
    backend: str  # "postgres" or "sqlite"
    conninfo: str = ""  # postgres only, may contain a password: never log it
    sqlite_path: str = ""
    source: str = ""  # which variable(s) it came from (safe to log)
    pool_min_size: int = 1
    pool_max_size: int = 4
    pool_timeout: float = 2.0
    ready_timeout: float = 1.0
    reconnect_timeout: float = 5.0
    statement_timeout_ms: int = 5000
    query_timeout: float = 2.0  # client-side deadline on every database call (storage.py)

    def describe(self) -> str:
        if self.backend == "sqlite":
            return "sqlite:%s (from %s)" % (self.sqlite_path, self.source)
        return "postgres (from %s)" % self.source


def _int_env(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError("%s must be an integer, got %r" % (name, raw)) from None
    if value < minimum:
        raise ConfigError("%s must be >= %d, got %d" % (name, minimum, value))
    return value


def _float_env(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError("%s must be a number, got %r" % (name, raw)) from None
    if not value > 0:
        raise ConfigError("%s must be > 0, got %r" % (name, raw))
    return value


def default_sqlite_path() -> str:
    return os.path.join(tempfile.gettempdir(), DEFAULT_SQLITE_FILENAME)


def _secret_fields(raw: str) -> dict:
    try:
        data = json.loads(raw)
    except ValueError:
        raise ConfigError("DB_SECRET is not valid JSON") from None
    if not isinstance(data, dict):
        raise ConfigError("DB_SECRET must be a JSON object")
    out = {}
    # Secrets Manager / RDS secret keys -> libpq keywords
    for key, kw in (("username", "user"), ("password", "password"), ("host", "host"),
                    ("port", "port"), ("dbname", "dbname")):
        value = data.get(key)
        if value is not None and value != "":
            out[kw] = str(value)
    return out


def _make_conninfo(base: str, **kwargs) -> str:
    # Imported lazily so that the SQLite-only path needs nothing but Flask.
    from psycopg.conninfo import make_conninfo
    return make_conninfo(base, **{k: v for k, v in kwargs.items() if v not in (None, "")})


def resolve_settings(env: Optional[Mapping[str, str]] = None) -> DatabaseSettings:
    env = os.environ if env is None else env
    common = dict(
        pool_min_size=_int_env(env, "DB_POOL_MIN_SIZE", 1, 0),
        pool_max_size=_int_env(env, "DB_POOL_MAX_SIZE", _int_env(env, "GUNICORN_THREADS", 4, 1), 1),
        pool_timeout=_float_env(env, "DB_POOL_TIMEOUT", 2.0),
        ready_timeout=_float_env(env, "DB_READY_TIMEOUT", 1.0),
        reconnect_timeout=_float_env(env, "DB_RECONNECT_TIMEOUT", 5.0),
        statement_timeout_ms=_int_env(env, "DB_STATEMENT_TIMEOUT_MS", 5000, 0),
        query_timeout=_float_env(env, "DB_QUERY_TIMEOUT", 2.0),
    )
    if common["pool_min_size"] > common["pool_max_size"]:
        common["pool_min_size"] = common["pool_max_size"]
    sslmode = env.get("DB_SSLMODE", "").strip()
    connect_timeout = str(_int_env(env, "DB_CONNECT_TIMEOUT", 2, 1))
    app_name = env.get("DB_APPLICATION_NAME", "clients_service")

    url = env.get("DATABASE_URL", "").strip()
    if url:
        if not url.startswith(("postgres://", "postgresql://")) and "=" not in url:
            raise ConfigError("DATABASE_URL must be a postgresql:// URL or a libpq conninfo string")
        conninfo = _make_conninfo(url, sslmode=sslmode or None, connect_timeout=connect_timeout,
                                  application_name=app_name)
        return DatabaseSettings("postgres", conninfo=conninfo, source="DATABASE_URL", **common)

    fields = {}
    sources = []
    for var, kw in (("DB_HOST", "host"), ("DB_PORT", "port"), ("DB_NAME", "dbname"),
                    ("DB_USER", "user"), ("DB_PASSWORD", "password")):
        value = env.get(var, "")
        if value.strip():
            fields[kw] = value.strip() if kw != "password" else value
    secret_raw = env.get("DB_SECRET", "").strip()
    if secret_raw:
        fields.update(_secret_fields(secret_raw))
        sources.append("DB_SECRET")
    if not secret_raw and "host" not in fields:
        path = env.get("SQLITE_PATH", "").strip() or default_sqlite_path()
        source = "SQLITE_PATH" if env.get("SQLITE_PATH", "").strip() else "default"
        return DatabaseSettings("sqlite", sqlite_path=path, source=source, **common)
    sources.extend(v for v in ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD")
                   if env.get(v, "").strip())
    if "host" not in fields:
        raise ConfigError("DB_SECRET has no 'host': set DB_HOST (RDS-managed secrets hold only "
                          "username and password)")
    if "port" in fields and not fields["port"].isdigit():
        raise ConfigError("database port must be an integer, got %r" % fields["port"])
    fields.setdefault("port", "5432")
    fields.setdefault("dbname", "postgres")
    conninfo = _make_conninfo("", sslmode=sslmode or "prefer", connect_timeout=connect_timeout,
                              application_name=app_name, **fields)
    return DatabaseSettings("postgres", conninfo=conninfo, source="+".join(sources), **common)
