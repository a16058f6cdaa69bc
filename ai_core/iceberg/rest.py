"""`BoundedRestCatalog`: pyiceberg's REST catalog with a time-out on each request.

pyiceberg's client sets none, so a server that accepts a connection and never answers would hold
the step that asked. `ai_core.iceberg.catalog.load_catalog` opens every REST catalog with it.
"""

from __future__ import annotations

from typing import Any

from pyiceberg.catalog.rest import RestCatalog
from requests import Session

from ai_core.iceberg.catalog import REQUEST_TIMEOUT_S, TIMEOUT_PROPERTY


class BoundedRestCatalog(RestCatalog):
    """Each request of the catalog's sessions waits `ai.request-timeout-s` at most to connect
    and between bytes of the answer: the configuration asked for at opening, and the token a
    `credential` is exchanged for, included."""

    def _config_headers(self, session: Session) -> None:
        # The first thing pyiceberg does to a new session, before its auth manager asks it for
        # a token, so every request the session sends is bounded.
        super()._config_headers(session)
        timeout = float(self.properties.get(TIMEOUT_PROPERTY, REQUEST_TIMEOUT_S))
        send = session.request

        def request(method: str, url: str | bytes, **kwargs: Any) -> Any:
            if kwargs.get("timeout") is None:
                kwargs["timeout"] = timeout
            return send(method, url, **kwargs)

        session.request = request  # type: ignore[method-assign, assignment]
