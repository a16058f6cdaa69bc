"""Errors of the HTTP client: what callers catch, and what a payload check raises to retry."""

from __future__ import annotations

from typing import Any

from ai_core.http.redact import redact_url


class RetryableResponse(Exception):
    """Raised by a `validate` callback when a well-formed answer says the upstream failed.

    The client then retries the request like any other transient fault.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FetchError(Exception):
    """A request that failed for good: not retryable, or still failing after every retry.

    Carries what failed (`label`, `url`), how often it was tried (`attempts`), the last cause in
    words (`cause`) and the last HTTP status if there was one (`status`).
    """

    def __init__(
        self,
        message: str,
        *,
        label: str | None,
        url: str,
        attempts: int,
        cause: str,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.label = label
        self.url = redact_url(url)
        self.attempts = attempts
        self.cause = cause
        self.status = status

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only attributes are lost by the default exception pickling, which errors
        # crossing process boundaries rely on.
        return (_rebuild, (type(self), str(self), self.__dict__))

    @classmethod
    def exhausted(
        cls, *, label: str | None, url: str, attempts: int, cause: str, status: int | None
    ) -> FetchError:
        what, url = label or "request", redact_url(url)
        return cls(
            f"{what} failed after {attempts} attempts (last: {cause}): GET {url}. "
            "Rerun the partition once the upstream recovers.",
            label=label,
            url=url,
            attempts=attempts,
            cause=cause,
            status=status,
        )

    @classmethod
    def not_retryable(
        cls, *, label: str | None, url: str, attempts: int, cause: str, status: int | None
    ) -> FetchError:
        what, url = label or "request", redact_url(url)
        return cls(
            f"{what} failed with {cause} on attempt {attempts}, which is not retried: GET {url}. "
            "Check the URL and parameters, then rerun the partition.",
            label=label,
            url=url,
            attempts=attempts,
            cause=cause,
            status=status,
        )


class ResponseTooLarge(FetchError):
    """A response body grew past `max_response_bytes`; the request is aborted, not retried."""

    def __init__(
        self,
        message: str,
        *,
        label: str | None,
        url: str,
        attempts: int,
        cause: str,
        status: int | None = None,
        limit_bytes: int = 0,
    ) -> None:
        super().__init__(
            message, label=label, url=url, attempts=attempts, cause=cause, status=status
        )
        self.limit_bytes = limit_bytes

    @classmethod
    def past_limit(
        cls, *, label: str | None, url: str, attempts: int, status: int, seen: int, limit: int
    ) -> ResponseTooLarge:
        what, url = label or "request", redact_url(url)
        return cls(
            f"{what}: the response to GET {url} passed max_response_bytes={limit} "
            f"({seen} bytes seen), so it was aborted and not retried. Raise max_response_bytes "
            "if pages this large are expected, or ask for smaller pages.",
            label=label,
            url=url,
            attempts=attempts,
            cause=f"body larger than {limit} bytes",
            status=status,
            limit_bytes=limit,
        )


def _rebuild(cls: type[FetchError], message: str, state: dict[str, Any]) -> FetchError:
    error = Exception.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error
