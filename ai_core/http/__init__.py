"""The shared HTTP client: pooled async JSON GETs with retries, limits and per-run stats."""

from ai_core.http.client import AsyncHttpClient, Validator
from ai_core.http.config import HttpClientConfig
from ai_core.http.errors import FetchError, ResponseTooLarge, RetryableResponse
from ai_core.http.headers import BROWSER_PROFILES, HeaderRotator
from ai_core.http.response import JsonResponse
from ai_core.http.stats import FetchStats
from ai_core.http.sync import iterate_in_thread, run_async

__all__ = [
    "BROWSER_PROFILES",
    "AsyncHttpClient",
    "FetchError",
    "FetchStats",
    "HeaderRotator",
    "HttpClientConfig",
    "JsonResponse",
    "ResponseTooLarge",
    "RetryableResponse",
    "Validator",
    "iterate_in_thread",
    "run_async",
]
