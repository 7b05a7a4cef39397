"""What is said of an uploaded file: its type, sniffed from its first bytes (never taken
from the client), its name as a client sent it, cleaned for display and for the
Content-Disposition of a download, and its size for people. Pure functions: the bytes
themselves are www/uploads.py's.
"""

import codecs
import re
import unicodedata
from urllib.parse import quote, unquote_to_bytes

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
# The file name of a Content-Disposition's filename*=charset'lang'value, for when aiohttp
# could not decode it (it then drops it).
EXTENDED_FILENAME = re.compile(r"filename\*=[^';]*'[^';]*'([^;\s]*)", re.IGNORECASE)


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
    no drive letter, no control or bidi characters, bytes that were not UTF-8 as U+FFFD,
    at most 255 characters; "upload" if nothing is left. Never used as a path."""
    name = unicodedata.normalize("NFC", valid_text(name or ""))
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


def valid_text(text: str) -> str:
    """`text` without lone surrogates: aiohttp decodes header bytes that are not UTF-8 as
    surrogates (surrogateescape), which no database or encoder accepts. Each such byte
    becomes U+FFFD, the replacement character."""
    try:
        raw = text.encode("utf-8", "surrogateescape")  # the bytes as the client sent them
    except UnicodeEncodeError:  # a surrogate that did not come from a byte
        raw = text.encode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def undecoded_filename(disposition: str) -> str | None:
    """The file name of a `filename*=` that aiohttp could not decode (its bytes are not
    in the charset it names), decoded as UTF-8 with replacement characters."""
    match = EXTENDED_FILENAME.search(disposition)
    return unquote_to_bytes(match.group(1)).decode("utf-8", "replace") if match else None


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
