"""Unit tests of the input rules shared by pages and the API."""

import pytest

from www.forms import clean_comment, clean_login, clean_post, clean_registration


def test_registration_clean_values():
    values, errors = clean_registration(
        {"name": "  Ann ", "email": " Ann@Example.COM ", "password": " spaced pw "}
    )
    assert errors == {}
    assert values == {"name": "Ann", "email": "ann@example.com", "password": " spaced pw "}


def test_registration_missing_everything():
    _, errors = clean_registration({})
    assert errors == {
        "name": "Name is required.",
        "email": "Email is required.",
        "password": "Password is required.",
    }


@pytest.mark.parametrize("value", [123, ["a"], {"a": 1}, True])
def test_non_text_values_from_json(value):
    _, errors = clean_post({"title": value})
    assert errors["title"] == "Title must be text."


def test_none_counts_as_empty():
    _, errors = clean_post({"title": None})
    assert errors["title"] == "Title is required."


def test_nul_characters_rejected():
    _, errors = clean_comment({"content": "a\x00b"})
    assert errors["content"] == "Comment must not contain NUL characters."


def test_partial_post_only_checks_given_fields():
    values, errors = clean_post({"summary": "new"}, partial=True)
    assert (values, errors) == ({"summary": "new"}, {})


def test_post_content_keeps_leading_spaces():
    values, _ = clean_post({"title": "t", "content": "    code\n"})
    assert values["content"] == "    code\n"


def test_login_email_lowercased():
    values, errors = clean_login({"email": "A@B.CD", "password": "x"})
    assert errors == {} and values["email"] == "a@b.cd"


@pytest.mark.parametrize("email", ["plain", "a@b", "a b@c.d", "@c.d", "a@.d"])
def test_bad_emails(email):
    _, errors = clean_registration({"name": "n", "email": email, "password": "12345678"})
    assert errors.get("email") == "Enter a valid email address."


def test_lone_surrogates_rejected():
    _, errors = clean_post({"title": "bad \ud800 text"})
    assert errors["title"] == "Title must be valid Unicode text."
