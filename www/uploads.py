"""Uploaded files on disk: streaming a multipart part to the uploads folder, names, types.

An upload is written chunk by chunk to a temporary file in the uploads folder, hashed and
counted on the way, then renamed to a random name (no extension). All file-system calls
run in the executor given (the app's FILE_IO pool, never shared with password hashing),
so the event loop never waits on the disk. The name the
client sent is only metadata, cleaned by `clean_filename()`; the type served back is the
one `sniff()` found in the first bytes, from a short allow-list.
"""

import asyncio
import codecs
import functools
import hashlib
import os
import re
import secrets
import tempfile
import threading
import unicodedata
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, TypeVar
from urllib.parse import quote

from aiohttp import BodyPartReader, web

CHUNK_SIZE = 64 * 1024
SNIFF_SIZE = 2048  # bytes looked at to decide the content type
MAX_NAME_LENGTH = 255  # File.original_name's max_length

OCTET_STREAM = "application/octet-stream"
TEXT = "text/plain; charset=utf-8"
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)
# Control characters that make a file "not plain text" (tab, CR and LF are fine).
BINARY_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Characters never kept in a file name: C0/C1 controls and the bidirectional overrides
# that can make "evil\u202egnp.exe" display as "evilexe.png".
NAME_DROPPED = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

T = TypeVar("T")


class Received(NamedTuple):
    """An upload stored under its final, random name."""

    path: Path
    size: int
    sha256: str
    content_type: str


def sniff(head: bytes, *, complete: bool) -> str:
    """The content type of a file starting with `head` (`complete`: head is the whole file).

    Known image and PDF signatures, then UTF-8 text without binary control characters;
    anything else, an empty file included, is application/octet-stream.
    """
    for signature, content_type in SIGNATURES:
        if head.startswith(signature):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    try:
        # Incremental, so a character cut at the end of an incomplete head is no error.
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeDecodeError:
        return OCTET_STREAM
    return TEXT if head and not BINARY_CONTROLS.search(text) else OCTET_STREAM


def clean_filename(name: str | None) -> str:
    """A display name from a client-sent file name: its last path component (/ and \\),
    no drive letter, no control or bidi characters, at most 255 characters; "upload" if
    nothing is left. Never used as a path."""
    name = unicodedata.normalize("NFC", name or "")
    name = NAME_DROPPED.sub("", name).replace("\\", "/").rpartition("/")[2]
    name = re.sub(r"^[A-Za-z]:", "", name).strip()
    if not name.strip("."):  # "", "." and ".."
        return "upload"
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and len(extension) <= 16:
            name = f"{stem[: MAX_NAME_LENGTH - len(extension) - 1]}.{extension}"
        else:
            name = name[:MAX_NAME_LENGTH]
    return name


def content_disposition(disposition: str, name: str) -> str:
    """`attachment` or `inline`, with the name as RFC 6266 filename* and an ASCII fallback."""
    name = re.sub(r'[\r\n"\\]', "", NAME_DROPPED.sub("", name)) or "download"
    fallback = "".join(ch if " " <= ch <= "~" and ch != "%" else "_" for ch in name)
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def human_size(size: int) -> str:
    """1536 -> "1.5 KiB"."""
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


async def in_thread(executor: Executor, func: Callable[..., T], *args: Any) -> T:
    """Run `func(*args)` in `executor`, to the end even if the caller is
    cancelled (a half-done rename or unlink must not be abandoned)."""
    loop = asyncio.get_running_loop()
    return await asyncio.shield(loop.run_in_executor(executor, func, *args))


async def remove(path: Path, *, executor: Executor) -> None:
    """Delete a stored file; one that is already gone is not an error."""
    await in_thread(executor, functools.partial(path.unlink, missing_ok=True))


class _Spool:
    """The file an upload is written to; its methods run in executor threads.

    The lock orders them: after a cancellation, a write or rename already running in a
    thread finishes before discard() removes whatever is on disk by then.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path: Path | None = None
        self.sha256 = hashlib.sha256()
        self._file: BinaryIO | None = None
        self._discarded = False
        self._lock = threading.Lock()

    def open(self) -> None:
        with self._lock:
            if self._discarded:
                return
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=self.directory, prefix=".upload-", suffix=".part")
            self.path = Path(name)
            self._file = os.fdopen(fd, "wb")

    def write(self, chunk: bytes) -> None:
        with self._lock:
            if self._file is not None:  # None once discarded
                self._file.write(chunk)
                self.sha256.update(chunk)

    def keep(self) -> Path:
        """Close the file and rename it to a random name; returns the new path."""
        with self._lock:
            if self._file is None or self.path is None:
                raise RuntimeError("the upload was discarded")
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
            final = self.path.with_name(secrets.token_hex(16))
            self.path.rename(final)
            self.path = final
            return final

    def discard(self) -> None:
        with self._lock:
            self._discarded = True
            if self._file is not None:
                self._file.close()
                self._file = None
            if self.path is not None:
                self.path.unlink(missing_ok=True)


async def receive(
    part: BodyPartReader, directory: Path, max_size: int, *, executor: Executor
) -> Received:
    """Stream `part` into `directory` and return what was stored; memory use stays flat.

    Raises HTTPRequestEntityTooLarge (413) once more than `max_size` bytes arrived. On any
    error or cancellation (a client gone mid-upload, a server shutting down), nothing is
    left on disk.
    """
    loop = asyncio.get_running_loop()
    spool = _Spool(directory)
    size, head = 0, b""
    pending: asyncio.Future[None] | None = None
    try:
        await loop.run_in_executor(executor, spool.open)
        while chunk := await part.read_chunk(CHUNK_SIZE):
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
    except BaseException:
        if pending is not None:
            pending.cancel()  # its outcome no longer matters; the lock orders it anyway
        await in_thread(executor, spool.discard)
        raise
    content_type = sniff(head, complete=size == len(head))
    return Received(path, size, spool.sha256.hexdigest(), content_type)
