"""`DealerConnectBigQuery`: BigQuery configured the way DealerConnect is read.

A deployment sets its fields from the environment in `defs/resources/defs.yaml` (`dg list env`).
`GCP_CREDENTIALS` holds a service account's JSON itself (not a path; its base64 is accepted too):
it reaches the resource as a `dg.EnvVar`, is parsed in memory and never written to disk or
logged. Unset, the client uses Application Default Credentials, or none with an `endpoint`,
which only a stand-in accepts.

Google's client is imported when a client is opened, not when the location loads: every process
that loads the location would otherwise pay for it, and only the DealerConnect steps use it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import functools
import re
from collections.abc import Callable, Iterator
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import dagster as dg
import orjson
from pydantic import Field

if TYPE_CHECKING:
    from google.auth.credentials import Credentials
    from google.cloud import bigquery

SCOPES = ("https://www.googleapis.com/auth/bigquery",)
CREDENTIALS_ENV = "GCP_CREDENTIALS"


def service_account_credentials(text: str) -> Credentials:
    """Credentials from a service account's JSON (or its base64, as dagster-gcp documents it);
    errors never quote it."""
    from google.oauth2 import service_account

    try:
        stripped = text.strip()
        info = orjson.loads(stripped if stripped.startswith("{") else base64.b64decode(stripped))
        return service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
    except (orjson.JSONDecodeError, binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise dg.Failure(
            f"{CREDENTIALS_ENV} is not a service account key in JSON "
            f"({type(exc).__name__}): set it to the key file's content, or unset it to use "
            "Application Default Credentials"
        ) from None


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
SECONDS_RANGE = (-62_135_596_800, 253_402_300_799)
"""Whole numbers in this range are read as seconds (year 1 to 9999); outside it, as
microseconds. Only microseconds from 1969-12-31 06:44 to 1970-01-03 22:23 are misread so."""
_WHOLE = re.compile(r"[+-]?[0-9]+")


def timestamp_cell(text: str) -> dt.datetime:
    """A TIMESTAMP cell in any form a server of BigQuery's API sends: integer microseconds (what
    the client asks for with `formatOptions.useInt64Timestamp`), seconds with a fraction or an
    exponent (`"1.7951508E9"`, BigQuery's answer to a client that does not ask), whole seconds
    (`"1795150800"`, see `SECONDS_RANGE`), or ISO 8601 text (`"2026-11-20T08:00:00Z"`,
    `"2026-11-20 08:00:00 UTC"`, read as UTC without a zone). Digits past the microsecond are
    dropped, as the ISO reading drops them.
    """
    value = text.strip()
    try:
        if _WHOLE.fullmatch(value):
            number = int(value)
            low, high = SECONDS_RANGE
            micros = number * 1_000_000 if low <= number <= high else number
        else:
            try:
                seconds = Decimal(value)
            except InvalidOperation:
                return _iso_timestamp(value)
            micros = int((seconds * 1_000_000).to_integral_value(rounding=ROUND_FLOOR))
        return EPOCH + dt.timedelta(microseconds=micros)
    except (ArithmeticError, ValueError):
        raise ValueError(
            f"{text[:40]!r} is not a timestamp (microseconds, seconds or ISO 8601)"
        ) from None


def _iso_timestamp(value: str) -> dt.datetime:
    value = value.upper()  # RFC 3339 allows `t` and `z`
    if value.endswith("UTC"):
        value = value[:-3].rstrip() + "+00:00"
    stamp = dt.datetime.fromisoformat(value)
    return stamp.replace(tzinfo=dt.UTC) if stamp.tzinfo is None else stamp.astimezone(dt.UTC)


@functools.cache
def read_timestamps_in_every_form() -> None:
    """Let the client read a TIMESTAMP cell in any form `timestamp_cell` reads, not only the
    integer microseconds it asks for: BigQuery answers seconds to a client that does not ask, and
    some servers of its API ignore the option. The client has no hook for its cell parsers, so its
    TIMESTAMP parser is wrapped, once; a picosecond column is left to it (kept as text)."""
    from google.cloud.bigquery import _helpers, enums

    parser: Any = getattr(_helpers, "CELL_DATA_PARSER", None)
    strict: Callable[[Any, Any], Any] | None = getattr(parser, "timestamp_to_py", None)
    if strict is None:
        return  # another client version: its own parser stands, and other forms fail
    picosecond = getattr(getattr(enums, "TimestampPrecision", None), "PICOSECOND", None)

    def timestamp_to_py(value: Any, field: Any) -> Any:
        # The client's own parser decides what a null is (an error on a REQUIRED column).
        if value is None or isinstance(value, bool):
            return strict(value, field)
        if picosecond is not None and getattr(field, "timestamp_precision", None) == picosecond:
            return strict(value, field)
        try:
            return timestamp_cell(str(value))
        except ValueError as exc:
            raise ValueError(f"TIMESTAMP column {getattr(field, 'name', '?')}: {exc}") from None

    parser.timestamp_to_py = timestamp_to_py


class DealerConnectBigQuery(dg.ConfigurableResource):
    """BigQuery for DealerConnect: which project, through which API root, how many at once.

    Its `project`, `location` and `gcp_credentials` are those of dagster-gcp's
    `BigQueryResource`, whose import alone loads every GCP integration of dagster-gcp.
    """

    project: str | None = Field(
        default="ai-app-stellantis", description="GCP project billed for the queries."
    )
    location: str | None = Field(
        default=None, description="Default location for jobs / datasets / tables."
    )
    gcp_credentials: str | None = Field(
        default=None,
        description=f"A service account key's JSON, or its base64; set from ${CREDENTIALS_ENV}.",
    )
    endpoint: str | None = Field(
        default=None, description="API root URL instead of Google's, e.g. a local stand-in."
    )
    timeout: float = Field(default=120.0, gt=0, description="Seconds per API call.")
    workers: int = Field(default=8, ge=1, le=64, description="Dealer tables queried at once.")

    @contextlib.contextmanager
    def get_client(self) -> Iterator[bigquery.Client]:
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        credentials: Credentials | None = None
        if self.gcp_credentials and self.gcp_credentials.strip():
            credentials = service_account_credentials(self.gcp_credentials)
        elif self.endpoint:
            credentials = AnonymousCredentials()
        options = ClientOptions(api_endpoint=self.endpoint) if self.endpoint else None
        read_timestamps_in_every_form()
        client = bigquery.Client(
            project=self.project,
            location=self.location,
            credentials=credentials,
            client_options=options,
        )
        try:
            yield client
        finally:
            client.close()
