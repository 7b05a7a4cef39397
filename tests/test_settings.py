"""Settings: defaults, overlay files, WWW_* variables, and each validation error."""

import pytest

from www.settings import ConfigError, Settings, load_settings, session_secret


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
