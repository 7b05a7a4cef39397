"""Settings: config/default.yaml, an optional overlay file, then WWW_* environment variables.

The pydantic models below are the schema: every key the YAML may hold, with its type and
its limits, each declared once on the field. Each source is checked on its own, so an
error names the file (or variable) and the key, in one line:

    config/local.yaml: server.port: expected an integer, got 'eighty'
"""

import logging
import os
import secrets
from collections.abc import Mapping
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Any, get_args

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "default.yaml"
ENV_PREFIX = "WWW_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

log = logging.getLogger(__name__)


class ConfigError(Exception):
    """A configuration mistake, named by its source (file or variable) and key."""

    def __init__(self, source: str, key: str | None, message: str) -> None:
        self.source, self.key, self.message = source, key, message
        super().__init__(f"{source}: {key}: {message}" if key else f"{source}: {message}")


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


class DbSettings(_Model):
    url: str
    readers: int = Field(ge=1, le=32)
    busy_timeout_ms: int = Field(ge=0)
    pool_size: int = Field(ge=1, le=1000)
    connect_timeout: float = Field(gt=0)


class SessionSettings(_Model):
    secret: str | None = Field(min_length=32)
    secret_file: str | None
    cookie_name: str
    max_age: int = Field(gt=0)
    secure: bool


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


class CacheSettings(_Model):
    max_entries: int = Field(ge=1)
    max_bytes: int = Field(ge=0, description="bytes")


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
    db: DbSettings
    session: SessionSettings
    passwords: PasswordSettings
    uploads: UploadSettings
    blog: BlogSettings
    markdown: MarkdownSettings
    cache: CacheSettings
    templates: TemplateSettings
    live: LiveSettings
    redis: RedisSettings
    logging: LoggingSettings

    @staticmethod
    def resolve(path: str) -> Path:
        """A configured path: absolute as given, else relative to the project root."""
        return Path(path) if os.path.isabs(path) else PROJECT_ROOT / path


# pydantic's error types in this project's words, so every field reads alike. {limit} is
# the field's own bounds in words, {or_null} is added for fields that may be null.
MESSAGES = {
    "missing": "missing key",
    "extra_forbidden": "unknown {level}",
    "invalid_key": "unknown {level}",
    "model_type": "expected a mapping of keys",
    "int_type": "expected an integer{or_null}, got {value!r}",
    "float_type": "expected a number{or_null}, got {value!r}",
    "string_type": "expected a string{or_null}, got {value!r}",
    "bool_type": "expected true or false{or_null}, got {value!r}",
    "tuple_type": "expected a list{or_null}, got {value!r}",
    "greater_than": "{limit}, got {value!r}",
    "greater_than_equal": "{limit}, got {value!r}",
    "less_than_equal": "{limit}, got {value!r}",
    "string_too_short": "{limit}, got {value!r}",
    "value_error": "{reason}, got {value!r}",
}


def _limit(field: FieldInfo) -> str:
    """A field's bounds in words, the same whichever bound was crossed."""
    names = ("gt", "ge", "le", "min_length")
    bound = {name: getattr(m, name) for m in field.metadata for name in names if hasattr(m, name)}
    unit = f" ({field.description})" if field.description else ""
    if "ge" in bound and "le" in bound:
        return f"must be between {bound['ge']} and {bound['le']}{unit}"
    if "min_length" in bound:
        return f"must be at least {bound['min_length']} characters"
    if bound.get("gt") == 0:
        return "must be positive"
    if bound.get("ge") == 0:
        return "must not be negative"
    if "ge" in bound:
        return f"must be at least {bound['ge']}{unit}"
    return str(bound)  # a kind of bound not worded yet: show it as declared


