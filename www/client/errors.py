"""What the client raises: one ApiError subclass per status the API answers with (each
carrying the API's message and, on 422, its `fields`), and TransportError for what never
became an answer (no connection, a timeout, a transfer cut short)."""

from collections.abc import Mapping
from typing import Any


class ClientError(Exception):
    """Base of everything the client raises."""


class ApiError(ClientError):
    """The API answered with an error status: `status`, its `message`, and `fields` (a
    message for each field that broke a rule, on 422; else empty)."""

    status = 0  # set by each subclass; the base is used for the statuses none names

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        fields: Mapping[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status if status is not None else type(self).status
        self.fields = dict(fields or {})
        self.retry_after = retry_after  # seconds, when the server sent Retry-After

    def __str__(self) -> str:
        details = "; ".join(f"{name}: {text}" for name, text in self.fields.items())
        return f"{self.message} ({details})" if details else self.message


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    """No token, or a wrong, revoked or expired one."""

    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class RequestTimeout(ApiError):
    """The server gave up waiting for the request's body (a stalled upload)."""

    status = 408


class PayloadTooLarge(ApiError):
    """Over the server's size limit (uploads.max_size) or the user's quota."""

    status = 413


class UnsupportedMediaType(ApiError):
    status = 415


class ValidationFailed(ApiError):
    """Input that breaks a rule: `fields` has a message for each field."""

    status = 422


class RateLimited(ApiError):
    """Too many attempts: `retry_after` says how many seconds to wait."""

    status = 429


class ServerError(ApiError):
    """An unexpected error on the server (any 5xx without a class of its own)."""

    status = 500


class ServiceUnavailable(ServerError):
    """The server cannot answer now (shutting down, busy); `retry_after` may say when."""

    status = 503


class InsufficientStorage(ServerError):
    status = 507


BY_STATUS: dict[int, type[ApiError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        RequestTimeout,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        ValidationFailed,
        RateLimited,
        ServiceUnavailable,
        InsufficientStorage,
    )
}


def error_for(status: int, body: Any, retry_after: float | None = None) -> ApiError:
    """The exception for an error answer: its class by status, the API's message and
    fields from its JSON body (a proxy's HTML error page gives the status's name)."""
    error = body.get("error") if isinstance(body, dict) else None
    message, fields = f"HTTP {status}", {}
    if isinstance(error, dict):
        message = str(error.get("message") or message)
        if isinstance(error.get("fields"), dict):
            fields = {str(k): str(v) for k, v in error["fields"].items()}
    cls = BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    return cls(message, status=status, fields=fields, retry_after=retry_after)


class UnexpectedAnswer(ClientError):
    """A successful status whose body is not what the API answers (a proxy's page, or
    a server of another version)."""


class TransportError(ClientError):
    """No answer: the connection failed or broke, or a timeout passed."""


class ConnectionFailed(TransportError):
    """The server could not be reached, or the connection broke before an answer."""


class Timeout(TransportError):
    """The server took longer than the client's timeout to connect or answer."""


class TransferFailed(TransportError):
    """A download ended early or its bytes do not match the file's size or SHA-256."""
