"""Uploaded files on disk: a multipart part streamed to the uploads folder, off the loop.

An upload is written chunk by chunk to a temporary file in the uploads folder, hashed and
counted on the way, then renamed to a random name (no extension). All file-system calls
run in the executor given (the app's FILE_IO pool, never shared with password hashing),
so the event loop never waits on the disk. The name the
client sent is only metadata, cleaned by `clean_filename()`; the type served back is the
one `sniff()` found in the first bytes, from a short allow-list (both in www/fileinfo.py).

What goes wrong is answered, and leaves nothing behind: a client that sends nothing for
`read_timeout` seconds gets 408, a full or failing disk 507 (`DiskError`), a server
shutting down 503 (`InProgress.end_all`); partial files a crash left are swept at start-up
(`sweep_partial_files`).
"""

import asyncio
import errno
import functools
import hashlib
import logging
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from aiohttp import BodyPartReader, web

from .fileinfo import SNIFF_SIZE, sniff

CHUNK_SIZE = 64 * 1024
PARTIAL_PREFIX, PARTIAL_SUFFIX = ".upload-", ".part"  # a file still being received

log = logging.getLogger(__name__)
T = TypeVar("T")


class Received(NamedTuple):
    """An upload stored under its final, random name."""

    path: Path
    size: int
    sha256: str
    content_type: str


async def in_thread(executor: Executor, func: Callable[..., T], *args: Any) -> T:
    """Run `func(*args)` in `executor`, to the end even if the caller is
    cancelled (a half-done rename or unlink must not be abandoned)."""
    loop = asyncio.get_running_loop()
    return await asyncio.shield(loop.run_in_executor(executor, func, *args))


async def remove(path: Path, *, executor: Executor) -> None:
    """Delete a stored file; one that is already gone is not an error."""
    await in_thread(executor, functools.partial(path.unlink, missing_ok=True))


class DiskError(Exception):
    """Storing an upload failed on the server's side: a full disk (ENOSPC), a file-system
    quota (EDQUOT), an I/O error... Not an OSError, so that it is never mistaken for the
    network's errors (ConnectionResetError is one)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(f"{error.strerror or error} ({errno_name(error)})")
        self.error = error


def errno_name(error: OSError) -> str:
    return errno.errorcode.get(error.errno or 0, "no errno")


@contextmanager
def _disk_errors() -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise DiskError(exc) from exc


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of `data` to `fd` (os.write may write fewer)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class InProgress:
    """The uploads this process is receiving, so that a shutdown can end them at once.

    Once shutdown begins, aiohttp reads no more of any request body: an upload still
    arriving would wait out `server.shutdown_timeout`, then be cancelled. `end_all()`
    (an on_shutdown hook) makes each end now, with 503 and its partial file removed.
    """

    def __init__(self) -> None:
        self.ending = False
        self._reads: set[asyncio.Timeout] = set()

    def end_all(self) -> None:
        self.ending = True
        now = asyncio.get_running_loop().time()
        for timeout in self._reads:
            timeout.reschedule(now)  # TimeoutError in the reading task, at once

    @contextmanager
    def reading(self, timeout: asyncio.Timeout) -> Iterator[None]:
        if self.ending:
            timeout.reschedule(asyncio.get_running_loop().time())
        self._reads.add(timeout)
        try:
            yield
        finally:
            self._reads.discard(timeout)


async def read_or_give_up(read: Callable[[], Any], seconds: float, uploads: InProgress) -> Any:
    """`await read()`, unless it waits more than `seconds` (408: the client stalled) or the
    server begins to shut down (503)."""
    try:
        async with asyncio.timeout(seconds) as timeout:
            with uploads.reading(timeout):
                return await read()
    except TimeoutError:
        if uploads.ending:
            raise web.HTTPServiceUnavailable(
                text="The server is restarting: send the file again in a moment.",
                headers={"Retry-After": "10"},
            ) from None
        raise web.HTTPRequestTimeout(
            text=f"The upload stopped arriving for {seconds:g} seconds, so it was dropped."
        ) from None


def sweep_partial_files(directory: Path, older_than: float) -> list[str]:
    """Delete the partial files in `directory` not written to for `older_than` seconds:
    what a crash (kill -9) or a cancelled worker left. The names of those deleted."""
    swept = []
    limit = time.time() - older_than
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return swept
    for entry in entries:
        if not (entry.name.startswith(PARTIAL_PREFIX) and entry.name.endswith(PARTIAL_SUFFIX)):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < limit:
                os.unlink(entry.path)
                swept.append(entry.name)
        except FileNotFoundError:
            pass  # another worker swept it first
    return swept


class _Spool:
    """The file an upload is written to; its methods run in executor threads.

    The lock orders them: after a cancellation, a write or rename already running in a
    thread finishes before discard() removes whatever is on disk by then.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path: Path | None = None
        self.sha256 = hashlib.sha256()
        self._fd: int | None = None
        self._discarded = False
        self._lock = threading.Lock()

    def open(self) -> None:
        with self._lock:
            if self._discarded:
                return
            with _disk_errors():
                self.directory.mkdir(parents=True, exist_ok=True)
                self._fd, name = tempfile.mkstemp(
                    dir=self.directory, prefix=PARTIAL_PREFIX, suffix=PARTIAL_SUFFIX
                )
            self.path = Path(name)

    def write(self, chunk: bytes) -> None:
        with self._lock:
            if self._fd is not None:  # None once discarded
                with _disk_errors():  # unbuffered: chunks are large, and errors come here
                    write_all(self._fd, chunk)
                self.sha256.update(chunk)

    def keep(self) -> Path:
        """Close the file and rename it to a random name; returns the new path."""
        with self._lock:
            if self._fd is None or self.path is None:
                raise RuntimeError("the upload was discarded")
            fd, self._fd = self._fd, None
            with _disk_errors():
                try:
                    os.fsync(fd)  # a full disk may only tell now
                finally:
                    os.close(fd)
                final = self.path.with_name(secrets.token_hex(16))
                self.path.rename(final)
            self.path = final
            return final

    def discard(self) -> None:
        with self._lock:
            self._discarded = True
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if self.path is not None:
                self.path.unlink(missing_ok=True)


