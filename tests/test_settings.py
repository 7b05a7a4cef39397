"""Settings: defaults, overlay files, WWW_* variables, and each validation error."""

import pytest
import yaml
from pydantic import ValidationError

from www.passwords import hasher
from www.settings import DEFAULT_CONFIG, ConfigError, Settings, load_settings, session_secret


def write(tmp_path, text, name="local.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_need_no_edits():
    settings = load_settings(environ={})
    assert settings.server.host == "127.0.0.1"
    assert settings.server.port == 8080
    assert settings.db.url == "sqlite:///data/www.db"
    assert settings.blog.per_page == 10
    assert settings.session.secure is False
    assert settings.uploads.max_size == 10 * 1024 * 1024


def test_overlay_file_is_deep_merged(tmp_path):
    path = write(tmp_path, "server:\n  port: 9001\nblog:\n  per_page: 3\n")
    settings = load_settings(path, environ={})
    assert settings.server.port == 9001
    assert settings.server.host == "127.0.0.1"  # the rest of the section is kept
    assert settings.blog.per_page == 3


def test_overlay_from_www_config_variable(tmp_path):
    path = write(tmp_path, "server: {port: 9002}\n")
    assert load_settings(environ={"WWW_CONFIG": str(path)}).server.port == 9002


def test_env_override_parsed_as_yaml(tmp_path):
    path = write(tmp_path, "server: {port: 9003}\n")
    env = {"WWW_SERVER__PORT": "9000", "WWW_SESSION__SECURE": "true", "OTHER": "x"}
    settings = load_settings(path, environ=env)
    assert settings.server.port == 9000  # env beats the overlay file
    assert settings.session.secure is True


def test_env_secret_override():
    secret = "s" * 40
    assert load_settings(environ={"WWW_SESSION__SECRET": secret}).session.secret == secret


def test_int_accepted_for_float():
    settings = load_settings(overrides={"server": {"shutdown_timeout": 3}}, environ={})
    assert settings.server.shutdown_timeout == 3


def test_production_example_is_valid():
    settings = load_settings(Settings.resolve("config/production.yaml"), environ={})
    assert settings.session.secure is True
    assert settings.session.secret_file is None


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("server: {port: eighty}\n", "server.port", "expected an integer, got 'eighty'"),
        ("server: {port: true}\n", "server.port", "expected an integer, got True"),
        ("server: {port: 70000}\n", "server.port", "must be between 0 and 65535"),
        ("server: {colour: blue}\n", "server.colour", "unknown key"),
        ("serverr: {port: 1}\n", "serverr", "unknown section"),
        ("server: 8080\n", "server", "expected a mapping of keys"),
        ("session: {secure: 'yes'}\n", "session.secure", "expected true or false"),
        ("session: {secret: short}\n", "session.secret", "at least 32 characters"),
        ("blog: {per_page: 0}\n", "blog.per_page", "between 1 and 100"),
        ("logging: {level: LOUD}\n", "logging.level", "must be one of"),
        # Every kind of limit, worded from the field's own declaration:
        ("server: {backlog: 0}\n", "server.backlog", "must be at least 1, got 0"),
        ("server: {shutdown_timeout: -1}\n", "server.shutdown_timeout", "must not be negative"),
        ("db: {readers: 33}\n", "db.readers", "must be between 1 and 32, got 33"),
        ("session: {max_age: 0}\n", "session.max_age", "must be positive, got 0"),
        ("passwords: {memory_cost: 4}\n", "passwords.memory_cost", "at least 8 (KiB), got 4"),
        ("logging: {level: 5}\n", "logging.level", "expected a string, got 5"),
        # Strict types: no coercion, and a bool is no number either.
        ("server: {port: '8080'}\n", "server.port", "expected an integer, got '8080'"),
        ("server: {port: 1.5}\n", "server.port", "expected an integer, got 1.5"),
        ("server: {shutdown_timeout: true}\n", "server.shutdown_timeout", "a number, got True"),
        ("session: {secret: 5}\n", "session.secret", "expected a string or null, got 5"),
        ("server: null\n", "server", "expected a mapping of keys"),
        # The accounts' settings: rates, the site's address, mail.
        ("rate_limits: {login_account: often}\n", "rate_limits.login_account", "'5 per 5 min"),
        ("rate_limits: {login_address: 20}\n", "rate_limits.login_address", "expected a rate"),
        ("site: {base_url: blog.example.com}\n", "site.base_url", "absolute http:// or https"),
        ("site: {base_url: 'https://a.example/'}\n", "site.base_url", "or trailing slash"),
        ("mail: {smtp_url: 'http://mail'}\n", "mail.smtp_url", "expected smtp://"),
        ("mail: {from: nobody}\n", "mail.from", "expected an address"),
        ("mail: {attempts: 0}\n", "mail.attempts", "must be between 1 and 20, got 0"),
        ("accounts: {max_tokens_per_user: 0}\n", "accounts.max_tokens_per_user", "between 1"),
        ("server: {1: x}\n", "server.1", "unknown key"),
    ],
)
def test_validation_errors_name_file_and_key(tmp_path, text, key, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    assert info.value.key == key
    assert str(info.value).startswith(f"{path}: {key}: ")
    assert message in str(info.value)


def test_env_variable_error_names_the_variable():
    with pytest.raises(ConfigError, match=r"environment variable WWW_SERVER__PORT: server.port"):
        load_settings(environ={"WWW_SERVER__PORT": "[1, 2]"})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WWW_SERVER__PORT", "eighty", "server.port: expected an integer, got 'eighty'"),
        ("WWW_SESSION__SECURE", "maybe", "session.secure: expected true or false, got 'maybe'"),
        ("WWW_BLOG__PER_PAGE", "0", "blog.per_page: must be between 1 and 100, got 0"),
        ("WWW_SERVER__COLOUR", "blue", "server.colour: unknown key"),
        ("WWW_SERVERR__PORT", "1", "serverr: unknown section"),
    ],
)
def test_env_variable_error_is_one_line_naming_variable_and_key(name, value, message):
    with pytest.raises(ConfigError) as info:
        load_settings(environ={name: value})
    assert str(info.value) == f"environment variable {name}: {message}"


