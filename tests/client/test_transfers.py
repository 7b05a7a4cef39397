"""Large files go both ways in flat memory: a sparse file uploaded and downloaded by
`python -m www.client` processes whose peak memory (RSS, from the kernel's accounting of
each process) is measured, and the download compared with the upload by SHA-256.

Two sizes: 256 MiB in `make test`, and the 1 GiB the client promises under `-m slow`
(`.ci/run` runs it). The server stores every byte and the download writes them again, so
1 GiB writes two gigabytes to disk (about 20 s here): too much for every run of the
suite. 256 MiB already exceeds any buffer the client may hold: a client that
read the file whole would show ~256 MiB more than the baseline, five times the bound.
"""

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import NamedTuple

import pytest
from aiohttp import web

from tests.serving import ROOT, clean_env
from www.client import Client, TransferFailed

MiB = 1024 * 1024
MAX_GROWTH = 48 * MiB  # bytes of peak RSS above a 1-byte transfer's, whatever the size
TIMEOUT = 300.0  # seconds for one transfer, at most (1 GiB takes about 10 here)


class Run(NamedTuple):
    returncode: int
    out: str
    err: str
    max_rss: int  # bytes: the process's peak resident memory


def run_cli(args: list[str], env: dict[str, str], folder: Path) -> Run:
    """`python -m www.client ARGS` to its end (killed after TIMEOUT), with its peak RSS
    read from wait4(): the kernel's figure for that process alone."""
    out, err = folder / "out.txt", folder / "err.txt"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "www.client", *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )
    watchdog = threading.Timer(TIMEOUT, proc.kill)
    watchdog.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        watchdog.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return Run(proc.returncode, out.read_text(), err.read_text(), usage.ru_maxrss * 1024)


def sparse_file(path: Path, size: int) -> None:
    """A file of `size` zero bytes that takes no disk, and no time, to make."""
    with open(path, "wb") as file:
        file.truncate(size)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.mark.skipif(not hasattr(os, "wait4"), reason="reads the peak RSS through wait4()")
@pytest.mark.parametrize(
    "size", [256 * MiB, pytest.param(1024 * MiB, marks=pytest.mark.slow)], ids=["256MiB", "1GiB"]
)
async def test_a_large_file_streams_both_ways_in_flat_memory(
    server, alice, tmp_path, record_property, size
):
    env = clean_env(WWW_API_URL=server.url, WWW_API_TOKEN=alice[1])
    small, big = tmp_path / "small.bin", tmp_path / "big.bin"
    small.write_bytes(b"x")
    await asyncio.to_thread(sparse_file, big, size)

    baseline = await asyncio.to_thread(
        run_cli, ["--json", "files", "upload", str(small)], env, tmp_path
    )
    assert baseline.returncode == 0, baseline.err
    upload = await asyncio.to_thread(
        run_cli, ["--json", "files", "upload", str(big)], env, tmp_path
    )
    assert upload.returncode == 0, upload.err
    stored = json.loads(upload.out)
    assert stored["size"] == size and stored["sha256"] == await asyncio.to_thread(sha256_of, big)

    back = tmp_path / "back.bin"
    download = await asyncio.to_thread(
        run_cli, ["--json", "files", "download", str(stored["id"]), str(back)], env, tmp_path
    )
    assert download.returncode == 0, download.err
    assert json.loads(download.out) == {"id": stored["id"], "path": str(back)}
    assert (
        back.stat().st_size == size and await asyncio.to_thread(sha256_of, back) == stored["sha256"]
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "back.bin",
        "big.bin",
        "err.txt",
        "out.txt",
        "small.bin",
    ]  # no temporary file left

    up, down = upload.max_rss - baseline.max_rss, download.max_rss - baseline.max_rss
    record_property(
        "figure",
        f"peak RSS over a 1-byte upload: upload {up / MiB:.1f} MiB, "
        f"download {down / MiB:.1f} MiB, for {size // MiB} MiB",
    )
    assert up < MAX_GROWTH and down < MAX_GROWTH, (up, down)


async def test_a_download_that_does_not_match_leaves_no_file(aiohttp_server, tmp_path):
    """Bytes that are not the file's (another size or hash): TransferFailed, and neither
    the destination nor the temporary file is left."""
    meta = {
        "id": 1,
        "name": "../../etc/passwd",
        "size": 5,
        "content_type": "application/octet-stream",
        "sha256": hashlib.sha256(b"hello").hexdigest(),
        "created_at": "2026-01-01T00:00:00+00:00",
    }

    async def answer(request):
        if request.path.endswith("/content"):
            return web.Response(body=b"jello")
        return web.json_response(meta)

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    url = str((await aiohttp_server(app)).make_url(""))
    async with Client(url) as api:
        with pytest.raises(TransferFailed, match="SHA-256 differs"):
            await api.files.download(1, tmp_path)
    assert list(tmp_path.iterdir()) == []
    meta["sha256"] = hashlib.sha256(b"jello").hexdigest()
    async with Client(url) as api:  # a hostile name stays in the folder asked for
        assert await api.files.download(1, tmp_path) == tmp_path / "passwd"
