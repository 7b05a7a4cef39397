"""The ways to serve the app, as real processes: python -m www, aiohttp.web, gunicorn."""

import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.conftest import overrides_for
from tests.serving import ROOT, clean_env, free_port, init_db, serving, write_config


@pytest.fixture
def config(tmp_path, db_url):
    overrides = overrides_for(tmp_path, db_url)
    overrides["logging"]["level"] = "INFO"  # to see the access log
    path = write_config(tmp_path, overrides)
    init_db(path)
    return path


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def malformed_request_answer(port: int) -> bytes:
    """What the server answers a request line it cannot parse, until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n")
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    return answer


def assert_names_no_versions(answer: bytes) -> None:
    """The parser's 400 as www/protocol.py makes it, however the app is served."""
    assert answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n")[0], answer
    assert b"\r\nServer: www\r\n" in answer
    assert b"Python/" not in answer and b"aiohttp/" not in answer


def test_python_m_www_serves_and_stops_on_sigterm(config):
    port = free_port()
    args = [sys.executable, "-m", "www", "--port", str(port), "--config", str(config)]
    with serving(args, f"http://127.0.0.1:{port}/healthz") as proc:
        status, body = get(f"http://127.0.0.1:{port}/")
        assert status == 200
        assert "www" in body
        assert get(f"http://127.0.0.1:{port}/nope")[0] == 404
        assert_names_no_versions(malformed_request_answer(port))
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "Traceback" not in err
    assert "GET / HTTP/1.1" in err  # one access log line per request


def test_python_m_aiohttp_web_init_func(config):
    port = free_port()
    env = clean_env(WWW_CONFIG=str(config))
    args = [
        sys.executable,
        "-m",
        "aiohttp.web",
        "-H",
        "127.0.0.1",
        "-P",
        str(port),
        "www.app:init_func",
    ]
    with serving(args, f"http://127.0.0.1:{port}/healthz", env=env):
        assert get(f"http://127.0.0.1:{port}/")[0] == 200


def test_gunicorn_with_two_workers(config):
    port = free_port()
    env = clean_env(WWW_CONFIG=str(config))
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "www.app:create_app()",
        "--bind",
        f"127.0.0.1:{port}",
        "--worker-class",
        "www.worker.GunicornWebWorker",
        "--workers",
        "2",
    ]
    with serving(args, f"http://127.0.0.1:{port}/healthz", env=env):
        for _ in range(4):
            assert get(f"http://127.0.0.1:{port}/")[0] == 200
            assert_names_no_versions(malformed_request_answer(port))


def test_bad_config_exits_2_naming_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("server:\n  port: eighty\n")
    proc = subprocess.run(
        [sys.executable, "-m", "www", "--config", str(bad)],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"config error: {bad}: server.port: expected an integer, got 'eighty'"
    )
    assert "Traceback" not in proc.stderr


def test_missing_config_file_exits_2(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "www", "--config", str(tmp_path / "missing.yaml")],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "missing.yaml: file not found" in proc.stderr
