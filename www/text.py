"""Text as people read it: when two names are the same name, and what a user cannot see.

A name (and an email address) is unique by its *canonical key*, not by its characters:
`Émile` and `émile`, fullwidth `admin` and `admin`, `é` as one character (NFC) and
as `e` plus a combining accent (NFD), `ad\u200bmin` with a zero-width space and `admin`
all have one key. The key is Unicode's compatibility caseless match (The Unicode
Standard, D146: NFKD, casefold, NFKD, casefold), without the characters nobody can see,
composed again (NFKC), spaces collapsed. The name is stored as typed (NFC) for display,
and its key beside it (users.name_key, unique), so both databases enforce it alike.

Keys are stored: a change to `canonical()` needs a migration that recomputes them (as
migrations/0002_canonical_names.py first did), or old rows keep keys of the old rule.

Look-alike letters of other scripts (`admin` with a Cyrillic `a`) are not mapped (Unicode
TR39's confusable skeletons would): a name may instead not mix Latin, Cyrillic and Greek
letters, a rule a user can understand. A whole name in one of those scripts is allowed.
"""

import re
import unicodedata

# Default_Ignorable_Code_Point (Unicode's DerivedCoreProperties.txt): code points drawn
# as nothing, among them zero-width spaces and joiners, bidi marks and overrides,
# variation selectors, Hangul fillers and tags. Plus the blank Braille pattern.
IGNORABLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
_IGNORABLE = re.compile("[" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in IGNORABLE) + "]")
# Control, format, surrogate, private-use, unassigned; line and paragraph separators.
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")  # letters that look alike across these
_SPACES = re.compile(r"\s+")


def is_invisible(char: str) -> bool:
    """A character drawn as nothing: ignorable, control or format."""
    return bool(_IGNORABLE.match(char)) or unicodedata.category(char) in ("Cc", "Cf")


def visible(text: str) -> str:
    """`text` without invisible characters and the spaces around: "" when a reader would
    see nothing at all (a title of zero-width spaces is an empty title)."""
    return "".join(c for c in text if not is_invisible(c)).strip()


def canonical(text: str) -> str:
    """The key under which look-alike texts are equal (see the module's docstring).
    Idempotent: canonical(canonical(x)) == canonical(x)."""
    text = unicodedata.normalize("NFD", text).casefold()
    text = unicodedata.normalize("NFKD", text).casefold()
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not is_invisible(c))
    text = unicodedata.normalize("NFKC", text)
    return _SPACES.sub(" ", text).strip()


def forbidden(text: str) -> str | None:
    """The first character a name may not hold (control, format such as zero-width and
    bidi overrides, surrogate, private-use, unassigned), or None."""
    for char in text:
        if unicodedata.category(char) in FORBIDDEN_CATEGORIES:
            return char
    return None


def scripts(text: str) -> set[str]:
    """Which of Latin, Cyrillic and Greek the letters of `text` are written in (read
    after NFKC, so that fullwidth and mathematical Latin letters count as Latin)."""
    found = set()
    for char in unicodedata.normalize("NFKC", text):
        if char.isalpha():
            script = unicodedata.name(char, "").partition(" ")[0]
            if script in SCRIPTS:
                found.add(script)
    return found


class BadAddress(ValueError):
    """An email address whose domain is not a valid (internationalised) domain name."""


def email_key(address: str) -> str:
    """The key of an email address: its local part canonical (casefolded), its domain
    through IDNA (bücher.de -> xn--bcher-kva.de), lower-case. Raises BadAddress."""
    local, at, domain = address.strip().rpartition("@")
    if not at:
        raise BadAddress("no @")
    labels = domain.split(".")
    if not all(labels):
        raise BadAddress("an empty label in the domain")
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:  # a label too long, prohibited characters...
        raise BadAddress(str(exc)) from None
    return f"{canonical(local)}@{ascii_domain}"
