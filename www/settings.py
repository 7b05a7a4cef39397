"""Settings: config/default.yaml, an optional overlay file, then WWW_* environment variables.

The dataclasses below are the schema: every key the YAML may hold, with its type. Each
source is checked on its own, so an error names the file (or variable) and the key:

    config/local.yaml: server.port: expected an integer, got 'eighty'
"""

import dataclasses
import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from types import UnionType
from typing import Any, get_args, get_type_hints

import yaml

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


@dataclasses.dataclass(frozen=True)
class ServerSettings:
    host: str
    port: int
    backlog: int
    shutdown_timeout: float


@dataclasses.dataclass(frozen=True)
class DbSettings:
    url: str
    readers: int
    busy_timeout_ms: int


@dataclasses.dataclass(frozen=True)
class SessionSettings:
    secret: str | None
    secret_file: str | None
    cookie_name: str
    max_age: int
    secure: bool


@dataclasses.dataclass(frozen=True)
class PasswordSettings:
    time_cost: int
    memory_cost: int
    parallelism: int


@dataclasses.dataclass(frozen=True)
class UploadSettings:
    directory: str
    max_size: int


@dataclasses.dataclass(frozen=True)
class BlogSettings:
    per_page: int


@dataclasses.dataclass(frozen=True)
class TemplateSettings:
    auto_reload: bool


@dataclasses.dataclass(frozen=True)
class LoggingSettings:
    level: str
    access_log: bool


@dataclasses.dataclass(frozen=True)
class Settings:
    server: ServerSettings
    db: DbSettings
    session: SessionSettings
    passwords: PasswordSettings
    uploads: UploadSettings
    blog: BlogSettings
    templates: TemplateSettings
    logging: LoggingSettings

    @staticmethod
    def resolve(path: str) -> Path:
        """A configured path: absolute as given, else relative to the project root."""
        return Path(path) if os.path.isabs(path) else PROJECT_ROOT / path


# Range checks beyond the type: key -> (test, what the value must be).
CHECKS = {
    "server.port": (lambda v: 0 <= v <= 65535, "must be between 0 and 65535"),
    "server.backlog": (lambda v: v >= 1, "must be at least 1"),
    "server.shutdown_timeout": (lambda v: v >= 0, "must not be negative"),
    "db.readers": (lambda v: 1 <= v <= 32, "must be between 1 and 32"),
    "db.busy_timeout_ms": (lambda v: v >= 0, "must not be negative"),
    "session.secret": (lambda v: v is None or len(v) >= 32, "must be at least 32 characters"),
    "session.max_age": (lambda v: v > 0, "must be positive"),
    "passwords.time_cost": (lambda v: v >= 1, "must be at least 1"),
    "passwords.memory_cost": (lambda v: v >= 8, "must be at least 8 (KiB)"),
    "passwords.parallelism": (lambda v: v >= 1, "must be at least 1"),
    "uploads.max_size": (lambda v: v > 0, "must be positive"),
    "blog.per_page": (lambda v: 1 <= v <= 100, "must be between 1 and 100"),
    "logging.level": (lambda v: v.upper() in LOG_LEVELS, f"must be one of {', '.join(LOG_LEVELS)}"),
}

TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def _sections() -> dict[str, type]:
    return {f.name: f.type for f in dataclasses.fields(Settings)}


def _check_value(source: str, key: str, value: Any, annotation: Any) -> Any:
    """Return `value` if it fits `annotation` (ints are accepted as floats), else raise."""
    allowed = get_args(annotation) if isinstance(annotation, UnionType) else (annotation,)
    if value is None and type(None) in allowed:
        return None
    for kind in allowed:
        # bool is a subclass of int in Python, but `port: true` is a mistake, not 1.
        if type(value) is kind or (kind is float and type(value) is int):
            break
    else:
        expected = " or ".join(TYPE_NAMES.get(k, "null") for k in allowed)
        raise ConfigError(source, key, f"expected {expected}, got {value!r}")
    if key in CHECKS and not CHECKS[key][0](value):
        raise ConfigError(source, key, f"{CHECKS[key][1]}, got {value!r}")
    return value


def check_layer(source: str, layer: Any) -> dict[str, dict[str, Any]]:
    """Validate one partial layer (a parsed file or the env overrides) against the schema."""
    if layer is None:
        return {}
    if not isinstance(layer, Mapping):
        raise ConfigError(source, None, "expected a mapping of sections at the top level")
    sections = _sections()
    checked: dict[str, dict[str, Any]] = {}
    for section, values in layer.items():
        if section not in sections:
            raise ConfigError(source, str(section), "unknown section")
        if not isinstance(values, Mapping):
            raise ConfigError(source, section, "expected a mapping of keys")
        hints = get_type_hints(sections[section])
        for key, value in values.items():
            name = f"{section}.{key}"
            if key not in hints:
                raise ConfigError(source, name, "unknown key")
            checked.setdefault(section, {})[key] = _check_value(source, name, value, hints[key])
    return checked


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

    merged: dict[str, dict[str, Any]] = {}
    for source, layer in layers:
        for section, values in check_layer(source, layer).items():
            merged.setdefault(section, {}).update(values)

    built = {}
    for section, cls in _sections().items():
        values = merged.get(section, {})
        for field in dataclasses.fields(cls):
            if field.name not in values:
                raise ConfigError(layers[0][0], f"{section}.{field.name}", "missing key")
        built[section] = cls(**values)
    return Settings(**built)


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
