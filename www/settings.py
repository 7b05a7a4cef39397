"""Settings: config/default.yaml, an optional overlay file, then WWW_* environment variables.

The pydantic models of www/settings_schema.py are the schema: every key the YAML may hold,
with its type and its limits, each declared once on the field. Each source is checked on
its own, so an error names the file (or variable) and the key, in one line:

    config/local.yaml: server.port: expected an integer, got 'eighty'
"""

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from .settings_schema import (  # noqa: F401 (the sections, imported from here by the app)
    PROJECT_ROOT,
    LiveSettings,
    MailSettings,
    PasswordSettings,
    RedisSettings,
    ServerSettings,
    Settings,
)

DEFAULT_CONFIG = PROJECT_ROOT / "config" / "default.yaml"
ENV_PREFIX = "WWW_"

log = logging.getLogger(__name__)


class ConfigError(Exception):
    """A configuration mistake, named by its source (file or variable) and key."""

    def __init__(self, source: str, key: str | None, message: str) -> None:
        self.source, self.key, self.message = source, key, message
        super().__init__(f"{source}: {key}: {message}" if key else f"{source}: {message}")


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
    fields = section.annotation.model_fields if section else {}
    field = next((f for n, f in fields.items() if str(loc[1]) in (n, f.alias)), None)
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