async def receive(
    part: BodyPartReader,
    directory: Path,
    max_size: int,
    read_timeout: float,
    uploads: InProgress,
    *,
    executor: Executor,
) -> Received:
    """Stream `part` into `directory` and return what was stored; memory use stays flat.

    Raises HTTPRequestEntityTooLarge (413) once more than `max_size` bytes arrived, 408
    when nothing arrives for `read_timeout` seconds, 503 when the server shuts down, 507
    when the disk fails (full, over its quota, an I/O error). On any error or cancellation
    (a client gone mid-upload), nothing is left on disk.
    """
    read = functools.partial(part.read_chunk, CHUNK_SIZE)
    loop = asyncio.get_running_loop()
    spool = _Spool(directory)
    size, head = 0, b""
    pending: asyncio.Future[None] | None = None
    try:
        await loop.run_in_executor(executor, spool.open)
        while chunk := await read_or_give_up(read, read_timeout, uploads):
            size += len(chunk)
            if size > max_size:
                raise web.HTTPRequestEntityTooLarge(max_size=max_size, actual_size=size)
            if len(head) < SNIFF_SIZE:
                head += chunk[: SNIFF_SIZE - len(head)]
            # One write in flight while the next chunk is read: the disk and the network
            # overlap, and at most two chunks are held in memory.
            if pending is not None:
                await pending
            pending = loop.run_in_executor(executor, spool.write, chunk)
        if pending is not None:
            await pending
        path = await loop.run_in_executor(executor, spool.keep)
    except BaseException as exc:
        # Its outcome no longer matters (the lock orders it anyway); if it is done, its
        # error is taken, so that it is not logged as never retrieved.
        if pending is not None and not pending.cancel() and not pending.cancelled():
            pending.exception()
        await in_thread(executor, spool.discard)
        if isinstance(exc, DiskError):
            log.error("Could not store an upload in %s: %s", directory, exc)
            raise web.HTTPInsufficientStorage(
                text="The server cannot store files right now: its storage is full or failing. "
                "Try again later."
            ) from None
        raise
    content_type = sniff(head, complete=size == len(head))
    return Received(path, size, spool.sha256.hexdigest(), content_type)
