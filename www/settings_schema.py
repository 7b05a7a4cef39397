"""The schema of the settings: every section of config/default.yaml and its keys.

Each key is declared once here, with its type and its limits; www/settings.py reads the
files and variables, and words pydantic's errors from these declarations. A new setting
goes in config/default.yaml (with a comment) and here.
"""

import os
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import limits
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level(value: str) -> str:
    """Any case will do (app.py upper-cases it for logging), so this is not a Literal."""
    if value.upper() not in LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
    return value


def _ip_network(value: object) -> IPv4Network | IPv6Network:
    """An address (a network of one) or a network in CIDR notation, written as a string.

    A network whose address has host bits set (10.0.0.1/8) is refused rather than
    widened: trusting a /8 where one address was meant should not happen silently.
    """
    if not isinstance(value, str):
        raise ValueError("expected an IP address or network (CIDR) as a string")
    try:
        return ip_network(value)
    except ValueError:
        pass
    try:
        network = ip_network(value, strict=False)
    except ValueError:
        raise ValueError("expected an IP address or network (CIDR)") from None
    raise ValueError(f"expected the network's own address, {network}")


IPNetwork = Annotated[IPv4Network | IPv6Network, PlainValidator(_ip_network)]


class _Model(BaseModel):
    """Strict because YAML already gives typed values: `port: true` or `port: '80'` is a
    mistake to report, not a value to coerce (an int still counts as a float). Frozen, so
    hashable: www/passwords.py caches its hashers keyed on PasswordSettings."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class ServerSettings(_Model):
    host: str
    port: int = Field(ge=0, le=65535)
    backlog: int = Field(ge=1)
    shutdown_timeout: float = Field(ge=0)
    # Peers whose X-Forwarded-For/-Proto/-Host are believed (www/proxy.py). A YAML list,
    # kept as a tuple so that the section stays hashable (lax only to take the list).
    trusted_proxies: tuple[IPNetwork, ...] = Field(strict=False)
    # Slow and idle clients (www/connections.py).
    header_timeout: float = Field(gt=0, description="seconds")
    body_timeout: float = Field(gt=0, description="seconds")
    keepalive_timeout: float = Field(gt=0, description="seconds")
    max_connections: int = Field(ge=1)
    max_websockets: int = Field(ge=1)
    websocket_send_timeout: float = Field(gt=0, description="seconds")
    # The interpreter of a server process (www/interpreter.py).
    gc_threshold: int = Field(ge=100)


class DbSettings(_Model):
    url: str
    readers: int = Field(ge=1, le=32)
    busy_timeout_ms: int = Field(ge=0)
    pool_size: int = Field(ge=1, le=1000)
    body_pool_size: int = Field(ge=1, le=1000)
    pool_idle_timeout: float = Field(ge=0, description="seconds")
    connect_timeout: float = Field(gt=0)


class SessionSettings(_Model):
    secret: str | None = Field(min_length=32)
    secret_file: str | None
    cookie_name: str
    max_age: int = Field(gt=0)
    secure: bool
    cache_entries: int = Field(ge=0, le=1_000_000)


class PasswordSettings(_Model):
    time_cost: int = Field(ge=1)
    memory_cost: int = Field(ge=8, description="KiB")  # a description is shown as the unit
    parallelism: int = Field(ge=1)
    workers: int = Field(ge=0, le=256)  # 0: one per CPU
    queue: int = Field(ge=0)


class UploadSettings(_Model):
    directory: str
    max_size: int = Field(gt=0)
    io_workers: int = Field(ge=1, le=256)
    read_timeout: float = Field(gt=0, le=3600, description="seconds")
    quota_per_user: int = Field(gt=0)
    min_free_bytes: int = Field(ge=0)
    image_max_age: int = Field(ge=0, le=31536000, description="seconds")


class BlogSettings(_Model):
    per_page: int = Field(ge=1, le=100)
    comments_per_page: int = Field(ge=1, le=100)


class SearchSettings(_Model):
    max_query_length: int = Field(ge=1, le=10_000, description="characters")
    max_words: int = Field(ge=1, le=64)
    excerpt_length: int = Field(ge=20, le=5_000, description="characters")


class FeedSettings(_Model):
    entries: int = Field(ge=1, le=100)
    title: str = Field(min_length=1, max_length=200)
    max_age: int = Field(ge=0, le=86400, description="seconds")


class AdminSettings(_Model):
    csv_batch: int = Field(ge=1, le=10_000)
    max_bulk: int = Field(ge=1, le=10_000)
    audit_per_page: int = Field(ge=1, le=500)


class CacheSettings(_Model):
    data: bool
    max_entries: int = Field(ge=1)
    max_bytes: int = Field(ge=0, description="bytes")
    responses: bool
    responses_max_bytes: int = Field(ge=0, description="bytes")


class MarkdownSettings(_Model):
    threads: int = Field(ge=1, le=64)
    queue: int = Field(ge=0, le=10_000)
    max_html: int = Field(ge=100_000, description="characters")


class TemplateSettings(_Model):
    auto_reload: bool


class LiveSettings(_Model):
    poll_interval: float = Field(ge=0.005, le=5, description="seconds")
    keep_seconds: float = Field(ge=1, description="seconds")
    keep_rows: int = Field(ge=100)
    reconnect_max: float = Field(ge=0.1, le=300, description="seconds")


def _rate(value: Any) -> str:
    """A rate in the `limits` library's words ("5 per 5 minutes", "20/minute")."""
    if not isinstance(value, str):
        raise ValueError("expected a rate such as '5 per 5 minutes'")
    try:
        limits.parse(value)
    except ValueError:
        raise ValueError("expected a rate such as '5 per 5 minutes' or '20/minute'") from None
    return value


