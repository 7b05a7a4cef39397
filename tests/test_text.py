"""www/text.py: the canonical key under which look-alike names are one name, what counts
as invisible, and email keys. Through HTTP in tests/accounts/test_names.py."""

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from www.text import BadAddress, canonical, email_key, forbidden, scripts, visible

FULLWIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}  # "a" -> "\uff41"
ASCII_TEXT = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1)


@given(st.text())
def test_the_key_is_idempotent(text):
    assert canonical(canonical(text)) == canonical(text)


@given(st.text())
def test_nfc_nfd_nfkc_and_case_twins_have_one_key(text):
    key = canonical(text)
    for form in ("NFC", "NFD", "NFKC", "NFKD"):
        assert canonical(unicodedata.normalize(form, text)) == key
    assert canonical(text.casefold()) == key


@given(ASCII_TEXT)
def test_fullwidth_and_case_twins_have_one_key(text):
    fullwidth = "".join(FULLWIDTH[c] for c in text)
    assert canonical(fullwidth) == canonical(text.upper()) == canonical(text) == text.lower()


@given(st.text(), st.sampled_from(["\u200b", "\u200d", "\u2060", "\ufeff", "\u202e", "\ufe0f"]))
def test_invisible_characters_do_not_change_the_key(text, invisible):
    middle = len(text) // 2
    assert canonical(text[:middle] + invisible + text[middle:]) == canonical(text)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Émile", "émile"),
        ("Émile", "E\u0301MILE"),  # NFD, upper case
        ("\uff41\uff44\uff4d\uff49\uff4e", "admin"),
        ("ad\u200bmin", "admin"),
        ("Straße", "STRASSE"),
        ("ﬁsh", "fish"),  # a ligature
        ("Ann  Lee", "ann\u00a0lee"),  # spaces of any kind and number
    ],
)
def test_twins(one, other):
    assert canonical(one) == canonical(other)


def test_other_scripts_are_not_mapped_but_seen():
    assert canonical("\u0430dmin") != canonical("admin")  # a Cyrillic a
    assert scripts("\u0430dmin") == {"CYRILLIC", "LATIN"}
    assert scripts("\uff41\uff44\uff4d\uff49\uff4e") == {"LATIN"}
    assert scripts("Ωμέγα") == {"GREEK"}
    assert scripts("李 7") == set()


@pytest.mark.parametrize("char", ["\x00", "\x07", "\n", "\u200b", "\u202e", "\u2066", "\ue000"])
def test_forbidden_characters(char):
    assert forbidden(f"a{char}b") == char
    assert forbidden("Émile ❤️ 李") is None  # a variation selector is allowed, and ignored


@pytest.mark.parametrize("text", ["", " ", "\u200b", "\u200b \u200d\ufeff", "\u3164", "\t\u2800"])
def test_nothing_visible(text):
    assert visible(text) == ""
    assert visible(f"{text}x{text}") == "x"


def test_email_keys():
    assert email_key("Émile@Example.COM") == email_key("émile@example.com") == "émile@example.com"
    assert email_key("a@Bücher.DE") == email_key("A@xn--bcher-kva.de") == "a@xn--bcher-kva.de"
    assert len(email_key("İ" * 130 + "@example.com")) == 272  # it grows: "i" and a dot above


@pytest.mark.parametrize("address", ["nobody", "a@b..c", "a@" + "x" * 64 + ".com", "a@.b"])
def test_bad_addresses(address):
    with pytest.raises(BadAddress):
        email_key(address)