def test_env_variable_invalid_yaml():
    with pytest.raises(ConfigError, match=r"WWW_BLOG__PER_PAGE: blog\.per_page: invalid YAML"):
        load_settings(environ={"WWW_BLOG__PER_PAGE": "{oops"})


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"nope.yaml: file not found"):
        load_settings(tmp_path / "nope.yaml", environ={})


def test_unreadable_path(tmp_path):
    with pytest.raises(ConfigError, match="cannot read file"):
        load_settings(tmp_path, environ={})  # a directory


def test_invalid_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "server:\n  port: [1,\n")
    with pytest.raises(ConfigError, match=r"invalid YAML at line \d+"):
        load_settings(path, environ={})


def test_top_level_must_be_a_mapping(tmp_path):
    path = write(tmp_path, "- just\n- a list\n")
    with pytest.raises(ConfigError, match="expected a mapping of sections"):
        load_settings(path, environ={})


def test_empty_overlay_is_fine(tmp_path):
    assert load_settings(write(tmp_path, ""), environ={}).server.port == 8080


def test_missing_key_in_defaults_is_reported(monkeypatch, tmp_path):
    defaults = write(tmp_path, "server: {host: h, port: 1}\n", "default.yaml")
    monkeypatch.setattr("www.settings.DEFAULT_CONFIG", defaults)
    monkeypatch.setattr("www.settings.PROJECT_ROOT", tmp_path)
    with pytest.raises(ConfigError, match=r"default.yaml: server.backlog: missing key"):
        load_settings(environ={})


def defaults_without(tmp_path, monkeypatch, section, key):
    """Point DEFAULT_CONFIG at a copy of config/default.yaml lacking `section.key`."""
    defaults = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    del defaults[section][key]
    path = write(tmp_path, yaml.safe_dump(defaults), "default.yaml")
    monkeypatch.setattr("www.settings.DEFAULT_CONFIG", path)
    monkeypatch.setattr("www.settings.PROJECT_ROOT", tmp_path)


def test_missing_key_in_defaults_named_in_full(monkeypatch, tmp_path):
    defaults_without(tmp_path, monkeypatch, "templates", "auto_reload")
    with pytest.raises(ConfigError) as info:
        load_settings(environ={})
    assert str(info.value) == "default.yaml: templates.auto_reload: missing key"


def test_key_missing_in_defaults_may_come_from_a_later_layer(monkeypatch, tmp_path):
    defaults_without(tmp_path, monkeypatch, "server", "backlog")
    overlay = write(tmp_path, "server: {backlog: 7}\n")
    assert load_settings(overlay, environ={}).server.backlog == 7
    assert load_settings(environ={"WWW_SERVER__BACKLOG": "8"}).server.backlog == 8


def test_error_named_against_its_layer_while_defaults_are_incomplete(monkeypatch, tmp_path):
    defaults_without(tmp_path, monkeypatch, "server", "backlog")
    overlay = write(tmp_path, "server: {port: eighty}\n")
    with pytest.raises(ConfigError, match=r"^\S*local\.yaml: server\.port: expected an integer"):
        load_settings(overlay, environ={})


def test_log_level_in_any_case_is_kept_as_given():
    settings = load_settings(overrides={"logging": {"level": "debug"}}, environ={})
    assert settings.logging.level == "debug"


def test_overrides_are_not_modified():
    overrides = {"server": {"port": 9004}}
    assert load_settings(overrides=overrides, environ={}).server.port == 9004
    assert overrides == {"server": {"port": 9004}}


def test_sections_are_frozen_and_hashable():
    first, second = load_settings(environ={}), load_settings(environ={})
    with pytest.raises(ValidationError, match="frozen"):
        first.server.port = 1
    assert first.passwords == second.passwords
    assert hash(first.passwords) == hash(second.passwords)
    assert hasher(first.passwords) is hasher(second.passwords)  # the lru_cache hits


def test_resolve_paths():
    assert Settings.resolve("/abs/file").as_posix() == "/abs/file"
    assert Settings.resolve("data/x").parts[-2:] == ("data", "x")
    assert Settings.resolve("data/x").is_absolute()


def test_session_secret_from_config(settings):
    assert session_secret(settings) == settings.session.secret


def test_session_secret_generated_once_and_kept(tmp_path, caplog):
    path = tmp_path / "secret"
    overrides = {"session": {"secret": None, "secret_file": str(path)}}
    settings = load_settings(overrides=overrides, environ={})
    first = session_secret(settings)
    assert len(first) >= 32
    assert path.read_text().strip() == first
    assert path.stat().st_mode & 0o077 == 0  # readable by the owner only
    assert "generated" in caplog.text
    assert session_secret(settings) == first  # kept across restarts


def test_session_secret_required_without_file():
    settings = load_settings(
        overrides={"session": {"secret": None, "secret_file": None}}, environ={}
    )
    with pytest.raises(ConfigError, match=r"session\.secret: required"):
        session_secret(settings)
