"""Files to and from disk, streamed in both directions, so memory stays flat whatever
their size: an upload is read from disk 64 KiB at a time by aiohttp's file payload (in a
thread), a download is written chunk by chunk (in a thread) to a temporary file beside the
destination, renamed to it only once complete and checked against the file's size and
SHA-256: a broken download never leaves a partial file under the real name."""

import asyncio
import contextlib
import hashlib
import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import aiohttp

from .errors import TransferFailed

Progress = Callable[[int, int | None], None]  # (bytes done, total bytes if known)
CHUNK = 256 * 1024  # bytes written to disk at a time while downloading


class CountingReader(io.BufferedReader):
    """A file that tells `progress` (on the event loop) how much of it was read: aiohttp's
    payload reads it in a worker thread."""

    def __init__(self, raw: io.RawIOBase, total: int, progress: Progress | None) -> None:
        super().__init__(raw)
        self.loop, self.total, self.progress, self.done = (
            asyncio.get_running_loop(),
            total,
            progress,
            0,
        )

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.done += len(chunk)
        if self.progress is not None and chunk:
            self.loop.call_soon_threadsafe(self.progress, self.done, self.total)
        return chunk


def upload_form(
    path: Path, name: str, opened: list[IO[bytes]], progress: Progress | None
) -> aiohttp.FormData:
    """A multipart body with the file at `path` as its `file` part, streamed from disk.
    Each try opens the file anew (a payload is read once); `opened` collects them to close."""
    raw = open(path, "rb", buffering=0)  # noqa: SIM115 (closed by the caller, from `opened`)
    reader = CountingReader(raw, os.fstat(raw.fileno()).st_size, progress)
    opened.append(reader)
    form = aiohttp.FormData()
    form.add_field("file", reader, filename=name, content_type="application/octet-stream")
    return form


def safe_name(name: str) -> str:
    """A name from the server made safe to write under: its last part, no leading dot."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip().lstrip(".")
    return name or "download"


class Download:
    """Receiving one response into `destination` through a temporary file in its folder."""

    def __init__(self, destination: Path, size: int, sha256: str, progress: Progress | None):
        self.destination, self.size, self.sha256 = destination, size, sha256
        self.progress = progress
        self.file: IO[bytes] | None = None
        self.temp: Path | None = None

    async def __aenter__(self) -> "Download":
        folder, prefix = self.destination.parent, f".{self.destination.name}."
        fd, temp = await asyncio.to_thread(
            tempfile.mkstemp, dir=folder, prefix=prefix, suffix=".part"
        )
        self.file, self.temp = os.fdopen(fd, "wb"), Path(temp)
        return self

    async def receive(self, resp: aiohttp.ClientResponse) -> None:
        """Write the body (again from its start, on a retry), then check it."""
        assert self.file is not None
        await asyncio.to_thread(_restart, self.file)
        digest, done = hashlib.sha256(), 0
        async for chunk in resp.content.iter_chunked(CHUNK):
            await asyncio.to_thread(_write, self.file, digest, chunk)
            done += len(chunk)
            if self.progress is not None:
                self.progress(done, self.size)
        if done != self.size or digest.hexdigest() != self.sha256:
            raise TransferFailed(
                f"The download does not match the file: {done} of {self.size} bytes, "
                f"SHA-256 {'matches' if digest.hexdigest() == self.sha256 else 'differs'}."
            )

    async def __aexit__(self, exc_type, exc, tb) -> None:
        assert self.file is not None and self.temp is not None
        await asyncio.to_thread(self.file.close)
        if exc_type is None:
            await asyncio.to_thread(os.replace, self.temp, self.destination)
        else:
            with contextlib.suppress(OSError):
                await asyncio.to_thread(self.temp.unlink)


def _restart(file: IO[bytes]) -> None:
    file.seek(0)
    file.truncate()


def _write(file: IO[bytes], digest: Any, chunk: bytes) -> None:
    file.write(chunk)
    digest.update(chunk)
