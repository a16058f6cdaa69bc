"""Which Iceberg catalog the platform talks to, resolved the pyiceberg way.

A catalog named `default` (or the name given in config) is looked up exactly as
`pyiceberg.catalog.load_catalog(name)` would: in `.pyiceberg.yaml` (under `$PYICEBERG_HOME`, the
home directory, then the working directory) and in `PYICEBERG_CATALOG__<NAME>__<PROP>`
environment variables. Both are read when a catalog is loaded, not when this module is imported,
so a resource built after the environment changes sees the change.

When nothing is configured for the name, an embedded catalog is used: SQLite at
`<data_dir>/catalog.db` and a warehouse of local files under `<data_dir>/warehouse`, where
`data_dir` is the resource's `data_dir`, else `$AI_DATA_DIR`, else `.data/`.

Pick the catalog per deployment with the resource's `catalog_name`; extra properties in its
`catalog_properties` override the file and variables. The README's "Production paths" shows
Postgres, REST and object-store configurations.

Waits for a catalog server are bounded (`bounded`): pyiceberg's REST client and libpq wait for
an answer as long as the server keeps the connection, so a server that stops answering would
hold a step, its pool slot and the runs queued behind it, with nothing failing to alert on. The
README's "Production paths" names the two waits no setting here reaches.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from pyiceberg.catalog import PY_CATALOG_IMPL, Catalog
from pyiceberg.catalog import load_catalog as load_pyiceberg_catalog
from pyiceberg.exceptions import NotInstalledError
from pyiceberg.utils.config import Config
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ai_core.http.redact import REDACTED, is_secret_param, redact_text

DEFAULT_CATALOG_NAME = "default"
DATA_DIR_ENV = "AI_DATA_DIR"
DEFAULT_DATA_DIR = ".data"
REQUEST_TIMEOUT_S = 60.0
"""Seconds a catalog server may take over one request or statement: a commit's take a fraction of
a second, and a concurrent writer holds its row lock for no longer."""
TIMEOUT_PROPERTY = "ai.request-timeout-s"
"""Where `BoundedRestCatalog` finds its time-out among the catalog's properties."""
CONNECT_TIMEOUT_S = 10


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The embedded catalog's folder: the argument, else `$AI_DATA_DIR`, else `.data/`."""
    chosen = data_dir or os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
    return Path(chosen).expanduser().resolve()


def configured_catalog_properties(name: str = DEFAULT_CATALOG_NAME) -> dict[str, str] | None:
    """Properties for `name` from `.pyiceberg.yaml` and `PYICEBERG_*` variables, read now.

    pyiceberg reads its configuration once when `pyiceberg.catalog` is imported; reading a fresh
    `Config` here lets a process configure the catalog after that import (as tests and
    launchers that set the environment late do).
    """
    found = Config().get_catalog_config(name)
    if not found:
        return None
    return {str(k): str(v) for k, v in found.items()}


def embedded_catalog_properties(data_dir: str | Path | None = None) -> dict[str, str]:
    """SQLite catalog plus local warehouse under `data_dir`; creates the folders."""
    root = resolve_data_dir(data_dir)
    warehouse = root / "warehouse"
    warehouse.mkdir(parents=True, exist_ok=True)
    return {
        "type": "sql",
        "uri": f"sqlite:///{root / 'catalog.db'}",
        "warehouse": warehouse.as_uri(),
    }


def load_catalog(
    data_dir: str | Path | None = None,
    *,
    name: str = DEFAULT_CATALOG_NAME,
    properties: Mapping[str, str] | None = None,
    timeout_s: float = REQUEST_TIMEOUT_S,
) -> Catalog:
    """The catalog called `name` if pyiceberg configuration names it, else the embedded one.

    `properties` override whatever the configuration says (and complete the embedded default);
    a server's answers are waited for `timeout_s` at most, unless they set bounds of their own.
    """
    base = configured_catalog_properties(name)
    if base is None:
        base = embedded_catalog_properties(data_dir)
    merged = {**base, **(properties or {})}
    try:
        return _open_racing(name, bounded(merged, timeout_s))
    except Exception as exc:
        # Each known credential is replaced wherever it shows: a password holding `/`, `?` or
        # `#` is no URL's user-info to a URL reader, and a driver may quote a piece of one.
        secrets = _secrets(merged)
        shown = {
            k: _without(redact_text(v), secrets) for k, v in merged.items() if not _is_secret(k)
        }
        # Not chained: Dagster stores a cause's message, and a driver's may quote the URI whole.
        cause = _without(redact_text(str(exc)), secrets)
        if isinstance(exc, NotInstalledError) and urlsplit(merged.get("uri", "")).scheme in (
            "postgresql",
            "postgres",
        ):
            cause += (
                "; a bare postgresql:// asks SQLAlchemy for psycopg 3: name the installed "
                "driver, postgresql+psycopg2://"
            )
        raise RuntimeError(
            f"could not open the Iceberg catalog {name!r} with {shown}: "
            f"{type(exc).__name__}: {cause}; check `.pyiceberg.yaml`, "
            "PYICEBERG_CATALOG__* variables or the catalog_properties"
        ) from None


