"""A Python client for the blog's JSON API, on aiohttp: `from www.client import Client`.

See www/client/client.py for the API as Python, www/client/errors.py for what it raises,
and www/client/__main__.py for `python -m www.client`, the command line on top of it.
"""

from .client import Client
from .errors import (
    ApiError,
    BadRequest,
    ClientError,
    Conflict,
    ConnectionFailed,
    Forbidden,
    InsufficientStorage,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    RequestTimeout,
    ServerError,
    ServiceUnavailable,
    Timeout,
    TransferFailed,
    TransportError,
    Unauthorized,
    UnexpectedAnswer,
    UnsupportedMediaType,
    ValidationFailed,
)
from .http import Retry

__all__ = [
    "ApiError",
    "BadRequest",
    "Client",
    "ClientError",
    "Conflict",
    "ConnectionFailed",
    "Forbidden",
    "InsufficientStorage",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "RequestTimeout",
    "Retry",
    "ServerError",
    "ServiceUnavailable",
    "Timeout",
    "TransferFailed",
    "TransportError",
    "Unauthorized",
    "UnexpectedAnswer",
    "UnsupportedMediaType",
    "ValidationFailed",
]