Rate = Annotated[str, PlainValidator(_rate)]


class AccountSettings(_Model):
    reset_link_lifetime: float = Field(ge=60, le=86400, description="seconds")
    max_tokens_per_user: int = Field(ge=1, le=1000)
    token_last_used_interval: float = Field(ge=0, le=86400, description="seconds")


class RateLimitSettings(_Model):
    login_account: Rate
    login_address: Rate
    register_address: Rate
    reset_address: Rate
    reset_email: Rate
    password_change_user: Rate
    post_user: Rate
    comment_user: Rate
    upload_user: Rate
    token_user: Rate
    bearer_failure_address: Rate
    max_keys: int = Field(ge=1000)


def _base_url(value: Any) -> str:
    """http(s)://host[:port][/path], without a query or a trailing slash."""
    if not isinstance(value, str):
        raise ValueError("expected a URL such as https://blog.example.com")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an absolute http:// or https:// URL")
    if parts.query or parts.fragment or value.endswith("/"):
        raise ValueError("expected no query, fragment or trailing slash")
    return value


class SiteSettings(_Model):
    base_url: Annotated[str, PlainValidator(_base_url)]


def _smtp_url(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    if value and (urlsplit(value).scheme not in ("smtp", "smtps") or not urlsplit(value).hostname):
        raise ValueError("expected smtp://[user:password@]host:port, smtps://..., or empty")
    return value


def _address(value: Any) -> str:
    if not isinstance(value, str) or "@" not in value or "\n" in value or "\r" in value:
        raise ValueError("expected an address such as 'Blog <noreply@example.com>'")
    return value


class MailSettings(_Model):
    smtp_url: Annotated[str, PlainValidator(_smtp_url)]
    sender: Annotated[str, PlainValidator(_address)] = Field(alias="from")
    outbox: str
    timeout: float = Field(gt=0, le=300, description="seconds")
    attempts: int = Field(ge=1, le=20)
    retry_delay: float = Field(gt=0, le=3600, description="seconds")
    queue: int = Field(ge=1)


def _redis_url(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    if value and not value.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("expected redis://host:port/n, rediss://... or unix://..., or empty")
    return value


class RedisSettings(_Model):
    url: Annotated[str, PlainValidator(_redis_url)]
    key_prefix: str = Field(min_length=1)
    timeout: float = Field(gt=0, description="seconds")


class LoggingSettings(_Model):
    level: Annotated[str, AfterValidator(_log_level)]
    access_log: bool


class Settings(_Model):
    server: ServerSettings
    site: SiteSettings
    db: DbSettings
    session: SessionSettings
    passwords: PasswordSettings
    accounts: AccountSettings
    rate_limits: RateLimitSettings
    uploads: UploadSettings
    blog: BlogSettings
    search: SearchSettings
    feeds: FeedSettings
    admin: AdminSettings
    markdown: MarkdownSettings
    cache: CacheSettings
    templates: TemplateSettings
    live: LiveSettings
    redis: RedisSettings
    mail: MailSettings
    logging: LoggingSettings

    @staticmethod
    def resolve(path: str) -> Path:
        """A configured path: absolute as given, else relative to the project root."""
        return Path(path) if os.path.isabs(path) else PROJECT_ROOT / path
