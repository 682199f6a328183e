"""Errors the simulator answers with: StockX's `{statusCode, message}` and Auth0's OAuth shape."""

from __future__ import annotations


class ApiError(Exception):
    """A `/v2` failure rendered as StockX's documented `PublicApiError` body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> dict[str, object]:
        return {"statusCode": self.status, "message": self.message}


class OAuthError(Exception):
    """An Auth0-style token endpoint failure: `{"error", "error_description"}`."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def not_found(message: str = "Resource not found") -> ApiError:
    return ApiError(404, message)


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)
