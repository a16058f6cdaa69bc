"""`DealerConnectBigQuery`: Dagster's BigQuery resource, configured the way DealerConnect is read.

| variable | default |
|---|---|
| `STELLANTIS_GCP_PROJECT` | `ai-app-stellantis` |
| `GCP_CREDENTIALS` | unset: Application Default Credentials (`gcloud auth application-default`) |
| `STELLANTIS_BIGQUERY_ENDPOINT` | unset: Google's; the local stand-in's URL for tests and demos |
| `STELLANTIS_BIGQUERY_TIMEOUT` | `120` seconds per API call |
| `STELLANTIS_BIGQUERY_WORKERS` | `8` dealer tables queried at once |

`GCP_CREDENTIALS` holds a service account's JSON itself (not a path and not base64): it is parsed
in memory and never written to disk or logged. With an endpoint and no credentials the client is
anonymous, which only a stand-in accepts.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
from collections.abc import Iterator, Mapping

import dagster as dg
import orjson
from dagster_gcp import BigQueryResource
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials, Credentials
from google.cloud import bigquery
from google.oauth2 import service_account
from pydantic import BaseModel, Field

SCOPES = ("https://www.googleapis.com/auth/bigquery",)


class BigQuerySettings(BaseModel):
    """Where and how DealerConnect's BigQuery is read."""

    project: str = "ai-app-stellantis"
    endpoint: str | None = None
    timeout: float = Field(120.0, gt=0)
    workers: int = Field(8, ge=1, le=64)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BigQuerySettings:
        env = os.environ if environ is None else environ
        names = {
            "project": "STELLANTIS_GCP_PROJECT",
            "endpoint": "STELLANTIS_BIGQUERY_ENDPOINT",
            "timeout": "STELLANTIS_BIGQUERY_TIMEOUT",
            "workers": "STELLANTIS_BIGQUERY_WORKERS",
        }
        return cls.model_validate(
            {field: env[var] for field, var in names.items() if env.get(var, "").strip()}
        )


def service_account_credentials(text: str) -> Credentials:
    """Credentials from a service account's JSON (or its base64, as dagster-gcp documents it);
    errors never quote it."""
    try:
        stripped = text.strip()
        info = orjson.loads(stripped if stripped.startswith("{") else base64.b64decode(stripped))
        return service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
    except (orjson.JSONDecodeError, binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise dg.Failure(
            "GCP_CREDENTIALS is not a service account key in JSON "
            f"({type(exc).__name__}): set it to the key file's content, or unset it to use "
            "Application Default Credentials"
        ) from None


class DealerConnectBigQuery(BigQueryResource):
    """BigQuery for DealerConnect. Unset fields come from the environment at run time."""

    endpoint: str | None = Field(
        default=None, description="API root URL instead of Google's, e.g. a local stand-in."
    )
    timeout: float | None = Field(default=None, description="Seconds per API call.")
    workers: int | None = Field(default=None, description="Dealer tables queried at once.")

    def get_object_to_set_on_execution_context(self) -> DealerConnectBigQuery:
        # The base hands `context.resources` an open client; the raw stream opens its own.
        return self

    def settings(self) -> BigQuerySettings:
        base = BigQuerySettings.from_env()
        overrides = {
            "project": self.project,
            "endpoint": self.endpoint,
            "timeout": self.timeout,
            "workers": self.workers,
        }
        return base.model_copy(update={k: v for k, v in overrides.items() if v is not None})

    @contextlib.contextmanager
    def get_client(self) -> Iterator[bigquery.Client]:
        settings = self.settings()
        secret = self.gcp_credentials or os.environ.get("GCP_CREDENTIALS", "").strip()
        credentials: Credentials | None = None
        if secret:
            credentials = service_account_credentials(secret)
        elif settings.endpoint:
            credentials = AnonymousCredentials()
        options = ClientOptions(api_endpoint=settings.endpoint) if settings.endpoint else None
        client = bigquery.Client(
            project=settings.project,
            location=self.location,
            credentials=credentials,
            client_options=options,
        )
        try:
            yield client
        finally:
            client.close()
