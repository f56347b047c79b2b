"""The Bot API's error answers, as exceptions the method handlers raise.

The descriptions are the platforms' own English protocol strings (bots and libraries match on them),
so they live here in code, not in the locale catalogs.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ApiError",
    "bad_request",
    "forbidden",
    "not_found",
    "too_many_requests",
    "unauthorized",
]


class ApiError(Exception):
    """An answer with ``ok: false``: the HTTP status is also the ``error_code``."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        """The JSON body the real API sends for this error."""
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str) -> ApiError:
    """A 400 whose description is ``Bad Request: <reason>``."""
    return ApiError(400, f"Bad Request: {reason}")


def forbidden(reason: str) -> ApiError:
    """A 403 whose description is ``Forbidden: <reason>``."""
    return ApiError(403, f"Forbidden: {reason}")


def not_found() -> ApiError:
    """The 404 for an unknown method or path."""
    return ApiError(404, "Not Found")


def unauthorized() -> ApiError:
    """The 401 for an unknown token."""
    return ApiError(401, "Unauthorized")


def too_many_requests(retry_after: int) -> ApiError:
    """A 429 carrying ``parameters.retry_after`` as both platforms send it."""
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
