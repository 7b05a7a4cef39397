"""Run the application as a real process for tests: on 127.0.0.1, a free port, bounded waits."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(tmp_path: Path, overrides: dict) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(overrides), encoding="utf-8")
    return path


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WWW_")}
    env.update(extra)
    return env


def init_db(config: Path, root: Path = ROOT) -> None:
    """Migrate the database of `config` with init_db.py of the repository at `root`."""
    subprocess.run(
        [sys.executable, "init_db.py", "--config", str(config)],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=60,
    )


def wait_until_serving(proc: subprocess.Popen, url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early with {proc.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2):
            return
        time.sleep(0.1)
    raise AssertionError(f"server did not answer {url} within {timeout}s")


def stop_process(proc: subprocess.Popen | None, timeout: float = 20) -> None:
    """SIGTERM to `proc` by its PID, then SIGKILL if it lingers past `timeout` seconds
    (nothing to do if it is not running). For processes whose output goes to a file."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


@contextlib.contextmanager
def serving(args: list[str], url: str, env: dict[str, str] | None = None, cwd: Path = ROOT):
    """Start `args` in `cwd`, wait for `url`, yield the process, and always stop it."""
    proc = subprocess.Popen(
        args,
        cwd=cwd,
        env=env or clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_serving(proc, url)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        if proc.stdout and not proc.stdout.closed:  # the test may have read them already
            try:
                proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