def bounded(properties: Mapping[str, str], timeout_s: float) -> dict[str, str]:
    """`properties` with a bound on every wait for the catalog's server that they leave open: a
    REST catalog is opened as a `BoundedRestCatalog` (`ai_core.iceberg.rest`); a Postgres URI gains
    libpq's time-outs (to connect, for unacknowledged data, for a statement) and keepalives, each
    unless it sets it."""
    out = dict(properties)
    if _is_rest(out):
        out.setdefault(TIMEOUT_PROPERTY, f"{timeout_s:g}")
    elif out.get("type") in ("sql", None) and out.get("uri", "").startswith("postgres"):
        out["uri"] = _libpq_bounded(out["uri"], timeout_s)
    return out


def _is_rest(properties: Mapping[str, str]) -> bool:
    kind = properties.get("type")
    uri = properties.get("uri", "")
    return PY_CATALOG_IMPL not in properties and (
        kind == "rest" or (kind is None and uri.startswith(("http://", "https://")))
    )


def _libpq_bounded(uri: str, timeout_s: float) -> str:
    # Read as the catalog's engine reads it: a password may hold `/`, `?` or `#` unencoded, and
    # a query may name several hosts.
    url = make_url(uri)
    milliseconds = str(round(timeout_s * 1000))
    wanted = {
        "connect_timeout": str(max(2, round(min(CONNECT_TIMEOUT_S, timeout_s)))),
        # A connection whose packets stop arriving fails rather than waits for the OS's hours.
        "keepalives": "1",
        "keepalives_idle": "30",
        "keepalives_interval": "10",
        "keepalives_count": "3",
        "tcp_user_timeout": milliseconds,
    }
    added = {name: value for name, value in wanted.items() if name not in url.query}
    given = url.query.get("options", "")
    options = " ".join(given) if isinstance(given, tuple) else given
    if "statement_timeout" not in options:
        added["options"] = f"{options} -c statement_timeout={milliseconds}".strip()
    return url.update_query_dict(added).render_as_string(hide_password=False)


CREATE_ATTEMPTS = 5


def _open_racing(name: str, properties: Mapping[str, str]) -> Catalog:
    """Open the catalog; a SQL catalog's first opening creates its tables, and when another
    process does so at the same moment one of them sees "already exists": open again."""
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            if _is_rest(properties):
                # Imported here: it imports this module, and only a REST catalog needs it.
                from ai_core.iceberg.rest import BoundedRestCatalog

                return BoundedRestCatalog(name, **properties)
            return load_pyiceberg_catalog(name, **properties)
        except Exception as exc:
            if attempt == CREATE_ATTEMPTS or not lost_creation_race(exc):
                raise
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


def lost_creation_race(exc: BaseException) -> bool:
    """Whether `exc` says another writer created the same catalog object first."""
    text = str(exc).lower()
    return "already exists" in text or "unique constraint" in text or "duplicate key" in text


def _secrets(properties: Mapping[str, str]) -> set[str]:
    """The credentials among catalog properties: secret properties' values, URI passwords and
    secret query values, and the pieces of a password between its `@`, `:`, `/`, `?` or `#`."""
    found: set[str] = set()
    for key, value in properties.items():
        if _is_secret(key):
            found.add(value)
            continue
        if "://" not in value:
            continue
        parts = urlsplit(value)
        passwords = [parts.netloc.rsplit("@", 1)[0].partition(":")[2]] if "@" in value else []
        with contextlib.suppress(ArgumentError, ValueError):
            passwords.append(make_url(value).password or "")  # as a SQL engine reads the URI
        for password in passwords:
            found.add(password)
            # A driver that parses the URI otherwise may quote a piece of it as a host or port;
            # short pieces would also hide the message's own hosts and words.
            pieces = re.split(r"[@:/?#]", password)
            found.update(piece for piece in pieces if len(piece) >= MIN_PIECE_CHARS)
        found.update(v for k, v in parse_qsl(parts.query) if is_secret_param(k))
    return {s for s in found if len(s) >= MIN_SECRET_CHARS}


MIN_SECRET_CHARS = 3
"""Shorter secrets are not replaced: `***` for every `a` would hide the message, not a secret."""
MIN_PIECE_CHARS = 6


def _without(text: str, secrets: set[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def _is_secret(key: str) -> bool:
    """A property holding a credential: named like one, or a header sent to a REST catalog."""
    return key.lower().startswith("header.") or is_secret_param(key)