def _config_error(source: str, error: ErrorDetails) -> ConfigError:
    """One pydantic error as a ConfigError naming `source` and the dotted key."""
    loc = error["loc"]
    section = Settings.model_fields.get(str(loc[0])) if len(loc) == 2 else None
    field = section.annotation.model_fields.get(str(loc[1])) if section else None
    template = MESSAGES.get(error["type"])
    message = error["msg"]  # an error type not in MESSAGES keeps pydantic's own words
    if template:
        message = template.format(
            value=error["input"],
            level="section" if len(loc) == 1 else "key",
            or_null=" or null" if field and type(None) in get_args(field.annotation) else "",
            limit=_limit(field) if field else "",
            reason=error.get("ctx", {}).get("error"),
        )
    return ConfigError(source, ".".join(map(str, loc)) or None, message)


def _overlay(source: str, merged: dict[str, Any], layer: Any) -> dict[str, Any]:
    """`layer` merged over `merged`, section by section, as a new dict (inputs untouched)."""
    if layer is None:
        return merged
    if not isinstance(layer, Mapping):
        raise ConfigError(source, None, "expected a mapping of sections at the top level")
    result = dict(merged)
    for section, values in layer.items():
        below = result.get(section)
        mergeable = isinstance(below, dict) and isinstance(values, Mapping)
        # Anything else (an unknown section, a list) is left for pydantic to report.
        result[section] = {**below, **values} if mergeable else values
    return result


def _errors(data: dict[str, Any]) -> list[ErrorDetails]:
    """What pydantic finds wrong with `data`, in order; empty when it is valid."""
    try:
        Settings.model_validate(data)
    except ValidationError as exc:
        return exc.errors(include_url=False)
    return []


def read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), None, "file not found") from None
    except OSError as exc:
        raise ConfigError(str(path), None, f"cannot read file ({exc.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where else ""
        raise ConfigError(str(path), None, f"invalid YAML{at}") from None


def env_layer(environ: Mapping[str, str]) -> list[tuple[str, dict]]:
    """WWW_SECTION__KEY=value variables as one-key layers, values parsed as YAML."""
    layers = []
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or "__" not in name or name == "WWW_CONFIG":
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        source = f"environment variable {name}"
        try:
            value = yaml.safe_load(environ[name])
        except yaml.YAMLError:
            raise ConfigError(source, f"{section}.{key}", "invalid YAML value") from None
        layers.append((source, {section: {key: value}}))
    return layers


def load_settings(
    config_path: str | Path | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings from defaults, an overlay file, env variables, then `overrides`.

    `config_path` falls back to $WWW_CONFIG. `overrides` (a nested mapping, like a parsed
    YAML file) is for tests and tools. Raises ConfigError naming the source and the key.
    """
    environ = os.environ if environ is None else environ
    config_path = config_path or environ.get("WWW_CONFIG") or None
    layers = [(str(DEFAULT_CONFIG.relative_to(PROJECT_ROOT)), read_yaml(DEFAULT_CONFIG))]
    if config_path:
        layers.append((str(config_path), read_yaml(Path(config_path))))
    layers += env_layer(environ)
    if overrides:
        layers.append(("overrides", overrides))

    # pydantic has no partial models, so each layer is validated merged over the layers
    # below it, which were valid: any error but a missing key is this layer's doing.
    merged: dict[str, Any] = {section: {} for section in Settings.model_fields}
    for source, layer in layers:
        merged = _overlay(source, merged, layer)
        errors = _errors(merged)
        wrong = [error for error in errors if error["type"] != "missing"]
        if wrong:
            raise _config_error(source, wrong[0])
    if errors:  # keys no layer gave: config/default.yaml should hold them all
        raise _config_error(layers[0][0], errors[0])
    return Settings.model_validate(merged)


def session_secret(settings: Settings) -> str:
    """The session secret: configured, else kept in `session.secret_file` (made once).

    Raises ConfigError when neither is set, so production fails loudly at start-up.
    """
    if settings.session.secret:
        return settings.session.secret
    if not settings.session.secret_file:
        raise ConfigError("settings", "session.secret", "required (set WWW_SESSION__SECRET)")
    path = Settings.resolve(settings.session.secret_file)
    if path.exists():
        secret = path.read_text(encoding="utf-8").strip()
        if len(secret) >= 32:
            return secret
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    log.warning("No session.secret configured: generated one and saved it in %s", path)
    return secret
