"""Does a big upload keep the server's memory flat? Measures `python -m www` from outside.

    .venv/bin/python benchmarks/upload_memory.py [--size-mib 200] [--target-mib 30]

Starts the server on 127.0.0.1 and a free port with a temporary database, uploads folder
and an overlay config raising `uploads.max_size`, logs in through the form, then streams
an upload generated on the fly (the client never holds it either) while a thread samples
the server's resident memory (VmRSS in /proc/<pid>/status). Prints the baseline, the peak
and the growth, PASS when the growth stays under the target, and exits 1 on FAIL. Linux
only (it reads /proc). Every wait is bounded; the server is stopped by its PID.
"""

import argparse
import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from www.accounts.models import User  # noqa: E402
from www.db import Database  # noqa: E402
from www.migrate import runner  # noqa: E402
from www.passwords import hash_password_sync  # noqa: E402
from www.settings import load_settings  # noqa: E402

MIB = 1024 * 1024
CHUNK = 256 * 1024
EMAIL, PASSWORD = "bench@example.com", "benchmark password"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
BOUNDARY = "upload-memory-benchmark"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024  # the value is in kB
    raise RuntimeError("no VmRSS line")


class Sampler(threading.Thread):
    """Samples a process's RSS every few milliseconds until stopped; keeps the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0.0
        self.samples = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.01):
            self.peak = max(self.peak, rss_mib(self.pid))
            self.samples += 1


def write_config(folder: Path, max_size: int) -> Path:
    overlay = {
        "db": {"url": f"sqlite:///{folder / 'bench.db'}"},
        "session": {"secret": "benchmark-secret-" + "x" * 32, "secret_file": None},
        "passwords": {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
        "uploads": {"directory": str(folder / "uploads"), "max_size": max_size},
        "logging": {"level": "WARNING", "access_log": False},
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(overlay), encoding="utf-8")
    return path


async def prepare(config: Path) -> None:
    """The tables (the migrations, as init_db.py applies them: the app refuses a database
    without them) and the user the benchmark logs in as."""
    settings = load_settings(config, environ={})
    async with Database.from_url(settings.db.url, ROOT) as db:
        await runner.up(db, runner.load())
        password_hash = hash_password_sync(settings.passwords, PASSWORD)
        await User.create(db, name="bench", email=EMAIL, password_hash=password_hash)


def wait_until_serving(proc: subprocess.Popen, url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited early with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (our own http URL)
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server did not answer {url} within {timeout}s")


async def body(token: str, size: int):
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"'
        "\r\n\r\n"
    ).encode()
    chunk = b"\xa5" * CHUNK  # the same object every time: the client holds one chunk
    for _ in range(size // CHUNK):
        yield chunk
    yield chunk[: size % CHUNK]
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


async def upload(base: str, size: int, proc: subprocess.Popen) -> tuple[float, Sampler, float]:
    """Log in, take the baseline, stream the upload; (baseline, sampler, seconds)."""
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for the bare IP 127.0.0.1
    async with aiohttp.ClientSession(
        cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=600)
    ) as session:
        page = await (await session.get(f"{base}/login")).text()
        form = {"email": EMAIL, "password": PASSWORD, "csrf_token": TOKEN.search(page)[1]}
        resp = await session.post(f"{base}/login", data=form, allow_redirects=False)
        if resp.status != 303:
            raise SystemExit(f"login failed with {resp.status}")
        token = TOKEN.search(await (await session.get(f"{base}/files")).text())[1]
        await asyncio.sleep(0.5)  # let the server settle after its first requests
        baseline = rss_mib(proc.pid)
        sampler = Sampler(proc.pid)
        sampler.start()
        started = time.monotonic()
        headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        try:
            resp = await session.post(
                f"{base}/files", data=body(token, size), headers=headers, allow_redirects=False
            )
        finally:
            elapsed = time.monotonic() - started
            sampler.stopped.set()
            sampler.join(timeout=5)
        if resp.status != 303:
            raise SystemExit(f"the upload failed with {resp.status}: {(await resp.text())[:200]}")
        return baseline, sampler, elapsed


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=200, help="upload size (default 200)")
    parser.add_argument("--target-mib", type=float, default=30, help="allowed RSS growth")
    args = parser.parse_args()
    size = args.size_mib * MIB

    with tempfile.TemporaryDirectory(prefix="upload-memory-") as tmp:
        folder = Path(tmp)
        config = write_config(folder, max_size=size + MIB)
        asyncio.run(prepare(config))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("WWW_")}
        command = [sys.executable, "-m", "www", "--port", str(port), "--config", str(config)]
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        try:
            wait_until_serving(proc, f"{base}/healthz")
            baseline, sampler, elapsed = asyncio.run(upload(base, size, proc))
        finally:
            stop(proc)
        stored = [p.stat().st_size for p in (folder / "uploads").iterdir()]

    peak = max(sampler.peak, baseline)
    growth = peak - baseline
    verdict = "PASS" if growth < args.target_mib and stored == [size] else "FAIL"
    speed = args.size_mib / elapsed
    print(f"upload:    {args.size_mib} MiB in {elapsed:.1f} s ({speed:.0f} MiB/s)")
    print(f"stored:    {stored} bytes (expected [{size}])")
    print(f"baseline:  {baseline:.1f} MiB RSS")
    print(f"peak:      {peak:.1f} MiB RSS ({sampler.samples} samples during the upload)")
    print(f"growth:    {growth:.1f} MiB (target < {args.target_mib:g} MiB)")
    print(f"result:    {verdict}")
    print()
    print("| upload | baseline RSS | peak RSS | growth | target | result |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(
        f"| {args.size_mib} MiB | {baseline:.1f} MiB | {peak:.1f} MiB | {growth:.1f} MiB"
        f" | < {args.target_mib:g} MiB | {verdict} |"
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
